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

import importlib.util
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic

from .._ids import _plain_request_id, app_id_of
from .._redact import _PLAIN_HEADERS
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
    """Calls one user hook; what it raises is logged, never passed on."""

    __slots__ = ("func", "name")

    def __init__(self, func: Hook[E], name: str) -> None:
        self.func: Hook[E] = func
        self.name = name

    async def __call__(self, event: E) -> None:
        try:
            result = self.func(event)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            logger.warning(
                "the %s hook raised %s; ignored",
                self.name,
                type(exc).__name__,
                extra={
                    "operation": event.operation,
                    "app_id": app_id_of(event.path),
                    "status": getattr(event, "status", None),
                    "attempt": event.attempt,
                    "request_id": getattr(event, "request_id", None),
                    "bucket": event.bucket,
                    "remaining": getattr(event, "remaining", None),
                    "hook": self.name,
                },
            )


class Observer:
    """The observability of one session: hooks and, when available, OpenTelemetry."""

    __slots__ = ("_on_request", "_on_response", "_plain_id", "telemetry")

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

    def subscribe(self, events: Events) -> None:
        """Listen to a session's events."""
        events.subscribe(AttemptStarted, self._started)
        events.subscribe(AttemptEnded, self._ended)
        if self.telemetry is not None:
            events.subscribe(Paced, self._paced)

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
        scope = None if tel is None else tel.operation_start(op, x)
        error: BaseException | None = None
        try:
            result = await run(x)
            op.status = result[0].status
            op.request_id = result[1]
            return result
        except BaseException as exc:
            error = exc
            raise
        finally:
            x.trace = None
            if tel is not None:
                tel.operation_end(op, x, scope, error)

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
            self.telemetry.attempt_start(op, x, a, retry)
        if self._on_request is not None:
            await self._on_request(
                RequestEvent(
                    operation=x.op.name,
                    method=request.method,
                    path=request.url.path,
                    attempt=attempt,
                    headers=redact_headers(request.headers, _PLAIN_HEADERS),
                    bucket=x.bucket,
                    token_request=not x.api,
                )
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
        request_id = None if response is None else response.headers.get("X-Okta-Request-Id")
        if request_id is not None and not self._plain_id(request_id):
            request_id = None  # not Okta's: never repeated
        if self.telemetry is not None:
            self.telemetry.attempt_end(x, a, response, error, info, elapsed, request_id)
        if self._on_response is not None:
            await self._on_response(
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
                    else redact_headers(response.headers, _PLAIN_RESPONSE_HEADERS),
                    error=None if error is None or response is not None else type(error).__name__,
                    bucket=x.bucket,
                    token_request=not x.api,
                    remaining=None if info is None else info.remaining,
                )
            )

    def paced(self, bucket: str, wait: float) -> None:
        """A call waited ``wait`` seconds for the rate limit of ``bucket``."""
        if self.telemetry is not None:
            self.telemetry.paced(bucket, wait)

    def job_start(self, operation: str, total: int | None) -> BulkSpan | None:
        """The span of a bulk job, current until ``detach()``; None without tracing."""
        if self.telemetry is None:
            return None
        return self.telemetry.job_start(operation, total)


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
