"""Bulk work across many apps: bounded concurrency, streaming outcomes, a resumable journal.

Every item ends in exactly one outcome: succeeded, failed (with its error), skipped (the
journal says it was already done), cancelled (it was in flight when the job was stopped),
or planned (dry run). Items never pulled from the source because the job was cancelled
are counted as not started. The report accounts for every one.
"""

from __future__ import annotations

import asyncio
import math
import os
import sys
import time
from collections import Counter
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
)
from enum import StrEnum
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio
import anyio.lowlevel
import attrs
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..errors import ApiError, InvalidArgumentError, OktaError
from ..pipeline.observe import job_start
from ..pipeline.session import attempt_counter
from ..ratelimit.headers import RateLimitInfo
from .journal import (
    Journal,
    JournalError,
    JournalLockedError,
    JournalMismatchError,
    JournalWarning,
)

if TYPE_CHECKING:
    from ..client import OktaClient
    from ..pipeline.otel import BulkSpan

__all__ = [
    "BulkJob",
    "BulkService",
    "BulkReport",
    "Changed",
    "Journal",
    "JournalError",
    "JournalLockedError",
    "JournalMismatchError",
    "JournalWarning",
    "Outcome",
    "OutcomeStatus",
    "PlannedCall",
    "Progress",
    "ReadBackError",
    "eta_seconds",
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
        rate: Items that made requests, ended per second (skipped and planned items
            excluded).
        eta: Estimated seconds left, when ``total`` is known: from the rate-limit
            schedule (see :func:`eta_seconds`), not from the rate so far alone.
        rate_limit: The client's latest ``apps`` rate-limit window.
        skipped: Items skipped because the journal recorded them.
    """

    done: int
    total: int | None
    succeeded: int
    failed: int
    elapsed: float
    rate: float
    eta: float | None
    rate_limit: RateLimitInfo | None
    skipped: int = 0


@attrs.define
class BulkReport:
    """Counts for a whole job. ``accounted`` equals the items the job pulled.

    ``skipped`` is split in two: ``skipped_done`` (the journal recorded a success) and
    ``skipped_failed`` (it recorded a failure, and the job was not told to retry
    failures). A job with skipped failures did not succeeded as a whole.
    """

    succeeded: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    failed_by_code: Counter[str] = attrs.field(factory=Counter)
    cancelled: int = 0
    skipped: int = 0
    skipped_done: int = 0
    skipped_failed: int = 0
    planned: int = 0
    not_started: int | None = 0
    elapsed: float = 0.0

    @property
    def accounted(self) -> int:
        """Items that reached an outcome (not counting not_started)."""
        return self.succeeded + self.failed + self.cancelled + self.skipped + self.planned

    @property
    def all_succeeded(self) -> bool:
        """True when nothing failed (now or earlier), was cancelled, or was left unstarted."""
        return not (self.failed or self.skipped_failed or self.cancelled or self.not_started)

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
            if outcome.previous == OutcomeStatus.FAILED:
                self.skipped_failed += 1
            else:
                self.skipped_done += 1
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
        skipped = f"{self.skipped} skipped"
        if self.skipped:
            skipped += f" ({self.skipped_done} done earlier, {self.skipped_failed} failed earlier)"
        parts.append(skipped)
        if self.planned:
            parts.append(f"{self.planned} planned")
        parts.append(f"{self.cancelled} cancelled")
        parts.append(f"{self.not_started if self.not_started is not None else '?'} not started")
        return ", ".join(parts) + f" in {self.elapsed:.1f}s"


def default_key(item: Any) -> str:
    """The app id of an item: the item itself, or the first element of a pair."""
    if isinstance(item, str):
        return item
    if isinstance(item, tuple | list) and item and isinstance(item[0], str):
        return item[0]
    raise InvalidArgumentError(
        "items", f"each item must be an app id or an (app_id, ...) pair, not {type(item).__name__}"
    )


class ReadBackError(OktaError):
    """An update was accepted, but the connection Okta returned differs from what was set.

    Attributes:
        field: The field that differs: ``auth_scheme``, ``base_url``, ``client_id``,
            ``rotation_mode`` or ``status``.
        expected: What the job set.
        actual: What Okta has.
    """

    def __init__(self, app_id: str, field: str, expected: Any, actual: Any) -> None:
        super().__init__(
            f"read-back of {app_id}: {field} is {actual!r}, but the update set {expected!r}"
        )
        self.app_id = app_id
        self.field = field
        self.expected = expected
        self.actual = actual


def eta_seconds(
    items_left: int,
    rate_limit: RateLimitInfo | None,
    *,
    rate: float = 0.0,
    requests_per_item: float = 1.0,
    max_capacity: float = 1.0,
    window: float = 60.0,
    now: float | None = None,
) -> float | None:
    """Seconds until ``items_left`` items are done, from the rate-limit schedule.

    The pacer spreads this window's remaining budget over the time left in it, so the
    items that fit in that budget take their share of the window; every item beyond it
    costs whole windows of ``limit * max_capacity`` requests each. When the rate limit is
    not what binds (no window seen yet, a concurrency 429, or a limit so high that the
    job's own speed decides), the job's rate so far (``rate``, items a second, skipped
    ones excluded) is the floor. None when neither is known.

    This is the one place the ETA is computed: point it at the pacer's own schedule when
    the pacer can tell one.
    """
    if items_left <= 0:
        return 0.0
    by_rate = items_left / rate if rate > 0 else None
    if rate_limit is None or rate_limit.is_concurrency_signal or rate_limit.limit <= 0:
        return by_rate
    needed = items_left * max(requests_per_item, 1e-9)
    resets_in = rate_limit.resets_in(now)
    remaining = max(0, rate_limit.remaining)
    per_window = max(1.0, rate_limit.limit * max_capacity)
    if needed <= remaining:
        scheduled = resets_in * needed / remaining if remaining else 0.0
    else:
        scheduled = resets_in + math.ceil((needed - remaining) / per_window) * window
    return scheduled if by_rate is None else max(scheduled, by_rate)


_END: Any = object()
#: Items that end without a request (skips, plans, bad items) in a row before a worker
#: yields to the event loop, so that a resume over 100k done items stays interruptible.
_YIELD_EVERY = 64


class BulkJob(Generic[T]):
    """Applies an async function of the client and an item to many items.

    Create jobs through ``client.bulk``. Three ways to run one:

    - ``async with job: async for outcome in job: ...`` — the guaranteed path. Leaving the
      block (a ``break``, an exception, cancellation) cancels the items in flight, and
      before the block exits ``job.report`` accounts for every item: those in flight are
      ``cancelled``, those never pulled from the source are counted as not started (their
      number is known when the source has a length or ``total=`` was given).
    - ``report = await job.run()`` — takes the same path and returns the report.
    - A bare ``async for outcome in job`` works too, but a ``break`` out of it only
      suspends the generator: the items in flight keep running and the report stays
      incomplete until the generator is closed (``aclose()``, or garbage collection, which
      may happen in another task). Use ``async with`` when you may leave early.

    Items run in an anyio task group of worker tasks, at most ``concurrency`` at once
    (a capacity limiter that follows the client's adaptive in-flight cap by default), and
    outcomes reach the consumer through a bounded memory object stream: a slow consumer
    holds the workers back, so memory stays flat whatever the number of items.
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
        params: Mapping[str, Any] | None = None,
        secret_params: Iterable[str] = (),
        secrets: Iterable[str] = (),
        item_secrets: Callable[[Any], Iterable[str]] | None = None,
        requests_per_item: float = 1.0,
    ) -> None:
        if concurrency is not None and (
            isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1
        ):
            raise InvalidArgumentError("concurrency", "must be a positive integer or None")
        if total is not None and (isinstance(total, bool) or not isinstance(total, int)):
            raise InvalidArgumentError("total", "must be an integer or None")
        if journal is not None and not isinstance(journal, Journal | str | os.PathLike):
            raise InvalidArgumentError("journal", "must be a path, a Journal or None")
        if retry_failed and journal is None:
            raise InvalidArgumentError("retry_failed", "needs a journal")
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
        self._params = dict(params or {})
        self._secret_params = tuple(secret_params)
        self._secrets = tuple(s for s in (*self._secret_params, *secrets) if s)
        self._item_secrets = item_secrets
        self._requests_per_item = requests_per_item
        if total is None and hasattr(items, "__len__"):
            total = len(items)  # type: ignore[arg-type]
        self.total = total
        self.report = BulkReport(not_started=None)
        self._previous: dict[str, str] = {}
        self._checked = False
        self._stopping = False
        self._started = False
        self._exhausted = False
        self._tg: TaskGroup | None = None
        self._receive: MemoryObjectReceiveStream[Outcome[T]] | None = None
        self._inflight: dict[int, tuple[str, Any]] = {}
        self._live = 0
        self._all_done: anyio.Event | None = None
        self._t0 = 0.0
        self._done_without_request = 0
        self._span: BulkSpan | None = None  # the job's span, when tracing

    # ------------------------------------------------------------------ public

    def check(self) -> None:
        """Check the journal against this job and lock it, now; nothing is sent.

        Entering the job does this anyway; call it early to fail before any other work
        (the CLI calls it before it lists the apps).

        Raises:
            JournalError: not a journal, a missing directory, another job's journal
                (:class:`JournalMismatchError`) or one in use (:class:`JournalLockedError`).
        """
        if self._checked:
            return
        if self._journal is not None:
            self._previous = self._journal.open(
                self.operation,
                self._params,
                self._secret_params,
                redact_secrets=self._secrets,
                create=not self._dry_run,
            )
        self._checked = True

    def stop(self) -> None:
        """Stop starting new items; items in flight finish. Unpulled items are not started."""
        self._stopping = True

    async def run(self) -> BulkReport:
        """Run to the end (on the guaranteed path) and return the report."""
        if self._tg is not None:  # inside ``async with job``: drain the stream
            async for _ in self._stream():
                pass
            return self.report
        await self._enter(streaming=False)
        try:
            assert self._all_done is not None
            await self._all_done.wait()
        except BaseException:
            if not await self._exit(*sys.exc_info()):
                raise
        else:
            await self._exit(None, None, None)
        return self.report

    async def __aenter__(self) -> BulkJob[T]:
        await self._enter(streaming=True)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        return await self._exit(exc_type, exc, tb)

    def __aiter__(self) -> AsyncIterator[Outcome[T]]:
        if self._tg is not None:
            return self._stream()
        return self._owned()

    # ------------------------------------------------------------------ running

    async def _owned(self) -> AsyncIterator[Outcome[T]]:
        async with self:
            async for outcome in self._stream():
                yield outcome

    async def _stream(self) -> AsyncIterator[Outcome[T]]:
        # receive_nowait() first: a ready outcome costs no extra trip through the event
        # loop; an empty stream waits (backpressure is the bounded buffer either way).
        receive = self._take_stream()
        with receive:
            while True:
                try:
                    outcome = receive.receive_nowait()
                except anyio.WouldBlock:
                    try:
                        outcome = await receive.receive()
                    except anyio.EndOfStream:
                        return
                except anyio.EndOfStream:
                    return
                yield outcome

    def _take_stream(self) -> MemoryObjectReceiveStream[Outcome[T]]:
        if self._receive is None:
            raise RuntimeError("this job's outcomes are already being consumed")
        receive = self._receive
        self._receive = None
        return receive

    def _workers(self) -> int:
        if self._concurrency is not None:
            return self._concurrency
        return max(1, int(getattr(self._client.rate_limiter, "max_in_flight", 64)))

    def _limit(self) -> int:
        if self._concurrency is not None:
            return self._concurrency
        return self._client.rate_limiter.cap("apps")

    async def _enter(self, *, streaming: bool) -> None:
        if self._started:
            raise RuntimeError("a BulkJob can be run only once")
        self._started = True
        self.check()  # the journal is checked and locked before any request
        self._t0 = time.monotonic()
        self._source = _Source(self._items)
        n = self._workers()
        self._limiter = anyio.CapacityLimiter(self._limit())
        self._cap = self._limiter.total_tokens
        self._all_done = anyio.Event()
        self._live = n
        self._span = job_start(self._client, self.operation, self.total)
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        if streaming:
            send, self._receive = anyio.create_memory_object_stream[Outcome[T]](n)
            with send:
                for index in range(n):
                    tg.start_soon(self._work, index, send.clone())
        else:
            for index in range(n):
                tg.start_soon(self._work, index, None)
        if self._span is not None:
            self._span.detach()  # the workers have it; the caller's context is left as it was

    async def _exit(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        tg = self._tg
        assert tg is not None
        tg.cancel_scope.cancel()  # what is still running is no longer wanted
        try:
            return bool(await tg.__aexit__(exc_type, exc, tb))
        except BaseExceptionGroup as group:
            # One failure inside the job (a journal write, an on_progress callback) is
            # raised as itself, not wrapped.
            if len(group.exceptions) == 1:
                raise group.exceptions[0] from None
            raise
        finally:
            self._finish()

    def _finish(self) -> None:
        for key, item in self._inflight.values():
            cancelled: Outcome[T] = Outcome(
                key=key,
                item=item,
                status=OutcomeStatus.CANCELLED,
                error=asyncio.CancelledError("the bulk job was cancelled"),
            )
            try:
                self._record(cancelled)
            except Exception:  # a failing journal or callback must not hide the first error
                self.report.add(cancelled)
        self._inflight.clear()
        report = self.report
        report.elapsed = time.monotonic() - self._t0
        if self._exhausted:
            report.not_started = 0
        elif self.total is not None:
            report.not_started = max(0, self.total - report.accounted)
        else:
            report.not_started = None  # unknown: the source was not exhausted
        if self._receive is not None:
            self._receive.close()
            self._receive = None
        if self._journal is not None:
            self._journal.close()
        if self._span is not None:
            self._span.end(report)

    async def _pull(self) -> Any:
        if self._exhausted or self._stopping:
            return _END
        source = self._source
        if source.is_async:
            async with source.lock:
                if self._exhausted:
                    return _END
                try:
                    return await source.next()
                except StopAsyncIteration:
                    self._exhausted = True
                    return _END
        try:
            return source.next_sync()
        except StopIteration:
            self._exhausted = True
            return _END

    async def _work(self, index: int, send: MemoryObjectSendStream[Outcome[T]] | None) -> None:
        limiter = self._limiter
        adaptive = self._concurrency is None
        try:
            while True:
                if adaptive:
                    cap = self._limit()
                    if cap != self._cap:
                        self._cap = limiter.total_tokens = cap
                try:
                    limiter.acquire_nowait()
                except anyio.WouldBlock:
                    await limiter.acquire()
                try:
                    item = await self._pull()
                    if item is _END:
                        return
                    outcome = await self._process(index, item)
                finally:
                    limiter.release()
                if send is not None:
                    try:
                        send.send_nowait(outcome)  # room in the buffer: no loop trip
                    except anyio.WouldBlock:
                        await send.send(outcome)  # full: wait for the consumer
        finally:
            if send is not None:
                send.close()
            self._live -= 1
            if self._live == 0 and self._all_done is not None:
                self._all_done.set()

    async def _process(self, index: int, item: Any) -> Outcome[T]:
        try:
            key = self._key(item)
        except InvalidArgumentError as exc:
            return await self._quick(
                Outcome(key=repr(item)[:64], item=item, status=OutcomeStatus.FAILED, error=exc)
            )
        done_before = self._previous.get(key)
        if done_before == OutcomeStatus.SUCCEEDED or (
            done_before == OutcomeStatus.FAILED and not self._retry_failed
        ):
            return await self._quick(
                Outcome(key=key, item=item, status=OutcomeStatus.SKIPPED, previous=done_before)
            )
        if self._dry_run:
            calls = self._plan(item) if self._plan else (self.operation,)
            return await self._quick(
                Outcome(
                    key=key,
                    item=item,
                    status=OutcomeStatus.PLANNED,
                    result=PlannedCall(calls),  # type: ignore[arg-type]
                )
            )
        self._done_without_request = 0
        self._inflight[index] = (key, item)
        outcome = await self._one(item, key)
        del self._inflight[index]  # recorded in the same step: never lost, never twice
        self._record(outcome)
        return outcome

    async def _quick(self, outcome: Outcome[T]) -> Outcome[T]:
        self._record(outcome)
        self._done_without_request += 1
        if self._done_without_request >= _YIELD_EVERY:
            self._done_without_request = 0
            await anyio.lowlevel.checkpoint()
        return outcome

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

    def _record(self, outcome: Outcome[Any]) -> None:
        self.report.add(outcome)
        status = outcome.status
        journal = self._journal
        if (
            journal is not None
            and journal.is_open
            and status is not OutcomeStatus.PLANNED
            and status is not OutcomeStatus.SKIPPED
        ):
            extra: Iterable[str] = ()
            if outcome.error is not None and self._item_secrets is not None:
                extra = self._item_secrets(outcome.item)
            journal.write(outcome, self.operation, secrets=extra)
        if self._on_progress is not None:
            self._progress()

    def _progress(self) -> None:
        assert self._on_progress is not None
        report = self.report
        done = report.accounted
        elapsed = time.monotonic() - self._t0
        worked = done - report.skipped - report.planned
        rate = worked / elapsed if elapsed > 0 else 0.0
        info = self._client.rate_limiter.get("apps")
        eta = None
        if self.total is not None:
            eta = eta_seconds(
                max(0, self.total - done),
                info,
                rate=rate,
                requests_per_item=self._requests_per_item,
                max_capacity=float(getattr(self._client.rate_limiter, "max_capacity", 1.0)),
            )
        self._on_progress(
            Progress(
                done=done,
                total=self.total,
                succeeded=report.succeeded,
                failed=report.failed,
                elapsed=elapsed,
                rate=rate,
                eta=eta,
                rate_limit=info,
                skipped=report.skipped,
            )
        )


class _Source:
    """Pulls items one at a time from a sync or async iterable (never materialises it)."""

    def __init__(self, items: Iterable[Any] | AsyncIterable[Any]) -> None:
        self._async: AsyncIterator[Any] | None = None
        self._sync: Iterator[Any] | None = None
        self.is_async = isinstance(items, AsyncIterable)
        if self.is_async:
            self._async = aiter(items)  # type: ignore[arg-type]
            self.lock = anyio.Lock()  # an async generator cannot be advanced concurrently
        else:
            self._sync = iter(items)  # type: ignore[arg-type]

    async def next(self) -> Any:
        assert self._async is not None
        return await anext(self._async)

    def next_sync(self) -> Any:
        assert self._sync is not None
        return next(self._sync)


class BulkService:
    """``client.bulk``: the connections operations over many apps, and your own functions.

    Every method returns a :class:`BulkJob`; pass the same options to any of them:
    ``concurrency`` (default: follows the client's adaptive in-flight cap), ``journal``
    (a JSONL path or a :class:`Journal`; rerun with it to resume), ``retry_failed``,
    ``on_progress``, ``dry_run`` and ``total``. For ``run()`` jobs of your own:
    ``params`` (JSON-able options fingerprinted into the journal's header, so that a
    resume with other ones is refused), ``secret_params`` (secret options, fingerprinted
    only as salted hashes), ``secrets`` and ``item_secrets`` (text redacted from the
    error text the journal records: the job's, and a function giving each item's), and
    ``requests_per_item`` (for the ETA).

    Example::

        report = await okta.bulk.activate(app_ids, journal="activate.jsonl").run()
        print(report.summary())

        async with okta.bulk.deactivate(app_ids) as job:
            async for outcome in job:
                if outcome.status is OutcomeStatus.FAILED:
                    break  # the rest is cancelled; job.report still counts every app
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
        read_back: bool = False,
        **options: Any,
    ) -> BulkJob[Any]:
        """Set the connection of every app from ``(app_id, TokenConnection|OAuthConnection)``.

        Args:
            pairs: ``(app_id, connection)`` pairs.
            activate: True to activate in the same call; None leaves Okta's default.
            read_back: Check that Okta kept what was set (see :meth:`set_token`).
            **options: The job options (see the class docstring).

        The secrets of each pair's connection (its token, an Office 365 admin password)
        are redacted from the error text written to the journal.
        """

        async def update(client: OktaClient, pair: tuple[str, Any]) -> Any:
            app_id, request = pair
            conn = await client.connections.update(app_id, request, activate=activate)
            if read_back:
                conn = await _read_back(client, app_id, request, conn, activate)
            return conn

        query = "" if activate is None else f"?activate={'true' if activate else 'false'}"
        plan: tuple[str, ...] = (f"POST /api/v1/apps/{{id}}/connections/default{query}",)
        if read_back and activate:
            plan += (
                "GET /api/v1/apps/{id}/connections/default (if the update's status cannot tell)",
            )
        params = dict(options.pop("params", None) or {})
        params.update(activate=activate)
        options.setdefault("item_secrets", _pair_secrets)
        return self._job(update, pairs, "update", plan, {**options, "params": params})

    def set_token(
        self,
        app_ids: Iterable[str] | AsyncIterable[str],
        token: str,
        *,
        base_url: str | None = None,
        activate: bool | None = None,
        read_back: bool = False,
        **options: Any,
    ) -> BulkJob[Any]:
        """Set the same token connection on every app (for example a rotated target token).

        The token is validated once, before the job starts, and never journaled or logged:
        the journal's header holds only a keyed hash of it (so that a resume with another
        token is refused), and error text has it redacted.

        Args:
            app_ids: The apps.
            token: The target app's API token.
            base_url: Zscaler 2.0: the SCIM base URL.
            activate: True to activate in the same call.
            read_back: Compare what was set with the connection the update returned (auth
                scheme, base URL; the status after activating, read again only when the
                update's response does not show it); a difference is a failed outcome with
                a :class:`ReadBackError` naming the field. A token cannot be read back:
                Okta never returns it, so it is not checked.
            **options: The job options (see the class docstring).
        """
        from ..models import TokenConnection

        request = TokenConnection(token=token, base_url=base_url)

        async def set_token(client: OktaClient, app_id: str) -> Any:
            conn = await client.connections.update(app_id, request, activate=activate)
            if read_back:
                conn = await _read_back(client, app_id, request, conn, activate)
            return conn

        query = "" if activate is None else f"?activate={'true' if activate else 'false'}"
        plan = (f"POST /api/v1/apps/{{id}}/connections/default{query} (token connection)",)
        params = dict(options.pop("params", None) or {})
        params.update(base_url=base_url, activate=activate)
        options["secret_params"] = (*options.get("secret_params", ()), token)
        return self._job(set_token, app_ids, "set_token", plan, {**options, "params": params})

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
        options.setdefault("requests_per_item", 1.5)
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


def _pair_secrets(pair: Any) -> tuple[str, ...]:
    if isinstance(pair, tuple | list) and len(pair) == 2:
        return connection_secrets(pair[1])
    return ()


def connection_secrets(connection: Any) -> tuple[str, ...]:
    """The secret values a connection request carries: a token, an admin password."""
    found = []
    for name in ("token", "admin_password", "client_secret"):
        value = getattr(connection, name, None)
        if isinstance(value, str) and value:
            found.append(value)
    return tuple(found)


async def _read_back(
    client: OktaClient, app_id: str, request: Any, conn: Any, activate: bool | None
) -> Any:
    """Raise ReadBackError where the connection differs from ``request``; returns the
    connection as last seen."""
    from ..models import AuthScheme, OAuthConnection, TokenConnection

    def differ(field: str, expected: Any, actual: Any) -> None:
        raise ReadBackError(app_id, field, expected, actual)

    scheme = AuthScheme.TOKEN if isinstance(request, TokenConnection) else AuthScheme.OAUTH2
    if conn.auth_scheme != scheme:
        differ("auth_scheme", str(scheme), str(conn.auth_scheme))
    base_url = getattr(request, "base_url", None)
    if base_url is not None and conn.base_url != base_url:
        differ("base_url", base_url, conn.base_url)
    if isinstance(request, OAuthConnection):
        if request.client_id is not None and conn.profile.client_id != request.client_id:
            differ("client_id", request.client_id, conn.profile.client_id)
        if request.rotation_mode is not None:
            signing = conn.profile.signing
            mode = None if signing is None else signing.rotation_mode
            if mode != request.rotation_mode:
                differ(
                    "rotation_mode",
                    str(request.rotation_mode),
                    None if mode is None else str(mode),
                )
    if activate and not conn.is_enabled and not conn.needs_consent:
        # The update's answer may predate the activation: ask again before calling it.
        conn = await client.connections.get(app_id)
        if not conn.is_enabled and not conn.needs_consent:
            differ("status", "ENABLED", str(conn.status))
    return conn
