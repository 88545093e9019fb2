"""RateLimiter.slot(): a permit that carries the grant and goes back on every path, on
the local pacer and on the shared budget (here a fake budget, no Redis)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from okta_connections.ratelimit.budget import _Taken
from okta_connections.ratelimit.headers import RateLimitInfo
from okta_connections.ratelimit.pacer import Permit, RateLimiter
from okta_connections.ratelimit.shared import SharedRateLimiter


def _info(remaining: int = 50) -> RateLimitInfo:
    return RateLimitInfo(
        limit=100, remaining=remaining, reset_at=2060.0, reset_after=60.0, observed_at=0.0
    )


async def test_a_slot_is_held_inside_the_block_and_returned_with_what_it_learned() -> None:
    limiter = RateLimiter()
    async with limiter.slot("apps") as permit:
        assert isinstance(permit, Permit) and permit.grant is None
        assert limiter.in_flight("apps") == 1
        permit.learn(_info(42))
    assert limiter.in_flight("apps") == 0
    seen = limiter.get("apps")
    assert seen is not None and seen.remaining == 42


async def test_a_slot_is_returned_when_the_block_raises() -> None:
    limiter = RateLimiter()
    with pytest.raises(KeyError):
        async with limiter.slot("apps"):
            raise KeyError("boom")
    assert limiter.in_flight("apps") == 0


async def test_a_slot_is_returned_when_the_task_is_cancelled_inside_the_block() -> None:
    limiter = RateLimiter()
    inside = asyncio.Event()

    async def hold() -> None:
        async with limiter.slot("apps"):
            inside.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(hold())
    await inside.wait()
    assert limiter.in_flight("apps") == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert limiter.in_flight("apps") == 0


async def test_a_waiter_cancelled_before_its_grant_holds_nothing() -> None:
    limiter = RateLimiter()
    first = await limiter.slot("apps").take()  # the probe: the next waits for its headers
    waiter = asyncio.create_task(limiter.slot("apps").take())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    first.give_back()
    assert limiter.in_flight("apps") == 0


async def test_a_slot_past_its_deadline_raises_timeout_error_and_holds_nothing() -> None:
    limiter = RateLimiter()
    first = await limiter.slot("apps").take()
    loop = asyncio.get_running_loop()
    with pytest.raises(TimeoutError):
        async with limiter.slot("apps", loop.time() + 0.01):
            pytest.fail("granted")
    first.give_back()
    assert limiter.in_flight("apps") == 0


async def test_a_rate_limited_permit_teaches_the_ceiling() -> None:
    limiter = RateLimiter()
    for _ in range(3):
        async with limiter.slot("apps") as permit:
            permit.learn(_info(90))
    async with limiter.slot("apps") as permit:
        permit.learn(_info(80), rate_limited=True)
    assert limiter.ceiling("apps") == 3


async def test_rate_limited_may_be_passed_by_position_on_the_plain_with() -> None:
    # The pipeline's form: slot_now, a plain 'with', learn(info, rate_limited) by position.
    limiter = RateLimiter()
    for _ in range(3):
        async with limiter.slot("apps") as permit:
            permit.learn(_info(90))
    permit_now = limiter.slot_now("apps")
    assert permit_now is not None
    with permit_now:
        permit_now.learn(_info(80), True)
    assert limiter.ceiling("apps") == 3
    assert limiter.in_flight("apps") == 0


class _FakeBudget:
    """What SharedRateLimiter asks of a SharedBudget, answered from memory."""

    key_prefix = "test"
    retry_after = 5.0
    timeout = 1.0
    display = "fake"

    def __init__(self) -> None:
        self.leased: set[str] = set()
        self.before_answer: Any = None

    async def _take_batch(
        self, keys: list[str], args: list[object], leases: list[tuple[str, bool]]
    ) -> _Taken:
        await asyncio.sleep(0)
        rows = []
        for lease, _ in leases:
            self.leased.add(lease)
            rows.append((1, len(self.leased), 0, 0))
        if self.before_answer is not None:
            self.before_answer()
        return _Taken(rows, 0, False, 0, "epoch-1")

    async def _give_batch(self, keys: list[str], prefix: str, entries: list[list[object]]) -> str:
        for entry in entries:
            self.leased.discard(str(entry[0]))
        return "epoch-1"

    async def aclose(self) -> None:
        pass


def _shared(budget: _FakeBudget) -> SharedRateLimiter:
    return SharedRateLimiter(
        budget,  # type: ignore[arg-type]
        org_url="https://example.okta.com",
        principal="me",
        lease_ttl=30.0,
    )


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_shared_permit_carries_its_grant_and_returns_the_lease() -> None:
    budget = _FakeBudget()
    limiter = _shared(budget)
    async with limiter.slot("apps") as permit:
        assert permit.grant is not None and budget.leased
        assert limiter.in_flight("apps") == 1
        permit.learn(_info())
    await _settle()
    assert limiter.in_flight("apps") == 0 and not budget.leased


async def test_a_shared_grant_delivered_to_a_cancelled_waiter_is_given_back() -> None:
    budget = _FakeBudget()
    limiter = _shared(budget)
    task: asyncio.Task[Permit] | None = None

    def cancel_the_waiter() -> None:
        # The grant is on its way: the waiter is cancelled before it resumes.
        assert task is not None
        asyncio.get_running_loop().call_soon(task.cancel)

    budget.before_answer = cancel_the_waiter
    task = asyncio.create_task(limiter.slot("apps").take())
    with pytest.raises(asyncio.CancelledError):
        await task
    await _settle()
    assert limiter.in_flight("apps") == 0
    assert not budget.leased  # the lease went back, not left to expire


async def test_the_public_acquire_and_release_still_pair_a_shared_grant() -> None:
    budget = _FakeBudget()
    limiter = _shared(budget)
    sent = await limiter.acquire("apps")
    assert budget.leased
    limiter.release("apps", sent_at=sent, info=_info())
    await _settle()
    assert limiter.in_flight("apps") == 0 and not budget.leased


# ---------------------------------------------------------------- the hot path


async def test_slot_now_takes_a_free_slot_without_waiting_and_a_plain_with_returns_it() -> None:
    limiter = RateLimiter()
    permit = limiter.slot_now("apps", 1e9)
    assert isinstance(permit, Permit) and permit.deadline == 1e9
    assert limiter.in_flight("apps") == 1
    with permit:
        permit.learn(_info(42))
    assert limiter.in_flight("apps") == 0
    seen = limiter.get("apps")
    assert seen is not None and seen.remaining == 42


async def test_slot_now_says_none_when_the_bucket_must_wait() -> None:
    limiter = RateLimiter(max_in_flight=1)
    first = limiter.slot_now("apps")
    assert first is not None
    assert limiter.slot_now("apps") is None  # the cap is held: no grant, nothing taken
    assert limiter.in_flight("apps") == 1
    first.give_back()


async def test_take_now_takes_a_free_slot_once() -> None:
    limiter = RateLimiter()
    permit = limiter.slot("apps")
    assert permit.take_now() and permit.take_now()  # the second holds it already
    assert limiter.in_flight("apps") == 1
    permit.give_back()
    assert limiter.in_flight("apps") == 0


async def test_a_plain_with_refuses_a_permit_not_taken() -> None:
    limiter = RateLimiter()
    with pytest.raises(RuntimeError, match="take"), limiter.slot("apps"):
        pass
    assert limiter.in_flight("apps") == 0


async def test_a_shared_limiter_takes_no_slot_without_its_budget() -> None:
    limiter = _shared(_FakeBudget())
    assert limiter.slot_now("apps") is None
    assert not limiter.slot("apps").take_now()
    assert limiter.in_flight("apps") == 0
