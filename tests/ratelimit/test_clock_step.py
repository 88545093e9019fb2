"""The burst pacer against an org whose clock steps back (issue 24, item 2)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

import pytest

from okta_connections.ratelimit import RateLimiter, RateLimitInfo


class SteppingOrg:
    """Windows of ``window`` seconds that open at their first request, by elapsed time;
    the headers' clock (Date, X-Rate-Limit-Reset) steps back by ``step`` seconds at
    ``step_at`` (seconds after the start), or by ``step`` at every window (``every``)."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        limit: int = 5,
        window: float = 10.0,
        step: float = 100.0,
        step_at: float = 15.0,
        every: bool = False,
    ) -> None:
        self.clock = clock
        self.limit = limit
        self.window = window
        self.step = step
        self.step_at = step_at
        self.every = every
        self.t0 = clock()
        self.base = 1_800_000_000.3 - self.t0
        self.open = -math.inf
        self.count = 0
        self.windows = 0
        self.per_window: list[int] = []

    def _back(self, now: float) -> float:
        if self.every:
            return self.step * self.windows
        return self.step if now - self.t0 >= self.step_at else 0.0

    def answer(self) -> RateLimitInfo:
        now = self.clock()
        if now >= self.open + self.window:
            self.open, self.count = now, 0
            self.windows += 1
            self.per_window.append(0)
        self.count += 1
        self.per_window[-1] += 1
        server = self.base + now - self._back(now)
        date = math.floor(server)
        reset = math.ceil(self.base + self.open + self.window - self._back(now))
        return RateLimitInfo(
            limit=self.limit,
            remaining=max(0, self.limit - self.count),
            reset_after=reset - date,
            reset_at=reset,
            observed_at=now,
        )


async def _calls(limiter: RateLimiter, org: SteppingOrg, n: int, workers: int) -> int:
    done = 0

    async def worker() -> None:
        nonlocal done
        while done < n:
            deadline = limiter._clock() + 60.0
            sent = await limiter.acquire("apps", deadline)
            await asyncio.sleep(0.01)
            limiter.release("apps", sent_at=sent, info=org.answer())
            done += 1

    await asyncio.gather(*(worker() for _ in range(workers)))
    return done


@pytest.mark.looptime
@pytest.mark.parametrize("every", [False, True], ids=["one-step", "every-window"])
async def test_a_window_whose_reset_moved_back_is_adopted(
    loop_clock: Callable[[], float], every: bool
) -> None:
    limiter = RateLimiter(clock=loop_clock, assumed_share=1.0)
    org = SteppingOrg(loop_clock, every=every)
    start = loop_clock()
    # Before the fix: the first probe after the step is ignored (its Reset is older than
    # the window's), the probe is never cleared, and every later call times out.
    assert await _calls(limiter, org, 40, workers=3) >= 40
    # 40 calls of 5 a window: 8 windows of 10 s, and a window's worth of slack.
    assert loop_clock() - start < 10 * org.window
    assert max(org.per_window) <= org.limit + 1
    assert limiter.in_flight("apps") == 0


@pytest.mark.looptime
async def test_a_late_response_of_an_older_window_is_still_ignored(
    loop_clock: Callable[[], float],
) -> None:
    limiter = RateLimiter(clock=loop_clock)

    def info(remaining: int, reset: int, date: int) -> RateLimitInfo:
        return RateLimitInfo(
            limit=100, remaining=remaining, reset_after=reset - date, reset_at=reset,
            observed_at=loop_clock(),
        )  # fmt: skip

    limiter.observe("apps", info(99, 1010, 1000), loop_clock())
    old = await limiter.acquire("apps")  # sent in the window that ends at 1010
    await asyncio.sleep(11.0)
    probe = await limiter.acquire("apps")  # the next window's probe
    limiter.release("apps", sent_at=probe, info=info(99, 1021, 1011))
    # Sent before the window was taken to have ended: a late answer of the old window.
    limiter.release("apps", sent_at=old, info=info(98, 1010, 1009))
    got = limiter.get("apps")
    assert got is not None and got.reset_at == 1021 and got.remaining == 99
    assert limiter.in_flight("apps") == 0
