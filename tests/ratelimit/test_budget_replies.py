"""A shared budget whose replies are outside the protocol (issue 24, item 3): the calls
end within their deadline, paced locally, with one warning; nothing is left in flight."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest

from okta_connections.ratelimit import RateLimitInfo
from okta_connections.ratelimit.budget import SharedBudget
from okta_connections.ratelimit.shared import SharedRateLimiter

EPOCH = b"1800000000.1"

#: Replies to a batch of one lease; a good one is [1, 1, 0, 2**30, 0, 0, 0, EPOCH].
BAD_TAKES: dict[str, Callable[[int], Any]] = {
    "no-rows": lambda n: [0, 0, 0, EPOCH],
    "a-row-too-many": lambda n: [1, 1, 0, 5] * (n + 1) + [0, 0, 0, EPOCH],
    "a-short-row": lambda n: [1, 1, 0] * n + [0, 0, 0, EPOCH],
    "not-a-list": lambda n: 7,
    "text-for-numbers": lambda n: [b"yes", b"1", b"0", b"5"] * n + [0, 0, 0, EPOCH],
    "unknown-verdict": lambda n: [7, 1, 0, 0] * n + [0, 0, 0, EPOCH],
    "negative-count": lambda n: [1, -5, 0, 3] * n + [0, 0, 0, EPOCH],
    "huge-window": lambda n: [1, 1, 10**15, 3] * n + [0, 0, 0, EPOCH],
    "huge-left": lambda n: [1, 1, 0, 10**15] * n + [0, 0, 0, EPOCH],
    "shown-not-a-flag": lambda n: [1, 1, 0, 5] * n + [0, 9, 0, EPOCH],
    "epoch-not-text": lambda n: [1, 1, 0, 5] * n + [0, 0, 0, [1, 2]],
}


class _Client:
    """Stands for redis-py's client: nothing to connect, nothing to close."""

    async def aclose(self, close_connection_pool: bool = True) -> None:
        return None


def _budget(take: Callable[[int], Any], give: Any = EPOCH) -> SharedBudget:
    budget = SharedBudget("redis://127.0.0.1:6399/0", timeout=0.5, retry_after=30.0)
    budget._client = _Client()

    async def run_take(*, keys: list[str], args: list[object]) -> Any:
        await asyncio.sleep(0.001)
        return take((len(args) - 11) // 2)

    async def run_give(*, keys: list[str], args: list[object]) -> Any:
        await asyncio.sleep(0.001)
        return give

    budget._take = run_take
    budget._give = run_give
    return budget


def _info(clock: Callable[[], float], remaining: int) -> RateLimitInfo:
    return RateLimitInfo(
        limit=100, remaining=remaining, reset_after=60.0, reset_at=1_800_000_060.0,
        observed_at=clock(),
    )  # fmt: skip


@pytest.mark.looptime
@pytest.mark.parametrize("reply", sorted(BAD_TAKES))
async def test_a_take_reply_outside_the_protocol_falls_back_to_local_pacing(
    reply: str, loop_clock: Callable[[], float], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="okta_connections")
    limiter = SharedRateLimiter(
        _budget(BAD_TAKES[reply]),
        org_url="https://example.okta.com",
        principal="ssws:0",
        lease_ttl=10.0,
        clock=loop_clock,
    )

    async def call(i: int) -> None:
        sent = await limiter.acquire("apps", loop_clock() + 2.0)
        await asyncio.sleep(0.005)
        limiter.release("apps", sent_at=sent, info=_info(loop_clock, 99 - i))

    start = loop_clock()
    # Before the fix, a reply of the wrong length killed the batch task and its callers
    # waited for ever (here: until this timeout).
    async with asyncio.timeout(10):
        await asyncio.gather(*(call(i) for i in range(5)))
        await asyncio.gather(*(call(i) for i in range(5, 10)))
    assert loop_clock() - start < 2.0  # within the calls' deadline
    assert limiter.in_flight("apps") == 0
    assert limiter.outages == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "pacing locally" in warnings[0].getMessage()
    await limiter.aclose()
    assert not limiter.fleet_budget._tasks


@pytest.mark.looptime
async def test_a_wait_for_the_budget_keeps_the_calls_deadline(
    loop_clock: Callable[[], float],
) -> None:
    """A take that never returns (a hung script, not a dead socket): the call ends at its
    deadline, and nothing is left in flight."""
    never = asyncio.Event()
    budget = _budget(lambda n: [1, 1, 0, 5] * n + [0, 0, 0, EPOCH])

    async def hang(*, keys: list[str], args: list[object]) -> Any:
        await never.wait()

    budget._take = hang
    limiter = SharedRateLimiter(
        budget, org_url="https://example.okta.com", principal="ssws:0", lease_ttl=10.0,
        clock=loop_clock,
    )  # fmt: skip
    start = loop_clock()
    async with asyncio.timeout(10):
        with pytest.raises(TimeoutError):
            await limiter.acquire("apps", start + 1.0)
    assert loop_clock() - start == pytest.approx(1.0, abs=0.01)
    assert limiter.in_flight("apps") == 0
    for task in list(limiter.fleet_budget._tasks):
        task.cancel()
