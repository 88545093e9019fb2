"""Observability: the observer of a session, which calls the hooks and OpenTelemetry.

The session runs each call inside :meth:`Observer.operation`, and the observer subscribes
to the session's events (attempt started and ended, paced: see
:mod:`okta_connections.pipeline.events`). A client with no hooks and without
OpenTelemetry has no observer at all, and the pipeline then builds no event. The
OpenTelemetry half lives in :mod:`okta_connections.pipeline.otel`, imported only when
``opentelemetry-api`` is installed and telemetry is on. What the hooks see is in
:mod:`okta_connections.pipeline.events`.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic

from .._ids import _plain_request_id, app_id_of
from .._redact import _PLAIN_HEADERS, header_secrets, holds_secret
from .events import (
    _PLAIN_RESPONSE_HEADERS,
    AttemptEnded,
    AttemptStarted,
    E,
    Events,
    Hook,
    Paced,
    RequestEvent,
    ResponseEvent,
    _Attempt,
    _bounded,
    _cancelling,
    _Op,
    redact_headers,
)

if TYPE_CHECKING:
    from ..auth._base import AuthRequest, AuthResponse
    from ..errors import OktaError
    from ..ratelimit.headers import RateLimitInfo
    from ..ratelimit.pacer import RateLimiter
    from .exchange import _Exchange
    from .otel import BulkSpan, Telemetry

__all__ = ["Observer", "make_observer"]

logger = logging.getLogger("okta_connections")


class _Hooks(Generic[E]):
    """Calls one user hook; what it raises is logged, never passed on (CancelledError
    too, unless the calling task is itself being cancelled). An async hook still running
    at the call's deadline is cancelled there and no longer waited for: the call goes on
    (and ends with its timeout) even if the hook catches its cancellation (see
    :func:`~okta_connections.pipeline.events._bounded`)."""

    __slots__ = ("func", "name")

    def __init__(self, func: Hook[E], name: str) -> None:
        self.func: Hook[E] = func
        self.name = name

    async def __call__(self, event: E, deadline: float | None = None) -> None:
        try:
            result = self.func(event)
            if inspect.isawaitable(result):
                if deadline is None:
                    await result
                elif not await _bounded(result, deadline):
                    logger.warning(
                        "the %s hook was still running at the call's deadline; cancelled, "
                        "and no longer waited for",
                        self.name,
                        extra=_hook_fields(event, self.name),
                    )
        except Exception as exc:
            self._failed(event, exc)
        except asyncio.CancelledError as exc:
            if _cancelling():
                raise  # the call itself is cancelled
            self._failed(event, exc)  # the hook's own await was cancelled

    def _failed(self, event: E, exc: BaseException) -> None:
        logger.warning(
            "the %s hook raised %s; ignored",
            self.name,
            type(exc).__name__,
            extra=_hook_fields(event, self.name),
        )


def _hook_fields(event: RequestEvent | ResponseEvent, name: str) -> dict[str, Any]:
    return {
        "operation": event.operation,
        "app_id": app_id_of(event.path),
        "status": getattr(event, "status", None),
        "attempt": event.attempt,
        "request_id": getattr(event, "request_id", None),
        "bucket": event.bucket,
        "remaining": getattr(event, "remaining", None),
        "hook": name,
    }


#: What the session gives its observer to redact an attempt's echoes with: the
#: request and the attempt's own secrets -> every credential the attempt carried.
SecretsOf = Callable[["AuthRequest", tuple[str, ...]], tuple[str, ...]]


def _no_secrets(request: AuthRequest, secrets: tuple[str, ...]) -> tuple[str, ...]:
    return (*secrets, *header_secrets(request.headers.items()))


class Observer:
    """The observability of one session: hooks and, when available, OpenTelemetry.

    Telemetry never fails a call: what a tracer, a span processor or a meter raises is
    logged once (its class name only) and ignored."""

    __slots__ = (
        "_on_request",
        "_on_response",
        "_plain_id",
        "_secrets_of",
        "_telemetry_failed",
        "telemetry",
    )

    def __init__(
        self,
        *,
        on_request: Hook[RequestEvent] | None,
        on_response: Hook[ResponseEvent] | None,
        telemetry: Telemetry | None,
    ) -> None:
        self._on_request = None if on_request is None else _Hooks(on_request, "on_request")
        self._on_response = None if on_response is None else _Hooks(on_response, "on_response")
        self.telemetry = telemetry
        self._plain_id = _plain_request_id
        self._secrets_of: SecretsOf = _no_secrets
        self._telemetry_failed = False

    def subscribe(self, events: Events, secrets: SecretsOf | None = None) -> None:
        """Listen to a session's events; ``secrets`` gives what an attempt must not show."""
        if secrets is not None:
            self._secrets_of = secrets
        events._subscribe_own(AttemptStarted, self._started)
        events._subscribe_own(AttemptEnded, self._ended)
        if self.telemetry is not None:
            events._subscribe_own(Paced, self._paced)

    def _failed(self, exc: Exception, where: str) -> None:
        """Telemetry raised: logged once per client (never its text: a span's attributes
        may be in it), then ignored."""
        if self._telemetry_failed:
            return
        self._telemetry_failed = True
        logger.warning(
            "OpenTelemetry raised %s.%s in %s; ignored (and not logged again for this "
            "client): the call goes on without it",
            type(exc).__module__,
            type(exc).__qualname__,
            where,
        )

    async def _started(self, e: AttemptStarted) -> None:
        await self.attempt_start(e.exchange, e.request, e.attempt, e.retry)

    async def _ended(self, e: AttemptEnded) -> None:
        op: _Op | None = e.exchange.trace
        a = None if op is None else op.attempt
        if a is None:
            a = _Attempt(e.request, e.attempt, time.perf_counter())
        await self.attempt_end(e.exchange, a, e.response, e.error, e.rate_limit)

    def _paced(self, e: Paced) -> None:
        self.paced(e.bucket, e.wait)

    async def operation(
        self,
        x: _Exchange,
        run: Callable[[_Exchange], Awaitable[tuple[AuthResponse, str | None, int]]],
    ) -> tuple[AuthResponse, str | None, int]:
        """Run one call of the pipeline as an operation (a span, when tracing)."""
        op = _Op()
        x.trace = op  # the call's own state, carried by the call: no context variable
        tel = self.telemetry
        scope = None
        if tel is not None:
            try:
                scope = tel.operation_start(op, x)
            except Exception as exc:
                op.span = None
                self._failed(exc, "a span's start")
        error: BaseException | None = None
        try:
            result = await run(x)
            op.status = result[0].status  # its request id: the last attempt's, if shown
            return result
        except BaseException as exc:
            error = exc
            raise
        finally:
            x.trace = None
            if tel is not None:
                try:
                    tel.operation_end(op, x, scope, error)
                except Exception as exc:
                    self._failed(exc, "a span's end")

    async def attempt_start(
        self, x: _Exchange, request: AuthRequest, attempt: int, retry: int
    ) -> _Attempt:
        """An HTTP attempt is about to be sent (after pacing and auth).

        ``attempt`` counts every attempt of the call, ``retry`` those after a failure
        (not the replays that answer a DPoP nonce challenge or a 401)."""
        op: _Op | None = x.trace
        a = _Attempt(request, attempt, time.perf_counter())
        if op is not None:
            op.attempt = a
        if self.telemetry is not None:
            try:
                self.telemetry.attempt_start(op, x, a, retry)
            except Exception as exc:
                a.span = None
                self._failed(exc, "an attempt's span")
        if self._on_request is not None:
            secrets = self._secrets_of(request, x.attempt_secrets)
            await self._on_request(
                RequestEvent(
                    operation=x.op.name,
                    method=request.method,
                    path=request.url.path,
                    attempt=attempt,
                    headers=redact_headers(request.headers, _PLAIN_HEADERS, secrets),
                    bucket=x.bucket,
                    token_request=not x.api,
                ),
                request.deadline,
            )
        return a

    async def attempt_end(
        self,
        x: _Exchange,
        a: _Attempt,
        response: AuthResponse | None,
        error: OktaError | None,
        info: RateLimitInfo | None,
    ) -> None:
        """An HTTP attempt ended: with a response, or with ``error`` and none."""
        elapsed = time.perf_counter() - a.started
        op: _Op | None = x.trace
        if op is not None:
            op.attempt = None
        hook = self._on_response
        secrets: tuple[str, ...] = ()
        request_id = None
        if response is not None and (hook is not None or a.span is not None):
            # Shown (to a hook, on a span): not unless it is Okta's and holds no credential.
            secrets = self._secrets_of(a.request, x.attempt_secrets)
            request_id = response.headers.get("X-Okta-Request-Id")
            if request_id is not None and (
                not self._plain_id(request_id) or holds_secret(request_id, secrets)
            ):
                request_id = None
            if op is not None:
                op.request_id = request_id  # the operation's span shows the last one
        if self.telemetry is not None:
            try:
                self.telemetry.attempt_end(x, a, response, error, info, elapsed, request_id)
            except Exception as exc:
                self._failed(exc, "an attempt's end")
        if hook is not None:
            await hook(
                ResponseEvent(
                    operation=x.op.name,
                    method=a.request.method,
                    path=a.request.url.path,
                    attempt=a.attempt,
                    status=None if response is None else response.status,
                    elapsed=elapsed,
                    request_id=request_id,
                    headers={}
                    if response is None
                    else redact_headers(response.headers, _PLAIN_RESPONSE_HEADERS, secrets),
                    error=None if error is None or response is not None else type(error).__name__,
                    bucket=x.bucket,
                    token_request=not x.api,
                    remaining=None if info is None else info.remaining,
                ),
                a.request.deadline,
            )

    def paced(self, bucket: str, wait: float) -> None:
        """A call waited ``wait`` seconds for the rate limit of ``bucket``."""
        if self.telemetry is not None:
            try:
                self.telemetry.paced(bucket, wait)
            except Exception as exc:
                self._failed(exc, "a pacing event")

    def job_start(self, operation: str, total: int | None) -> BulkSpan | None:
        """The span of a bulk job, current until ``detach()``; None without tracing."""
        if self.telemetry is None:
            return None
        try:
            return self.telemetry.job_start(operation, total)
        except Exception as exc:
            self._failed(exc, "a bulk job's span")
            return None


def otel_available() -> bool:
    """Whether ``opentelemetry-api`` is installed (without importing it)."""
    try:
        return importlib.util.find_spec("opentelemetry.trace") is not None
    except (ImportError, ValueError):
        return False


def make_observer(
    *,
    org_url: str,
    limiter: RateLimiter,
    on_request: Hook[RequestEvent] | None = None,
    on_response: Hook[ResponseEvent] | None = None,
    telemetry: bool = True,
    tracer_provider: Any = None,
    meter_provider: Any = None,
) -> Observer | None:
    """The observer of a new session, or None when there is nothing to observe for."""
    tel: Telemetry | None = None
    if telemetry and otel_available():
        from .otel import Telemetry

        tel = Telemetry(
            org_url,
            limiter,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
        )
    if tel is None and on_request is None and on_response is None:
        return None
    # The waits reach the telemetry as Paced events of the session (Observer.subscribe).
    return Observer(on_request=on_request, on_response=on_response, telemetry=tel)
