"""What observers see: the pipeline's events and their dispatcher, the hooks' events, the
state of an attempt, the log fields.

The pipeline emits typed events (:class:`AttemptStarted`, :class:`AttemptEnded`,
:class:`Paced`, :class:`TokenFetched`) through one :class:`Events` dispatcher per session,
and bulk jobs :class:`JobStarted` and :class:`JobEnded` through their client's; the
observer (hooks and OpenTelemetry) and the bulk jobs' counters subscribe to them. With
no subscriber the pipeline builds no event at all.

Nothing that reaches a hook, a span or a metric is a secret: request headers other than
a short list of plain ones are replaced by ``***``, response headers that may carry one
too, URLs lose their query strings, and bodies are never shown.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from .._ids import app_id_of
from .._redact import redact

if TYPE_CHECKING:
    from ..auth._base import AuthRequest, AuthResponse
    from ..errors import OktaError
    from ..ratelimit.headers import RateLimitInfo
    from .exchange import _Exchange

__all__ = [
    "AttemptEnded",
    "AttemptStarted",
    "Events",
    "Hook",
    "JobEnded",
    "JobStarted",
    "Paced",
    "RequestEvent",
    "ResponseEvent",
    "TokenFetched",
    "check_hook",
    "log_fields",
]

logger = logging.getLogger("okta_connections")


@attrs.frozen
class AttemptStarted:
    """An HTTP attempt is about to be sent (paced, authorized).

    Attributes:
        exchange: The call (its operation, URL, bucket, kind).
        request: The request as it will be sent (it holds credentials: never log it).
        attempt: 1 for the call's first attempt, 2 for the next ...
        retry: Attempts after a failure (replays after a 401 or a nonce challenge are not).
    """

    exchange: _Exchange
    request: AuthRequest
    attempt: int
    retry: int


@attrs.frozen
class AttemptEnded:
    """An HTTP attempt ended, after its slot went back to the pacer.

    Attributes:
        exchange, request, attempt: as in :class:`AttemptStarted`.
        response: The response, or None when none came (see ``error``).
        error: What the attempt failed with, if it did.
        rate_limit: The response's rate-limit headers, when it had them.
    """

    exchange: _Exchange
    request: AuthRequest
    attempt: int
    response: AuthResponse | None
    error: OktaError | None
    rate_limit: RateLimitInfo | None


@attrs.frozen
class Paced:
    """A call waited ``wait`` seconds for the rate limit of ``bucket`` before its grant."""

    bucket: str
    wait: float


@attrs.frozen
class TokenFetched:
    """A token request ended (its response read; the strategy decides what it means).

    Attributes:
        status: The token endpoint's status.
        attempts: Attempts it took.
    """

    status: int
    attempts: int


@attrs.frozen
class JobStarted:
    """A bulk job started (emitted by the job, on its client's events).

    Attributes:
        operation: The job's operation (``"activate"`` ...).
        total: Items in the job, when known.
    """

    operation: str
    total: int | None


@attrs.frozen
class JobEnded:
    """A bulk job ended; ``report`` is its ``BulkReport`` (final counts, elapsed)."""

    operation: str
    report: Any


Ev = TypeVar("Ev")
#: A subscriber: a function of one event, plain or async.
Subscriber = Callable[[Ev], Awaitable[None] | None]


class Events:
    """The dispatcher of one session's events: subscribers by event type, in order.

    A subscriber that raises is logged and skipped: an observer never fails a call.
    """

    __slots__ = ("_own", "_subs")

    def __init__(self) -> None:
        self._subs: dict[type, list[Callable[[Any], Awaitable[None] | None]]] = {}
        #: The SDK's own subscribers (the observer), which bound their user code
        #: themselves: never cut at a call's deadline.
        self._own: set[Callable[[Any], Awaitable[None] | None]] = set()

    def subscribe(self, kind: type[Ev], subscriber: Subscriber[Ev]) -> Callable[[], None]:
        """Call ``subscriber`` with every event of type ``kind``; returns the unsubscribe.

        An async subscriber of an attempt's events (of ``TokenFetched``: the token
        request's) still running at the call's deadline is cancelled there, and logged:
        the call never waits past its deadline for it (see :func:`_bounded`). A
        subscriber's own CancelledError is ignored as any failure is, unless the calling
        task is being cancelled."""
        subs = self._subs.setdefault(kind, [])
        subs.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in subs:
                subs.remove(subscriber)
            if not subs and self._subs.get(kind) is subs:
                del self._subs[kind]

        return unsubscribe

    def wants(self, kind: type) -> bool:
        """Whether any subscriber listens for ``kind`` (build the event only then)."""
        return kind in self._subs

    def _subscribe_own(self, kind: type[Ev], subscriber: Subscriber[Ev]) -> None:
        self._own.add(subscriber)
        self.subscribe(kind, subscriber)

    async def emit(self, event: object, *, deadline: float | None = None) -> None:
        """Deliver ``event`` to its subscribers, awaiting the async ones (until
        ``deadline``, on the loop's clock, when given: see :func:`_bounded`)."""
        for subscriber in self._subs.get(type(event), ()):
            try:
                result = subscriber(event)
                if result is not None and inspect.isawaitable(result):
                    if deadline is None or subscriber in self._own:
                        await result
                    elif not await _bounded(result, deadline):
                        logger.warning(
                            "a subscriber of %s (%s) was still running at the call's "
                            "deadline; cancelled, and no longer waited for",
                            type(event).__name__,
                            _name(subscriber),
                        )
            except Exception as exc:
                _failed(subscriber, event, exc)
            except asyncio.CancelledError as exc:
                if _cancelling():
                    raise
                _failed(subscriber, event, exc)

    def emit_nowait(self, event: object) -> None:
        """Deliver ``event`` to its plain subscribers (from code that cannot await)."""
        for subscriber in self._subs.get(type(event), ()):
            try:
                result = subscriber(event)
                if inspect.iscoroutine(result):
                    result.close()  # never awaited: say so rather than warn at exit
                    raise TypeError("an async subscriber of an event sent without await")
            except Exception as exc:
                _failed(subscriber, event, exc)


def _name(func: object) -> str:
    return getattr(func, "__qualname__", type(func).__name__)


def _cancelling() -> bool:
    """Whether the current task is being cancelled. User code (a hook, a subscriber) that
    raised CancelledError is re-raised then (a real cancellation, which must go on), else
    its own await was cancelled by someone else: a failure like any other, ignored."""
    task = asyncio.current_task()
    return task is None or task.cancelling() > 0


async def _bounded(awaitable: Awaitable[object], deadline: float) -> bool:
    """Await user code's ``awaitable`` until ``deadline`` (on the loop's clock): True when
    it ended in time (what it raised is raised here), False when it was cut there.

    It runs as a task of its own, which this task waits for: at the deadline the task is
    cancelled, given one turn of the loop to end, and abandoned: the call goes on even if
    the user code catches its cancellation and keeps going (that task, from then on, is
    the user's: it runs until it returns, and what it raises then is logged). When the
    waiting task is cancelled, the user code's task is cancelled too, and the
    cancellation goes on at once."""
    task = asyncio.ensure_future(awaitable)
    try:
        left = deadline - asyncio.get_running_loop().time()
        done, _ = await asyncio.wait((task,), timeout=left if left > 0 else 0)
    except BaseException:
        _abandon(task)
        raise
    if not done:
        _abandon(task)
        await asyncio.sleep(0)  # one turn: a hook that lets its cancellation end it ends
        return False
    task.result()  # what it raised, CancelledError included (its own)
    return True


def _abandon(task: asyncio.Future[object]) -> None:
    """Cancel user code's ``task`` and stop waiting for it; what it raises after is
    logged (so no "exception was never retrieved" warning)."""
    task.cancel()
    task.add_done_callback(_ended_late)


def _ended_late(task: asyncio.Future[object]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        logger.warning(
            "user code (a hook or subscriber) cut at a call's deadline raised %s later; ignored",
            type(exc).__name__,
        )


def _failed(subscriber: object, event: object, exc: BaseException) -> None:
    logger.warning(
        "a subscriber of %s (%s) raised %s; ignored",
        type(event).__name__,
        _name(subscriber),
        type(exc).__name__,
    )


REDACTED = "***"

#: Response headers worth showing as they are; every other one is shown as ``***``
#: (``Set-Cookie`` holds a session, and a server may echo anything).
_PLAIN_RESPONSE_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "content-encoding",
        "date",
        "cache-control",
        "expires",
        "pragma",
        "vary",
        "retry-after",
        "x-okta-request-id",
        "x-rate-limit-limit",
        "x-rate-limit-remaining",
        "x-rate-limit-reset",
        "www-authenticate",
        "dpop-nonce",
        "link",
        "location",
        "server",
        "strict-transport-security",
        "x-content-type-options",
        "connection",
        "keep-alive",
        "transfer-encoding",
    }
)


def redact_headers(
    headers: Mapping[str, str], plain: frozenset[str], secrets: Iterable[str] = ()
) -> dict[str, str]:
    """A copy of ``headers`` with every value whose name is not in ``plain`` as ``***``,
    and the others redacted as an error's are: ``secrets`` in any form a server may echo
    them in (URL-encoded, JSON-escaped, inside base64) and URL query strings hidden."""
    secrets = tuple(secrets)
    if not secrets:
        return {k: (v if k.lower() in plain else REDACTED) for k, v in headers.items()}
    return {
        k: (redact(v, secrets, limit=_MAX_HEADER) if k.lower() in plain else REDACTED)
        for k, v in headers.items()
    }


_MAX_HEADER = 1000


def log_fields(
    x: _Exchange,
    attempt: int | None = None,
    status: int | None = None,
    request_id: str | None = None,
    info: RateLimitInfo | None = None,
    *,
    remaining: int | None = None,
    **more: Any,
) -> dict[str, Any]:
    """The ``extra`` of one log record of the pipeline (no secret among them)."""
    return {
        "operation": x.op.name,
        "app_id": app_id_of(x.url.path),
        "status": status,
        "attempt": attempt or None,
        "request_id": request_id,
        "bucket": x.bucket,
        "remaining": remaining if info is None else info.remaining,
        **more,
    }


@attrs.frozen
class RequestEvent:
    """What an ``on_request`` hook sees: one HTTP attempt, about to be sent.

    Attributes:
        operation: The SDK operation (``"activate"``, ``"get"``, ``"token"`` ...).
        method: HTTP method.
        path: URL path, without the query string.
        attempt: 1 for the first attempt of the call, 2 for the next ...
        headers: Request headers; any that may hold a credential (``Authorization``,
            ``DPoP`` ...) shows ``***``.
        bucket: The rate-limit bucket (``"apps"``, ``"oauth2-token"`` ...).
        token_request: True for a request to the OAuth token endpoint.
    """

    operation: str
    method: str
    path: str
    attempt: int
    headers: Mapping[str, str]
    bucket: str
    token_request: bool


@attrs.frozen
class ResponseEvent:
    """What an ``on_response`` hook sees: one HTTP attempt, ended.

    Attributes:
        operation, method, path, attempt, bucket, token_request: as in
            :class:`RequestEvent`.
        status: The HTTP status, or None when no response came (see ``error``).
        elapsed: Seconds from sending to the end of the response (or the failure).
        request_id: Okta's ``X-Okta-Request-Id``, when it sent one.
        headers: Response headers; any that may hold a secret (``Set-Cookie`` ...)
            shows ``***``.
        error: The class name of the error when the attempt failed without a response
            (``"OktaTimeoutError"`` ...), else None.
        remaining: ``X-Rate-Limit-Remaining`` of the response, when it had one.
    """

    operation: str
    method: str
    path: str
    attempt: int
    status: int | None
    elapsed: float
    request_id: str | None
    headers: Mapping[str, str]
    error: str | None
    bucket: str
    token_request: bool
    remaining: int | None


E = TypeVar("E", RequestEvent, ResponseEvent)
#: A hook: a function of the event, plain or async.
Hook = Callable[[E], Awaitable[None] | None]


def check_hook(value: object, name: str) -> None:
    from ..errors import ConfigurationError

    if value is not None and not callable(value):
        raise ConfigurationError(name, "must be a function of one event (sync or async)")


@attrs.define(slots=True)
class _Attempt:
    """One HTTP attempt between its start and end events."""

    request: AuthRequest
    attempt: int
    started: float
    span: Any = None


@attrs.define(slots=True)
class _Op:
    """The operation in progress (per task): its span and open attempt."""

    span: Any = None
    retries: int = 0
    attempt: _Attempt | None = None
    status: int | None = None
    request_id: str | None = None
