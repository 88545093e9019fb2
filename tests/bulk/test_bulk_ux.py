"""Bulk jobs as a user sees them (issue #26): the ETA against a job of known length, a
wrong token stopping the job, the rate at an interrupt, the summary line's wording."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from okta_connections import OktaClient, SSWSToken
from okta_connections.bulk import Progress, eta_seconds
from okta_connections.ratelimit import RateLimitInfo
from okta_connections.testing import FakeOkta


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
