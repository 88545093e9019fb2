"""The Celery app of tests/scale_out/test_scale_out.py: what a user writes, plus two test hooks.

Workers start it with ``celery -A tests.support.celery_app worker`` and read their
broker, result store and visibility timeout from ``OKC_TEST_*`` variables; the Okta
credentials and the shared budget come from ``OKTA_CLIENT_*`` (never from a message).

Test hooks, off unless set: ``OKC_TEST_STARTED`` (a folder: each chunk run writes a file
``<first app id>.<pid>`` as it starts, so the test knows which process to kill) and
``OKC_TEST_FAIL_APP`` (a chunk holding this app id fails as a whole, on its own);
``OKC_TEST_VISIBILITY``, ``OKC_TEST_RESTORE_INTERVAL`` and ``OKC_TEST_ATTEMPT_TIMEOUT``
(seconds) shorten the broker's and the client's timeouts.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import after_setup_logger, worker_process_shutdown

from okta_connections import Timeouts
from okta_connections.scale_out import celery_settings, close_process_clients, run_chunk_sync

TASK = "okta_connections.chunk"


def make_app(broker: str, backend: str, visibility_timeout: int = 3600) -> tuple[Celery, Any]:
    app = Celery("okc_scale_out", broker=broker, backend=backend)
    app.conf.update(celery_settings(visibility_timeout=visibility_timeout))
    app.conf.update(broker_connection_retry_on_startup=True, worker_hijack_root_logger=False)
    restore = os.environ.get("OKC_TEST_RESTORE_INTERVAL")
    if restore:
        # kombu sweeps for unacknowledged messages past the visibility timeout every
        # interval x throttle seconds (10 x 10 by default): every second here.
        app.conf.broker_transport_options.update(
            unacked_restore_interval=int(restore), unacked_restore_throttle=1
        )

    @app.task(name=TASK)
    def chunk(action: str, app_ids: list[str]) -> list[dict[str, Any]]:
        started = os.environ.get("OKC_TEST_STARTED")
        if started:
            (Path(started) / f"{app_ids[0]}.{os.getpid()}").touch()
        if os.environ.get("OKC_TEST_FAIL_APP") in app_ids:
            raise RuntimeError("injected fault: this chunk fails on its own")
        options: dict[str, Any] = {}
        attempt = os.environ.get("OKC_TEST_ATTEMPT_TIMEOUT")
        if attempt:
            # A shorter per-attempt timeout: the shared budget's leases (it plus 5 s) of
            # a killed worker expire sooner.
            options["timeouts"] = Timeouts(total=float(attempt))
        return run_chunk_sync(action, app_ids, **options)

    return app, chunk


@after_setup_logger.connect
def _sdk_warnings(logger: logging.Logger, **_: Any) -> None:
    # The shared budget's "pacing locally" warning reaches the worker's log.
    logging.getLogger("okta_connections").setLevel(logging.WARNING)


@worker_process_shutdown.connect
def _close_clients(**_: Any) -> None:
    # The pool process's client (run_chunk_sync keeps one per process) closes with it.
    close_process_clients()


if os.environ.get("OKC_TEST_BROKER"):
    app, chunk = make_app(
        os.environ["OKC_TEST_BROKER"],
        os.environ["OKC_TEST_RESULTS"],
        int(os.environ.get("OKC_TEST_VISIBILITY", "3600")),
    )
