"""Celery on Redis against fake-server, all on loopback: for tests/scale_out/test_scale_out.py and
benchmarks/bench_scale_out.py.

Two redis-servers (broker and results on one, databases 0 and 1; the shared budget on
the other), ``fake-server`` in its own process, and Celery workers
(``celery -A tests.support.celery_app worker``). Skips, with the reason, when celery or
redis-server is missing.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.redis_server import RedisServer, redis_server

ROOT = Path(__file__).resolve().parent.parent.parent
BROKER_PASSWORD = "br0ker-pass-9c1e"
BUDGET_PASSWORD = "budg3t-pass-4d7b"


def _need(binary: str) -> None:
    if shutil.which(binary) is None:
        pytest.skip(f"{binary} is not installed (apt-get install redis-server)")


class Cluster:
    """redis-servers, fake-server and Celery workers, all on loopback."""

    def __init__(self, tmp: Path, *, apps: int) -> None:
        pytest.importorskip("celery", reason="celery is not installed (pip install -e '.[dev]')")
        _need("redis-server")
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []
        self.workers: list[subprocess.Popen[bytes]] = []
        self.broker: RedisServer = redis_server(BROKER_PASSWORD)
        self.budget: RedisServer = redis_server(BUDGET_PASSWORD)
        self.requests_log = tmp / "requests.jsonl"
        self.started = tmp / "started"
        self.started.mkdir()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("OKTA_", "OKC_"))}
        self.env["HOME"] = str(tmp / "home")
        self.env["PYTHONPATH"] = str(ROOT)
        self._start_fake(apps)
        self.broker_url = self.broker.url  # database 0: the queue
        self.results_url = self.broker.url[: -len("/0")] + "/1"  # database 1: results
        self.env.update(
            OKC_TEST_BROKER=self.broker_url,
            OKC_TEST_RESULTS=self.results_url,
            OKC_TEST_STARTED=str(self.started),
            OKTA_CLIENT_RATELIMIT_SHAREDBUDGET=self.budget.url,
        )

    def start_workers(self, workers: int = 2, concurrency: int = 2, **env: str) -> None:
        self.env.update(env)
        for _ in range(workers):
            self._start_worker(len(self.workers), concurrency)

    def _start_fake(self, apps: int) -> None:
        fake = subprocess.Popen(
            [sys.executable, "-m", "okta_connections", "fake-server", "--port", "0",
             "--apps", str(apps), "--rate-limit", "100", "--window", "2",
             "--principal-share", "0.5", "--requests-log", str(self.requests_log)],
            cwd=self.tmp, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.fake = fake
        assert fake.stdout is not None
        printed: dict[str, str] = {}
        while "OKTA_CLIENT_TOKEN" not in printed:
            line = fake.stdout.readline().decode()
            assert line, "fake-server exited early"
            key, sep, value = line.strip().partition("=")
            if sep:
                printed[key] = value
        self.org_url, self.token = printed["OKTA_CLIENT_ORGURL"], printed["OKTA_CLIENT_TOKEN"]
        self.env.update(OKTA_CLIENT_ORGURL=self.org_url, OKTA_CLIENT_TOKEN=self.token)

    def _start_worker(self, n: int, concurrency: int) -> None:
        log = open(self.tmp / f"worker{n}.log", "wb")  # noqa: SIM115 (closed in stop)
        self._logs = [*getattr(self, "_logs", []), log]
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tests.support.celery_app", "worker",
             "--pool", "prefork", "--concurrency", str(concurrency), "--hostname", f"w{n}@%h",
             "--without-gossip", "--without-mingle", "--without-heartbeat",
             "--loglevel", "WARNING"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill_worker takes it whole
        )  # fmt: skip
        self.workers.append(proc)

    def kill_worker(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL a worker as a whole: its main process and its pool processes."""
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def client(self) -> tuple[Any, Any]:
        from tests.support.celery_app import make_app

        return make_app(self.broker_url, self.results_url)

    def worker_logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.tmp.glob("worker*.log"))
        )

    def runs(self) -> collections.Counter[str]:
        """Chunk runs that started, by the chunk's first app id."""
        return collections.Counter(p.name.rsplit(".", 1)[0] for p in self.started.iterdir())

    def served(self) -> list[dict[str, Any]]:
        """Stop fake-server and read what it served."""
        if self.fake.poll() is None:
            self.fake.send_signal(signal.SIGINT)
            self.fake.wait(15)
        return [json.loads(line) for line in self.requests_log.read_text().splitlines()]

    def stop(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.workers:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in getattr(self, "_logs", []):
            log.close()
        if self.fake.poll() is None:
            self.fake.kill()
            self.fake.wait()
        if self.fake.stdout is not None:
            self.fake.stdout.close()
        self.broker.cleanup()
        self.budget.cleanup()


def app_ids(apps: int) -> list[str]:
    """fake-server's app ids: its estate is FakeOkta's, the same for the same seed."""
    from okta_connections.testing import FakeOkta

    return [a.id for a in FakeOkta(apps=apps, seed=0).apps]
