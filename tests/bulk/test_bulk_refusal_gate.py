"""Bulk jobs that stop on refused credentials (the one-at-a-time gate): regressions.

Each test's docstring describes the defect a review found (before the fix) and what is
expected now.

BulkJob's docstring: until an item gets through, items go one at a time (an item still
running after 3 s lets the others go), and three refusals in a row stop the job; so a
wrong token costs three requests, not one per item.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from okta_connections import (
    ForbiddenError,
    MockTransport,
    OktaClient,
    SSWSToken,
    UnauthorizedError,
)
from okta_connections.errors import AuthError, OAuthError
from okta_connections.transport import TransportRequest, TransportResponse
from tests.support.constants import SECRET
from tests.support.constants import bulk_ids as ids

ORG = "https://acme.okta.com"


def _never(request: TransportRequest) -> TransportResponse:
    raise AssertionError("the job's functions make no request")


@pytest.fixture
async def mock_okta() -> AsyncIterator[OktaClient]:
    async with OktaClient(ORG, auth=SSWSToken(SECRET), transport=MockTransport(_never)) as c:
        yield c


@pytest.mark.looptime
async def test_refusals_that_take_over_a_second_each_do_not_fan_the_job_out(
    mock_okta: OktaClient,
) -> None:
    """Each refusal takes 1.2 s (a slow org, a slow token endpoint); no single item runs
    3 s. The 3 s is measured per *waiting* item from when it started to wait, not per
    running item: the items that queued at the gate behind the first time out at 3.0 s
    while the second refused item is still running, set _proven and all go at once, so a
    wrong token costs one request per worker (10 here), not three.
    Expected: no item ran 3 s, so items stay one at a time and the job stops after 3."""
    calls: list[str] = []

    async def work(_: OktaClient, key: str) -> None:
        calls.append(key)
        await asyncio.sleep(1.2)
        raise UnauthorizedError(status=401, error_code="E0000011")

    report = await mock_okta.bulk.run(work, ids(50), concurrency=10).run()
    assert isinstance(report.stopped_by, UnauthorizedError)
    assert len(calls) == 3, f"{len(calls)} requests for a wrong token"


@pytest.mark.looptime
async def test_stop_while_items_wait_at_the_gate_starts_none_of_them(
    mock_okta: OktaClient,
) -> None:
    """job.stop() says "Stop starting new items; items in flight finish". Items pulled
    from the source and waiting at the gate behind the first item have not started (no
    request, nothing of the user's function ran); stop() only stops pulls, so when the
    first item succeeds every held item starts after stop() was called.
    Expected: the held items are not started (the code already has that path, _held, for
    a job stopped by refusals); only the first item's function runs."""
    calls: list[str] = []

    async def work(_: OktaClient, key: str) -> None:
        calls.append(key)
        await asyncio.sleep(1.0)

    job = mock_okta.bulk.run(work, ids(20), concurrency=5)
    async with job:
        await asyncio.sleep(0.5)  # the first item runs, four wait at the gate
        assert len(calls) == 1
        job.stop()
        async for _ in job:
            pass
    assert calls == ids(20)[:1], f"{len(calls)} items started after stop()"
    assert job.report.succeeded == 1 and job.report.not_started == 19


@pytest.mark.looptime
async def test_a_function_that_fails_before_any_request_proves_nothing(
    mock_okta: OktaClient,
) -> None:
    """The first item fails in the user's own code (a ValueError, no request made: its
    attempts are 0). _judge treats any non-refusal as proof that the credentials work,
    so the job fans out and every worker sends its request with a wrong token.
    Expected: an outcome with no API attempt proves nothing about the credentials; the
    items stay one at a time and a wrong token costs three requests (plus the bad item)."""
    calls: list[str] = []

    async def work(_: OktaClient, key: str) -> None:
        if key == ids(1)[0]:
            raise ValueError("bad input row")  # before any request
        calls.append(key)
        await asyncio.sleep(0.1)
        raise UnauthorizedError(status=401, error_code="E0000011")

    report = await mock_okta.bulk.run(work, ids(100), concurrency=16).run()
    assert isinstance(report.stopped_by, UnauthorizedError)
    assert len(calls) <= 3, f"{len(calls)} requests for a wrong token"


@pytest.mark.looptime
async def test_items_held_at_the_gate_when_the_job_is_cancelled_are_not_started(
    mock_okta: OktaClient, tmp_path: Path
) -> None:
    """Cancelling a job while items wait at the gate: _finish reports every item in
    _inflight as `cancelled` (and journals it so), though the held ones never ran (the
    module docstring: cancelled means "it was in flight when the job was stopped"; a job
    stopped by refusals counts the same held items as not_started).
    Expected: only the item that was running is cancelled; the held ones are not_started
    and not in the journal."""
    started: list[str] = []

    async def work(_: OktaClient, key: str) -> None:
        started.append(key)
        await asyncio.sleep(1.0)

    path = tmp_path / "j.jsonl"
    job = mock_okta.bulk.run(work, ids(10), concurrency=5, journal=path)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):
            await job.run()
    assert len(started) == 1
    report = job.report
    assert report.cancelled == 1, f"{report.cancelled} cancelled; only 1 item had started"
    assert report.not_started == 9
    assert path.read_text().count('"cancelled"') == 1


async def test_an_unreachable_token_endpoint_mid_job_is_not_a_refusal(
    mock_okta: OktaClient,
) -> None:
    """The OAuth strategies raise AuthError with no status when the token endpoint could
    not be reached at all ("could not reach the token endpoint ... after N attempt(s)",
    auth/_oauth.py, a connection refused or a network blip). _credentials_refused counts
    any AuthError whose status is not an int as refused credentials, so three items that
    meet a passing outage of the token endpoint stop a job that had already proven its
    credentials (and the CLI shows the wrong-credentials hint). The docstring: once an
    item got through, only three 401s in a row (a token revoked mid-job) stop it.
    Expected: an unreachable endpoint is not a refusal; the job runs on."""
    keys = ids(40)
    blip = set(keys[10:14])

    async def work(_: OktaClient, key: str) -> None:
        if key in blip:
            raise AuthError(
                "could not reach the token endpoint https://acme.okta.com/oauth2/v1/token "
                "after 3 attempt(s): connection refused"
            )

    report = await mock_okta.bulk.run(work, keys, concurrency=1).run()
    assert report.stopped_by is None, f"stopped by {report.stopped_by!r}"
    assert (report.succeeded, report.failed, report.not_started) == (36, 4, 0)


@pytest.mark.looptime
async def test_a_slow_first_item_does_not_make_403s_on_every_app_harmless(
    mock_okta: OktaClient,
) -> None:
    """A token without the scope: every app answers 403. The first item takes 4 s (a
    429 backoff at the window's start, a slow org), so the waiting items time out at the
    gate and set _proven, though nothing got through. From then on _judge counts a 403
    as a refusal only "not self._proven", so the job never stops: every one of the 200
    apps is tried. Expected: fanning out after 3 s is not proof; three 403s in a row
    before anything got through still stop the job (a few requests per worker at most)."""
    calls: list[str] = []
    first = ids(1)[0]

    async def work(_: OktaClient, key: str) -> None:
        calls.append(key)
        if key == first:
            await asyncio.sleep(4.0)
        raise ForbiddenError(status=403, error_code="E0000006")

    report = await mock_okta.bulk.run(work, ids(200), concurrency=4).run()
    assert isinstance(report.stopped_by, ForbiddenError), "never stopped"
    assert len(calls) <= 10, f"{len(calls)} requests with a token that lacks the scope"


async def test_a_rate_limited_token_endpoint_mid_job_is_not_a_refusal(
    mock_okta: OktaClient,
) -> None:
    """The token endpoint answers 429 until the token policy gives up: the strategy
    raises OAuthError(status=429). _credentials_refused counts every AuthError with a
    status in 400-499 as the token endpoint refusing the client, 429 included, so a
    passing rate limit on /token stops a job whose credentials were proven (and journals
    the items as refused, the CLI hints at the credentials). Expected: a 429 (like a 5xx,
    which _OAuthStrategy itself treats as passing trouble) is not a refusal."""
    keys = ids(40)
    busy = set(keys[10:14])

    async def work(_: OktaClient, key: str) -> None:
        if key in busy:
            raise OAuthError("too_many_requests", "API call exceeded rate limit", status=429)

    report = await mock_okta.bulk.run(work, keys, concurrency=1).run()
    assert report.stopped_by is None, f"stopped by {report.stopped_by!r}"
    assert (report.succeeded, report.failed, report.not_started) == (36, 4, 0)
