"""Structured concurrency (``async with job``), read-back checks, and truthful progress."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from okta_connections import OAuthConnection, OktaClient
from okta_connections.bulk import OutcomeStatus, Progress, ReadBackError, eta_seconds
from okta_connections.ratelimit import RateLimitInfo
from tests.support.constants import CONNECTION_BODY
from tests.support.constants import bulk_ids as ids
from tests.support.scripted import ScriptedServer


class Tracker:
    """Work that takes a while after the first few, and knows what is still running."""

    def __init__(self, quick: int, wait_for: int = 0) -> None:
        self.quick = quick
        self.started: list[str] = []
        self.running: set[str] = set()
        self.wait_for = wait_for
        self.enough = asyncio.Event()  # set once ``wait_for`` items have started

    async def __call__(self, _: OktaClient, key: str) -> str:
        self.started.append(key)
        self.running.add(key)
        if len(self.started) >= self.wait_for:
            self.enough.set()
        try:
            await asyncio.sleep(0 if len(self.started) <= self.quick else 30)
            return key
        finally:
            self.running.discard(key)


async def test_break_mid_job_cancels_in_flight_and_leaves_a_complete_report(
    okta: OktaClient,
) -> None:
    work = Tracker(quick=10)
    seen = 0
    async with okta.bulk.run(work, ids(100), concurrency=4) as job:
        async for outcome in job:
            assert outcome.status is OutcomeStatus.SUCCEEDED
            seen += 1
            if seen == 5:
                break
    # Before the block exited: nothing left running, every item accounted for.
    assert work.running == set()
    report = job.report
    assert report.not_started is not None
    assert report.accounted + report.not_started == 100
    assert report.accounted == len(work.started)  # started ones all reached an outcome
    assert report.cancelled == len(work.started) - report.succeeded
    assert report.succeeded >= 5


async def test_an_exception_in_the_block_cancels_and_accounts(okta: OktaClient) -> None:
    work = Tracker(quick=3)

    def source() -> Iterator[str]:
        yield from ids(50)  # no length: the not-started count is unknown

    job = okta.bulk.run(work, source(), concurrency=3)

    async def consume() -> None:
        async with job:
            async for _ in job:
                raise KeyError("the consumer's own bug")

    with pytest.raises(KeyError):
        await consume()
    assert work.running == set()
    assert job.report.accounted == len(work.started)
    assert job.report.not_started is None


async def test_cancelling_the_consumer_cancels_the_job(okta: OktaClient) -> None:
    work = Tracker(quick=0, wait_for=5)
    job = okta.bulk.run(work, ids(20), concurrency=5)

    async def consume() -> None:
        async with job:
            async for _ in job:
                pass

    task = asyncio.create_task(consume())
    await asyncio.wait_for(work.enough.wait(), 30)  # generous: fails, never hangs
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert work.running == set()
    assert (job.report.cancelled, job.report.not_started) == (5, 15)


async def test_run_takes_the_guaranteed_path(okta: OktaClient) -> None:
    work = Tracker(quick=0, wait_for=3)
    job = okta.bulk.run(work, ids(12), concurrency=3)
    task = asyncio.create_task(job.run())
    await asyncio.wait_for(work.enough.wait(), 30)  # generous: fails, never hangs
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert work.running == set()
    assert job.report.accounted + (job.report.not_started or 0) == 12


async def test_a_slow_consumer_holds_the_workers_back(okta: OktaClient) -> None:
    pulled = 0

    def source() -> Iterator[str]:
        nonlocal pulled
        for key in ids(10_000):
            pulled += 1
            yield key

    async def work(_: OktaClient, key: str) -> None:
        return None

    async with okta.bulk.run(work, source(), concurrency=8) as job:
        async for _ in job:
            await asyncio.sleep(0.001)
            if job.report.accounted >= 50:
                break
        # the stream is bounded: the workers stopped pulling when it was full
        assert pulled <= 50 + 8 + 8 + 1
    assert job.report.not_started is None


def _conn(**profile: Any) -> dict[str, Any]:
    body = copy.deepcopy(CONNECTION_BODY)
    body["authScheme"] = profile.pop("authScheme", "OAUTH2")
    body["profile"] = {"authScheme": body["authScheme"], **profile}
    body.pop("baseUrl", None)
    return body


async def test_read_back_catches_a_dropped_rotation_mode(
    okta: OktaClient, server: ScriptedServer
) -> None:
    # Okta accepts the body and answers without the signing settings (cf. the Terraform
    # provider's #2941, where rotation_mode was never sent and nothing noticed).
    server.add(200, json_body=_conn(clientId="0oaHUB"))
    server.add(200, json_body=_conn(clientId="0oaHUB", signing={"rotationMode": "AUTO"}))
    request = OAuthConnection(client_id="0oaHUB", rotation_mode="AUTO")
    job = okta.bulk.update([(app, request) for app in ids(2)], read_back=True, concurrency=1)
    outcomes = [o async for o in job]
    failed = outcomes[0]
    assert failed.status is OutcomeStatus.FAILED
    assert isinstance(failed.error, ReadBackError)
    assert failed.error.field == "rotation_mode"
    assert (failed.error.expected, failed.error.actual) == ("AUTO", None)
    assert "rotation_mode" in str(failed.error)
    assert outcomes[1].status is OutcomeStatus.SUCCEEDED
    assert [s.method for s in server.seen] == ["POST", "POST"]  # no extra reads
    # without read_back (the library's default) the same answer is a success
    server.add(200, json_body=_conn(clientId="0oaHUB"))
    report = await okta.bulk.update([(ids(1)[0], request)]).run()
    assert report.succeeded == 1


async def test_read_back_reads_again_only_for_the_status_after_activating(
    okta: OktaClient, server: ScriptedServer
) -> None:
    body = copy.deepcopy(CONNECTION_BODY)
    body["status"] = "DISABLED"  # the update's answer predates the activation
    server.add(200, json_body=body)
    server.add(200, json_body=CONNECTION_BODY)  # the GET: ENABLED
    server.add(200, json_body=body)
    server.add(200, json_body=body)  # still DISABLED on the GET
    job = okta.bulk.set_token(
        ids(2),
        "tok-0123456789",
        base_url=CONNECTION_BODY["baseUrl"],
        activate=True,
        read_back=True,
        concurrency=1,
    )
    outcomes = [o async for o in job]
    assert [s.method for s in server.seen] == ["POST", "GET", "POST", "GET"]
    assert outcomes[0].status is OutcomeStatus.SUCCEEDED
    assert isinstance(outcomes[1].error, ReadBackError)
    assert outcomes[1].error.field == "status"


async def test_read_back_catches_another_base_url(okta: OktaClient, server: ScriptedServer) -> None:
    job = okta.bulk.set_token(
        ids(1), "tok-0123456789", base_url="https://scim.example/other", read_back=True
    )
    (outcome,) = [o async for o in job]
    assert isinstance(outcome.error, ReadBackError)
    assert outcome.error.field == "base_url"
    assert outcome.error.actual == CONNECTION_BODY["baseUrl"]


def test_eta_comes_from_the_rate_limit_schedule() -> None:
    now = time.monotonic()
    info = RateLimitInfo(limit=100, remaining=10, reset_after=30.0, reset_at=0.0, observed_at=now)
    # 10 fit in this window (spread over its 30 s); 240 more cost 3 whole windows
    assert eta_seconds(250, info, rate=1000.0, now=now) == pytest.approx(30 + 3 * 60)
    assert eta_seconds(5, info, rate=1000.0, now=now) == pytest.approx(15)
    # half the limit for this job: windows of 50
    assert eta_seconds(110, info, max_capacity=0.5, now=now) == pytest.approx(30 + 2 * 60)
    # no window seen: the rate so far; nothing known: None
    assert eta_seconds(10, None, rate=2.0) == 5
    assert eta_seconds(10, None) is None
    assert eta_seconds(0, info) == 0


async def test_progress_rate_excludes_skipped_items(okta: OktaClient, tmp_path: Path) -> None:
    path = tmp_path / "job.jsonl"

    async def work(_: OktaClient, key: str) -> None:
        await asyncio.sleep(0.01)

    await okta.bulk.run(work, ids(50), journal=path, concurrency=1).run()
    seen: list[Progress] = []
    await okta.bulk.run(work, ids(52), journal=path, on_progress=seen.append).run()
    last = seen[-1]
    assert (last.done, last.skipped) == (52, 50)
    # two items worked: the rate counts those two only, not the 50 skipped (no bound on
    # the wall clock: the rate is checked against the elapsed time it was made from)
    assert last.rate == pytest.approx(2 / last.elapsed)


async def test_a_rerun_over_earlier_failures_is_not_all_succeeded(
    okta: OktaClient, tmp_path: Path
) -> None:
    path = tmp_path / "job.jsonl"

    async def work(_: OktaClient, key: str) -> None:
        if key.endswith("1"):
            raise RuntimeError("boom")

    await okta.bulk.run(work, ids(3), journal=path).run()
    again = await okta.bulk.run(work, ids(3), journal=path).run()
    assert (again.failed, again.skipped_failed, again.skipped_done) == (0, 1, 2)
    assert again.all_succeeded is False
    assert "3 skipped (2 done earlier, 1 failed earlier)" in again.summary()


async def test_a_bare_async_for_completes_the_report_once_closed(okta: OktaClient) -> None:
    import contextlib

    work = Tracker(quick=4)
    job = okta.bulk.run(work, ids(30), concurrency=3)
    async with contextlib.aclosing(aiter(job)) as outcomes:  # type: ignore[type-var]
        async for _ in outcomes:
            break
        # a bare loop left early: the job is still running until the generator closes
        assert job.report.not_started is None
    assert work.running == set()
    assert job.report.accounted + (job.report.not_started or 0) == 30
