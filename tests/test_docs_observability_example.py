"""Wiring the SDK into a service's telemetry (the example in docs/observability.md)."""

from __future__ import annotations

import io
import json
import logging

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from okta_connections import OktaClient, ResponseEvent, SSWSToken
from okta_connections.testing import FakeOkta

#: The fields every log record of the SDK carries as ``extra``.
FIELDS = ("operation", "app_id", "status", "attempt", "request_id", "bucket", "remaining")


class JsonFormatter(logging.Formatter):
    """One JSON object a line, the SDK's fields as keys: no message parsing."""

    def format(self, record: logging.LogRecord) -> str:
        data = {"level": record.levelname, "logger": record.name, "message": record.getMessage()}
        data.update({f: getattr(record, f) for f in FIELDS if getattr(record, f, None) is not None})
        return json.dumps(data)


async def test_a_service_gets_spans_metrics_hooks_and_json_logs(fake_okta: FakeOkta) -> None:
    # In a service these are your exporters (OTLP ...), usually set as the global
    # providers with trace.set_tracer_provider(); here they are in memory.
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])

    # A hook for those without OpenTelemetry: here, collect the failed attempts.
    failures: list[ResponseEvent] = []

    def on_response(event: ResponseEvent) -> None:
        if event.status is None or event.status >= 500:
            failures.append(event)

    # JSON logs: the SDK logs under "okta_connections" (DEBUG: one line per response).
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    sdk_logger = logging.getLogger("okta_connections")
    sdk_logger.addHandler(handler)
    sdk_logger.setLevel(logging.DEBUG)

    app = fake_okta.apps[0]
    fake_okta.fail_next(503, times=1, operation="get")  # one failure, then a retry
    try:
        async with OktaClient(
            fake_okta.org_url,
            auth=SSWSToken(fake_okta.token),
            on_response=on_response,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
        ) as okta:
            await okta.connections.get(app.id)
    finally:
        sdk_logger.removeHandler(handler)
        sdk_logger.setLevel(logging.NOTSET)

    # Traces: one span for the operation, one child per HTTP attempt.
    names = sorted(s.name for s in spans.get_finished_spans())
    assert names == [
        "GET /api/v1/apps/{appId}/connections/default",
        "GET /api/v1/apps/{appId}/connections/default",
        "okta.connections.get",
    ]
    # Metrics: attempts by status.
    data = reader.get_metrics_data()
    assert data is not None
    [requests] = [
        m
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == "okta.connections.requests"
    ]
    by_status = {
        p.attributes["http.response.status_code"]: p.value for p in requests.data.data_points
    }
    assert by_status == {503: 1, 200: 1}
    # The hook saw the failed attempt.
    assert [(e.operation, e.status, e.attempt) for e in failures] == [("get", 503, 1)]
    # The logs are JSON with the fields as keys.
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    responses = [line for line in lines if "->" in line["message"]]
    assert [(r["status"], r["attempt"], r["app_id"]) for r in responses] == [
        (503, 1, app.id),
        (200, 2, app.id),
    ]
