"""Observability (issue #16): OpenTelemetry spans and metrics, event hooks, structured logs.

The telemetry is read back with opentelemetry-sdk's in-memory span exporter and metric
reader, handed to each client as its own providers (the global ones can be set only once
per process).
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from collections import Counter
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from okta_connections import (
    NotFoundError,
    OktaClient,
    PrivateKeyJWT,
    RequestEvent,
    ResponseEvent,
    SSWSToken,
)
from okta_connections.testing import AppFactory, FakeOkta
from tests.support.keys import pem, rsa_key
from tests.support.oauth_server import CLIENT_ID, OAuthServer
from tests.support.otel import Otel
from tests.support.retry import fast_retry


def children(parent: ReadableSpan, spans: list[ReadableSpan]) -> list[ReadableSpan]:
    assert parent.context is not None
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def counts(points: list[Any], key: str) -> Counter[Any]:
    out: Counter[Any] = Counter()
    for p in points:
        out[p.attributes.get(key)] += p.value
    return out


# ---------------------------------------------------------------------- import cost


@pytest.mark.slow
def test_import_does_not_import_opentelemetry() -> None:
    code = (
        "import sys, okta_connections as o\n"
        "o.OktaClient, o.RequestEvent, o.ResponseEvent, o.BulkJob\n"
        "import okta_connections.client, okta_connections.bulk, okta_connections.pipeline.session\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'opentelemetry')\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


@pytest.mark.slow
def test_without_opentelemetry_installed_a_client_has_no_observer() -> None:
    # sys.modules[name] = None makes an import of it fail, as if it were not installed.
    code = (
        "import sys\n"
        "sys.modules['opentelemetry'] = None\n"
        "from okta_connections import OktaClient, SSWSToken\n"
        "c = OktaClient('https://acme.okta.com', auth=SSWSToken('x' * 40))\n"
        "assert c._session.observer is None, c._session.observer\n"
        "seen = []\n"
        "c = OktaClient('https://acme.okta.com', auth=SSWSToken('x' * 40), on_request=seen.append)\n"
        "assert c._session.observer.telemetry is None\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


GLOBAL_PROVIDER_LATE = """
import asyncio
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from okta_connections import OktaClient, SSWSToken
from okta_connections.testing import FakeOkta

async def main():
    async with FakeOkta(apps=1) as fake:
        async with OktaClient(fake.org_url, auth=SSWSToken(fake.token)) as okta:
            await okta.connections.get(fake.apps[0].id)  # no provider yet: no span
            exporter = InMemorySpanExporter()
            provider = TracerProvider()
            provider.add_span_processor(SimpleSpanProcessor(exporter))
            trace.set_tracer_provider(provider)  # the application sets it late
            await okta.connections.get(fake.apps[0].id)
            names = sorted(s.name for s in exporter.get_finished_spans())
            assert names == ["GET /api/v1/apps/{appId}/connections/default",
                             "okta.connections.get"], names
    print("ok")

asyncio.run(main())
"""


@pytest.mark.slow
def test_the_global_tracer_provider_is_used_even_when_set_after_the_client() -> None:
    out = subprocess.run(
        [sys.executable, "-c", GLOBAL_PROVIDER_LATE], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_telemetry_false_makes_no_spans(otel: Otel) -> None:
    client = OktaClient("https://acme.okta.com", auth=SSWSToken("x" * 40), telemetry=False)
    assert client._session is not None and client._session.observer is None
    on = OktaClient("https://acme.okta.com", auth=SSWSToken("x" * 40), **otel.options())
    assert on._session is not None and on._session.observer is not None


async def test_telemetry_false_with_providers_records_nothing(
    fake_okta: FakeOkta, otel: Otel
) -> None:
    async with OktaClient(
        fake_okta.org_url, auth=SSWSToken(fake_okta.token), telemetry=False, **otel.options()
    ) as okta:
        await okta.connections.get(fake_okta.apps[0].id)
    assert otel.finished() == []
    assert otel.points("okta.connections.requests") == []


# ---------------------------------------------------------------------- spans and metrics


async def test_get_makes_an_operation_span_with_one_http_child(
    fake_okta: FakeOkta, otel: Otel
) -> None:
    app = fake_okta.apps[0]
    async with OktaClient(
        fake_okta.org_url, auth=SSWSToken(fake_okta.token), **otel.options()
    ) as okta:
        await okta.connections.get(app.id)
    spans = otel.finished()
    [op] = otel.named("okta.connections.get")
    assert op.kind is SpanKind.INTERNAL and op.parent is None
    assert op.attributes is not None
    assert op.attributes["okta.operation"] == "get"
    assert op.attributes["okta.app.id"] == app.id
    assert op.attributes["http.response.status_code"] == 200
    [http] = children(op, spans)
    assert http.kind is SpanKind.CLIENT
    assert http.name == "GET /api/v1/apps/{appId}/connections/default"
    a = http.attributes
    assert a is not None
    assert a["http.request.method"] == "GET"
    assert a["url.full"] == f"{fake_okta.org_url}/api/v1/apps/{app.id}/connections/default"
    assert a["server.address"] == "127.0.0.1"
    assert a["http.response.status_code"] == 200
    assert "error.type" not in a
    assert a["okta.rate_limit.bucket"] == "apps"
    assert isinstance(a["okta.rate_limit.remaining"], int)
    assert a["okta.retry_count"] == 0
    request_id = fake_okta.requests(operation="get")[-1].request_id
    assert a["okta.request_id"] == request_id == op.attributes["okta.request_id"]
    assert http.status.status_code is StatusCode.UNSET

    assert counts(otel.points("okta.connections.requests"), "http.response.status_code") == {200: 1}
    [duration] = otel.points("http.client.request.duration")
    assert duration.count == 1 and duration.sum > 0
    assert otel.metrics()["http.client.request.duration"].unit == "s"
    assert tuple(duration.explicit_bounds) == (
        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10
    )  # fmt: skip
    [remaining] = otel.points("okta.connections.rate_limit.remaining")
    assert remaining.attributes["okta.rate_limit.bucket"] == "apps"
    assert remaining.value == a["okta.rate_limit.remaining"]


async def test_failed_call_marks_its_spans_as_errors(fake_okta: FakeOkta, otel: Otel) -> None:
    async with OktaClient(
        fake_okta.org_url, auth=SSWSToken(fake_okta.token), **otel.options()
    ) as okta:
        with pytest.raises(NotFoundError):
            await okta.connections.get("0oaNOSUCHAPP0000000x")
    [op] = otel.named("okta.connections.get")
    [http] = children(op, otel.finished())
    assert op.status.status_code is StatusCode.ERROR
    assert op.attributes is not None and op.attributes["error.type"] == "NotFoundError"
    assert http.attributes is not None and http.attributes["error.type"] == "404"
    assert http.attributes["http.response.status_code"] == 404


async def test_retried_activate(
    fake_okta: FakeOkta, okta_app_factory: AppFactory, otel: Otel
) -> None:
    app = okta_app_factory.token("zscalerbyz", status="DISABLED")
    fake_okta.fail(app.id, "activate", status=503, times=1)
    async with OktaClient(
        fake_okta.org_url,
        auth=SSWSToken(fake_okta.token),
        retry=fast_retry(),
        **otel.options(),
    ) as okta:
        await okta.connections.activate(app.id)
    spans = otel.finished()
    [op] = otel.named("okta.connections.activate")
    first, second = sorted(children(op, spans), key=lambda s: s.start_time or 0)
    assert first.attributes is not None and second.attributes is not None
    assert first.attributes["http.response.status_code"] == 503
    assert first.attributes["error.type"] == "503"
    assert first.status.status_code is StatusCode.ERROR
    assert "http.request.resend_count" not in first.attributes
    assert second.attributes["http.response.status_code"] == 204
    assert second.attributes["http.request.resend_count"] == 1
    assert second.attributes["okta.retry_count"] == 1
    assert op.status.status_code is StatusCode.UNSET
    assert op.attributes is not None and op.attributes["http.response.status_code"] == 204
    # What Okta saw agrees: the retry said it was one, for the first request id.
    sent = fake_okta.requests(operation="activate", app_id=app.id)
    assert sent[1].headers["X-Okta-Retry-Count"] == "1"
    assert sent[1].headers["X-Okta-Retry-For"] == first.attributes["okta.request_id"]

    requests = otel.points("okta.connections.requests")
    assert counts(requests, "http.response.status_code") == {503: 1, 204: 1}
    assert counts(requests, "okta.operation") == {"activate": 2}
    assert counts(otel.points("okta.connections.retries"), "okta.operation") == {"activate": 1}
    assert otel.points("okta.connections.rate_limited") == []


@pytest.mark.slow
@pytest.mark.okta_rate_limit(limit=1000, window=1)  # a scripted 429's window ends soon
async def test_429s_are_counted_by_kind(
    fake_okta: FakeOkta, okta_app_factory: AppFactory, otel: Otel
) -> None:
    app = fake_okta.apps[0]
    fake_okta.fail_next(429, times=1, operation="get")
    async with OktaClient(
        fake_okta.org_url,
        auth=SSWSToken(fake_okta.token),
        retry=fast_retry(),
        **otel.options(),
    ) as okta:
        await okta.connections.get(app.id)
        fake_okta.set_concurrency_limit(1)
        fake_okta.latency = 0.05
        await asyncio.gather(
            *(okta.connections.get(app.id) for _ in range(4)), return_exceptions=True
        )
    kinds = counts(otel.points("okta.connections.rate_limited"), "okta.rate_limit.kind")
    assert kinds["rate"] == 1
    assert kinds["concurrency"] >= 1
    statuses = counts(otel.points("okta.connections.requests"), "http.response.status_code")
    assert statuses[429] == kinds["rate"] + kinds["concurrency"]


@pytest.mark.slow
@pytest.mark.okta_rate_limit(limit=4, window=1)
async def test_paced_bulk_job(fake_okta: FakeOkta, otel: Otel) -> None:
    ids = [a.id for a in fake_okta.apps[:10]]
    async with OktaClient(
        fake_okta.org_url, auth=SSWSToken(fake_okta.token), **otel.options()
    ) as okta:
        report = await okta.bulk.get(ids).run()
    assert report.succeeded == 10
    spans = otel.finished()
    [job] = otel.named("okta.connections.bulk.get")
    assert job.parent is None
    a = job.attributes
    assert a is not None
    assert a["okta.bulk.total"] == 10
    assert a["okta.bulk.succeeded"] == 10 and a["okta.bulk.failed"] == 0
    assert a["okta.bulk.not_started"] == 0
    ops = otel.named("okta.connections.get")
    assert len(ops) == 10
    assert {id(s) for s in children(job, spans)} == {id(s) for s in ops}
    waits = [e for s in ops for e in s.events if e.name == "okta.pacing.wait"]
    assert waits, "10 requests at 4 a second: some must have waited"
    assert all(e.attributes is not None for e in waits)
    longest = max(float(e.attributes["okta.pacing.wait"]) for e in waits)  # type: ignore[index]
    assert longest > 0.1
    assert {e.attributes["okta.rate_limit.bucket"] for e in waits} == {"apps"}  # type: ignore[index]
    [pacing] = otel.points("okta.connections.pacing.duration")
    assert pacing.count == len(waits) and pacing.sum >= longest
    assert max(pacing.explicit_bounds) == 60
    assert job.status.status_code is StatusCode.UNSET


async def test_a_span_of_the_application_is_the_parent(fake_okta: FakeOkta, otel: Otel) -> None:
    tracer = otel.tracer_provider.get_tracer("app")
    async with OktaClient(
        fake_okta.org_url, auth=SSWSToken(fake_okta.token), **otel.options()
    ) as okta:
        with tracer.start_as_current_span("handler") as handler:
            await okta.connections.get(fake_okta.apps[0].id)
    [op] = otel.named("okta.connections.get")
    assert op.parent is not None and op.parent.span_id == handler.get_span_context().span_id


async def test_a_cancelled_call_ends_its_spans(fake_okta: FakeOkta, otel: Otel) -> None:
    fake_okta.latency = 1.0
    sent = asyncio.Event()
    async with OktaClient(
        fake_okta.org_url,
        auth=SSWSToken(fake_okta.token),
        on_request=lambda _: sent.set(),
        **otel.options(),
    ) as okta:
        task = asyncio.create_task(okta.connections.get(fake_okta.apps[0].id))
        # The attempt is under way (its span started); the fake holds it for 1 s.
        await asyncio.wait_for(sent.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    [op] = otel.named("okta.connections.get")
    [http] = children(op, otel.finished())
    assert http.attributes is not None and http.attributes["error.type"] == "CancelledError"
    assert op.attributes is not None and op.attributes["error.type"] == "CancelledError"


# ---------------------------------------------------------------------- hooks


async def test_sync_and_async_hooks_see_every_attempt(fake_okta: FakeOkta) -> None:
    app = fake_okta.apps[0]
    fake_okta.fail_next(503, times=1, operation="get")
    requests: list[RequestEvent] = []
    responses: list[ResponseEvent] = []

    async def on_response(event: ResponseEvent) -> None:
        await asyncio.sleep(0)
        responses.append(event)

    async with OktaClient(
        fake_okta.org_url,
        auth=SSWSToken(fake_okta.token),
        retry=fast_retry(),
        on_request=requests.append,
        on_response=on_response,
        telemetry=False,
    ) as okta:
        await okta.connections.get(app.id)
    assert [(e.operation, e.method, e.attempt) for e in requests] == [
        ("get", "GET", 1),
        ("get", "GET", 2),
    ]
    assert requests[0].path == f"/api/v1/apps/{app.id}/connections/default"
    assert requests[0].headers["Authorization"] == "***"
    assert requests[0].headers["Accept"] == "application/json"
    assert not requests[0].token_request and requests[0].bucket == "apps"
    assert [(e.status, e.attempt) for e in responses] == [(503, 1), (200, 2)]
    sent = fake_okta.requests(operation="get")
    assert [e.request_id for e in responses] == [r.request_id for r in sent[-2:]]
    assert all(e.elapsed > 0 for e in responses)
    assert isinstance(responses[1].remaining, int)
    assert responses[1].headers["Content-Type"].startswith("application/json")


async def test_a_transport_failure_reaches_on_response_without_a_status(
    fake_okta: FakeOkta,
) -> None:
    responses: list[ResponseEvent] = []
    fake_okta.latency = 1.0
    async with OktaClient(
        fake_okta.org_url,
        auth=SSWSToken(fake_okta.token),
        retry=fast_retry(max_attempts=1),
        timeouts=__import__("okta_connections").Timeouts(total=0.2),
        on_response=responses.append,
        telemetry=False,
    ) as okta:
        with pytest.raises(Exception, match="within"):
            await okta.connections.get(fake_okta.apps[0].id)
    [event] = responses
    assert event.status is None and event.error == "OktaTimeoutError"
    assert event.headers == {} and event.request_id is None


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_failing_hook_is_logged_and_never_breaks_the_call(
    fake_okta: FakeOkta, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    def broken(event: object) -> None:
        raise RuntimeError("hook bug")

    async def broken_async(event: object) -> None:
        raise RuntimeError("hook bug")

    hook = broken if kind == "sync" else broken_async
    caplog.set_level(logging.WARNING, logger="okta_connections")
    async with OktaClient(
        fake_okta.org_url,
        auth=SSWSToken(fake_okta.token),
        on_request=hook,
        on_response=hook,
        telemetry=False,
    ) as okta:
        conn = await okta.connections.get(fake_okta.apps[0].id)
    assert conn is not None
    hooks = sorted(r.__dict__.get("hook") for r in caplog.records if "hook" in r.getMessage())
    assert hooks == ["on_request", "on_response"]
    assert all("RuntimeError" in r.getMessage() for r in caplog.records if "hook" in r.__dict__)
    for record in (r for r in caplog.records if "hook" in r.__dict__):
        assert [f for f in LOG_FIELDS if not hasattr(record, f)] == []
        assert record.__dict__["app_id"] == fake_okta.apps[0].id


def test_a_hook_must_be_callable() -> None:
    from okta_connections import ConfigurationError

    with pytest.raises(ConfigurationError, match="on_request"):
        OktaClient("https://acme.okta.com", auth=SSWSToken("x" * 40), on_request="print")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="telemetry"):
        OktaClient("https://acme.okta.com", auth=SSWSToken("x" * 40), telemetry="no")  # type: ignore[arg-type]


# ---------------------------------------------------------------------- structured logs

LOG_FIELDS = ("operation", "app_id", "status", "attempt", "request_id", "bucket", "remaining")


async def test_log_records_carry_their_fields_as_extra(
    fake_okta: FakeOkta, caplog: pytest.LogCaptureFixture
) -> None:
    app = fake_okta.apps[0]
    fake_okta.fail_next(503, times=1, operation="get")
    caplog.set_level(logging.DEBUG, logger="okta_connections")
    async with OktaClient(
        fake_okta.org_url, auth=SSWSToken(fake_okta.token), retry=fast_retry(), telemetry=False
    ) as okta:
        await okta.connections.get(app.id)
    ours = [r for r in caplog.records if r.name == "okta_connections"]
    assert len(ours) >= 3  # two responses and the retry
    for record in ours:
        missing = [f for f in LOG_FIELDS if not hasattr(record, f)]
        assert missing == [], record.getMessage()
        assert record.__dict__["operation"] == "get"
        assert record.__dict__["app_id"] == app.id
        assert record.__dict__["bucket"] == "apps"
    sent = fake_okta.requests(operation="get")
    responses = [r for r in ours if "->" in r.getMessage()]
    assert [(r.__dict__["status"], r.__dict__["attempt"]) for r in responses] == [
        (503, 1),
        (200, 2),
    ]
    assert [r.__dict__["request_id"] for r in responses] == [s.request_id for s in sent[-2:]]
    assert all(isinstance(r.__dict__["remaining"], int) for r in responses)
    [retry] = [r for r in ours if "retrying" in r.getMessage()]
    assert retry.__dict__["status"] == 503 and retry.__dict__["attempt"] == 1


async def test_auth_and_token_logs_carry_the_same_fields(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = OAuthServer()
    await server.start()
    try:
        key = rsa_key()
        server.register(public_key=key.public_key(), dpop_required=True)
        server.api_nonce = "api-nonce-1"  # a nonce challenge: the strategy logs its replay
        caplog.set_level(logging.DEBUG, logger="okta_connections")
        async with OktaClient(
            server.url, auth=PrivateKeyJWT(CLIENT_ID, pem(key), dpop=True), telemetry=False
        ) as okta:
            await okta.connections.get("0oafxqCAJWWGELFTYASJ")
            server.revoke_tokens()  # a 401: the strategy logs that it drops its token
            await okta.connections.get("0oafxqCAJWWGELFTYASJ")
    finally:
        await server.close()
    ours = [r for r in caplog.records if r.name.startswith("okta_connections")]
    messages = [r.getMessage() for r in ours]
    assert any("nonce" in m for m in messages) and any("401" in m for m in messages)
    assert any(r.name == "okta_connections.auth" for r in ours)
    for record in ours:
        missing = [f for f in LOG_FIELDS if not hasattr(record, f)]
        assert missing == [], record.getMessage()
    token = [r for r in ours if r.__dict__["operation"] == "token"]
    assert any(r.__dict__["status"] == 200 for r in token)
    assert all(r.__dict__["bucket"] == "oauth2-token" for r in token)
    challenge = [r for r in ours if "nonce" in r.getMessage() and r.name.endswith("auth")]
    assert challenge[0].__dict__["operation"] == "get"
    assert challenge[0].__dict__["app_id"] == "0oafxqCAJWWGELFTYASJ"


def test_docs_example_is_the_test_file_verbatim() -> None:
    """docs/observability.md shows tests/test_docs_observability_example.py as it is."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    doc = (root / "docs" / "observability.md").read_text(encoding="utf-8")
    source = (root / "tests" / "test_docs_observability_example.py").read_text(encoding="utf-8")
    marker = "<!-- example: tests/test_docs_observability_example.py -->\n```python\n"
    start = doc.index(marker) + len(marker)
    assert doc[start : doc.index("```\n", start)] == source


def test_docs_name_every_metric_and_span_attribute(otel: Otel) -> None:
    """Every metric name and attribute key the code uses is in docs/observability.md."""
    from pathlib import Path

    from okta_connections.pipeline import otel as ours

    doc = (Path(__file__).resolve().parents[2] / "docs" / "observability.md").read_text()
    keys = [v for k, v in vars(ours).items() if k.isupper() and isinstance(v, str)]
    keys.remove(ours.INSTRUMENTATION_NAME)
    assert len(keys) > 15
    missing = [k for k in keys if f"`{k}`" not in doc]
    assert missing == []
    OktaClient("https://acme.okta.com", auth=SSWSToken("x" * 40), **otel.options())
    source = Path(ours.__file__).read_text()
    import re

    names = re.findall(r'"((?:okta\.connections|http\.client)\.[a-z_.]+)",\n', source)
    assert len(names) == 7, names
    assert [n for n in names if f"`{n}`" not in doc] == []
