"""One bulk job across the workers of a task queue: chunks, rows, one report.

A small integration, not a framework (docs/scale-out.md has the recipe). The job is split
into chunks of app ids (:func:`split`), one task per chunk; each task runs
:func:`run_chunk` (or :func:`run_chunk_sync` in a synchronous worker such as Celery's),
which runs ``client.bulk`` on the chunk with the worker's own client (credentials and the
``shared_budget`` come from the worker's environment or okta.yaml, never from the task's
message) and returns one JSON-able row per app for the engine's result store. A row never
holds a secret: the cause of a failure is the error's type and its redacted text.

The actions are idempotent by construction (``ensure_activated``, ``ensure_deactivated``
read the connection first and change it only when needed; ``get`` changes nothing), so the
engine's own retries and redeliveries are safe: a chunk run twice changes each app at
most once, and the second run reports ``changed: false`` for the apps the first changed.

:func:`summarize` gathers every chunk's rows, or the error a chunk failed with as a whole,
into one :class:`ScaleOutReport` that accounts for every app. For Celery,
:func:`celery_settings`, :func:`celery_fan_out` and :func:`celery_gather` do the
plumbing; celery is imported only when those are called (the ``celery`` extra).
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import attrs

from ._redact import redact
from .bulk.outcomes import BulkReport, Outcome, OutcomeStatus
from .errors import InvalidArgumentError

if TYPE_CHECKING:
    from .client import OktaClient

__all__ = [
    "ACTIONS",
    "ChunkRow",
    "ScaleOutReport",
    "celery_fan_out",
    "celery_gather",
    "celery_settings",
    "close_process_clients",
    "failed_rows",
    "outcome_row",
    "run_chunk",
    "run_chunk_sync",
    "split",
    "summarize",
]

#: The ``client.bulk`` methods a chunk may run: each safe to run twice.
ACTIONS: Final = ("ensure_activated", "ensure_deactivated", "get")

#: One app's end, as the engine's result store holds it (JSON: str, bool, int, None).
ChunkRow = dict[str, Any]

#: The cause of a whole chunk's failure, or of a lost one, in a row.
_NO_RESULT = "no result for this chunk"


def split(app_ids: Iterable[str], size: int) -> list[list[str]]:
    """The app ids in chunks of at most ``size``, in order, each id once.

    A repeated id is dropped: one app, one outcome in the report.
    """
    if size < 1:
        raise InvalidArgumentError("size", "a chunk holds at least one app")
    unique = list(dict.fromkeys(app_ids))
    return [unique[i : i + size] for i in range(0, len(unique), size)]


def _cause(error: BaseException, secrets: Iterable[str] = ()) -> str:
    text = str(error)
    return redact(f"{type(error).__name__}: {text}" if text else type(error).__name__, secrets)


def outcome_row(outcome: Outcome[Any], secrets: Iterable[str] = ()) -> ChunkRow:
    """One outcome as a JSON-able row: app id, status, changed, error code, cause, attempts."""
    error = outcome.error
    return {
        "app_id": outcome.key,
        "status": str(outcome.status),
        "changed": outcome.changed,
        "error_code": outcome.error_code,
        "cause": None if error is None else _cause(error, secrets),
        "attempts": outcome.attempts,
    }


def failed_rows(app_ids: Iterable[str], error: BaseException | str) -> list[ChunkRow]:
    """Rows for apps whose chunk failed as a whole (or never answered): failed, with cause."""
    cause = error if isinstance(error, str) else _cause(error)
    code = "ChunkLost" if isinstance(error, str) else type(error).__name__
    return [
        {
            "app_id": app_id,
            "status": str(OutcomeStatus.FAILED),
            "changed": None,
            "error_code": code,
            "cause": redact(cause),
            "attempts": 0,
        }
        for app_id in app_ids
    ]


async def run_chunk(
    action: str,
    app_ids: Sequence[str],
    *,
    client: OktaClient | None = None,
    profile: str | None = None,
    **client_options: Any,
) -> list[ChunkRow]:
    """Run ``client.bulk.<action>`` on one chunk; one row per app, in the order they ended.

    A repeated id is run once (the first place it appears): one app, one row.

    Args:
        action: One of :data:`ACTIONS`.
        app_ids: The chunk.
        client: A client to use (left open); by default one is built with
            ``OktaClient.from_config(profile, **client_options)`` and closed after: the
            worker's environment (``OKTA_CLIENT_*``, ``OKTA_CLIENT_RATELIMIT_SHAREDBUDGET``)
            or okta.yaml give the credentials and the shared budget.
        profile: The okta.yaml profile for the client built here.
        **client_options: More ``from_config`` options (``shared_budget=``, ...).

    Raises:
        InvalidArgumentError: An action outside :data:`ACTIONS` (the task fails as a whole,
            and :func:`summarize` turns its apps into failed rows).
    """
    if action not in ACTIONS:
        raise InvalidArgumentError("action", f"one of {', '.join(ACTIONS)}, not {action!r}")
    ids = list(dict.fromkeys(app_ids))  # a repeated id: one app, changed once
    if client is None:
        from .client import OktaClient

        async with OktaClient.from_config(profile, **client_options) as owned:
            return await _rows(owned, action, ids)
    return await _rows(client, action, ids)


async def _rows(client: OktaClient, action: str, ids: list[str]) -> list[ChunkRow]:
    secrets = client.auth.secret_values()
    rows: list[ChunkRow] = []
    async with getattr(client.bulk, action)(ids, total=len(ids)) as job:
        async for outcome in job:
            rows.append(outcome_row(outcome, secrets))
    stopped = job.report.stopped_by
    if stopped is not None:
        # Refused credentials stopped the job: the apps it did not try fail with that
        # error (one row per app), not as lost.
        done = {row["app_id"] for row in rows}
        rows += failed_rows([app_id for app_id in ids if app_id not in done], stopped)
    return rows


def run_chunk_sync(
    action: str, app_ids: Sequence[str], *, reuse_client: bool = True, **options: Any
) -> list[ChunkRow]:
    """:func:`run_chunk` for synchronous workers (Celery's prefork pool).

    By default each worker process keeps one event loop and one client per set of
    options for all the chunks it runs: the client's pacing knowledge (the window, the
    principal's share), its connections and its shared budget carry over from chunk to
    chunk, and a Redis outage is one warning per process, not one per chunk.
    ``reuse_client=False`` runs each chunk in a fresh loop with a fresh client.
    """
    if not reuse_client:
        return asyncio.run(run_chunk(action, app_ids, **options))
    loop, clients = _process_state()
    key = repr(sorted(options.items()))  # in this process's memory only
    client = clients.get(key)
    if client is None or client.closed:
        from .client import OktaClient

        profile = options.get("profile")
        rest = {k: v for k, v in options.items() if k != "profile"}
        client = clients[key] = OktaClient.from_config(profile, **rest)
    return loop.run_until_complete(run_chunk(action, app_ids, client=client))


_STATE: dict[int, tuple[asyncio.AbstractEventLoop, dict[str, OktaClient]]] = {}


def _process_state() -> tuple[asyncio.AbstractEventLoop, dict[str, OktaClient]]:
    """This process's loop and clients (a forked child makes its own)."""
    import os

    pid = os.getpid()
    state = _STATE.get(pid)
    if state is None:
        import atexit

        _STATE.clear()  # a parent's loop and clients are not ours to use after a fork
        state = _STATE[pid] = (asyncio.new_event_loop(), {})
        atexit.register(close_process_clients)
    return state


def close_process_clients() -> None:
    """Close the clients and the loop :func:`run_chunk_sync` kept in this process.

    Registered with :mod:`atexit`; call it from a worker's shutdown hook (Celery's
    ``worker_process_shutdown`` signal) where the process does not run atexit handlers.
    """
    import os

    state = _STATE.pop(os.getpid(), None)
    if state is None:
        return
    loop, clients = state
    try:
        for client in clients.values():
            loop.run_until_complete(client.close())
    finally:
        clients.clear()
        loop.close()


@attrs.define
class ScaleOutReport:
    """Every app of a fanned-out job, and how it ended.

    Attributes:
        rows: App id -> its row (see :func:`outcome_row`), one per app of the job.
        report: The counts, as ``client.bulk`` would give them for one process
            (``accounted`` equals the job's apps).
        failed_chunks: Chunks that failed as a whole or gave no result; their apps are
            failed rows with the chunk's cause.
        missing: Apps of a chunk that answered without them (each a failed row).
    """

    rows: dict[str, ChunkRow]
    report: BulkReport
    failed_chunks: int = 0
    missing: list[str] = attrs.field(factory=list)

    @property
    def accounted(self) -> int:
        """Apps with a row: all of them."""
        return len(self.rows)

    def failed(self) -> dict[str, ChunkRow]:
        """The failed apps' rows."""
        return {k: r for k, r in self.rows.items() if r["status"] == OutcomeStatus.FAILED}

    def summary(self) -> str:
        """One line: the bulk report's, and the chunks that failed as a whole."""
        line = self.report.summary()
        if self.failed_chunks:
            line += f"; {self.failed_chunks} chunk(s) failed as a whole"
        if self.missing:
            line += f"; {len(self.missing)} app(s) missing from their chunk's result"
        return line


def summarize(
    chunks: Sequence[Sequence[str]],
    results: Sequence[Sequence[Mapping[str, Any]] | BaseException | None],
    *,
    elapsed: float = 0.0,
) -> ScaleOutReport:
    """One report for the whole job from each chunk's rows, or the error it failed with.

    Args:
        chunks: The chunks, as :func:`split` gave them.
        results: For each chunk, in the same order: its rows, the exception it failed
            with, or None when it gave no result (timed out, lost).
        elapsed: The job's wall time, for the summary.

    Every app of every chunk gets exactly one row: its own, or a failed one naming the
    chunk's cause. Rows are not trusted: only their known fields are kept (``app_id``,
    ``status``, ``changed``, ``error_code``, ``cause``, ``attempts``), a row that breaks
    that schema is a failed row (``error_code`` ``InvalidRow``, the cause naming the
    field), a result that is not a list of rows fails its chunk's apps, a row for an app
    outside its chunk is ignored, and texts are redacted (a URL's userinfo, query strings).
    An app in several chunks, or with several rows, keeps its best end: a success is never
    overwritten by a failure.
    """
    if len(chunks) != len(results):
        raise InvalidArgumentError("results", "one result per chunk")
    rows: dict[str, ChunkRow] = {}
    failed_chunks = 0
    missing: set[str] = set()

    def keep(app_id: str, row: ChunkRow, *, lost: bool = False) -> None:
        # A success is never overwritten by a failure of the same app (chunks that
        # overlap, a chunk run twice, a row repeated): the best end wins, the first on ties.
        held = rows.get(app_id)
        if held is None or _rank(row) > _rank(held):
            rows[app_id] = row
            if lost:
                missing.add(app_id)
            else:
                missing.discard(app_id)

    for chunk, result in zip(chunks, results, strict=True):
        if result is None or isinstance(result, BaseException):
            failed_chunks += 1
            for row in failed_rows(chunk, _NO_RESULT if result is None else result):
                keep(row["app_id"], row)
            continue
        if isinstance(result, str | bytes | Mapping) or not isinstance(result, Sequence):
            failed_chunks += 1
            cause = f"the chunk's result is a {type(result).__name__}, not a list of rows"
            for row in failed_rows(chunk, cause):
                row["error_code"] = _INVALID_ROW
                keep(row["app_id"], row)
            continue
        mine = set(chunk)
        got: dict[str, ChunkRow] = {}
        for raw in result:
            app_id = raw.get("app_id") if isinstance(raw, Mapping) else None
            if not isinstance(app_id, str) or app_id not in mine:
                continue  # a row for no app of this chunk (or no app at all)
            row = _checked_row(app_id, raw)
            if app_id not in got or _rank(row) > _rank(got[app_id]):
                got[app_id] = row
        for app_id in chunk:
            if app_id in got:
                keep(app_id, got[app_id])
            else:
                keep(app_id, failed_rows([app_id], _MISSING)[0], lost=True)
    report = BulkReport(elapsed=elapsed)
    counts: Counter[str] = Counter()
    for row in rows.values():
        status = OutcomeStatus(row["status"])
        counts[status] += 1
        if status is OutcomeStatus.SUCCEEDED:
            report.succeeded += 1
            if row.get("changed") is True:
                report.changed += 1
            elif row.get("changed") is False:
                report.unchanged += 1
        elif status is OutcomeStatus.FAILED:
            report.failed += 1
            report.failed_by_code[row.get("error_code") or "unknown"] += 1
        elif status is OutcomeStatus.CANCELLED:
            report.cancelled += 1
        elif status is OutcomeStatus.SKIPPED:
            report.skipped += 1
            report.skipped_done += 1
        else:
            report.planned += 1
    lost = [app_id for app_id in rows if app_id in missing]
    return ScaleOutReport(rows=rows, report=report, failed_chunks=failed_chunks, missing=lost)


_MISSING = "missing from its chunk's result"
_INVALID_ROW = "InvalidRow"
_ERROR_CODE = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
_MAX_ATTEMPTS = 10**6
_RANKS = {
    OutcomeStatus.FAILED: 0,
    OutcomeStatus.PLANNED: 1,
    OutcomeStatus.CANCELLED: 1,
    OutcomeStatus.SKIPPED: 2,
    OutcomeStatus.SUCCEEDED: 3,
}


def _rank(row: ChunkRow) -> tuple[int, bool]:
    """How good an end a (checked) row tells: a success, then one that changed the app."""
    return _RANKS[OutcomeStatus(row["status"])], row["changed"] is True


def _checked_row(app_id: str, raw: Mapping[Any, Any]) -> ChunkRow:
    """The row with only its known fields, each of its type; or, for a row that breaks
    the schema, a failed row naming the field (never its value)."""
    problem: str | None = None
    status = raw.get("status")
    changed = raw.get("changed")
    error_code = raw.get("error_code")
    cause = raw.get("cause")
    attempts = raw.get("attempts", 0)
    if not isinstance(status, str) or status not in _STATUSES:
        problem = f"status is not one of {', '.join(_STATUSES)}"
    elif changed is not None and not isinstance(changed, bool):
        problem = "changed is not true, false or null"
    elif error_code is not None and not (
        isinstance(error_code, str) and _ERROR_CODE.fullmatch(error_code)
    ):
        problem = "error_code is not a short code"
    elif cause is not None and not isinstance(cause, str):
        problem = "cause is not text"
    elif (
        isinstance(attempts, bool)
        or not isinstance(attempts, int)
        or not 0 <= attempts <= _MAX_ATTEMPTS
    ):
        problem = "attempts is not a count"
    if problem is not None:
        row = failed_rows([app_id], f"the chunk's row for this app is invalid: {problem}")[0]
        row["error_code"] = _INVALID_ROW
        return row
    return {
        "app_id": app_id,
        "status": status,
        "changed": changed,
        "error_code": error_code,
        "cause": None if cause is None else redact(cause),
        "attempts": attempts,
    }


_STATUSES: Final = tuple(str(s) for s in OutcomeStatus)


# ------------------------------------------------------------------------------- Celery


def celery_settings(*, visibility_timeout: int = 3600) -> dict[str, Any]:
    """Celery settings for chunks that are never lost and never run twice at once.

    ``task_acks_late``: a chunk's message is acknowledged when it ends, not when it starts,
    so a worker that dies mid-chunk leaves it to be delivered again.
    ``task_reject_on_worker_lost``: when the pool process running a chunk dies (SIGKILL,
    the OOM killer), the message is requeued at once instead of acknowledged as failed.
    ``worker_prefetch_multiplier=1``: a worker reserves one chunk per process, not four.
    ``broker_transport_options.visibility_timeout`` (Redis, SQS): how long a delivered,
    unacknowledged chunk waits before the broker hands it to another worker (that is how a
    chunk of a worker killed as a whole comes back). It must be longer than a chunk can
    take, reserved and paced, or a chunk still running is handed to a second worker:
    compute it from :func:`okta_connections.eta_seconds` for the whole job (chunks wait
    for the budget) with a margin. JSON only, for the task messages and results.

    Apply with ``app.conf.update(celery_settings(...))``.
    """
    if visibility_timeout < 1:
        raise InvalidArgumentError("visibility_timeout", "whole seconds, at least 1")
    return {
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "broker_transport_options": {"visibility_timeout": int(visibility_timeout)},
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
    }


def celery_fan_out(
    task: Any, action: str, app_ids: Iterable[str], *, chunk_size: int
) -> tuple[list[list[str]], Any]:
    """Send one ``task(action, chunk)`` per chunk as a Celery group.

    Returns the chunks and the ``GroupResult`` (give both to :func:`celery_gather`).
    ``task`` is your Celery task that calls :func:`run_chunk_sync`.
    """
    from celery import group  # type: ignore[import-untyped, unused-ignore]

    if action not in ACTIONS:
        raise InvalidArgumentError("action", f"one of {', '.join(ACTIONS)}, not {action!r}")
    chunks = split(app_ids, chunk_size)
    result = group(task.s(action, chunk) for chunk in chunks).apply_async()
    return chunks, result


def celery_gather(
    chunks: Sequence[Sequence[str]], group_result: Any, *, timeout: float | None = None
) -> ScaleOutReport:
    """Wait for every chunk's result and :func:`summarize` them.

    A chunk that failed as a whole (its task raised) gives failed rows with its error as
    cause; a chunk with no result within ``timeout`` seconds (all chunks together) gives
    failed rows too. The job's other chunks are unaffected.
    """
    import time

    started = time.monotonic()
    results: list[Sequence[Mapping[str, Any]] | BaseException | None] = []
    for async_result in group_result.results:
        left = None if timeout is None else max(0.1, timeout - (time.monotonic() - started))
        try:
            value = async_result.get(timeout=left, propagate=True, disable_sync_subtasks=False)
        except Exception as exc:
            if type(exc).__name__ == "TimeoutError" and not async_result.ready():
                results.append(None)
            else:
                results.append(exc)
            continue
        results.append(value if isinstance(value, list) else None)
    return summarize(chunks, results, elapsed=time.monotonic() - started)
