"""Bulk work across many apps: bounded concurrency, streaming outcomes, a resumable journal.

Every item ends in exactly one outcome: succeeded, failed (with its error), skipped (the
journal says it was already done), cancelled (it was in flight when the job was stopped),
or planned (dry run). Items never pulled from the source because the job was cancelled
are counted as not started. The report accounts for every one.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import time
from collections import Counter
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TextIO, TypeVar

import attrs

from ._session import attempt_counter
from .errors import ApiError, InvalidArgumentError
from .ratelimit import RateLimitInfo

if TYPE_CHECKING:
    from .client import OktaClient

__all__ = [
    "BulkJob",
    "BulkService",
    "BulkReport",
    "Changed",
    "Journal",
    "Outcome",
    "OutcomeStatus",
    "PlannedCall",
    "Progress",
]

T = TypeVar("T")
BulkFunc = Callable[["OktaClient", Any], Awaitable[Any]]


class OutcomeStatus(StrEnum):
    """How an item ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    PLANNED = "planned"


@attrs.frozen
class Changed(Generic[T]):
    """What an idempotent convenience returns: the result, and whether anything changed.

    ``changed=False`` means the app was already in the wanted state and nothing was sent
    beyond the read.
    """

    value: T
    changed: bool


@attrs.frozen
class PlannedCall:
    """A dry run's description of the calls one item would make (bodies are never shown)."""

    calls: tuple[str, ...]


@attrs.frozen
class Outcome(Generic[T]):
    """The end of one item.

    Attributes:
        key: The app id the item is about.
        item: The item as the source gave it.
        status: succeeded, failed, cancelled, skipped or planned.
        result: The operation's return value (succeeded), or a PlannedCall (dry run).
        error: The exception (failed, cancelled), typed from :mod:`okta_connections.errors`.
        attempts: HTTP attempts made for the item, retries included.
        duration: Seconds the item took.
        changed: For idempotent conveniences: False when the app was already in the wanted
            state, True when it was changed; None otherwise.
        previous: For skipped items: the status the journal recorded.
    """

    key: str
    item: Any = attrs.field(repr=False)
    status: OutcomeStatus
    result: T | None = None
    error: BaseException | None = None
    attempts: int = 0
    duration: float = 0.0
    changed: bool | None = None
    previous: str | None = None

    @property
    def ok(self) -> bool:
        """True for succeeded (and skipped-because-already-succeeded) items."""
        return self.status is OutcomeStatus.SUCCEEDED or (
            self.status is OutcomeStatus.SKIPPED and self.previous == OutcomeStatus.SUCCEEDED
        )

    @property
    def error_code(self) -> str | None:
        """Okta's errorCode for API errors, else the error's class name; None without error."""
        if self.error is None:
            return None
        if isinstance(self.error, ApiError) and self.error.error_code:
            return self.error.error_code
        if isinstance(self.error, ApiError):
            return f"HTTP {self.error.status}"
        return type(self.error).__name__


@attrs.frozen
class Progress:
    """A progress snapshot, given to the ``on_progress`` callback after every outcome.

    Attributes:
        done: Items that have ended (any status).
        total: Items in the job, when the source has a length or ``total=`` was given.
        succeeded: Items that succeeded.
        failed: Items that failed.
        elapsed: Seconds since the job started.
        rate: Items ended per second.
        eta: Estimated seconds left, when ``total`` is known.
        rate_limit: The client's latest ``apps`` rate-limit window.
    """

    done: int
    total: int | None
    succeeded: int
    failed: int
    elapsed: float
    rate: float
    eta: float | None
    rate_limit: RateLimitInfo | None


@attrs.define
class BulkReport:
    """Counts for a whole job. ``accounted`` equals the items the job pulled."""

    succeeded: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    failed_by_code: Counter[str] = attrs.field(factory=Counter)
    cancelled: int = 0
    skipped: int = 0
    planned: int = 0
    not_started: int | None = 0
    elapsed: float = 0.0

    @property
    def accounted(self) -> int:
        """Items that reached an outcome (not counting not_started)."""
        return self.succeeded + self.failed + self.cancelled + self.skipped + self.planned

    @property
    def all_succeeded(self) -> bool:
        """True when nothing failed, was cancelled, or was left unstarted."""
        return not (self.failed or self.cancelled or self.not_started)

    def add(self, outcome: Outcome[Any]) -> None:
        status = outcome.status
        if status is OutcomeStatus.SUCCEEDED:
            self.succeeded += 1
            if outcome.changed is True:
                self.changed += 1
            elif outcome.changed is False:
                self.unchanged += 1
        elif status is OutcomeStatus.FAILED:
            self.failed += 1
            self.failed_by_code[outcome.error_code or "unknown"] += 1
        elif status is OutcomeStatus.CANCELLED:
            self.cancelled += 1
        elif status is OutcomeStatus.SKIPPED:
            self.skipped += 1
        else:
            self.planned += 1

    def summary(self) -> str:
        """One human-readable line."""
        parts = [f"{self.succeeded} succeeded"]
        if self.changed or self.unchanged:
            parts.append(f"({self.changed} changed, {self.unchanged} already in that state)")
        failed = f"{self.failed} failed"
        if self.failed_by_code:
            failed += (
                " (" + ", ".join(f"{c}: {n}" for c, n in self.failed_by_code.most_common()) + ")"
            )
        parts.append(failed)
        parts.append(f"{self.skipped} skipped")
        if self.planned:
            parts.append(f"{self.planned} planned")
        parts.append(f"{self.cancelled} cancelled")
        parts.append(f"{self.not_started if self.not_started is not None else '?'} not started")
        return ", ".join(parts) + f" in {self.elapsed:.1f}s"


class Journal:
    """An append-only JSONL record of outcomes, flushed after every line.

    On resume, the last recorded status of each key wins. A torn last line (the process
    was killed mid-write) is ignored.
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self._file: TextIO | None = None

    def load(self) -> dict[str, str]:
        """The last recorded status per key (empty when the file does not exist)."""
        statuses: dict[str, str] = {}
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return statuses
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a torn write from a killed process
            if isinstance(record, dict) and isinstance(record.get("key"), str):
                status = record.get("status")
                if isinstance(status, str) and status != OutcomeStatus.SKIPPED:
                    statuses[record["key"]] = status
        return statuses

    def open(self) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            torn = False
            if self.path.exists() and self.path.stat().st_size > 0:
                with self.path.open("rb") as existing:
                    existing.seek(-1, os.SEEK_END)
                    torn = existing.read(1) != b"\n"
            self._file = self.path.open("a", encoding="utf-8")
            if torn:  # a torn last line must not glue onto our first record
                self._file.write("\n")

    def write(self, outcome: Outcome[Any], operation: str) -> None:
        """Append one outcome and flush it to the OS."""
        if self._file is None:
            self.open()
        assert self._file is not None
        record: dict[str, Any] = {
            "key": outcome.key,
            "status": str(outcome.status),
            "op": operation,
            "attempts": outcome.attempts,
            "duration": round(outcome.duration, 4),
            "at": round(time.time(), 3),
        }
        if outcome.changed is not None:
            record["changed"] = outcome.changed
        if outcome.error is not None:
            record["code"] = outcome.error_code
            record["error"] = str(outcome.error)[:500]
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def default_key(item: Any) -> str:
    """The app id of an item: the item itself, or the first element of a pair."""
    if isinstance(item, str):
        return item
    if isinstance(item, tuple | list) and item and isinstance(item[0], str):
        return item[0]
    raise InvalidArgumentError(
        "items", f"each item must be an app id or an (app_id, ...) pair, not {type(item).__name__}"
    )


class BulkJob(Generic[T]):
    """Applies an async function of the client and an item to many items.

    Iterate over the job to stream outcomes as they finish, or ``await job.run()`` for the
    report. Create jobs through ``client.bulk``.
    """

    def __init__(
        self,
        client: OktaClient,
        func: Callable[[OktaClient, Any], Awaitable[T]],
        items: Iterable[Any] | AsyncIterable[Any],
        *,
        operation: str,
        concurrency: int | None = None,
        journal: str | os.PathLike[str] | Journal | None = None,
        retry_failed: bool = False,
        on_progress: Callable[[Progress], None] | None = None,
        dry_run: bool = False,
        plan: Callable[[Any], tuple[str, ...]] | None = None,
        total: int | None = None,
        key: Callable[[Any], str] = default_key,
    ) -> None:
        if concurrency is not None and (
            isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1
        ):
            raise InvalidArgumentError("concurrency", "must be a positive integer or None")
        self._client = client
        self._func = func
        self._items = items
        self.operation = operation
        self._concurrency = concurrency
        self._journal = journal if isinstance(journal, Journal | None) else Journal(journal)
        self._retry_failed = retry_failed
        self._on_progress = on_progress
        self._dry_run = dry_run
        self._plan = plan
        self._key = key
        if total is None and hasattr(items, "__len__"):
            total = len(items)  # type: ignore[arg-type]
        self.total = total
        self.report = BulkReport(not_started=None)
        self._stopping = False
        self._started = False

    def stop(self) -> None:
        """Stop starting new items; items in flight finish. Unpulled items are not started."""
        self._stopping = True

    async def run(self) -> BulkReport:
        """Run to the end and return the report."""
        async for _ in self:
            pass
        return self.report

    def __aiter__(self) -> AsyncIterator[Outcome[T]]:
        if self._started:
            raise RuntimeError("a BulkJob can be iterated only once")
        self._started = True
        return self._run()

    def _limit(self) -> int:
        if self._concurrency is not None:
            return self._concurrency
        return self._client.rate_limiter.cap("apps")

    async def _one(self, item: Any, key: str) -> Outcome[T]:
        counter = [0]
        attempt_counter.set(counter)
        started = time.monotonic()
        try:
            result: Any = await self._func(self._client, item)
        except Exception as exc:  # any failure is that item's outcome, never the job's end
            return Outcome(
                key=key,
                item=item,
                status=OutcomeStatus.FAILED,
                error=exc,
                attempts=max(counter[0], getattr(exc, "attempts", 0)),
                duration=time.monotonic() - started,
            )
        changed = None
        if isinstance(result, Changed):
            changed = result.changed
            result = result.value
        return Outcome(
            key=key,
            item=item,
            status=OutcomeStatus.SUCCEEDED,
            result=result,
            attempts=counter[0],
            duration=time.monotonic() - started,
            changed=changed,
        )

    def _progress(self, started: float) -> None:
        if self._on_progress is None:
            return
        report = self.report
        done = report.accounted
        elapsed = time.monotonic() - started
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = None
        if self.total is not None and rate > 0:
            eta = max(0, self.total - done) / rate
        self._on_progress(
            Progress(
                done=done,
                total=self.total,
                succeeded=report.succeeded,
                failed=report.failed,
                elapsed=elapsed,
                rate=rate,
                eta=eta,
                rate_limit=self._client.rate_limiter.get("apps"),
            )
        )

    def _record(self, outcome: Outcome[Any], started: float) -> None:
        self.report.add(outcome)
        if self._journal is not None and outcome.status is not OutcomeStatus.PLANNED:
            self._journal.write(outcome, self.operation)
        self._progress(started)

    async def _run(self) -> AsyncIterator[Outcome[T]]:
        started = time.monotonic()
        previous = self._journal.load() if self._journal is not None else {}
        if self._journal is not None and not self._dry_run:
            self._journal.open()
        source = _Source(self._items)
        pending: dict[asyncio.Task[Outcome[T]], tuple[str, Any]] = {}
        # Finished tasks arrive here through a done-callback, so waiting for the next one
        # costs O(1); asyncio.wait() would add and remove a callback on every pending
        # task for every outcome, O(concurrency) each time.
        finished: collections.deque[asyncio.Task[Outcome[T]]] = collections.deque()
        wakeup = asyncio.Event()

        def on_done(task: asyncio.Task[Outcome[T]]) -> None:
            finished.append(task)
            wakeup.set()

        exhausted = False
        try:
            while True:
                while not exhausted and not self._stopping and len(pending) < self._limit():
                    try:
                        item = await source.next()
                    except StopAsyncIteration:
                        exhausted = True
                        break
                    try:
                        key = self._key(item)
                    except InvalidArgumentError as exc:
                        bad: Outcome[T] = Outcome(
                            key=repr(item)[:64], item=item, status=OutcomeStatus.FAILED, error=exc
                        )
                        self._record(bad, started)
                        yield bad
                        continue
                    done_before = previous.get(key)
                    if done_before == OutcomeStatus.SUCCEEDED or (
                        done_before == OutcomeStatus.FAILED and not self._retry_failed
                    ):
                        skipped: Outcome[T] = Outcome(
                            key=key, item=item, status=OutcomeStatus.SKIPPED, previous=done_before
                        )
                        self.report.add(skipped)
                        self._progress(started)
                        yield skipped
                        continue
                    if self._dry_run:
                        calls = self._plan(item) if self._plan else (self.operation,)
                        planned: Outcome[T] = Outcome(
                            key=key,
                            item=item,
                            status=OutcomeStatus.PLANNED,
                            result=PlannedCall(calls),  # type: ignore[arg-type]
                        )
                        self._record(planned, started)
                        yield planned
                        continue
                    task = asyncio.get_running_loop().create_task(self._one(item, key))
                    task.add_done_callback(on_done)
                    pending[task] = (key, item)
                if not pending:
                    break
                while not finished:
                    wakeup.clear()
                    await wakeup.wait()
                while finished:
                    task = finished.popleft()
                    del pending[task]
                    outcome = task.result()
                    self._record(outcome, started)
                    yield outcome
        finally:
            if pending:
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                for task, (key, item) in pending.items():
                    if not task.cancelled() and task.exception() is None:
                        self._record(task.result(), started)  # it finished in time after all
                    else:
                        self._record(
                            Outcome(
                                key=key,
                                item=item,
                                status=OutcomeStatus.CANCELLED,
                                error=asyncio.CancelledError("the bulk job was cancelled"),
                            ),
                            started,
                        )
            self.report.elapsed = time.monotonic() - started
            if exhausted:
                self.report.not_started = 0
            elif self.total is not None:
                self.report.not_started = max(0, self.total - self.report.accounted)
            else:
                self.report.not_started = None  # unknown: the source was not exhausted
            if self._journal is not None:
                self._journal.close()


class _Source:
    """Pulls items one at a time from a sync or async iterable (never materialises it)."""

    def __init__(self, items: Iterable[Any] | AsyncIterable[Any]) -> None:
        self._async: AsyncIterator[Any] | None = None
        self._sync: Iterator[Any] | None = None
        if isinstance(items, AsyncIterable):
            self._async = aiter(items)
        else:
            self._sync = iter(items)

    async def next(self) -> Any:
        if self._async is not None:
            return await anext(self._async)
        assert self._sync is not None
        try:
            return next(self._sync)
        except StopIteration:
            raise StopAsyncIteration from None


class BulkService:
    """``client.bulk``: the connections operations over many apps, and your own functions.

    Every method returns a :class:`BulkJob`; pass the same options to any of them:
    ``concurrency`` (default: follows the client's adaptive in-flight cap), ``journal``
    (a JSONL path; rerun with it to resume), ``retry_failed``, ``on_progress``,
    ``dry_run`` and ``total``.

    Example::

        report = await okta.bulk.activate(app_ids, journal="activate.jsonl").run()
        print(report.summary())
    """

    def __init__(self, client: OktaClient) -> None:
        self._client = client

    def run(
        self,
        func: Callable[[OktaClient, Any], Awaitable[T]],
        items: Iterable[Any] | AsyncIterable[Any],
        *,
        operation: str | None = None,
        **options: Any,
    ) -> BulkJob[T]:
        """Apply ``func(client, item)`` to every item."""
        name: str = operation or str(getattr(func, "__name__", "custom"))
        return BulkJob(self._client, func, items, operation=name, **options)

    def get(self, app_ids: Iterable[str] | AsyncIterable[str], **options: Any) -> BulkJob[Any]:
        """Read the connection of every app (``connections.get``)."""

        async def get(client: OktaClient, app_id: str) -> Any:
            return await client.connections.get(app_id)

        return self._job(
            get, app_ids, "get", ("GET /api/v1/apps/{id}/connections/default",), options
        )

    def activate(
        self, app_ids: Iterable[str] | AsyncIterable[str], **options: Any
    ) -> BulkJob[None]:
        """Activate the connection of every app (``connections.activate``)."""

        async def activate(client: OktaClient, app_id: str) -> None:
            await client.connections.activate(app_id)

        plan = ("POST /api/v1/apps/{id}/connections/default/lifecycle/activate",)
        return self._job(activate, app_ids, "activate", plan, options)

    def deactivate(
        self, app_ids: Iterable[str] | AsyncIterable[str], **options: Any
    ) -> BulkJob[None]:
        """Deactivate the connection of every app (``connections.deactivate``)."""

        async def deactivate(client: OktaClient, app_id: str) -> None:
            await client.connections.deactivate(app_id)

        plan = ("POST /api/v1/apps/{id}/connections/default/lifecycle/deactivate",)
        return self._job(deactivate, app_ids, "deactivate", plan, options)

    def update(
        self,
        pairs: Iterable[tuple[str, Any]] | AsyncIterable[tuple[str, Any]],
        *,
        activate: bool | None = None,
        **options: Any,
    ) -> BulkJob[Any]:
        """Set the connection of every app from ``(app_id, TokenConnection|OAuthConnection)``."""

        async def update(client: OktaClient, pair: tuple[str, Any]) -> Any:
            app_id, request = pair
            return await client.connections.update(app_id, request, activate=activate)

        query = "" if activate is None else f"?activate={'true' if activate else 'false'}"
        plan = (f"POST /api/v1/apps/{{id}}/connections/default{query}",)
        return self._job(update, pairs, "update", plan, options)

    def set_token(
        self,
        app_ids: Iterable[str] | AsyncIterable[str],
        token: str,
        *,
        base_url: str | None = None,
        activate: bool | None = None,
        **options: Any,
    ) -> BulkJob[Any]:
        """Set the same token connection on every app (for example a rotated target token).

        The token is validated once, before the job starts, and never journaled or logged.
        """
        from .models import TokenConnection

        request = TokenConnection(token=token, base_url=base_url)

        async def set_token(client: OktaClient, app_id: str) -> Any:
            return await client.connections.update(app_id, request, activate=activate)

        query = "" if activate is None else f"?activate={'true' if activate else 'false'}"
        plan = (f"POST /api/v1/apps/{{id}}/connections/default{query} (token connection)",)
        return self._job(set_token, app_ids, "set_token", plan, options)

    def ensure_activated(
        self, app_ids: Iterable[str] | AsyncIterable[str], **options: Any
    ) -> BulkJob[Any]:
        """Activate every connection that is not ENABLED yet; leave the others alone.

        Each outcome's ``changed`` is False for apps that were already ENABLED.
        """
        return self._ensure(app_ids, enabled=True, options=options)

    def ensure_deactivated(
        self, app_ids: Iterable[str] | AsyncIterable[str], **options: Any
    ) -> BulkJob[Any]:
        """Deactivate every connection that is ENABLED; leave the others alone."""
        return self._ensure(app_ids, enabled=False, options=options)

    def _ensure(
        self,
        app_ids: Iterable[str] | AsyncIterable[str],
        *,
        enabled: bool,
        options: dict[str, Any],
    ) -> BulkJob[Any]:
        verb = "activate" if enabled else "deactivate"

        async def ensure(client: OktaClient, app_id: str) -> Changed[Any]:
            conn = await client.connections.get(app_id)
            if conn.is_enabled == enabled:
                return Changed(conn, changed=False)
            await getattr(client.connections, verb)(app_id)
            return Changed(conn, changed=True)

        plan = (
            "GET /api/v1/apps/{id}/connections/default",
            f"POST /api/v1/apps/{{id}}/connections/default/lifecycle/{verb} "
            f"({'unless' if enabled else 'if'} ENABLED)",
        )
        return self._job(ensure, app_ids, f"ensure_{verb}d", plan, options)

    def _job(
        self,
        func: Callable[[OktaClient, Any], Awaitable[T]],
        items: Iterable[Any] | AsyncIterable[Any],
        operation: str,
        plan: tuple[str, ...],
        options: dict[str, Any],
    ) -> BulkJob[T]:
        def planner(item: Any) -> tuple[str, ...]:
            key = default_key(item)
            return tuple(p.replace("{id}", key) for p in plan)

        options.setdefault("plan", planner)
        return BulkJob(self._client, func, items, operation=operation, **options)
