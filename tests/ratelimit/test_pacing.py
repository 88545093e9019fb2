"""The limiter against an in-process model of Okta's windows (integer-second headers)."""

from __future__ import annotations

import asyncio
import collections
import email.utils
import math
import time
from collections.abc import Callable

import pytest
from multidict import CIMultiDict

from okta_connections.ratelimit import RateLimiter, RateLimitInfo, parse_rate_limit


class WindowModel:
    """Okta-like fixed windows: a window opens at the first request after the last expired.

    Headers have one-second resolution (Reset rounded up, Date rounded down), like Okta's.
    ``skew`` shifts the server clock against ours. ``aligned=True`` makes windows start on
    whole multiples of ``window`` of the server clock instead, with an exact Reset.

    Its clock (``clock``) is the running loop's: virtual under ``looptime``, the loop's
    own monotonic clock otherwise. The server's wall clock runs from it, from the real
    time at which the model was made (so the phase of the windows against whole seconds
    is as random as on a real server). Give the limiter under test ``clock=model.clock``.
    """

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        skew: float = 0.0,
        latency: float = 0.004,
        aligned: bool = False,
    ) -> None:
        self.limit = limit
        self.window = window
        self.skew = skew
        self.latency = latency
        self.aligned = aligned
        self.start = -math.inf
        self.count = 0
        self.served: list[tuple[float, int]] = []  # (local time, status)
        self.per_window: list[int] = []
        self.starts: list[float] = []  # server time at which each window opened
        self.server_times: list[tuple[float, int, int]] = []  # (server time, window, status)
        loop = asyncio.get_running_loop()
        last = [-math.inf]

        def clock() -> float:
            # Never the same value twice, like a real clock. looptime's stands still between
            # two timers, and a timer due within asyncio's clock resolution runs at once: a
            # limiter whose window ends a float's rounding error after "now" would re-arm
            # its timer forever.
            now = loop.time()
            last[0] = now if now > last[0] else last[0] + 1e-9
            return last[0]

        self.clock = clock
        self.epoch = time.time() - clock()

    async def handle(self) -> CIMultiDict[str]:
        await asyncio.sleep(self.latency / 2)
        now = self.epoch + self.clock() + self.skew
        if now >= self.start + self.window:
            self.start = math.floor(now / self.window) * self.window if self.aligned else now
            self.count = 0
            self.per_window.append(0)
            self.starts.append(self.start)
        self.count += 1
        status = 200 if self.count <= self.limit else 429
        if status == 200:
            self.per_window[-1] += 1
        self.served.append((self.clock(), status))
        self.server_times.append((now, len(self.starts) - 1, status))
        headers = CIMultiDict(
            {
                "X-Rate-Limit-Limit": str(self.limit),
                "X-Rate-Limit-Remaining": str(max(0, self.limit - self.count)),
                "X-Rate-Limit-Reset": str(math.ceil(self.start + self.window)),
                "Date": email.utils.formatdate(math.floor(now), usegmt=True),
                "X-Status": str(status),
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
                info = parse_rate_limit(headers, now=model.clock)
                limiter.release("apps", sent_at=sent, info=info)
                if headers["X-Status"] != "429":
                    break
                assert info is not None
                await asyncio.sleep(info.reset_after)

    started = model.clock()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return model.clock() - started


@pytest.mark.looptime
@pytest.mark.parametrize("skew", [0.0, -3600.0 * 5 + 0.37, 86400.0 * 400 + 0.81])
async def test_paced_job_never_exceeds_the_budget_even_with_a_skewed_server_clock(
    skew: float,
) -> None:
    model = WindowModel(limit=20, window=1.0, skew=skew)
    limiter = RateLimiter(clock=model.clock)
    await run_job(model, limiter, n=50, workers=20)
    statuses = [s for _, s in model.served]
    assert statuses.count(429) == 0
    assert len(statuses) == 50
    assert max(model.per_window) <= 20


@pytest.mark.looptime
async def test_smooth_pacing_spreads_the_budget_across_the_window() -> None:
    model = WindowModel(limit=20, window=1.0)
    await run_job(model, RateLimiter(clock=model.clock, pacing="smooth"), n=60, workers=30)
    times = sorted(t for t, _ in model.served)
    # With 30 workers, an unpaced client would send 20 requests at once. Paced, any
    # quarter-window holds well under the whole budget.
    densest = max(sum(1 for t in times if start <= t < start + 0.25) for start in times)
    assert densest <= 12
    assert all(s == 200 for _, s in model.served)


@pytest.mark.looptime
async def test_first_request_is_a_lone_probe() -> None:
    model = WindowModel(limit=50, window=1.0, latency=0.05)
    limiter = RateLimiter(clock=model.clock)
    in_flight_seen: list[int] = []

    async def one() -> None:
        sent = await limiter.acquire("apps")
        in_flight_seen.append(limiter.in_flight("apps"))
        info = parse_rate_limit(await model.handle(), now=model.clock)
        limiter.release("apps", sent_at=sent, info=info)

    await asyncio.gather(*(one() for _ in range(10)))
    assert in_flight_seen[0] == 1
    assert in_flight_seen[1] >= 1  # after the probe answered, the rest went concurrently
    # The second request waited for the probe's answer: it was alone in flight too.
    assert in_flight_seen[:2] == [1, 1]
    assert max(in_flight_seen) > 1


@pytest.mark.looptime
async def test_max_capacity_leaves_headroom() -> None:
    model = WindowModel(limit=20, window=1.0)
    limiter = RateLimiter(clock=model.clock, max_capacity=0.5)
    await run_job(model, limiter, n=25, workers=10)
    assert max(model.per_window) <= 10


@pytest.mark.looptime  # the 1 s below is the loop's: a loaded machine cannot break it
async def test_cancelling_a_waiting_call_releases_its_slot() -> None:
    limiter = RateLimiter(clock=asyncio.get_running_loop().time)
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


# ---------------------------------------------------------------- burst pacing (issue #13)


def _counting_clock(base: Callable[[], float]) -> tuple[list[int], Callable[[], float]]:
    calls = [0]

    def clock() -> float:
        calls[0] += 1
        return base()

    return calls, clock


@pytest.mark.looptime
async def test_burst_spends_each_window_at_its_start_and_ends_in_the_fewest_windows() -> None:
    model = WindowModel(limit=20, window=1.0)
    await run_job(model, RateLimiter(clock=model.clock), n=60, workers=30)
    assert [s for _, s in model.served].count(429) == 0
    assert model.per_window == [20, 20, 20]  # ceil(60 / 20) windows, each full
    # The last window's calls went at its start, not spread across it.
    last = [t for t, w, _ in model.server_times if w == len(model.starts) - 1]
    assert max(last) - model.starts[-1] < 0.5 * model.window


@pytest.mark.looptime
async def test_smooth_pacing_needs_more_windows_than_burst() -> None:
    # The counterpart of the test above: "smooth" spreads the first window's budget from
    # its first request on, so the same job spills into a fourth window.
    model = WindowModel(limit=20, window=1.0)
    await run_job(model, RateLimiter(clock=model.clock, pacing="smooth"), n=60, workers=30)
    assert len(model.per_window) > 3


@pytest.mark.looptime
@pytest.mark.parametrize("skew", [0.0, -17999.63, 34560000.81])
async def test_burst_never_sends_into_a_spent_window_by_the_server_clock(skew: float) -> None:
    model = WindowModel(limit=10, window=2.0, skew=skew)
    limiter = RateLimiter(clock=model.clock)
    await run_job(model, limiter, n=45, workers=25)
    assert [s for _, s in model.served].count(429) == 0
    assert max(model.per_window) <= 10
    assert len(model.starts) == 5  # ceil(45 / 10): no window lost to waiting
    # The length read from the headers (Reset - Date - 1 on a window's opening) is exact.
    assert limiter._buckets["apps"].wlen == 2.0


@pytest.mark.looptime
async def test_burst_on_windows_aligned_to_the_clock_is_caught_early_at_most_once() -> None:
    # Windows on whole multiples of the server clock, with an exact Reset: reading the
    # length from the first response is one second short. The lone first request of the
    # next window finds that out (one 429 at most); after that the estimate holds.
    model = WindowModel(limit=10, window=2.0, aligned=True)
    limiter = RateLimiter(clock=model.clock)
    await run_job(model, limiter, n=50, workers=25)
    statuses = [s for _, s in model.served]
    assert statuses.count(429) <= 1
    assert statuses.count(200) == 50
    assert max(model.per_window) <= 10


async def test_a_late_response_from_an_old_window_changes_nothing() -> None:
    # Both sent inside the window (a probe sent after its end that is answered by an
    # older window is the server's clock stepping back: see test_clock_step.py).
    limiter = RateLimiter(clock=lambda: 100.05)
    new = _info(limit=10, remaining=9, reset=1_000_012, date=1_000_010, at=100.0)
    old = _info(limit=10, remaining=0, reset=1_000_010, date=1_000_009, at=100.1)
    limiter.release("apps", sent_at=await limiter.acquire("apps"), info=new)
    before = limiter.window_end("apps")
    limiter.release("apps", sent_at=await limiter.acquire("apps"), info=old)
    got = limiter.get("apps")
    assert got is not None and got.remaining == 9 and got.reset_at == 1_000_012
    assert limiter.window_end("apps") == before


def _info(*, limit: int, remaining: int, reset: float, date: float, at: float) -> RateLimitInfo:
    return RateLimitInfo(
        limit=limit,
        remaining=remaining,
        reset_after=reset - date,
        reset_at=reset,
        observed_at=at,
    )


def test_a_tick_of_date_between_two_responses_pins_the_server_clock() -> None:
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    b = limiter._bucket("apps")
    # Sent at 10.000, answered by 10.004: Date 1000 (server time in [1000, 1001)).
    limiter._observe_burst(
        b, _info(limit=100, remaining=98, reset=1060, date=1000, at=10.004), 10.0, 10.004
    )
    lo, hi = limiter.server_offset("apps") or (0.0, 0.0)
    assert hi - lo > 0.99  # one response: a second of doubt
    # Sent at 10.600, answered by 10.604 with Date 1001: the second ticked in between.
    limiter._observe_burst(
        b, _info(limit=100, remaining=97, reset=1060, date=1001, at=10.604), 10.6, 10.604
    )
    lo, hi = limiter.server_offset("apps") or (0.0, 0.0)
    assert lo == pytest.approx(1001 - 10.604)  # 0.604 s of doubt left
    assert hi == pytest.approx(1001 - 10.0)
    # Sent at 11.394, answered by 11.398, still Date 1001: the next tick is after 11.394.
    limiter._observe_burst(
        b, _info(limit=100, remaining=96, reset=1060, date=1001, at=11.398), 11.394, 11.398
    )
    lo, hi = limiter.server_offset("apps") or (0.0, 0.0)
    assert hi == pytest.approx(1002 - 11.394)
    # Sent at 11.400, answered by 11.404 with Date 1002: the tick is pinned to 10 ms.
    limiter._observe_burst(
        b, _info(limit=100, remaining=95, reset=1060, date=1002, at=11.404), 11.4, 11.404
    )
    lo, hi = limiter.server_offset("apps") or (0.0, 0.0)
    assert lo == pytest.approx(1002 - 11.404)
    assert hi - lo < 0.011


def test_a_stepped_server_clock_replaces_the_offset_instead_of_emptying_it() -> None:
    limiter = RateLimiter(clock=lambda: 0.0)
    b = limiter._bucket("apps")
    limiter._observe_burst(
        b, _info(limit=100, remaining=98, reset=1060, date=1000, at=10.004), 10.0, 10.004
    )
    limiter._observe_burst(
        b, _info(limit=100, remaining=97, reset=5060, date=5000, at=11.004), 11.0, 11.004
    )
    lo, hi = limiter.server_offset("apps") or (0.0, 0.0)
    assert lo <= 5000 - 11.004 + 1e-9 and hi >= 5000 - 11.004


@pytest.mark.looptime
async def test_waiting_for_a_window_sleeps_instead_of_polling() -> None:
    # 35 calls, 4 windows of 1 s. The limiter wakes once when a window opens and once when
    # its lone first response arrives, not per call and never on a short timer; the clock
    # is read about three times per call (acquire, release, parse). The limiter before
    # issue #13 read it 227 times here (6.5 per call), and woke per scheduled send.
    model = WindowModel(limit=10, window=1.0)
    calls, clock = _counting_clock(model.clock)
    limiter = RateLimiter(clock=clock)
    n = 35
    await run_job(model, limiter, n=n, workers=20)
    assert len(model.starts) == 4
    assert limiter.wakeups <= 4 * len(model.starts) + 4
    assert calls[0] <= 4 * n


@pytest.mark.slow
async def test_smooth_pacing_wakes_per_send_not_per_millisecond() -> None:
    # On the real clock, not looptime's: smooth pacing recomputes its schedule on every
    # wake-up, and a clock that stands still while code runs wakes it again for the
    # microseconds left, so a virtual clock counts wake-ups that a real one never causes.
    model = WindowModel(limit=10, window=1.0)
    calls, clock = _counting_clock(model.clock)
    limiter = RateLimiter(clock=clock, pacing="smooth")
    n = 35
    await run_job(model, limiter, n=n, workers=20)
    assert limiter.wakeups <= 5 * n
    assert calls[0] <= 10 * n


@pytest.mark.looptime
async def test_two_processes_sharing_a_bucket_through_its_headers_only() -> None:
    # Two limiters (two processes) spend one bucket; each sees the other only as a fall
    # in Remaining larger than its own requests. Alone, each would spend the whole window
    # at every window's start and collide: about as many 429s as successes.
    model = WindowModel(limit=20, window=1.0)
    a, b = RateLimiter(clock=model.clock), RateLimiter(clock=model.clock)
    await asyncio.gather(run_job(model, a, n=60, workers=25), run_job(model, b, n=60, workers=25))
    statuses = [s for _, s in model.served]
    assert statuses.count(200) == 120
    assert statuses.count(429) <= 2 * len(model.starts)
    assert max(model.per_window) <= 20
    assert a.share("apps") < 1.0 and b.share("apps") < 1.0


def test_pacing_must_be_burst_or_smooth() -> None:
    with pytest.raises(ValueError, match="pacing"):
        RateLimiter(pacing="fast")


@pytest.mark.looptime
@pytest.mark.usefixtures("client_on_loop_clock")
async def test_client_against_the_fake_org_spends_whole_windows_without_a_429(
    loop_wall_clock: Callable[[], float],
) -> None:
    from okta_connections import OktaClient, SSWSToken
    from okta_connections.testing import FakeOkta

    async with FakeOkta(
        apps=0, rate_limit=15, rate_window=1.0, enforce_rate_limit=True, clock=loop_wall_clock
    ) as fake:
        ids = [fake.add_app("okta_org2org", connection="token").id for _ in range(45)]
        async with OktaClient(fake.org_url, auth=SSWSToken(fake.token)) as okta:
            await asyncio.gather(*(okta.connections.get(i) for i in ids))
        served = [r for r in fake.requests if r.operation == "get"]
    assert [r.status for r in served].count(429) == 0
    assert len(served) == 45
    # Three windows of 15 (the fewest). The fake's one-second windows open on the whole
    # second of their first request (reference §8.1), so a window is its second.
    windows = collections.Counter(int(r.received_at) for r in served)
    assert len(windows) == 3 and set(windows.values()) == {15}


@pytest.mark.looptime  # the 1 s and 0.05 s below are the loop's: load cannot break them
async def test_a_429_with_budget_left_teaches_the_principals_ceiling() -> None:
    # The headers show the org's bucket (100), but this token may use only 40 of it: its
    # 41st request is refused while Remaining still shows 59.
    shift = [0.0]
    loop = asyncio.get_running_loop()

    def clock() -> float:
        return loop.time() + shift[0]

    limiter = RateLimiter(clock=clock)
    date = 1_000_000

    def info(remaining: int, reset: int) -> RateLimitInfo:
        return _info(limit=100, remaining=remaining, reset=reset, date=date, at=clock())

    for i in range(41):
        sent = await limiter.acquire("apps")
        limiter.release("apps", sent_at=sent, info=info(99 - i, date + 60))
    limiter.rate_limited("apps", info(59, date + 60))
    assert limiter.ceiling("apps") == 40
    # The next window: 40 go at once, the 41st waits for the window after.
    shift[0] += 61.0
    date += 61
    sent = await limiter.acquire("apps")
    limiter.release("apps", sent_at=sent, info=info(99, date + 60))
    for _ in range(39):
        await asyncio.wait_for(limiter.acquire("apps"), 1.0)
    with pytest.raises(TimeoutError):
        await limiter.acquire("apps", deadline=clock() + 0.05)


async def test_a_429_that_spent_the_window_teaches_no_ceiling() -> None:
    now = [100.0]
    limiter = RateLimiter(clock=lambda: now[0])
    for i in range(10):
        sent = await limiter.acquire("apps")
        limiter.release(
            "apps",
            sent_at=sent,
            info=_info(limit=10, remaining=9 - i, reset=1060, date=1000, at=now[0]),
        )
    limiter.rate_limited("apps", _info(limit=10, remaining=0, reset=1060, date=1000, at=100.0))
    assert limiter.ceiling("apps") is None


@pytest.mark.looptime
@pytest.mark.usefixtures("client_on_loop_clock")
@pytest.mark.parametrize(("mode", "most_429s"), [("principal", 3), ("org", 9)])
async def test_a_half_share_is_paced_in_both_header_modes(
    mode: str, most_429s: int, loop_wall_clock: Callable[[], float]
) -> None:
    """One token with Okta's default 0.5 share: where the headers show the org's ceiling,
    the client assumes the default share instead of bursting into a 429 per request."""
    from okta_connections import OktaClient, SSWSToken
    from okta_connections.testing import FakeOkta

    async with FakeOkta(
        apps=150,
        seed=3,
        rate_limit=100,
        rate_window=1,
        principal_share=0.5,
        rate_limit_headers=mode,
        clock=loop_wall_clock,
    ) as fake:
        ids = [a.id for a in fake.apps]
        async with OktaClient(fake.org_url, auth=SSWSToken(fake.token)) as okta:
            report = await okta.bulk.get(ids).run()
        refused = fake.count(status=429)
    assert report.succeeded == 150
    # Without the assumed share, the org-headers run refused about a third of a window
    # (each request past the token's 50 of the first window's ramp).
    assert refused <= most_429s
