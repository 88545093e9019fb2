"""The pacer asks a fleet budget through the public ``Budget`` protocol (issue 23, item 2):
any collaborator that answers its questions works, not only the one on Redis."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from okta_connections.ratelimit import RateLimiter, RateLimitInfo
from okta_connections.ratelimit.fleet import LOCAL, BucketView, Reservation


class _Budget:
    """Refuses the first request, then grants; remembers what it learned."""

    def __init__(self) -> None:
        self.deciding = True
        self.asked = 0
        self.learned: list[tuple[str, Any, bool, bool]] = []
        self.refused_429: list[str] = []
        self.closed = False
        self.local = False

    async def reserve(self, bucket: str, state: BucketView, deadline: float | None) -> Reservation:
        self.asked += 1
        if self.local:
            return LOCAL
        if self.asked == 1:
            return Reservation(refused=True, wait=0.5)
        return Reservation(grant=("grant", self.asked))

    def learn(
        self,
        bucket: str,
        grant: Any,
        state: BucketView,
        info: RateLimitInfo | None,
        *,
        refused: bool,
        early: bool,
    ) -> None:
        self.learned.append((bucket, grant, refused, early))

    def rate_limited(self, bucket: str, info: RateLimitInfo) -> None:
        self.refused_429.append(bucket)

    async def aclose(self) -> None:
        self.closed = True


def _info(clock: Callable[[], float], remaining: int) -> RateLimitInfo:
    return RateLimitInfo(
        limit=100, remaining=remaining, reset_after=60.0, reset_at=1_800_000_060.0,
        observed_at=clock(),
    )  # fmt: skip


@pytest.mark.looptime
async def test_the_pacer_asks_its_fleet_budget_through_the_protocol(
    loop_clock: Callable[[], float],
) -> None:
    budget = _Budget()
    limiter = RateLimiter(clock=loop_clock, fleet_budget=budget)
    start = loop_clock()
    async with limiter.slot("apps", start + 5.0) as permit:
        # Refused once: the local grant went back, and the pacer asked again after 0.5 s.
        assert budget.asked == 2
        assert loop_clock() - start == pytest.approx(0.5)
        assert permit.grant == ("grant", 2)
        assert limiter.in_flight("apps") == 1
        permit.learn(_info(loop_clock, 99), rate_limited=True)
    assert limiter.in_flight("apps") == 0
    assert budget.learned == [("apps", ("grant", 2), True, False)]

    # The public acquire/release pair carries the grant too, and rate_limited() is told.
    sent = await limiter.acquire("apps", loop_clock() + 5.0)
    limiter.release("apps", sent_at=sent, info=_info(loop_clock, 98))
    limiter.rate_limited("apps", _info(loop_clock, 98))
    assert budget.learned[-1] == ("apps", ("grant", 3), False, False)
    assert budget.refused_429 == ["apps"]
    await limiter.aclose()
    assert budget.closed


@pytest.mark.looptime
async def test_a_refusal_past_the_deadline_times_out_and_holds_nothing(
    loop_clock: Callable[[], float],
) -> None:
    budget = _Budget()
    limiter = RateLimiter(clock=loop_clock, fleet_budget=budget)
    with pytest.raises(TimeoutError):
        await limiter.acquire("apps", loop_clock() + 0.2)
    assert limiter.in_flight("apps") == 0
    assert budget.learned == []


@pytest.mark.looptime
async def test_a_budget_that_answers_local_leaves_the_call_to_local_pacing(
    loop_clock: Callable[[], float],
) -> None:
    budget = _Budget()
    budget.local = True
    limiter = RateLimiter(clock=loop_clock, fleet_budget=budget)
    async with limiter.slot("apps", loop_clock() + 1.0) as permit:
        assert permit.grant is None
        permit.learn(_info(loop_clock, 99))
    assert budget.learned == []  # nothing was granted: nothing to give back
    assert limiter.get("apps") is not None


def test_a_window_length_from_the_budget_never_moves_the_end_past_the_reset() -> None:
    """A budget's window length (garbage in Redis: an hour, in range) moves the window's
    end later, but never past Okta's Reset: windows end on it or before it."""
    limiter = RateLimiter(clock=lambda: 10.004)
    # Date 1000, Reset 1061: a 60 s window that opened at its first request (10.004).
    info = RateLimitInfo(
        limit=100, remaining=99, reset_after=61.0, reset_at=1061.0, observed_at=10.004
    )
    limiter.observe("apps", info, sent_at=10.0)
    end = limiter.window_end("apps")
    assert end is not None and end == pytest.approx(70.005, abs=0.01)  # by its start
    state = limiter._state("apps")
    state.learn_length(61.0)  # another client saw a longer window: the end moves
    assert limiter.window_end("apps") == pytest.approx(71.005, abs=0.01)
    state.learn_length(3600.0)  # before the fix: an hour later than the Reset
    assert limiter.window_end("apps") == pytest.approx(71.005, abs=0.01)
