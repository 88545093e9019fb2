"""The limiter against an in-process model of Okta's windows (integer-second headers)."""

from __future__ import annotations

import asyncio
import email.utils
import math
import time

import pytest
from multidict import CIMultiDict

from okta_connections.ratelimit import RateLimiter, parse_rate_limit


class WindowModel:
    """Okta-like fixed windows: a window opens at the first request after the last expired.

    Headers have one-second resolution (Reset rounded up, Date rounded down), like Okta's.
    ``skew`` shifts the server clock against ours.
    """

    def __init__(
        self, limit: int, window: float, *, skew: float = 0.0, latency: float = 0.004
    ) -> None:
        self.limit = limit
        self.window = window
        self.skew = skew
        self.latency = latency
        self.start = -math.inf
        self.count = 0
        self.served: list[tuple[float, int]] = []  # (local time, status)
        self.per_window: list[int] = []

    async def handle(self) -> CIMultiDict[str]:
        await asyncio.sleep(self.latency / 2)
        now = time.time() + self.skew
        if now >= self.start + self.window:
            self.start = now
            self.count = 0
            self.per_window.append(0)
        self.count += 1
        status = 200 if self.count <= self.limit else 429
        if status == 200:
            self.per_window[-1] += 1
        self.served.append((time.monotonic(), status))
        headers = CIMultiDict(
            {
                "X-Rate-Limit-Limit": str(self.limit),
                "X-Rate-Limit-Remaining": str(max(0, self.limit - self.count)),
                "X-Rate-Limit-Reset": str(math.ceil(self.start + self.window)),
                "Date": email.utils.formatdate(math.floor(now), usegmt=True),
            }
        )
        await asyncio.sleep(self.latency / 2)
        return headers


async def run_job(model: WindowModel, limiter: RateLimiter, n: int, workers: int) -> float:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def worker() -> None:
        while True:
            try:
                queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            while True:
                sent = await limiter.acquire("apps")
                headers = await model.handle()
                info = parse_rate_limit(headers)
                limiter.release("apps", sent_at=sent, info=info)
                if model.served[-1][1] != 429:
                    break
                assert info is not None
                await asyncio.sleep(info.reset_after)

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return time.monotonic() - started


@pytest.mark.parametrize("skew", [0.0, -3600.0 * 5 + 0.37, 86400.0 * 400 + 0.81])
async def test_paced_job_never_exceeds_the_budget_even_with_a_skewed_server_clock(
    skew: float,
) -> None:
    model = WindowModel(limit=20, window=1.0, skew=skew)
    limiter = RateLimiter()
    await run_job(model, limiter, n=50, workers=20)
    statuses = [s for _, s in model.served]
    assert statuses.count(429) == 0
    assert len(statuses) == 50
    assert max(model.per_window) <= 20


async def test_smooth_pacing_spreads_the_budget_across_the_window() -> None:
    model = WindowModel(limit=20, window=1.0)
    await run_job(model, RateLimiter(pacing="smooth"), n=60, workers=30)
    times = sorted(t for t, _ in model.served)
    # With 30 workers, an unpaced client would send 20 requests at once. Paced, any
    # quarter-window holds well under the whole budget.
    densest = max(sum(1 for t in times if start <= t < start + 0.25) for start in times)
    assert densest <= 12
    assert all(s == 200 for _, s in model.served)


async def test_first_request_is_a_lone_probe() -> None:
    model = WindowModel(limit=50, window=1.0, latency=0.05)
    limiter = RateLimiter()
    in_flight_seen: list[int] = []

    async def one() -> None:
        sent = await limiter.acquire("apps")
        in_flight_seen.append(limiter.in_flight("apps"))
        limiter.release("apps", sent_at=sent, info=parse_rate_limit(await model.handle()))

    await asyncio.gather(*(one() for _ in range(10)))
    assert in_flight_seen[0] == 1
    assert in_flight_seen[1] >= 1  # after the probe answered, the rest went concurrently
    # The second request waited for the probe's answer: it was alone in flight too.
    assert in_flight_seen[:2] == [1, 1]
    assert max(in_flight_seen) > 1


async def test_max_capacity_leaves_headroom() -> None:
    model = WindowModel(limit=20, window=1.0)
    limiter = RateLimiter(max_capacity=0.5)
    await run_job(model, limiter, n=25, workers=10)
    assert max(model.per_window) <= 10


async def test_cancelling_a_waiting_call_releases_its_slot() -> None:
    limiter = RateLimiter()
    sent = await limiter.acquire("apps")  # the probe holds the only slot
    waiter = asyncio.create_task(limiter.acquire("apps"))
    await asyncio.sleep(0.01)
    assert not waiter.done()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert limiter.in_flight("apps") == 1
    limiter.release("apps", sent_at=sent, info=None)
    assert limiter.in_flight("apps") == 0
    again = await asyncio.wait_for(limiter.acquire("apps"), 1.0)
    assert limiter.in_flight("apps") == 1
    limiter.release("apps", sent_at=again, info=None)


async def test_concurrency_429_halves_the_cap_and_successes_grow_it() -> None:
    limiter = RateLimiter(max_in_flight=32)
    ok = parse_rate_limit(
        CIMultiDict(
            {
                "X-Rate-Limit-Limit": "100000",
                "X-Rate-Limit-Remaining": "99999",
                "X-Rate-Limit-Reset": str(int(time.time()) + 60),
                "Date": email.utils.formatdate(usegmt=True),
            }
        )
    )
    conc = parse_rate_limit(
        CIMultiDict(
            {
                "X-Rate-Limit-Limit": "0",
                "X-Rate-Limit-Remaining": "0",
                "X-Rate-Limit-Reset": str(int(time.time()) + 60),
                "Date": email.utils.formatdate(usegmt=True),
            }
        )
    )
    limiter.release("apps", sent_at=await limiter.acquire("apps"), info=ok)
    assert limiter.cap("apps") == 32
    for expected in (16, 8, 4):
        limiter.release("apps", sent_at=await limiter.acquire("apps"), info=conc)
        assert limiter.cap("apps") == expected
    for _ in range(20):
        limiter.release("apps", sent_at=await limiter.acquire("apps"), info=ok)
    assert limiter.cap("apps") > 4
    assert limiter.get("apps") is not None  # a concurrency signal never replaced the window


async def test_deadline_while_waiting() -> None:
    limiter = RateLimiter()
    sent = await limiter.acquire("apps")
    with pytest.raises(TimeoutError):
        await limiter.acquire("apps", deadline=time.monotonic() + 0.05)
    limiter.release("apps", sent_at=sent, info=None)
