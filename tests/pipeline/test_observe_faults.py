"""User code and telemetry inside the pipeline (issue #24, 10): a hook or an event
subscriber that never returns is cut at the call's deadline (the call ends there, its
pacing slot given back, no task left behind); a hook that raises is logged and ignored;
a tracer, span processor or exporter that raises never fails a call.

A hook that blocks synchronously (``time.sleep``, a busy loop) is out of reach: it holds
the event loop itself, and nothing in the loop can run until it returns.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from okta_connections import MockTransport, OktaClient, OktaTimeoutError, SSWSToken, Timeouts
from okta_connections.pipeline.events import AttemptEnded, AttemptStarted
from okta_connections.transport import TransportRequest, TransportResponse
from tests.support.constants import APP_ID, CONNECTION_BODY, SECRET
from tests.support.retry import fast_retry

ORG = "https://acme.okta.com"
DEADLINE = 30.0


def _org(request: TransportRequest) -> TransportResponse:
    headers = {
        "Content-Type": "application/json",
        "X-Okta-Request-Id": "req-1",
        "X-Rate-Limit-Limit": "100",
        "X-Rate-Limit-Remaining": "99",
        "X-Rate-Limit-Reset": "4102444800",
    }
    if request.method == "POST":
        return TransportResponse(204, headers, b"")
    return TransportResponse(200, headers, json.dumps(CONNECTION_BODY).encode())


def _client(**options: Any) -> OktaClient:
    return OktaClient(
        ORG,
        auth=SSWSToken(SECRET),
        transport=MockTransport(_org),
        retry=fast_retry(),
        timeouts=Timeouts(deadline=DEADLINE),
        **options,
    )


async def _forever(event: object) -> None:
    await asyncio.Event().wait()


def _assert_nothing_held(okta: OktaClient) -> None:
    assert okta.rate_limiter.in_flight("apps") == 0, "the pacing slot was given back"
    assert asyncio.all_tasks() == {asyncio.current_task()}, "no task left behind"


# ---------------------------------------------------------------------- hooks


@pytest.mark.looptime
async def test_an_on_request_hook_that_never_returns_ends_the_call_at_its_deadline(
    client_on_loop_clock: Callable[[], float], caplog: pytest.LogCaptureFixture
) -> None:
    loop = asyncio.get_running_loop()
    async with _client(on_request=_forever) as okta:
        start = loop.time()
        with pytest.raises(OktaTimeoutError) as info:
            async with asyncio.timeout(2 * DEADLINE):  # before the fix: held for ever
                await okta.connections.get(APP_ID)
        assert loop.time() - start == pytest.approx(DEADLINE, abs=0.5)
        assert info.value.phase == "deadline" and not info.value.request_sent
        _assert_nothing_held(okta)
    assert any("on_request hook was still running" in r.getMessage() for r in caplog.records)


@pytest.mark.looptime
async def test_an_on_response_hook_that_never_returns_gives_the_answer_at_the_deadline(
    client_on_loop_clock: Callable[[], float],
) -> None:
    """The attempt was answered: the answer is the call's (an activation that happened is
    not reported as a timeout); the hook is cut at the deadline."""
    loop = asyncio.get_running_loop()
    async with _client(on_response=_forever) as okta:
        start = loop.time()
        async with asyncio.timeout(2 * DEADLINE):
            connection = await okta.connections.get(APP_ID)
        assert loop.time() - start == pytest.approx(DEADLINE, abs=0.5)
        assert connection is not None
        _assert_nothing_held(okta)


@pytest.mark.looptime
@pytest.mark.parametrize("kind", [AttemptStarted, AttemptEnded])
async def test_an_event_subscriber_that_never_returns_is_cut_at_the_deadline(
    client_on_loop_clock: Callable[[], float], kind: type
) -> None:
    loop = asyncio.get_running_loop()
    async with _client(telemetry=False) as okta:
        okta.events.subscribe(kind, _forever)
        start = loop.time()
        try:
            async with asyncio.timeout(2 * DEADLINE):
                await okta.connections.get(APP_ID)
        except OktaTimeoutError:
            assert kind is AttemptStarted
        else:
            assert kind is AttemptEnded
        assert loop.time() - start == pytest.approx(DEADLINE, abs=0.5)
        _assert_nothing_held(okta)


@pytest.mark.looptime
async def test_the_next_call_runs_after_a_hook_was_cut(
    client_on_loop_clock: Callable[[], float],
) -> None:
    stuck = [True]

    async def hook(event: object) -> None:
        if stuck[0]:
            stuck[0] = False
            await asyncio.Event().wait()

    async with _client(on_request=hook) as okta:
        with pytest.raises(OktaTimeoutError):
            async with asyncio.timeout(2 * DEADLINE):
                await okta.connections.get(APP_ID)
        assert await okta.connections.get(APP_ID) is not None


@pytest.mark.parametrize("raised", [RuntimeError, TimeoutError, asyncio.TimeoutError])
async def test_a_hook_raising_even_a_timeout_is_logged_and_ignored(
    caplog: pytest.LogCaptureFixture, raised: type[Exception]
) -> None:
    async def hook(event: object) -> None:
        raise raised(SECRET)

    async with _client(on_request=hook, on_response=hook, telemetry=False) as okta:
        assert await okta.connections.get(APP_ID) is not None
    warned = [r for r in caplog.records if "hook raised" in r.getMessage()]
    assert len(warned) == 2
    assert all(SECRET not in f"{r.getMessage()} {vars(r)}" for r in caplog.records)


# ---------------------------------------------------------------------- telemetry


class _Raising:
    """A span processor that raises where it is told to."""

    def __init__(self, where: str) -> None:
        self.where = where

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        if self.where == "on_start":
            raise RuntimeError(f"processor broke {SECRET}")

    def on_end(self, span: Any) -> None:
        if self.where == "on_end":
            raise RuntimeError(f"processor broke {SECRET}")

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class _RaisingExporter(SpanExporter):
    def export(self, spans: Any) -> SpanExportResult:
        raise RuntimeError(f"exporter broke {SECRET}")


class _BrokenTracer:
    def start_span(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"tracer broke {SECRET}")

    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"tracer broke {SECRET}")


class _BrokenProvider:
    def get_tracer(self, *args: Any, **kwargs: Any) -> _BrokenTracer:
        return _BrokenTracer()


def _provider(where: str) -> Any:
    if where == "tracer":
        return _BrokenProvider()
    provider = TracerProvider()
    if where == "exporter":
        provider.add_span_processor(SimpleSpanProcessor(_RaisingExporter()))
    else:
        provider.add_span_processor(_Raising(where))  # type: ignore[arg-type]
    return provider


@pytest.mark.parametrize("where", ["on_start", "on_end", "exporter", "tracer"])
async def test_telemetry_that_raises_never_fails_a_call(
    caplog: pytest.LogCaptureFixture, where: str
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[object] = []
    async with _client(tracer_provider=_provider(where), on_response=seen.append) as okta:
        for _ in range(3):
            assert await okta.connections.get(APP_ID) is not None
        await okta.connections.activate(APP_ID)
        _assert_nothing_held(okta)
    assert len(seen) == 4, "the hooks still ran"
    ours = [r for r in caplog.records if "OpenTelemetry raised" in r.getMessage()]
    if where != "exporter":  # OpenTelemetry's own processor catches its exporter's error
        assert len(ours) == 1, "logged once per client"
    mine = [r for r in caplog.records if r.name.startswith("okta_connections")]
    assert all(SECRET not in f"{r.getMessage()} {vars(r)}" for r in mine)


async def test_a_bulk_job_survives_a_raising_span_processor() -> None:
    async with _client(tracer_provider=_provider("on_end")) as okta:
        report = await okta.bulk.activate([APP_ID, APP_ID]).run()
    assert report.succeeded == 2
