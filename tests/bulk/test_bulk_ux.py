"""Bulk jobs as a user sees them (issue #26): the ETA against a job of known length, a
wrong token stopping the job, the rate at an interrupt, the summary line's wording."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from okta_connections import (
    ForbiddenError,
    NotFoundError,
    OktaClient,
    SSWSToken,
    UnauthorizedError,
)
from okta_connections.bulk import (
    BulkReport,
    Journal,
    JournalMismatchError,
    Progress,
    eta_seconds,
)
from okta_connections.ratelimit import RateLimitInfo
from okta_connections.testing import FakeOkta
from tests.support.constants import bulk_ids as ids


@pytest.mark.looptime
@pytest.mark.usefixtures("client_on_loop_clock")
@pytest.mark.parametrize("window", [2.0, 7.0])
async def test_the_eta_is_within_a_factor_of_two_of_the_time_really_left(
    window: float, loop_wall_clock: Callable[[], float]
) -> None:
    # 10 a window and 120 apps: 12 windows, the job's length known only at its end.
    loop = asyncio.get_running_loop()
    seen: list[tuple[float, Progress]] = []
    async with FakeOkta(
        apps=120, rate_limit=10, rate_window=window, enforce_rate_limit=True, clock=loop_wall_clock
    ) as fake:
        ids = [a.id for a in fake.apps]
        async with OktaClient(fake.org_url, auth=SSWSToken(fake.token)) as okta:
            report = await okta.bulk.get(
                ids, on_progress=lambda p: seen.append((loop.time(), p))
            ).run()
            ended = loop.time()
    assert report.succeeded == 120
    assert ended - seen[0][0] >= 10 * window  # the rate limit bound it (virtual time)
    checked = 0
    for at, progress in seen:
        if progress.done < 30 or progress.done == 120:
            continue
        left = ended - at
        assert progress.eta is not None
        if left >= window:
            assert left / 2 <= progress.eta <= 2 * left, (progress.done, left, progress.eta)
            checked += 1
        else:  # the last window: its items go at its start
            assert progress.eta <= 2 * window, (progress.done, left, progress.eta)
    assert checked >= 60


def test_eta_of_burst_pacing_ends_at_the_last_windows_opening() -> None:
    info = RateLimitInfo(limit=10, remaining=4, reset_after=3.0, reset_at=0.0, observed_at=50.0)
    # 4 go now; 26 more take windows opening in 3 s, 3 + 5 s and 3 + 10 s (of 5 s each)
    assert eta_seconds(30, info, window=5.0, now=50.0, pacing="burst") == pytest.approx(13)
    assert eta_seconds(4, info, window=5.0, now=50.0, pacing="burst") == 0
    # smooth pacing counts the last window whole; no window known: the rate decides
    assert eta_seconds(30, info, window=5.0, now=50.0) == pytest.approx(18)
    assert eta_seconds(30, info, window=None, rate=3.0, now=50.0) == pytest.approx(10)
    assert eta_seconds(30, info, window=None, now=50.0) is None


async def test_a_wrong_token_stops_the_job_after_a_few_requests(tmp_path: Path) -> None:
    journal = tmp_path / "get.jsonl"
    async with FakeOkta(apps=1000) as fake:
        ids = [a.id for a in fake.apps]
        async with OktaClient(fake.org_url, auth=SSWSToken("00wrong-token-SECRET")) as okta:
            report = await okta.bulk.get(ids, journal=journal).run()
        sent = fake.count(operation="get")
        assert sent <= 25, sent  # before: 1,000, every one a 401
        assert fake.count(operation="get", status=401) == sent
        assert report.succeeded == 0 and report.failed == sent
        assert report.not_started == 1000 - sent
        assert isinstance(report.stopped_by, UnauthorizedError)
        assert "stopped" in report.summary() and "E0000011" in report.summary()
        assert "SECRET" not in journal.read_text()

        # The same job with the right token resumes: the refused apps count as not done.
        async with OktaClient(fake.org_url, auth=SSWSToken(fake.token)) as okta:
            again = await okta.bulk.get(ids, journal=journal).run()
        assert (again.succeeded, again.skipped, again.failed) == (1000, 0, 0)
        assert again.stopped_by is None and again.all_succeeded


async def test_a_forbidden_app_among_others_does_not_stop_the_job(okta: OktaClient) -> None:
    async def work(_: OktaClient, key: str) -> None:
        if key in forbidden:
            raise ForbiddenError(status=403, error_code="E0000006")
        if key in missing:
            raise NotFoundError(status=404, error_code="E0000007")

    keys = ids(40)
    missing = set(keys[:3])  # a 404 first: the credentials work
    forbidden = set(keys[3:20])
    report = await okta.bulk.run(work, keys, concurrency=1).run()
    assert (report.succeeded, report.failed, report.not_started) == (20, 20, 0)
    assert report.stopped_by is None


async def test_403_on_every_item_stops_the_job_and_the_opt_out_keeps_going(
    okta: OktaClient,
) -> None:
    calls: list[str] = []

    async def work(_: OktaClient, key: str) -> None:
        calls.append(key)
        raise ForbiddenError(status=403, error_code="E0000006")

    report = await okta.bulk.run(work, ids(1000)).run()
    assert len(calls) <= 25 and report.failed == len(calls)
    assert report.not_started == 1000 - len(calls)
    assert isinstance(report.stopped_by, ForbiddenError)

    calls.clear()
    report = await okta.bulk.run(work, ids(50), stop_on_auth_failure=False).run()
    assert len(calls) == 50 and report.stopped_by is None


async def test_a_token_revoked_mid_job_stops_it(okta: OktaClient) -> None:
    calls: list[str] = []

    async def work(_: OktaClient, key: str) -> None:
        calls.append(key)
        if len(calls) > 100:
            raise UnauthorizedError(status=401, error_code="E0000011")

    report = await okta.bulk.run(work, ids(1000), concurrency=8).run()
    assert report.succeeded == 100
    assert report.failed <= 25 and report.not_started == 1000 - len(calls)
    assert isinstance(report.stopped_by, UnauthorizedError)


async def test_the_rate_does_not_jump_when_in_flight_items_are_cancelled(
    okta: OktaClient,
) -> None:
    seen: list[Progress] = []
    started = asyncio.Event()
    count = 0

    async def work(_: OktaClient, key: str) -> None:
        nonlocal count
        count += 1
        if count > 5:
            if count >= 15:
                started.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(
        okta.bulk.run(work, ids(100), concurrency=10, on_progress=seen.append).run()
    )
    await asyncio.wait_for(started.wait(), 30)  # generous: fails, never hangs
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    last = seen[-1]
    assert (last.done, last.succeeded) == (15, 5)  # 10 cancelled, and counted as ended
    # the rate counts the 5 that ran to their end, not the 10 cut short
    assert last.rate == pytest.approx(5 / last.elapsed)


def test_the_summary_line_reads_without_a_stray_comma() -> None:
    report = BulkReport(succeeded=21, changed=3, unchanged=18, elapsed=1.0)
    assert report.summary().startswith(
        "21 succeeded (3 changed, 18 already in that state), 0 failed, "
    )


@pytest.mark.parametrize(
    ("held", "wanted"),
    [
        ("activate", "holds an 'activate' job, not 'get'"),
        ("update", "holds an 'update' job, not 'get'"),
        ("deactivate", "holds a 'deactivate' job, not 'get'"),
    ],
)
def test_a_journal_refusal_names_the_job_with_the_right_article(
    tmp_path: Path, held: str, wanted: str
) -> None:
    path = tmp_path / "job.jsonl"
    journal = Journal(path)
    journal.open(held)
    journal.close()
    with pytest.raises(JournalMismatchError) as raised:
        Journal(path).open("get")
    assert wanted in str(raised.value)
    other = Journal(tmp_path / "other.jsonl")
    other.open(held, {"activate": True})
    other.close()
    with pytest.raises(JournalMismatchError) as raised:  # same job, other parameters
        Journal(other.path).open(held, {"activate": False})
    assert f"holds {wanted.split()[1]} {held!r} job with other parameters" in str(raised.value)


async def test_a_chunk_stopped_by_a_wrong_token_has_a_row_per_app() -> None:
    from okta_connections.scale_out import run_chunk

    async with FakeOkta(apps=50) as fake:
        ids = [a.id for a in fake.apps]
        async with OktaClient(fake.org_url, auth=SSWSToken("00wrong-token-SECRET")) as okta:
            rows = await run_chunk("get", ids, client=okta)
        sent = fake.count(operation="get")
    assert sent <= 3
    assert sorted(row["app_id"] for row in rows) == sorted(ids)  # not lost: failed, with why
    assert {row["status"] for row in rows} == {"failed"}
    assert {row["error_code"] for row in rows} == {"E0000011", "UnauthorizedError"}
    assert "SECRET" not in json.dumps(rows)
