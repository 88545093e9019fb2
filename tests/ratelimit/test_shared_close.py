"""Closing a shared budget's limiter while grants are on their way back (issue 24, item 1):
every lease goes back to the budget before its connection is closed."""

from __future__ import annotations

import asyncio
from typing import Any

from okta_connections.ratelimit.budget import SharedBudget, _Taken
from okta_connections.ratelimit.shared import SharedRateLimiter


class CuttingBudget(SharedBudget):
    """A budget whose leases live in a set, and whose close cuts the calls in flight, as
    redis-py's ``disconnect(inuse_connections=True)`` does: a take whose script has run
    loses its reply (the lease stays), a give that has not reached the server is lost."""

    def __init__(self) -> None:
        super().__init__("redis://127.0.0.1:6399/0", timeout=0.5)
        self.leases: set[str] = set()
        self.generation = 0
        self.taking = asyncio.Event()  # a take's script has run; its reply is on its way

    async def _take_batch(
        self, keys: list[str], args: list[object], leases: list[tuple[str, bool]]
    ) -> _Taken:
        generation = self.generation
        self.leases.update(lease for lease, _ in leases)  # the script ran on the server
        self.taking.set()
        await asyncio.sleep(0.01)
        if generation != self.generation:
            raise ConnectionError("the connection was closed under the call")
        return _Taken([(1, 1, 0, 1 << 30)] * len(leases), 0, False, 0, "1.0")

    async def _give_batch(self, keys: list[str], prefix: str, entries: list[list[object]]) -> str:
        generation = self.generation
        await asyncio.sleep(0.01)
        if generation != self.generation:
            raise ConnectionError("the connection was closed under the call")
        self.leases.difference_update(str(entry[0]) for entry in entries)
        return "1.0"

    async def aclose(self) -> None:
        self.generation += 1


async def test_close_waits_for_the_return_of_a_grant_whose_caller_was_cancelled() -> None:
    # The caller is cancelled while its grant is on the way: the grant goes straight back,
    # in a batch that starts when the take's answer comes, after close() began to wait.
    # close() used to wait only for the take, then close the connection under the return
    # (the lease then held a slot of the fleet until its TTL).
    budget = CuttingBudget()
    limiter = SharedRateLimiter(
        budget, org_url="https://example.okta.com", principal="p", lease_ttl=10.0
    )
    waiting: asyncio.Task[Any] = asyncio.create_task(limiter.acquire("apps"))
    await budget.taking.wait()  # its take is on its way
    waiting.cancel()
    await limiter.aclose()
    await asyncio.sleep(0.05)
    assert budget.leases == set()
    assert not limiter.fleet_budget._tasks
