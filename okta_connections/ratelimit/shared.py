"""The pacer whose windows' budgets and concurrency come from a shared budget on Redis.

:class:`RedisBudget` is the pacer's collaborator (a :class:`~.fleet.Budget`): it batches
the grants and returns of one client to the scripts of a :class:`SharedBudget`, and
falls back to local pacing while Redis does not answer. :class:`SharedRateLimiter` is a
:class:`RateLimiter` that builds one. See :mod:`okta_connections.ratelimit.budget` for
how the budget is kept.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import os
import time
from typing import TYPE_CHECKING, Any

import attrs

from .budget import _EPOCH_TTL, _MAX_KEY_TTL, SharedBudget
from .fleet import LOCAL, BucketView, Reservation
from .headers import RateLimitInfo
from .pacer import RateLimiter

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["RedisBudget", "SharedRateLimiter"]

logger = logging.getLogger("okta_connections")


#: Longest a pacer blocks on what the shared budget said (an hour: Okta's longest window).
_MAX_BLOCK = 3600.0


@attrs.define
class _Grant:
    lease: str
    n: int
    probe: bool
    window: float | None
    assumed: int
    refused: bool = False
    hold_ms: int = 0
    wlen_ms: int = 0


@attrs.define
class _Return:
    grant: _Grant
    info: RateLimitInfo | None


class _Unavailable(Exception):
    """Redis did not answer a batch of grants (the cause is logged once, not carried)."""


def _expire(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(TimeoutError("the deadline passed waiting for the shared budget"))


class RedisBudget:
    """The budget on a :class:`SharedBudget` as the pacer's collaborator (a
    :class:`~.fleet.Budget`), for one client.

    Args:
        budget: The Redis server.
        org_url: The org (part of every key, hashed).
        principal: Who Okta counts the calls against (see :attr:`Auth.principal`).
        lease_ttl: Seconds a concurrency slot is held at most (a request's longest run).
        clock: The pacer's clock.
        max_in_flight, max_capacity, assumed_share: The pacer's (see :class:`RateLimiter`).
    """

    def __init__(
        self,
        budget: SharedBudget,
        *,
        org_url: str,
        principal: str,
        lease_ttl: float,
        clock: Callable[[], float] = time.monotonic,
        max_in_flight: int = 64,
        max_capacity: float = 1.0,
        assumed_share: float = 0.5,
    ) -> None:
        self.budget = budget
        self.max_in_flight = max_in_flight
        self.max_capacity = max_capacity
        self.assumed_share = assumed_share
        self._clock = clock
        digest = hashlib.sha256(f"{org_url}\n{principal}".encode()).hexdigest()[:32]
        self._base = f"{budget.key_prefix}:{{{digest}}}"
        # A lease lives a second at least, an hour at most (as every key of the budget).
        self._lease_ms = min(_MAX_KEY_TTL * 1000, max(1000, int(lease_ttl * 1000)))
        self._deciding = True
        self._down = False
        self._retry_at = 0.0
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False  # aclose() was called: the last batch closes the connection
        self._takes: dict[str, list[tuple[str, bool, asyncio.Future[Any]]]] = {}
        self._gives: dict[str, list[_Return | list[object]]] = {}
        self._serial = 0
        self._token = os.urandom(6).hex()
        # Calls to Redis are numbered as they start: an answer or a failure of a call that
        # started before the latest answer is stale, and decides nothing about an outage.
        self._calls = 0
        self._answered = 0  # the latest call that Redis answered
        self._answered_at = 0.0
        self._down_call = 0  # the call whose failure started the outage
        self._epoch: str | None = None  # the budget's epoch, as last seen
        self._epoch_call = 0  # the call that showed it
        # What this client last saw of each bucket's share in Redis: (shown, ceiling), to
        # put back if Redis loses it.
        self._known: dict[str, tuple[bool, int]] = {}
        # The pacer's view of each bucket (any view of a bucket is as good as another).
        self._states: dict[str, BucketView] = {}
        #: Outages seen (Redis not answering, or restarted and empty); for tests and
        #: diagnostics.
        self.outages = 0

    @property
    def deciding(self) -> bool:
        """True while Redis answers (or is being tried again)."""
        return self._deciding

    def _headroom(self, limit: int) -> int:
        # As the pacer's: the part of the limit that max_capacity leaves to others.
        return int(limit * (1.0 - self.max_capacity) + 0.999999)

    def __repr__(self) -> str:
        return f"RedisBudget({self.budget!r})"

    def _keys(self, bucket: str) -> list[str]:
        """The scripts' keys: leases, probes, shown, ceiling, newest window, hold, limit,
        window length, end of the newest window; then the principal's epoch."""
        base = f"{self._base}:{bucket}"
        names = (
            "leases", "probes", "shown", "ceiling", "newest", "hold", "limit", "wlen", "ends"
        )  # fmt: skip
        return [*(f"{base}:{name}" for name in names), f"{self._base}:epoch"]

    def _caps(self, info: RateLimitInfo | None) -> tuple[int, int]:
        if info is None:
            return 0, -1
        headroom = self._headroom(info.limit)
        full = max(1, info.limit - headroom)
        if self.assumed_share >= 1.0:
            return full, full
        # Past the assumed share, one grant more per window until one succeeds.
        return full, max(1, math.ceil(self.assumed_share * full)) + 1

    def _call(self) -> int:
        """Number a call to Redis as it starts."""
        self._calls += 1
        return self._calls

    def _went_down(self, exc: BaseException, call: int) -> None:
        if call < self._answered:
            # A call that started later has been answered since: Redis is back (a restart
            # that its answer showed has been counted), and this failure is of the past.
            return
        self._deciding = False
        self._retry_at = self._clock() + self.budget.retry_after
        self._down_call = max(self._down_call, call)
        if not self._down:
            self._down = True
            self.outages += 1
            logger.warning(
                "shared budget %s did not answer (%s); pacing locally from the headers "
                "until it does",
                self.budget.display,
                type(exc).__name__,
                extra={"shared_budget": self.budget.display},
            )

    def _heard(self, call: int, epoch: str) -> None:
        """Redis answered ``call`` with its ``epoch``: notice a restart, end an outage."""
        now = self._clock()
        if epoch != self._epoch and call > self._epoch_call:
            # A new epoch: Redis lost the budget's state since this client last heard from
            # it (restarted empty, or flushed), whether or not a call failed (redis-py
            # reconnects and reloads the scripts by itself). One outage: none if the
            # failure of a call has already counted it, or if this client was idle for
            # longer than the epoch is kept (the state expired; nothing was lost).
            lost = self._epoch is not None and now - self._answered_at < _EPOCH_TTL
            self._epoch, self._epoch_call = epoch, call
            if lost:
                self._restore()
                if not self._down:
                    self.outages += 1
                    logger.warning(
                        "shared budget %s restarted empty (its state was lost); its "
                        "counters start again from what the headers show",
                        self.budget.display,
                        extra={"shared_budget": self.budget.display},
                    )
        if call > self._answered:
            self._answered = call
            self._answered_at = now
        if self._down and call > self._down_call:
            self._down = False
            self._deciding = True
            logger.info(
                "shared budget %s answers again; pacing on it",
                self.budget.display,
                extra={"shared_budget": self.budget.display},
            )

    def _restore(self) -> None:
        """Put back what this client knew of each bucket's share, which Redis lost."""
        for bucket, (shown, ceiling) in self._known.items():
            if shown or ceiling:
                self._queue_give(
                    bucket, ["", -1, 0, 60, 1 if shown else 0, ceiling or -1, 0, 0, 0, 0, 0, 0]
                )

    async def reserve(self, bucket: str, state: BucketView, deadline: float | None) -> Reservation:
        """Ask Redis for a grant of the request that the local pacer has just granted."""
        if self._down:
            if self._clock() < self._retry_at:
                return LOCAL
            self._deciding = True  # try Redis again with this request
        self._states[bucket] = state
        info = state.info
        probe = state.opening
        mine = int(info.reset_at) if info is not None else 0
        _, assumed = self._caps(info)
        self._serial += 1
        lease = f"{self._token}:{self._serial}"
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        pending = self._takes.setdefault(bucket, [])
        pending.append((lease, probe, future))
        if len(pending) == 1:
            # Everything asked for in this turn of the loop goes in one call.
            loop.call_soon(self._flush_takes, bucket)
        # The wait keeps the call's deadline: an answer that never comes ends it.
        timer = None
        if deadline is not None:
            timer = loop.call_later(max(0.0, deadline - self._clock()), _expire, future)
        try:
            verdict, n, window, extra = await future
        except (asyncio.CancelledError, TimeoutError):
            if future.done() and not future.cancelled() and future.exception() is None:
                # Granted, but cancelled before this task resumed: give it straight back.
                self._give_back_row(bucket, lease, future.result())
            raise
        except _Unavailable:
            return LOCAL  # Redis did not answer: this one goes on local pacing
        finally:
            if timer is not None:
                timer.cancel()
        if verdict == 1:
            if window:
                state.shared_left(extra)
            return Reservation(_Grant(lease, n, window == 0, window or None, assumed))
        now = self._clock()
        wait = 0.0
        if verdict == -1 and extra == 1:
            # The fleet has spent this window: sleep to its end (the newer window's, by
            # the server clock, when another client has seen one we have not).
            end: float | None = None
            if window > mine:
                end = state.local_time(window)
            elif state.end != float("inf"):
                end = state.end
            if end is not None and now < end < now + _MAX_BLOCK:
                state.block_until(end)
            else:
                wait = 0.05  # no clock to convert its end with yet: look again soon
        elif verdict == -2 and n > 0:
            wait = n / 1000.0  # an early probe holds the fleet back until then
        else:
            # All concurrency slots are leased, another client's probe or a grant past
            # the assumed share is out: each comes back within a round trip.
            wait = min(0.05, max(0.005, state.rtt / 2))
        return Reservation(refused=True, wait=wait)

    def _give_back_row(self, bucket: str, lease: str, row: Any) -> None:
        """Return a grant whose caller was cancelled before it could use it."""
        if row[0] == 1:
            self._queue_give(
                bucket,
                [lease, -1, 1 if row[2] == 0 else 0, 60, 0, -1, row[2], 0, 0, 0, 0, row[2]],
            )

    def _flush_takes(self, bucket: str) -> None:
        batch = self._takes.pop(bucket, [])
        if batch:
            self._spawn(self._run_takes(bucket, batch))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(self._then_close(coro))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _then_close(self, coro: Any) -> None:
        """Run a batch; after :meth:`aclose`, the last batch closes the connection it made
        (a lease returned by a call that ended after the client closed still goes back)."""
        try:
            await coro
        finally:
            if self._closed and self._tasks <= {asyncio.current_task()} and not self._gives:
                await self.budget.aclose()

    async def _run_takes(
        self, bucket: str, batch: list[tuple[str, bool, asyncio.Future[Any]]]
    ) -> None:
        state = self._states[bucket]
        info = state.info
        full, assumed = self._caps(info)
        ttl_s = int(info.reset_after) + 60 if info is not None else 120
        args: list[object] = [
            self._lease_ms,
            self.max_in_flight,
            full,
            assumed,
            ttl_s,
            int(info.reset_at) if info is not None else 0,
            f"{self._base}:{bucket}:w:",
            self.max_capacity,
            self.assumed_share,
            # A round trip, so that no grant lands after its window's end: 5-500 ms.
            min(500, max(5, int(state.rtt * 1000))),
            # Okta's count of the window, by the lowest Remaining seen in it.
            max(0, info.limit - state.remaining) if info is not None else 0,
        ]
        call = self._call()
        try:
            taken = await self.budget._take_batch(
                self._keys(bucket), args, [(lease, probe) for lease, probe, _ in batch]
            )
        except Exception as exc:  # every waiter of the batch falls back to local pacing
            self._went_down(exc, call)
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(_Unavailable())
            return
        try:
            self._heard(call, taken.epoch)  # before _known changes: it may put that back
            self._known[bucket] = (taken.shown, taken.ceiling)
            if taken.wlen_ms:
                state.learn_length(taken.wlen_ms / 1000.0)
            for (lease, _, future), row in zip(batch, taken.rows, strict=True):
                if not future.done():
                    future.set_result(row)
                else:
                    # Its caller was cancelled while asking: give the grant straight back.
                    self._give_back_row(bucket, lease, row)
        finally:
            # Never a caller left waiting on a batch that ended without its answer.
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(_Unavailable())

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
        """Return the lease, with what the headers showed, to Redis."""
        if not isinstance(grant, _Grant):
            return
        if refused:
            grant.refused = True
        if grant.probe and early:
            # This probe was still counted in the old window: the local pacer has pushed
            # its estimate of the window's end back; hold the fleet's probes until then.
            hold = min(state.end - self._clock(), _MAX_BLOCK)
            grant.hold_ms = max(1, int(hold * 1000))
            length = state.window_length
            grant.wlen_ms = int(length * 1000) if length is not None else 0
        # Queued, and sent at the end of this turn of the loop with every other return:
        # a rate_limited() in the same turn (on a 429) still marks the grant refused.
        self._queue_grant(bucket, grant, info)

    def _queue_grant(self, bucket: str, grant: _Grant, info: RateLimitInfo | None) -> None:
        pending = self._gives.setdefault(bucket, [])
        pending.append(_Return(grant, info))
        if len(pending) == 1:
            asyncio.get_running_loop().call_soon(self._flush_gives, bucket)

    def _queue_give(self, bucket: str, entry: list[object]) -> None:
        pending = self._gives.setdefault(bucket, [])
        pending.append(entry)
        if len(pending) == 1:
            asyncio.get_running_loop().call_soon(self._flush_gives, bucket)

    def _flush_gives(self, bucket: str) -> None:
        batch = self._gives.pop(bucket, [])
        if batch:
            entries = [self._entry(x) if isinstance(x, _Return) else x for x in batch]
            self._spawn(self._run_gives(bucket, entries))

    def _entry(self, item: _Return) -> list[object]:
        grant, info = item.grant, item.info
        seen = -1
        window = grant.window
        shown = 0
        ceiling = -1
        limit = 0
        ttl_s = 120
        ends_ms = 0
        if info is not None and not info.is_concurrency_signal:
            seen = max(0, info.limit - info.remaining)
            window = info.reset_at
            limit = info.limit
            ttl_s = int(info.reset_after) + 60
            ends_ms = int(info.reset_after * 1000)
            if grant.refused:
                if info.remaining > self._headroom(info.limit) and grant.n > 1:
                    ceiling = grant.n - 1  # the principal's share ran out before the org's
            elif not grant.probe and grant.n >= grant.assumed > 0:
                shown = 1  # a grant past the assumed share succeeded
        return [
            grant.lease,
            seen,
            1 if grant.probe else 0,
            ttl_s,
            shown,
            ceiling,
            int(window) if window is not None else 0,
            grant.hold_ms,
            limit,
            grant.wlen_ms,
            ends_ms,
            0 if grant.probe or grant.window is None else int(grant.window),
        ]

    async def _run_gives(self, bucket: str, entries: list[list[object]]) -> None:
        call = self._call()
        try:
            epoch = await self.budget._give_batch(
                self._keys(bucket), f"{self._base}:{bucket}:w:", entries
            )
        except Exception as exc:  # as in acquire: pace locally
            self._went_down(exc, call)
            return
        self._heard(call, epoch)

    def rate_limited(self, bucket: str, info: RateLimitInfo) -> None:
        """A rate-limit 429, after the pacer's ``release()``: the grant just returned
        (still queued for Redis) is marked refused."""
        pending = self._gives.get(bucket)
        if pending and isinstance(pending[-1], _Return):
            pending[-1].grant.refused = True

    async def aclose(self) -> None:
        """Send the returns still queued, wait briefly for them and the batches under way
        (and those they start), then close the connection; past the wait, the last batch
        closes it when it ends."""
        self._closed = True
        loop = asyncio.get_running_loop()
        until = loop.time() + self.budget.timeout * 2
        while True:
            # A batch that ends may start another (a cancelled caller's grant goes back):
            # the connection is closed only once none is left, never under one.
            for bucket in list(self._gives):
                self._flush_gives(bucket)
            running = set(self._tasks)
            if not running:
                break
            left = until - loop.time()
            if left <= 0:
                return  # the last batch closes the connection when it ends
            await asyncio.wait(running, timeout=left)
        await self.budget.aclose()


class SharedRateLimiter(RateLimiter):
    """A burst pacer whose windows' budgets and concurrency come from a :class:`SharedBudget`.

    A :class:`RateLimiter` with a :class:`RedisBudget` as its ``fleet_budget``.

    Args:
        budget: The Redis server.
        org_url: The org (part of every key, hashed).
        principal: Who Okta counts the calls against (see :attr:`Auth.principal`).
        lease_ttl: Seconds a concurrency slot is held at most (a request's longest run).
        **kwargs: As for :class:`RateLimiter` (``pacing`` must be ``"burst"``).
    """

    fleet_budget: RedisBudget

    def __init__(
        self,
        budget: SharedBudget,
        *,
        org_url: str,
        principal: str,
        lease_ttl: float,
        clock: Callable[[], float] = time.monotonic,
        **kwargs: Any,
    ) -> None:
        if "fleet_budget" in kwargs:
            raise TypeError("SharedRateLimiter builds its own fleet_budget")
        super().__init__(clock=clock, **kwargs)
        self.budget = budget
        self.fleet_budget = RedisBudget(
            budget,
            org_url=org_url,
            principal=principal,
            lease_ttl=lease_ttl,
            clock=clock,
            max_in_flight=self.max_in_flight,
            max_capacity=self.max_capacity,
            assumed_share=self.assumed_share,
        )

    @property
    def outages(self) -> int:
        """Outages seen (Redis not answering, or restarted and empty); for tests and
        diagnostics (settable, as the attribute it was)."""
        return self.fleet_budget.outages

    @outages.setter
    def outages(self, value: int) -> None:
        self.fleet_budget.outages = value

    def __repr__(self) -> str:
        return f"SharedRateLimiter({self.budget!r})"
