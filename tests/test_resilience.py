"""Retries, pacing and faults end to end against FakeOkta and a scripted server."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable

import pytest

from okta_connections import (
    OktaClient,
    OktaTimeoutError,
    RateLimitError,
    ServerError,
    SSWSToken,
    Timeouts,
)
from okta_connections.bulk import OutcomeStatus
from okta_connections.testing import FakeOkta
from tests.support.constants import APP_ID, SECRET
from tests.support.retry import fast_retry
from tests.support.scripted import ScriptedServer

UNLIMITED = {"rate_limit": 1_000_000, "rate_window": 60.0}


async def test_faulty_run_of_2000_operations_ends_correct_and_loses_nothing() -> None:
    rng = random.Random(3)
    async with FakeOkta(apps=400, seed=5, **UNLIMITED) as fake:
        fake.set_faults(fail_rate=0.05, drop_rate=0.01, seed=9)
        targets = [a for a in fake.apps if a.supports_provisioning and a.auth_scheme == "TOKEN"]
        assert len(targets) >= 50
        plan: list[tuple[str, str]] = []  # (app id, "activate" | "deactivate"), 2000 in all
        while len(plan) < 2000:
            app = rng.choice(targets)
            plan.append((app.id, rng.choice(["activate", "deactivate"])))
        final: dict[str, str] = {}
        for app_id, op in plan:
            final[app_id] = op  # the last planned operation per app decides its state

        async def apply(client: OktaClient, item: tuple[str, str]) -> None:
            app_id, op = item
            await getattr(client.connections, op)(app_id)

        async with OktaClient(fake.org_url, auth=SSWSToken(fake.token), retry=fast_retry()) as okta:
            # Run each app's operations in order, apps in parallel: group by app.
            by_app: dict[str, list[str]] = {}
            for app_id, op in plan:
                by_app.setdefault(app_id, []).append(op)

            async def run_app(client: OktaClient, app_id: str) -> int:
                for op in by_app[app_id]:
                    await apply(client, (app_id, op))
                return len(by_app[app_id])

            job = okta.bulk.run(run_app, list(by_app), concurrency=20)
            outcomes = [o async for o in job]

        assert fake.faults.counts["5xx"] > 50
        assert fake.faults.counts["dropped"] > 5
        assert len(outcomes) == len(by_app)  # every app accounted for
        assert job.report.accounted == len(by_app)
        done_ops = sum(o.result for o in outcomes if o.status is OutcomeStatus.SUCCEEDED)  # type: ignore[misc]
        failed = [o for o in outcomes if o.status is OutcomeStatus.FAILED]
        assert done_ops + sum(len(by_app[o.key]) for o in failed) == 2000
        for outcome in outcomes:
            if outcome.status is OutcomeStatus.SUCCEEDED:
                expected = "ENABLED" if final[outcome.key] == "activate" else "DISABLED"
                assert fake.app(outcome.key).connection_status == expected
            else:
                assert outcome.error is not None  # failed visibly, with its cause
        assert len(failed) <= 2


async def test_concurrency_429s_shrink_the_in_flight_cap() -> None:
    async with FakeOkta(apps=40, **UNLIMITED) as fake:
        fake.set_concurrency_limit(4)
        fake.latency = 0.02
        ids = [a.id for a in fake.apps][:40]
        async with OktaClient(
            fake.org_url,
            auth=SSWSToken(fake.token),
            retry=fast_retry(max_attempts=8),
            max_in_flight=32,
        ) as okta:
            report = await okta.bulk.get(ids * 3, concurrency=32).run()
            cap = okta.rate_limiter.cap("apps")
        assert report.succeeded == 120
        assert fake.count(status=429) > 0
        assert cap < 32


async def test_resets_are_measured_against_a_skewed_server_date() -> None:
    skew = 86400 * 400 + 0.5  # the server thinks it is next year
    async with FakeOkta(
        apps=5, clock=lambda: time.time() + skew, rate_limit=50, rate_window=30
    ) as fake:
        async with OktaClient(fake.org_url, auth=SSWSToken(fake.token)) as okta:
            await okta.connections.get(fake.apps[0].id)
            info = okta.rate_limits["apps"]
        assert info.limit == 50
        assert info.remaining == 49
        assert 29 <= info.reset_after <= 31  # relative to the server's Date, not our clock


@pytest.mark.looptime
@pytest.mark.usefixtures("client_on_loop_clock")
async def test_rate_limited_job_hits_almost_no_429s(loop_wall_clock: Callable[[], float]) -> None:
    async with FakeOkta(
        apps=150, rate_limit=40, rate_window=1.0, enforce_rate_limit=True, clock=loop_wall_clock
    ) as fake:
        ids = [a.id for a in fake.apps][:100]
        async with OktaClient(fake.org_url, auth=SSWSToken(fake.token)) as okta:
            report = await okta.bulk.get(ids).run()
        assert report.succeeded == 100
        assert fake.count(status=429) <= 1


# The loop's time: on the real clock the retried call's second attempt had to be answered
# within 0.2 s of the machine's time, an upper bound a loaded machine can break.
@pytest.mark.looptime
@pytest.mark.usefixtures("client_on_loop_clock")
async def test_verify_is_not_retried_after_a_timeout(server: ScriptedServer) -> None:
    server.add(204, delay=1.0)
    async with OktaClient(
        server.url,
        auth=SSWSToken(SECRET),
        retry=fast_retry(max_attempts=4),
        timeouts=Timeouts(total=0.2),
    ) as okta:
        with pytest.raises(OktaTimeoutError):
            await okta.connections.verify("slack", APP_ID, code="c", state="s")
        assert len(server.seen) == 1
        # ... whereas an idempotent call is retried after the same timeout
        server.add(204, delay=1.0)
        server.add(204)
        await okta.connections.activate(APP_ID)
        assert len(server.seen) == 3


async def test_verify_is_retried_after_a_429(server: ScriptedServer) -> None:
    server.add(429, json_body={"errorCode": "E0000047"}, headers={"Retry-After": "0"})
    server.add(204)
    async with OktaClient(server.url, auth=SSWSToken(SECRET), retry=fast_retry()) as okta:
        await okta.connections.verify("zoomus", APP_ID, code="c", state="s")
    assert len(server.seen) == 2


async def test_verify_is_not_retried_after_a_503(server: ScriptedServer) -> None:
    server.add(503)
    async with OktaClient(server.url, auth=SSWSToken(SECRET), retry=fast_retry()) as okta:
        with pytest.raises(ServerError) as info:
            await okta.connections.verify("google", APP_ID, code="c", state="s")
    assert info.value.attempts == 1
    assert len(server.seen) == 1


async def test_503_without_rate_limit_headers_is_an_ordinary_retry(server: ScriptedServer) -> None:
    for _ in range(4):
        server.add(503, body=b"Service Unavailable", headers={"Content-Type": "text/plain"})
    async with OktaClient(server.url, auth=SSWSToken(SECRET), retry=fast_retry()) as okta:
        with pytest.raises(ServerError) as info:
            await okta.connections.get(APP_ID)
    assert info.value.attempts == 4  # the last real error, with the number of attempts
    assert len(server.seen) == 4


async def test_scripted_fault_per_app_and_operation() -> None:
    async with FakeOkta(apps=10, **UNLIMITED) as fake:
        app = next(a for a in fake.apps if a.supports_provisioning and a.auth_scheme == "TOKEN")
        fake.fail(app.id, "activate", status=503, times=2)
        delays: list[float] = []

        async def record(delay: float) -> None:
            delays.append(delay)

        retry = fast_retry(sleep=record)
        async with OktaClient(fake.org_url, auth=SSWSToken(fake.token), retry=retry) as okta:
            await okta.connections.get(app.id)  # other operations are unaffected
            await okta.connections.activate(app.id)
        assert fake.count(operation="activate", app_id=app.id) == 3
        assert fake.count(operation="activate", status=503) == 2
        assert len(delays) == 2
        assert fake.app(app.id).connection_status == "ENABLED"
        assert fake.faults.counts["scripted"] == 2


@pytest.mark.looptime  # the wait it must not do would take the loop's time, not the machine's
@pytest.mark.usefixtures("client_on_loop_clock")
async def test_rate_limit_wait_past_the_deadline_gives_up(server: ScriptedServer) -> None:
    server.add(
        429,
        json_body={"errorCode": "E0000047"},
        headers={
            "X-Rate-Limit-Limit": "100",
            "X-Rate-Limit-Remaining": "0",
            "X-Rate-Limit-Reset": str(int(time.time()) + 50),
            "Date": __import__("email.utils").utils.formatdate(usegmt=True),
        },
    )
    async with OktaClient(
        server.url, auth=SSWSToken(SECRET), retry=fast_retry(), timeouts=Timeouts(deadline=5)
    ) as okta:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(RateLimitError):
            await okta.connections.get(APP_ID)
        assert loop.time() - started < 1  # at once: not a wait for the 5 s deadline


@pytest.mark.looptime  # the 0.3 s timeouts and the fake's 1 s holds are the loop's
@pytest.mark.usefixtures("client_on_loop_clock")
async def test_malformed_and_slow_answers_fail_visibly() -> None:
    from okta_connections import DecodeError

    async with FakeOkta(apps=5, **UNLIMITED) as fake:
        app_id = fake.apps[0].id
        async with OktaClient(
            fake.org_url,
            auth=SSWSToken(fake.token),
            retry=fast_retry(max_attempts=2),
            timeouts=Timeouts(total=0.3),
        ) as okta:
            fake.set_faults(malformed_rate=1.0)
            with pytest.raises(DecodeError, match="not JSON"):
                await okta.connections.get(app_id)
            fake.set_faults(slow_rate=1.0, slow_seconds=1.0)
            with pytest.raises(OktaTimeoutError) as info:
                await okta.connections.get(app_id)
            assert info.value.attempts == 2
        assert fake.faults.counts["malformed"] == 1
        assert fake.faults.counts["slow"] == 2
