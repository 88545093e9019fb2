"""OpenTelemetry traces and metrics of the SDK (extra ``okta-connections[otel]``).

Imported by a client only when ``opentelemetry-api`` is installed; ``import
okta_connections`` never imports it. Spans and instruments come from the application's
tracer and meter providers (the global ones unless the client is given its own), so with
no provider configured everything here is OpenTelemetry's no-op. See
``docs/observability.md`` for every span, attribute and metric.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

import yarl
from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.trace import SpanKind, Status, StatusCode

from .._version import __version__

if TYPE_CHECKING:
    from ..auth._base import AuthResponse
    from ..errors import OktaError
    from ..ratelimit.headers import RateLimitInfo
    from ..ratelimit.pacer import RateLimiter
    from .events import _Attempt, _Op
    from .exchange import _Exchange

__all__ = ["INSTRUMENTATION_NAME", "Telemetry"]

logger = logging.getLogger("okta_connections")

#: The name of the SDK's tracer and meter.
INSTRUMENTATION_NAME = "okta_connections"

# Attribute names: OpenTelemetry's HTTP client conventions, then Okta's own.
METHOD = "http.request.method"
URL_FULL = "url.full"
URL_TEMPLATE = "url.template"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
STATUS_CODE = "http.response.status_code"
RESEND_COUNT = "http.request.resend_count"
ERROR_TYPE = "error.type"
OPERATION = "okta.operation"
APP_ID = "okta.app.id"
REQUEST_ID = "okta.request_id"
RETRY_COUNT = "okta.retry_count"
ATTEMPTS = "okta.attempts"
BUCKET = "okta.rate_limit.bucket"
REMAINING = "okta.rate_limit.remaining"
LIMIT = "okta.rate_limit.limit"
KIND = "okta.rate_limit.kind"
WAIT = "okta.pacing.wait"
PACING_EVENT = "okta.pacing.wait"

#: Bucket boundaries (seconds): the HTTP semantic conventions' for request durations, and
#: for pacing waits the same up to Okta's one-minute windows.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
PACING_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60)

#: One remaining-budget gauge per meter provider, reporting every live client on it.
_gauges: dict[int, weakref.WeakSet[Telemetry]] = {}


def _gauge_callback(
    clients: weakref.WeakSet[Telemetry],
) -> Any:
    def observe(options: CallbackOptions) -> Iterable[Observation]:
        for tel in list(clients):
            limiter = tel.limiter()
            if limiter is None:
                continue
            for bucket, info in limiter.snapshot().items():
                yield Observation(info.remaining, {BUCKET: bucket, SERVER_ADDRESS: tel.host})

    return observe


def _error_type(status: int | None, error: BaseException | None) -> str | None:
    if error is not None and status is None:
        return type(error).__name__
    if status is not None and status >= 400:
        return str(status)
    return None


class Telemetry:
    """The tracer and instruments of one client."""

    def __init__(
        self,
        org_url: str,
        limiter: RateLimiter,
        *,
        tracer_provider: Any = None,
        meter_provider: Any = None,
    ) -> None:
        url = yarl.URL(org_url)
        self.host = url.host or ""
        self.port = url.port or (443 if url.scheme == "https" else 80)
        self.limiter = weakref.ref(limiter)
        # With the global provider, spans are made once the application has set one (it
        # may do so after creating the client); until then each call costs one check.
        self._tracing = tracer_provider is not None
        self.tracer = trace.get_tracer(
            INSTRUMENTATION_NAME, __version__, tracer_provider=tracer_provider
        )
        meter = metrics.get_meter(INSTRUMENTATION_NAME, __version__, meter_provider=meter_provider)
        self.requests = meter.create_counter(
            "okta.connections.requests",
            unit="{request}",
            description="HTTP attempts, by operation and status (or error type)",
        )
        self.retries = meter.create_counter(
            "okta.connections.retries",
            unit="{retry}",
            description="Attempts that retried a failed one, by operation",
        )
        self.rate_limited = meter.create_counter(
            "okta.connections.rate_limited",
            unit="{response}",
            description="429 responses, by operation, bucket and kind (rate or concurrency)",
        )
        self.token_requests = meter.create_counter(
            "okta.connections.token_requests",
            unit="{request}",
            description="Attempts at the OAuth token endpoint, by status (or error type)",
        )
        self.duration = meter.create_histogram(
            "http.client.request.duration",
            unit="s",
            description="Duration of HTTP attempts",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.pacing = meter.create_histogram(
            "okta.connections.pacing.duration",
            unit="s",
            description="Time calls waited for the rate limit before being sent, by bucket",
            explicit_bucket_boundaries_advisory=PACING_BUCKETS,
        )
        key = id(meter_provider) if meter_provider is not None else 0
        clients = _gauges.get(key)
        if clients is None:
            clients = _gauges[key] = weakref.WeakSet()
            meter.create_observable_gauge(
                "okta.connections.rate_limit.remaining",
                callbacks=[_gauge_callback(clients)],
                unit="{request}",
                description="The latest X-Rate-Limit-Remaining seen, by bucket",
            )
        clients.add(self)

    # ------------------------------------------------------------------ operations

    def _traced(self) -> bool:
        if not self._tracing:
            if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
                return False
            self._tracing = True  # a global provider can be set only once: for good
        return True

    def operation_start(self, op: _Op, x: _Exchange) -> object:
        if not self._traced():
            return None
        span = self.tracer.start_span(f"okta.connections.{x.op.name}", kind=SpanKind.INTERNAL)
        if span.is_recording():
            path = x.url.path
            span.set_attribute(OPERATION, x.op.name)
            span.set_attribute(BUCKET, x.bucket)
            if path.startswith("/api/v1/apps/"):
                app = path[13:].split("/", 1)[0]
                if app:
                    span.set_attribute(APP_ID, app)
        op.span = span
        return otel_context.attach(trace.set_span_in_context(span))

    def operation_end(
        self, op: _Op, x: _Exchange, scope: object, error: BaseException | None
    ) -> None:
        span = op.span
        if span is None:
            return
        otel_context.detach(scope)  # type: ignore[arg-type]
        attempt = op.attempt
        if attempt is not None and attempt.span is not None:
            # Cancelled (or broken) while in flight: the attempt ends with the call.
            op.attempt = None
            self._end_attempt_span(attempt.span, None, error, None, None)
        if span.is_recording():
            attempts = getattr(error, "attempts", None) if error is not None else None
            if attempts:
                span.set_attribute(ATTEMPTS, attempts)
            status = op.status if error is None else getattr(error, "status", None)
            if isinstance(status, int):
                span.set_attribute(STATUS_CODE, status)
            request_id = op.request_id if error is None else getattr(error, "request_id", None)
            if isinstance(request_id, str):
                span.set_attribute(REQUEST_ID, request_id)
            if error is not None:
                span.set_attribute(ERROR_TYPE, type(error).__name__)
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        span.end()

    # ------------------------------------------------------------------ attempts

    def attempt_start(self, op: _Op | None, x: _Exchange, a: _Attempt, retry: int) -> None:
        if op is not None and retry > op.retries:
            op.retries = retry
            self.retries.add(1, {OPERATION: x.op.name})
        if op is None or op.span is None:
            return  # no tracing
        request = a.request
        span = self.tracer.start_span(f"{request.method} {x.op.path}", kind=SpanKind.CLIENT)
        a.span = span
        if span.is_recording():
            url = request.url
            span.set_attributes(
                {
                    METHOD: request.method,
                    URL_FULL: str(url.with_query(None).with_fragment(None)),
                    URL_TEMPLATE: x.op.path,
                    SERVER_ADDRESS: self.host,
                    SERVER_PORT: self.port,
                    OPERATION: x.op.name,
                    BUCKET: x.bucket,
                    RETRY_COUNT: retry,
                }
            )
            if a.attempt > 1:
                span.set_attribute(RESEND_COUNT, a.attempt - 1)

    def attempt_end(
        self,
        x: _Exchange,
        a: _Attempt,
        response: AuthResponse | None,
        error: OktaError | None,
        info: RateLimitInfo | None,
        elapsed: float,
        request_id: str | None,
    ) -> None:
        status = None if response is None else response.status
        error_type = _error_type(status, error)
        attributes: dict[str, Any] = {
            OPERATION: x.op.name,
            METHOD: a.request.method,
            SERVER_ADDRESS: self.host,
        }
        if status is not None:
            attributes[STATUS_CODE] = status
        if error_type is not None:
            attributes[ERROR_TYPE] = error_type
        self.requests.add(1, attributes)
        self.duration.record(elapsed, attributes)
        if not x.api:
            self.token_requests.add(1, attributes)
        if status == 429:
            concurrency = info is None or info.is_concurrency_signal
            self.rate_limited.add(
                1,
                {
                    OPERATION: x.op.name,
                    BUCKET: x.bucket,
                    KIND: "concurrency" if concurrency else "rate",
                },
            )
        if a.span is not None:
            self._end_attempt_span(a.span, status, error, info, request_id)
            a.span = None

    @staticmethod
    def _end_attempt_span(
        span: Any,
        status: int | None,
        error: BaseException | None,
        info: RateLimitInfo | None,
        request_id: str | None,
    ) -> None:
        if span.is_recording():
            if status is not None:
                span.set_attribute(STATUS_CODE, status)
            error_type = _error_type(status, error)
            if error_type is not None:
                span.set_attribute(ERROR_TYPE, error_type)
                span.set_status(Status(StatusCode.ERROR, error_type))
            if request_id is not None:
                span.set_attribute(REQUEST_ID, request_id)
            if info is not None:
                span.set_attribute(REMAINING, info.remaining)
                span.set_attribute(LIMIT, info.limit)
        span.end()

    # ------------------------------------------------------------------ pacing

    def paced(self, bucket: str, wait: float) -> None:
        self.pacing.record(wait, {BUCKET: bucket})
        span = trace.get_current_span()
        if span.is_recording():
            span.add_event(PACING_EVENT, {BUCKET: bucket, WAIT: wait})

    # ------------------------------------------------------------------ bulk jobs

    def job_start(self, operation: str, total: int | None) -> BulkSpan | None:
        if not self._traced():
            return None
        span = self.tracer.start_span(f"okta.connections.bulk.{operation}")
        if span.is_recording():
            span.set_attribute("okta.bulk.operation", operation)
            if total is not None:
                span.set_attribute("okta.bulk.total", total)
        return BulkSpan(span)


class JobReport(Protocol):
    """The counts of a bulk job that its span records (a ``BulkReport`` has them)."""

    @property
    def succeeded(self) -> int: ...
    @property
    def failed(self) -> int: ...
    @property
    def cancelled(self) -> int: ...
    @property
    def skipped(self) -> int: ...
    @property
    def planned(self) -> int: ...
    @property
    def not_started(self) -> int | None: ...
    @property
    def elapsed(self) -> float: ...


class BulkSpan:
    """The span of one bulk job; current while its workers start, so theirs nest in it."""

    __slots__ = ("_scope", "span")

    def __init__(self, span: Any) -> None:
        self.span = span
        self._scope: object | None = otel_context.attach(trace.set_span_in_context(span))

    def detach(self) -> None:
        if self._scope is not None:
            otel_context.detach(self._scope)  # type: ignore[arg-type]
            self._scope = None

    def end(self, report: JobReport) -> None:
        self.detach()
        try:
            self._end(report)
        except Exception as exc:  # telemetry never fails a job
            logger.warning(
                "OpenTelemetry raised %s.%s at a bulk job's end; ignored",
                type(exc).__module__,
                type(exc).__qualname__,
            )

    def _end(self, report: JobReport) -> None:
        span = self.span
        if span.is_recording():
            span.set_attributes(
                {
                    "okta.bulk.succeeded": report.succeeded,
                    "okta.bulk.failed": report.failed,
                    "okta.bulk.cancelled": report.cancelled,
                    "okta.bulk.skipped": report.skipped,
                    "okta.bulk.planned": report.planned,
                    "okta.bulk.elapsed": report.elapsed,
                }
            )
            if report.not_started is not None:
                span.set_attribute("okta.bulk.not_started", report.not_started)
            if report.failed:
                span.set_status(Status(StatusCode.ERROR, f"{report.failed} item(s) failed"))
        span.end()
