"""The pipeline's event dispatcher, and who subscribes: the observer, the pacer's waits."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from okta_connections import (
    MockTransport,
    OktaClient,
    RetryPolicy,
    SSWSToken,
    TransportResponse,
)
from okta_connections.pipeline.events import (
    AttemptEnded,
    AttemptStarted,
    Events,
    JobEnded,
    JobStarted,
    Paced,
    TokenFetched,
)
from okta_connections.ratelimit.pacer import RateLimiter
from tests.support.constants import APP_ID, CONNECTION_BODY, SECRET

ORG = "https://example.okta.com"
JSON = {"Content-Type": "application/json"}


async def test_subscribers_get_their_event_type_in_order_plain_or_async() -> None:
    events = Events()
    seen: list[str] = []

    async def later(e: Paced) -> None:
        await asyncio.sleep(0)
        seen.append(f"async {e.bucket}")

    events.subscribe(Paced, lambda e: seen.append(f"plain {e.bucket}"))
    events.subscribe(Paced, later)
    events.subscribe(TokenFetched, lambda e: seen.append("token"))
    assert events.wants(Paced) and not events.wants(AttemptStarted)
    await events.emit(Paced("apps", 0.5))
    assert seen == ["plain apps", "async apps"]


async def test_unsubscribe_stops_delivery_and_forgets_the_type() -> None:
    events = Events()
    seen: list[object] = []
    unsubscribe = events.subscribe(Paced, seen.append)
    unsubscribe()
    unsubscribe()  # idempotent
    await events.emit(Paced("apps", 1.0))
    assert seen == [] and not events.wants(Paced)


async def test_a_raising_subscriber_is_logged_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events = Events()
    seen: list[object] = []

    def broken(_: Paced) -> None:
        raise RuntimeError("observer bug")

    events.subscribe(Paced, broken)
    events.subscribe(Paced, seen.append)
    with caplog.at_level(logging.WARNING, "okta_connections"):
        await events.emit(Paced("apps", 1.0))
        events.emit_nowait(Paced("apps", 2.0))
    assert len(seen) == 2
    assert "raised RuntimeError" in caplog.text


def test_emit_nowait_refuses_an_async_subscriber_without_leaving_it_unawaited(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events = Events()

    async def sub(_: Paced) -> None:
        pass

    events.subscribe(Paced, sub)
    with caplog.at_level(logging.WARNING, "okta_connections"):
        events.emit_nowait(Paced("apps", 1.0))
    assert "raised TypeError" in caplog.text


async def test_a_clients_calls_emit_attempt_events_to_any_subscriber() -> None:
    transport = MockTransport(
        lambda r: TransportResponse(200, JSON, json.dumps(CONNECTION_BODY).encode())
    )
    async with OktaClient(ORG, auth=SSWSToken(SECRET), transport=transport) as okta:
        events = okta._session.events
        seen: list[tuple[str, int]] = []
        events.subscribe(AttemptStarted, lambda e: seen.append(("start", e.attempt)))
        events.subscribe(AttemptEnded, lambda e: seen.append(("end", e.attempt)))
        await okta.connections.get(APP_ID)
    assert seen == [("start", 1), ("end", 1)]


async def test_the_pacers_waits_reach_the_sessions_paced_event_without_on_wait() -> None:
    limiter = RateLimiter()
    waits: list[tuple[str, float]] = []
    remove = limiter.on_paced(lambda bucket, waited: waits.append((bucket, waited)))
    first = await limiter.slot("apps").take()  # the probe: the next waits for its headers
    second = asyncio.create_task(limiter.slot("apps").take())
    await asyncio.sleep(0)
    first.give_back()
    (await second).give_back()
    assert [b for b, _ in waits] == ["apps"] and limiter.on_wait is None
    remove()
    remove()


async def test_a_bulk_job_emits_its_start_and_end_and_stops_listening_after() -> None:
    transport = MockTransport(lambda r: TransportResponse(204, JSON, b""))
    async with OktaClient(ORG, auth=SSWSToken(SECRET), transport=transport) as okta:
        seen: list[object] = []
        before = list(okta.events._subs.get(AttemptStarted, ()))  # the observer's, if any
        okta.events.subscribe(JobStarted, seen.append)
        okta.events.subscribe(JobEnded, seen.append)
        report = await okta.bulk.activate([APP_ID, APP_ID + "b"]).run()
        assert [type(e) for e in seen] == [JobStarted, JobEnded]
        started, ended = seen
        assert isinstance(started, JobStarted) and started.total == 2
        assert isinstance(ended, JobEnded) and ended.report is report
        assert okta.events._subs.get(AttemptStarted, []) == before  # the job's counter left


async def test_attempt_counter_adds_the_api_attempts_sent_by_its_task() -> None:
    from okta_connections.pipeline.session import attempt_counter

    answers = iter([503, 204, 204])
    transport = MockTransport(lambda r: TransportResponse(next(answers), JSON, b""))
    async with OktaClient(ORG, auth=SSWSToken(SECRET), transport=transport) as okta:

        async def counted() -> list[int]:
            counter = [0]
            attempt_counter.set(counter)  # a task of its own: as a bulk job's item
            await okta.connections.activate(APP_ID, timeout=30)
            await okta.connections.activate(APP_ID)
            return counter

        okta._session.retry = RetryPolicy(sleep=_no_sleep)  # type: ignore[union-attr]
        assert await asyncio.create_task(counted()) == [3]
        assert attempt_counter.get() is None  # the caller's context is untouched


async def _no_sleep(_: float) -> None:
    return None
