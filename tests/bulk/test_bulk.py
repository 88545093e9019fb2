"""The bulk runner: streaming, accounting, bounded memory, journal, resume, cancellation."""

from __future__ import annotations

import asyncio
import json
import random
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from okta_connections import NotFoundError, OktaClient, ServerError, SSWSToken
from okta_connections.bulk import (
    BulkReport,
    Changed,
    Journal,
    JournalWarning,
    OutcomeStatus,
    Progress,
)
from tests.support.constants import SECRET
from tests.support.constants import bulk_ids as ids
from tests.support.scripted import ScriptedServer


async def test_outcomes_stream_in_completion_order_and_all_are_accounted(okta: OktaClient) -> None:
    rng = random.Random(7)
    delays = {key: rng.uniform(0, 0.03) for key in ids(40)}

    async def work(_: OktaClient, key: str) -> str:
        await asyncio.sleep(delays[key])
        return key.upper()

    seen = [o async for o in okta.bulk.run(work, list(delays), concurrency=10)]
    assert sorted(o.key for o in seen) == sorted(delays)  # every item, exactly once
    assert [o.key for o in seen] != list(delays)  # streamed as they finished, not in order
    assert all(o.status is OutcomeStatus.SUCCEEDED and o.result == o.key.upper() for o in seen)
    assert all(o.duration > 0 for o in seen)  # measured (no wall-clock lower bound)


async def test_failures_are_outcomes_with_typed_errors(okta: OktaClient) -> None:
    async def work(_: OktaClient, key: str) -> None:
        n = int(key[-2:])
        if n % 5 == 0:
            raise NotFoundError(status=404, error_code="E0000007")
        if n % 7 == 0:
            raise ServerError(status=503)
        if n == 11:
            raise RuntimeError("a bug in the user's own function")

    job = okta.bulk.run(work, ids(30), concurrency=4)
    outcomes = [o async for o in job]
    report = job.report
    assert len(outcomes) == 30
    assert report.failed_by_code == {"E0000007": 6, "HTTP 503": 4, "RuntimeError": 1}
    assert report.succeeded == 19
    assert report.failed == 11
    assert report.not_started == 0
    assert report.all_succeeded is False
    failed = next(o for o in outcomes if o.key.endswith("05"))
    assert isinstance(failed.error, NotFoundError)
    assert failed.error_code == "E0000007"


async def test_memory_is_bounded_by_concurrency_not_n(okta: OktaClient) -> None:
    pulled = 0
    finished = 0
    worst = 0

    def source() -> Iterator[str]:
        nonlocal pulled
        for i in range(100_000):
            pulled += 1
            yield f"0oa{i:017d}"

    async def work(_: OktaClient, key: str) -> None:
        nonlocal finished, worst
        worst = max(worst, pulled - finished)
        await asyncio.sleep(0)
        finished += 1

    count = 0
    job = okta.bulk.run(work, source(), concurrency=16)
    async for _ in job:
        count += 1
    assert count == 100_000
    assert job.report.succeeded == 100_000
    assert worst <= 17  # items are pulled only when a slot is free
    assert job.total is None  # a generator has no length: nothing was materialised


async def test_async_iterable_source(okta: OktaClient) -> None:
    async def source() -> AsyncIterator[str]:
        for key in ids(5):
            await asyncio.sleep(0)
            yield key

    async def work(_: OktaClient, key: str) -> int:
        return len(key)

    report = await okta.bulk.run(work, source()).run()
    assert report.succeeded == 5


async def test_journal_records_and_resume_skips_successes(okta: OktaClient, tmp_path: Path) -> None:
    path = tmp_path / "job.jsonl"
    calls: list[str] = []
    fail_once = {"0oa00000000000000003"}

    async def work(_: OktaClient, key: str) -> None:
        calls.append(key)
        if key in fail_once:
            raise ServerError(status=500)

    first = await okta.bulk.run(work, ids(6), journal=path).run()
    assert (first.succeeded, first.failed) == (5, 1)
    header, *lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert header["op"] == "work" and "fingerprint" in header
    assert sorted(r["key"] for r in lines) == ids(6)
    assert {r["status"] for r in lines} == {"succeeded", "failed"}

    calls.clear()
    second = await okta.bulk.run(work, ids(6), journal=path).run()
    assert calls == []  # succeeded skipped, failed not retried unless asked
    assert second.skipped == 6

    calls.clear()
    fail_once.clear()
    third = await okta.bulk.run(work, ids(6), journal=path, retry_failed=True).run()
    assert calls == ["0oa00000000000000003"]
    assert (third.succeeded, third.skipped) == (1, 5)
    assert Journal(path).load() == dict.fromkeys(ids(6), "succeeded")


def test_journal_ignores_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    journal = Journal(path)
    assert journal.open("activate") == {}
    journal.close()
    with path.open("a") as f:
        f.write('{"key":"0oa1","status":"succeeded"}\n{"key":"0oa2","sta')
    assert journal.load() == {"0oa1": "succeeded"}
    from okta_connections.bulk import Outcome

    assert journal.open("activate") == {"0oa1": "succeeded"}
    journal.write(Outcome(key="0oa3", item="0oa3", status=OutcomeStatus.SUCCEEDED), "activate")
    journal.close()
    with pytest.warns(JournalWarning, match="skipped 1 unreadable"):  # the torn line
        assert journal.load() == {"0oa1": "succeeded", "0oa3": "succeeded"}


async def test_dry_run_calls_nothing_and_lists_the_calls(
    okta: OktaClient, server: ScriptedServer, tmp_path: Path
) -> None:
    job = okta.bulk.activate(ids(3), dry_run=True, journal=tmp_path / "dry.jsonl")
    outcomes = [o async for o in job]
    assert server.seen == []
    assert [o.status for o in outcomes] == [OutcomeStatus.PLANNED] * 3
    assert outcomes[0].result.calls == (  # type: ignore[union-attr]
        f"POST /api/v1/apps/{ids(3)[0]}/connections/default/lifecycle/activate",
    )
    assert not (tmp_path / "dry.jsonl").exists()
    assert job.report.planned == 3


async def test_cancelling_the_job_keeps_the_journal_consistent(
    server: ScriptedServer, tmp_path: Path
) -> None:
    path = tmp_path / "cancel.jsonl"
    started: list[str] = []
    stuck = asyncio.Event()  # the 8 quick items done (recorded), 4 slow ones running

    async def work(_: OktaClient, key: str) -> None:
        started.append(key)
        if len(started) == 12:
            stuck.set()
        await asyncio.sleep(0.02 if len(started) <= 8 else 10)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        async with OktaClient(server.url, auth=SSWSToken(SECRET)) as okta:
            job = okta.bulk.run(work, ids(100), concurrency=4, journal=path)

            async def consume() -> None:
                async for _ in job:
                    pass

            task = asyncio.create_task(consume())
            await asyncio.wait_for(stuck.wait(), 10)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        assert okta.closed
    records = [json.loads(x) for x in path.read_text().splitlines()][1:]
    keys = [r["key"] for r in records]
    assert len(keys) == len(set(keys))  # nothing recorded twice
    statuses = {r["key"]: r["status"] for r in records}
    assert sorted(statuses) == sorted(started)  # everything started is recorded
    assert list(statuses.values()).count("cancelled") == 4  # the in-flight ones
    report: BulkReport = job.report
    assert report.succeeded == 8
    assert report.cancelled == 4
    assert report.not_started == 100 - 12
    assert report.accounted + report.not_started == 100


async def test_stop_lets_in_flight_items_finish(okta: OktaClient) -> None:
    async def work(_: OktaClient, key: str) -> None:
        await asyncio.sleep(0.01)

    job = okta.bulk.run(work, ids(50), concurrency=5)
    async for outcome in job:
        if job.report.accounted == 10:
            job.stop()
        assert outcome.status is OutcomeStatus.SUCCEEDED
    assert job.report.cancelled == 0
    assert job.report.succeeded >= 10
    assert job.report.succeeded + job.report.not_started == 50  # type: ignore[operator]


async def test_progress_reports_done_total_rate_eta(okta: OktaClient) -> None:
    seen: list[Progress] = []

    async def work(_: OktaClient, key: str) -> None:
        await asyncio.sleep(0.001)

    await okta.bulk.run(work, ids(20), on_progress=seen.append, concurrency=5).run()
    assert [p.done for p in seen] == list(range(1, 21))
    assert all(p.total == 20 for p in seen)
    assert seen[-1].eta == 0
    assert seen[5].rate > 0
    assert seen[-1].succeeded == 20


async def test_ensure_activated_says_already_in_that_state(okta: OktaClient) -> None:
    class FakeConn:
        def __init__(self, enabled: bool) -> None:
            self.is_enabled = enabled

    activated: list[str] = []

    class FakeConnections:
        async def get(self, app_id: str) -> FakeConn:
            return FakeConn(enabled=app_id.endswith(("0", "2", "4")))

        async def activate(self, app_id: str) -> None:
            activated.append(app_id)

    okta.connections = FakeConnections()  # type: ignore[assignment]
    job = okta.bulk.ensure_activated(ids(6))
    outcomes = {o.key: o for o in [o async for o in job]}
    assert sorted(activated) == [k for k in ids(6) if not k.endswith(("0", "2", "4"))]
    assert [outcomes[k].changed for k in ids(6)] == [False, True, False, True, False, True]
    assert (job.report.changed, job.report.unchanged) == (3, 3)
    assert "3 already in that state" in job.report.summary()


async def test_bad_items_fail_without_stopping_the_job(
    okta: OktaClient, server: ScriptedServer
) -> None:
    server.add(204)
    job = okta.bulk.activate(["0oa/../etc", ids(1)[0], 42])  # type: ignore[list-item]
    outcomes = [o async for o in job]
    assert [o.status for o in outcomes].count(OutcomeStatus.FAILED) == 2
    assert job.report.succeeded == 1
    assert len(server.seen) == 1


async def test_real_http_outcome_has_attempts(okta: OktaClient, server: ScriptedServer) -> None:
    server.add(503)
    server.add(204)
    from okta_connections import RetryPolicy

    async def no_sleep(_: float) -> None:
        return None

    okta._session.retry = RetryPolicy(sleep=no_sleep)  # type: ignore[union-attr]
    (outcome,) = [o async for o in okta.bulk.activate(ids(1))]
    assert outcome.status is OutcomeStatus.SUCCEEDED
    assert outcome.attempts == 2


def test_changed_wrapper() -> None:
    assert Changed("x", changed=False).changed is False
    report = BulkReport()
    assert report.all_succeeded
    assert "0 succeeded" in report.summary()
