"""A bulk job: bounded concurrency, streaming outcomes, a resumable journal.

Every item ends in exactly one outcome: succeeded, failed (with its error), skipped (the
journal says it was already done), cancelled (it was in flight when the job was stopped),
or planned (dry run). Items never pulled from the source because the job was cancelled
are counted as not started. The report accounts for every one.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
)
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..errors import (
    ApiError,
    AuthError,
    ForbiddenError,
    InvalidArgumentError,
    TokenEndpointUnreachableError,
    UnauthorizedError,
)
from ..pipeline.events import Events, JobEnded, JobStarted
from ..pipeline.session import attempt_counter
from .journal import Journal
from .outcomes import (
    BulkReport,
    Changed,
    Outcome,
    OutcomeStatus,
    PlannedCall,
    Progress,
    T,
    eta_seconds,
)

if TYPE_CHECKING:
    from ..ratelimit.pacer import RateLimiter
    from ..services.connections import ConnectionsService

__all__ = ["BulkClient", "BulkJob", "JobSpan", "JobTracer", "default_key"]


class BulkClient(Protocol):
    """What bulk jobs use of their client: the connections, and the pacer they follow.

    :class:`~okta_connections.client.OktaClient` is one; the layers below the client take
    this instead of naming it.
    """

    @property
    def connections(self) -> ConnectionsService: ...

    @property
    def rate_limiter(self) -> RateLimiter: ...


class JobSpan(Protocol):
    """The telemetry of one job: current until :meth:`detach`, ended with the report."""

    def detach(self) -> None: ...

    def end(self, report: BulkReport) -> None: ...


class JobTracer(Protocol):
    """What starts a job's telemetry (the client's observer)."""

    def job_start(self, operation: str, total: int | None) -> JobSpan | None: ...


#: The client type of a job's function: OktaClient, or whatever else satisfies BulkClient.
C = TypeVar("C", bound=BulkClient)
BulkFunc = Callable[[BulkClient, Any], Awaitable[Any]]


def default_key(item: Any) -> str:
    """The app id of an item: the item itself, or the first element of a pair."""
    if isinstance(item, str):
        return item
    if isinstance(item, tuple | list) and item and isinstance(item[0], str):
        return item[0]
    raise InvalidArgumentError(
        "items", f"each item must be an app id or an (app_id, ...) pair, not {type(item).__name__}"
    )


def _now() -> float:
    """The event loop's clock (time.monotonic on asyncio's own loops): the job's elapsed
    time and rate run on the time the pacer waits on, virtual time in tests too."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()


#: Items in a row whose credentials were refused that stop a job (see stop_on_auth_failure).
_STOP_AFTER_REFUSALS = 3
#: Seconds, from when the item going alone started, before the items waiting go too.
_PROBE_SECONDS = 3.0


def _credentials_refused(error: BaseException | None) -> bool:
    """A 401, or the token endpoint refusing the client: every app would fail the same.

    The token endpoint refuses with a 4xx (an :class:`OAuthError` such as
    ``invalid_client``); its 429 (a passing rate limit), its 5xx and an endpoint that
    could not be reached at all (:class:`TokenEndpointUnreachableError`, or any AuthError
    without a status) are passing trouble, not refused credentials.
    """
    if isinstance(error, UnauthorizedError):
        return True
    if isinstance(error, AuthError) and not isinstance(error, TokenEndpointUnreachableError):
        status = getattr(error, "status", None)
        return isinstance(status, int) and 400 <= status < 500 and status != 429
    return False


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

    Refused credentials stop a job (``stop_on_auth_failure=True``, the default): until an
    item gets through (a success, or any failure but a refusal: a 404 on one app proves
    the credentials work; a failure before any request proves nothing), items go one at
    a time (when the item going alone has run 3 s, from its start, the others go too,
    which proves nothing), and three refusals in a row (401, the token endpoint refusing
    the client with a 4xx other than 429, or 403) stop the job. Items still waiting when
    the job is stopped or cancelled are not started. Once an item got through, the job
    fans out, and three 401s in a row (a token revoked mid-job) stop it. A stopped job
    ends normally: its report's ``stopped_by`` holds the error, the items not tried are
    ``not_started``, and the journal marks the refused items so that a rerun with good
    credentials tries them again (no ``retry_failed`` needed). So a wrong token costs
    three requests, not one per item. ``stop_on_auth_failure=False`` runs every item
    whatever it gets.
    """

    def __init__(
        self,
        client: C,
        func: Callable[[C, Any], Awaitable[T]],
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
        tracer: JobTracer | None = None,
        stop_on_auth_failure: bool = True,
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
        self._client: BulkClient = client
        self._func: Callable[[Any, Any], Awaitable[T]] = func
        self._tracer = tracer
        self._events: Events | None = None
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
        self._span: JobSpan | None = None  # the job's span, when tracing
        self._stop_on_auth = stop_on_auth_failure
        self._proven = not stop_on_auth_failure  # an item got through: fan out
        self._fanned_out = False  # the gate's holder ran 3 s: fan out, though unproven
        self._refusals = 0  # items in a row whose credentials were refused
        # One item at a time until one gets through: the gate's holder started its item
        # at _holder_since (None: the gate is free); _gate_turn counts the holders, and
        # _gate_moved is set whenever the gate is released.
        self._holder_since: float | None = None
        self._gate_turn = 0
        self._gate_moved = anyio.Event()
        self._held = 0  # items pulled, then not started because the job stopped

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
        """Stop starting new items; items in flight finish. Unpulled items are not started,
        nor are items waiting for the one item that goes alone (before any got through)."""
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
        self._t0 = _now()
        self._source = _Source(self._items)
        n = self._workers()
        self._limiter = anyio.CapacityLimiter(self._limit())
        self._cap = self._limiter.total_tokens
        self._all_done = anyio.Event()
        self._live = n
        events: Events | None = getattr(self._client, "events", None)
        if events is not None:
            if events.wants(JobStarted):
                await events.emit(JobStarted(self.operation, self.total))
            self._events = events
        tracer = self._tracer
        self._span = None if tracer is None else tracer.job_start(self.operation, self.total)
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
            # A failure inside the job (a journal write, an on_progress callback) is
            # raised as itself, not wrapped; a cancellation of the caller wins.
            raise _one_of(group, exc) from None
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
        report.elapsed = _now() - self._t0
        if self._exhausted:
            report.not_started = self._held
        elif self.total is not None:
            report.not_started = max(0, self.total - report.accounted)
        else:
            report.not_started = None  # unknown: the source was not exhausted
        if self._receive is not None:
            self._receive.close()
            self._receive = None
        if self._journal is not None:
            self._journal.close()
        if self._events is not None:
            if self._events.wants(JobEnded):
                self._events.emit_nowait(JobEnded(self.operation, report))
            self._events = None
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
                if outcome is None:
                    continue  # not started: the job stopped while it waited
                if send is not None:
                    try:
                        send.send_nowait(outcome)  # room in the buffer: no loop trip
                    except anyio.WouldBlock:
                        await send.send(outcome)  # full: wait for the consumer
                    except anyio.BrokenResourceError:
                        return  # the consumer has gone (the outcome is recorded)
        finally:
            if send is not None:
                send.close()
            self._live -= 1
            if self._live == 0 and self._all_done is not None:
                self._all_done.set()

    async def _process(self, index: int, item: Any) -> Outcome[T] | None:
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
        if not (self._proven or self._fanned_out):
            # One at a time until an item gets through; an item that takes long (a
            # function of the user's that waits for company) lets the others go.
            try:
                passage = await self._pass_gate()
            except BaseException:
                self._held += 1  # cancelled at the gate: it never started
                raise
            if passage is None:
                self._held += 1  # the job stopped while it waited: not started
                return None
            if passage:
                # In _inflight only once past the gate: the held items are not started.
                self._inflight[index] = (key, item)
                try:
                    return self._ended(index, await self._one(item, key))
                finally:
                    self._release_gate()
        self._inflight[index] = (key, item)
        return self._ended(index, await self._one(item, key))

    async def _pass_gate(self) -> bool | None:
        """Wait for the gate: True when this item holds it (it runs alone), False when
        the gate is open (an item got through, or the holder has run 3 s), None when the
        job stopped (``stop()``, or refusals) while this item waited.

        The 3 s count from when the holder started its item, not from this item's wait:
        items that queued behind a run of slow refusals do not all time out together.
        """
        waited = False
        while not (self._proven or self._fanned_out):
            if waited and self._stopping:
                return None
            if self._holder_since is None:
                if self._stopping:
                    return None
                self._holder_since = _now()
                self._gate_turn += 1
                return True
            turn = self._gate_turn
            moved = self._gate_moved
            with anyio.move_on_after(self._holder_since + _PROBE_SECONDS - _now()):
                await moved.wait()
            waited = True
            if not moved.is_set() and turn == self._gate_turn:
                # Timed out, the same holder: it has run 3 s. No proof, but no refusal
                # either; fan out.
                self._fanned_out = True
        if waited and self._stopping:
            return None
        return False

    def _release_gate(self) -> None:
        self._holder_since = None
        moved, self._gate_moved = self._gate_moved, anyio.Event()
        moved.set()

    def _ended(self, index: int, outcome: Outcome[T]) -> Outcome[T]:
        del self._inflight[index]  # recorded in the same step: never lost, never twice
        if outcome.status is OutcomeStatus.FAILED:
            self._record(outcome, refused=self._judge(outcome))
        else:  # a success proves the credentials (what _judge says, without its call)
            self._proven = True
            self._refusals = 0
            self._record(outcome)
        return outcome

    def _judge(self, outcome: Outcome[T]) -> bool:
        """True when the item's credentials were refused; stops the job after a few."""
        error = outcome.error
        failed = outcome.status is OutcomeStatus.FAILED
        refused = failed and (
            _credentials_refused(error) or (isinstance(error, ForbiddenError) and not self._proven)
        )
        if not refused and failed and outcome.attempts == 0 and not isinstance(error, ApiError):
            # Failed before any request (the user's own code): proves nothing about the
            # credentials. An ApiError is Okta's answer, so a request was made.
            return False
        if not refused:
            self._proven = True
            self._refusals = 0
            return False
        self._refusals += 1
        if (
            self._stop_on_auth
            and self._refusals >= _STOP_AFTER_REFUSALS
            and self.report.stopped_by is None
        ):
            self.report.stopped_by = error
            self._stopping = True
        return True

    async def _quick(self, outcome: Outcome[T]) -> Outcome[T]:
        self._record(outcome)
        self._done_without_request += 1
        if self._done_without_request >= _YIELD_EVERY:
            self._done_without_request = 0
            await anyio.lowlevel.checkpoint()
        return outcome

    async def _one(self, item: Any, key: str) -> Outcome[T]:
        # The attempts of this item's calls: the job's function (the user's code) sits
        # between the job and the pipeline, so only the task pairs them (each API call
        # reads the counter once, as it starts).
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
        # Positional (key, item, status, result, error, attempts, duration, changed): an
        # attrs class built by keywords costs about twice the instructions, once per item.
        return Outcome(
            key,
            item,
            OutcomeStatus.SUCCEEDED,
            result,
            None,
            counter[0],
            time.monotonic() - started,
            changed,
        )

    def _record(self, outcome: Outcome[Any], *, refused: bool = False) -> None:
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
            journal.write(outcome, self.operation, secrets=extra, refused=refused)
        if self._on_progress is not None:
            self._progress()

    def _progress(self) -> None:
        assert self._on_progress is not None
        report = self.report
        done = report.accounted
        elapsed = _now() - self._t0
        # Items that made requests and ran to their end: neither skipped nor planned, nor
        # cancelled (cut short, they would make the rate jump at an interrupt).
        worked = report.succeeded + report.failed
        rate = worked / elapsed if elapsed > 0 else 0.0
        limiter = self._client.rate_limiter
        info = limiter.get("apps")
        eta = None
        if self.total is not None:
            # The window the limiter learned (None before it knows one: the rate decides).
            length = getattr(limiter, "window_length", None)
            eta = eta_seconds(
                max(0, self.total - done),
                info,
                rate=rate,
                requests_per_item=self._requests_per_item,
                max_capacity=float(getattr(limiter, "max_capacity", 1.0)),
                window=length("apps") if callable(length) else None,
                pacing=str(getattr(limiter, "pacing", "smooth")),
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


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    out: list[BaseException] = []
    for exc in group.exceptions:
        out += _leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc]
    return out


def _one_of(group: BaseExceptionGroup[BaseException], exc: BaseException | None) -> BaseException:
    """The one exception a job raises for its task group's: the caller's cancellation
    (or timeout) if one is pending, else the caller's own error, else the first failure
    of the job (a journal's OSError), never a group."""
    leaves = _leaves(group)
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        if isinstance(exc, asyncio.CancelledError):
            return exc
        cancelled = [e for e in leaves if isinstance(e, asyncio.CancelledError)]
        return cancelled[0] if cancelled else asyncio.CancelledError()
    if exc is not None and not isinstance(exc, asyncio.CancelledError):
        return exc
    for leaf in leaves:
        if not isinstance(leaf, asyncio.CancelledError | anyio.BrokenResourceError):
            return leaf
    return leaves[0]


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
