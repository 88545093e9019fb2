"""The per-client pacer: paces every call from the X-Rate-Limit-* headers, per bucket."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import attrs

from .fleet import Budget
from .headers import RateLimitInfo

__all__ = ["PACING_MODES", "Permit", "RateLimiter"]

#: ``RateLimiter(pacing=...)`` values.
PACING_MODES = ("burst", "smooth")

#: Added to every estimated window end, to absorb clock granularity.
_END_MARGIN = 0.001


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class _Bucket:
    """Pacing state of one bucket. All times are local monotonic seconds."""

    __slots__ = (
        "blocked_until",
        "cap",
        "ceiling",
        "early",
        "end",
        "end_by_start",
        "end_est",
        "first_recv",
        "first_rem",
        "first_reset_after",
        "h_ok",
        "in_flight",
        "info",
        "last_grant",
        "lock",
        "more_shown",
        "next_send",
        "off_hi",
        "off_lo",
        "own",
        "own_zero",
        "probing",
        "quiet",
        "refused",
        "remaining",
        "rolled_at",
        "rtt",
        "share",
        "shared_left",
        "start_est",
        "synthetic",
        "waiter",
        "window_len",
        "windows",
        "wlen",
    )

    def __init__(self, cap: float) -> None:
        self.in_flight = 0
        self.info: RateLimitInfo | None = None  # latest observation of the current window
        self.remaining = 0  # lowest X-Rate-Limit-Remaining seen in the current window
        self.rtt = 0.0
        self.cap = cap  # AIMD in-flight cap
        self.lock = asyncio.Lock()
        self.waiter: asyncio.Future[None] | None = None  # the lock holder's wake-up
        # smooth mode
        self.start_est: float | None = None  # earliest send time seen in the current window
        self.end_est = 0.0  # when the current window is expected to reset
        self.window_len: float | None = None  # learned window length (an upper bound)
        self.first_reset_after = 0.0
        self.synthetic = False  # the window is assumed to have reset; no response shows it yet
        self.next_send = 0.0
        self.last_grant = 0.0
        # burst mode
        self.off_lo = -math.inf  # server epoch - local monotonic lies in [off_lo, off_hi]
        self.off_hi = math.inf
        self.first_recv = 0.0  # first response of the current window: its opening is before
        self.wlen: float | None = None  # window length from the opening response's headers
        self.h_ok = True  # wlen has not been caught short
        self.end = math.inf  # estimated end of the current window (an upper bound)
        self.end_by_start = False  # ``end`` comes from first_recv + wlen, not from the reset
        self.rolled_at: float | None = None  # when we took the window to have ended
        self.probing = False  # the new window's lone first request is in flight
        self.own = 0  # our responses counted in the current window
        self.first_rem = 0  # Remaining in the first of them
        self.own_zero = 0  # of which with Remaining 0 (429s, but for one)
        self.quiet = 0  # our responses in a row in which Remaining fell by ours alone
        self.share = 1.0  # our part of the bucket's traffic in the last window
        self.windows = 0  # windows seen
        self.ceiling: int | None = None  # our per-window ceiling, learned from a 429
        self.more_shown = False  # a request past the assumed share succeeded
        self.refused = 0  # rate-limit 429s in the current window
        self.early = 0  # times a request went out before the window had really ended
        self.blocked_until = 0.0  # a shared budget said the window is spent (until its end)
        self.shared_left = 1 << 30  # the shared budget's grants left in the window, last seen


class BucketState:
    """What a collaborator of the pacer (a shared budget) reads and changes of one bucket
    (the pacer's :class:`~.fleet.BucketView`).

    A view: it holds no state of its own, and every change goes through a method that
    keeps the pacer's own estimates consistent.
    """

    __slots__ = ("_b",)

    def __init__(self, b: _Bucket) -> None:
        self._b = b

    @property
    def info(self) -> RateLimitInfo | None:
        """The latest observation of the current window."""
        return self._b.info

    @property
    def opening(self) -> bool:
        """No window is known, or the last one has ended: the next request is a probe."""
        return self._b.info is None or self._b.rolled_at is not None

    @property
    def remaining(self) -> int:
        """The lowest ``X-Rate-Limit-Remaining`` seen in the current window."""
        return self._b.remaining

    @property
    def rtt(self) -> float:
        """The smoothed round trip, in seconds (0 before the first response)."""
        return self._b.rtt

    @property
    def end(self) -> float:
        """Burst pacing: local time at which the current window is taken to end."""
        return self._b.end

    @property
    def early(self) -> int:
        """Times a request went out before the window had really ended."""
        return self._b.early

    @property
    def window_length(self) -> float | None:
        """The window length learned from the headers, while it has not been caught short."""
        b = self._b
        return b.wlen if b.h_ok else None

    def local_time(self, server_epoch: float) -> float | None:
        """A server epoch time in local monotonic seconds; None before a ``Date`` is seen."""
        off_lo = self._b.off_lo
        return None if off_lo == -math.inf else server_epoch - off_lo + _END_MARGIN

    def block_until(self, when: float) -> None:
        """The shared budget says the window is spent until ``when`` (local time)."""
        self._b.blocked_until = when

    def shared_left(self, grants: int) -> None:
        """The shared budget's grants left in the window, as it last said."""
        self._b.shared_left = grants

    def learn_length(self, length: float) -> None:
        """Another client saw a window longer than this pacer's estimate; its end moves."""
        b = self._b
        if b.wlen is not None and length > b.wlen:
            b.wlen = length
            if b.end_by_start:
                end = b.first_recv + length
                info = b.info
                if info is not None:
                    # Never past Okta's Reset: windows end on it or before it (a length
                    # from the budget is someone else's word, and may be garbage).
                    if b.off_lo != -math.inf:
                        end = min(end, info.reset_at - b.off_lo)
                    else:
                        end = min(end, info.observed_at + info.reset_after)
                b.end = max(b.end, end + _END_MARGIN)

    def undo_grant(self, probe: bool) -> None:
        """Give back a local grant that the shared budget refused, and wake a waiter."""
        b = self._b
        b.in_flight = max(0, b.in_flight - 1)
        if probe:
            b.probing = False
        waiter = b.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class Permit:
    """One request's slot in a bucket, from :meth:`RateLimiter.slot`.

    ``async with limiter.slot(bucket, deadline) as permit:`` waits for the grant on entry
    and gives the slot back on exit, on every path (an error, a cancellation). What the
    response showed goes back with it: call :meth:`learn` before the block ends.

    Attributes:
        bucket: The rate-limit bucket.
        deadline: Monotonic seconds after which waiting raises ``TimeoutError``.
        sent_at: The grant time (set on entry).
        grant: What a shared budget granted with the slot (None for a local limiter).
    """

    __slots__ = (
        "_limiter",
        "_returned",
        "bucket",
        "deadline",
        "grant",
        "info",
        "refused",
        "sent_at",
    )

    def __init__(self, limiter: RateLimiter, bucket: str, deadline: float | None) -> None:
        self._limiter = limiter
        self.bucket = bucket
        self.deadline = deadline
        self.sent_at = 0.0
        self.grant: Any = None
        self.info: RateLimitInfo | None = None
        self.refused = False
        self._returned = True

    def learn(self, info: RateLimitInfo | None, rate_limited: bool = False) -> None:
        """What the response's headers showed; ``rate_limited`` for a 429 (see
        :meth:`RateLimiter.rate_limited`). Taken into account when the slot is returned.

        ``rate_limited`` may be passed by position too (the pipeline does: a keyword
        costs the call about 600 instructions)."""
        self.info = info
        self.refused = rate_limited and info is not None

    def take_now(self) -> bool:
        """Take the grant if no wait is needed; False when :meth:`take` must wait.

        The hot path of a local limiter: no coroutine when the bucket has room. A
        limiter that adds to each grant (a shared budget) always says False."""
        if not self._returned:
            return True
        limiter = self._limiter
        if not limiter._grants_locally or limiter.fleet_budget is not None:
            return False
        sent_at = limiter._grant_now(self.bucket)
        if sent_at is None:
            return False
        self.info, self.refused = None, False
        self.sent_at = sent_at
        self._returned = False
        return True

    async def take(self) -> Permit:
        """Wait for the grant, unless this permit holds it already; returns the permit.

        For a caller that must tell a pacing timeout from what its block raises:
        ``permit = await limiter.slot(b, d).take()``, then ``with permit:`` (or
        ``async with permit:``).

        Raises:
            TimeoutError: when the deadline passes while waiting.
        """
        if self._returned:
            self.info, self.refused = None, False
            await self._limiter._take(self)
            self._returned = False
        return self

    async def __aenter__(self) -> Permit:
        return await self.take()

    def __enter__(self) -> Permit:
        """Hold a permit already taken (:meth:`take`, :meth:`take_now`) until the block
        ends, without awaiting."""
        if self._returned:
            raise RuntimeError("take() the permit before entering it with a plain 'with'")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._returned:  # give_back, without its call
            self._returned = True
            if self.grant is None and not self.refused:  # what _give does then, directly
                self._limiter._settle(self.bucket, self.sent_at, self.info)
            else:
                self._limiter._give(self)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.give_back()

    def give_back(self) -> None:
        """Return the slot now (idempotent; the block's exit calls it)."""
        if not self._returned:
            self._returned = True
            self._limiter._give(self)


class RateLimiter:
    """Paces every call of one client from the X-Rate-Limit-* headers, per bucket.

    Common to both pacing modes:

    - Before headers are seen for a bucket, one probe request goes alone, and the others
      wait for what it learns.
    - Concurrent calls never spend more than the bucket's remaining budget: the budget is
      the lowest ``X-Rate-Limit-Remaining`` seen in the window minus the requests in flight,
      minus the headroom that ``max_capacity`` leaves for other integrations.
    - A concurrency 429 halves the in-flight cap; each success raises it by 1/cap (AIMD).
    - A waiting call that is cancelled holds nothing: slots are taken only when granted.
    - Waiting calls sleep until the window opens or a response changes what is known; the
      limiter never polls.

    ``pacing="burst"`` (the default) spends each window's budget as fast as the in-flight
    cap allows, then sleeps until the next window opens, which it knows to about a round
    trip: the server's clock is kept as an interval of offsets from the local clock that
    every response's ``Date`` narrows (a tick of ``Date`` between two responses pins it),
    and a window's end is the earlier of ``X-Rate-Limit-Reset`` in local time and, for
    windows that open at their first request, that request plus the window length read
    from its headers. The first request of each new window goes alone; if it is still
    counted in the old window the estimate is dropped for the safe one. When other
    processes spend the same bucket (``Remaining`` falls by more than this client's own
    requests), each window takes only this client's share of what remains.

    ``pacing="smooth"`` spreads the budget evenly across the time left in the window after
    a short burst (``burst_fraction`` of the limit), as earlier versions did: gentler on
    the org, but a job ends up to a window later.

    Args:
        max_capacity: Fraction (0, 1] of each bucket's limit this client may use.
        max_in_flight: Ceiling of the adaptive in-flight cap.
        burst_fraction: With ``pacing="smooth"``, the share of the limit that may go at
            once before spreading starts (default 0.2), so a few calls never wait.
        clock: Local monotonic clock; injectable for tests.
        pacing: ``"burst"`` or ``"smooth"``.
        assumed_share: Burst pacing: the share of a window this principal is taken to have
            until a response shows more (default 0.5, Okta's default for an API token or
            service app). Where the headers show the org's ceiling rather than the
            token's, this keeps the first window from bursting into a 429 for every
            request past the token's share: past it, one request goes at a time, and the
            first that succeeds lifts the assumption for good; a refused one teaches the
            real ceiling (:meth:`rate_limited`). 1.0 turns it off.
        fleet_budget: A budget shared with other processes (:class:`~.fleet.Budget`), which
            every grant also asks, and every response informs (``pacing="burst"``). None
            (the default): this client paces alone, from the headers.
    """

    def __init__(
        self,
        *,
        max_capacity: float = 1.0,
        max_in_flight: int = 64,
        burst_fraction: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        pacing: str = "burst",
        assumed_share: float = 0.5,
        fleet_budget: Budget | None = None,
    ) -> None:
        if not 0 < assumed_share <= 1:
            raise ValueError("assumed_share must be in (0, 1]")
        if not 0 < max_capacity <= 1:
            raise ValueError("max_capacity must be in (0, 1]")
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be >= 1")
        if pacing not in PACING_MODES:
            raise ValueError(f"pacing must be one of {PACING_MODES}, not {pacing!r}")
        self.max_capacity = max_capacity
        self.max_in_flight = max_in_flight
        self.burst_fraction = burst_fraction
        self.pacing = pacing
        self._burst = pacing == "burst"
        self.assumed_share = assumed_share
        #: The budget shared with other processes, or None (see :mod:`.fleet`).
        self.fleet_budget = fleet_budget
        # Grants of the fleet budget handed out by the public acquire(), by (bucket, grant
        # time), until their release() (slot() carries its grant in the permit instead).
        self._held: dict[tuple[str, float], list[Any]] = {}
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        #: Times a waiting call was woken (by a response or its timer); for tests.
        self.wakeups = 0
        #: Called with (bucket, seconds) when a call waited before its grant (observability).
        #: Kept for compatibility: :meth:`on_paced` takes any number of listeners.
        self.on_wait: Callable[[str, float], None] | None = None
        self._paced: list[Callable[[str, float], None]] = []
        #: Grants are this pacer's alone (no subclass adds to them): a permit may take
        #: one without a coroutine (:meth:`slot_now`, :meth:`Permit.take_now`). Whatever
        #: else must see every grant must leave this False; a ``fleet_budget`` (which
        #: may be set after construction) turns the fast path off as well.
        cls = type(self)
        self._grants_locally = cls._take is RateLimiter._take and cls.acquire is RateLimiter.acquire

    def on_paced(self, listener: Callable[[str, float], None]) -> Callable[[], None]:
        """Call ``listener(bucket, seconds)`` whenever a call waited before its grant.

        Returns:
            A function that removes the listener.
        """
        self._paced.append(listener)

        def remove() -> None:
            if listener in self._paced:
                self._paced.remove(listener)

        return remove

    def _tell_paced(self, bucket: str, waited: float) -> None:
        if self.on_wait is not None:
            self.on_wait(bucket, waited)
        for listener in self._paced:
            listener(bucket, waited)

    def _bucket(self, name: str) -> _Bucket:
        bucket = self._buckets.get(name)
        if bucket is None:
            bucket = self._buckets[name] = _Bucket(float(self.max_in_flight))
        return bucket

    def _state(self, name: str) -> BucketState:
        """The view of one bucket that a collaborator (a shared budget) works through."""
        return BucketState(self._bucket(name))

    # ---------------------------------------------------------------- reading

    def get(self, bucket: str) -> RateLimitInfo | None:
        """The latest window seen for a bucket (remaining: the lowest seen), or None."""
        b = self._buckets.get(bucket)
        if b is None or b.info is None:
            return None
        return attrs.evolve(b.info, remaining=b.remaining)

    def snapshot(self) -> dict[str, RateLimitInfo]:
        """The latest window of every bucket seen so far."""
        out = {}
        for name in self._buckets:
            info = self.get(name)
            if info is not None:
                out[name] = info
        return out

    def in_flight(self, bucket: str) -> int:
        """Requests of this client currently in flight in a bucket."""
        b = self._buckets.get(bucket)
        return 0 if b is None else b.in_flight

    def cap(self, bucket: str) -> int:
        """The current adaptive in-flight cap of a bucket."""
        b = self._buckets.get(bucket)
        return self.max_in_flight if b is None else max(1, int(b.cap))

    def window_end(self, bucket: str) -> float | None:
        """Burst pacing: local monotonic time at which the bucket's window is taken to end."""
        b = self._buckets.get(bucket)
        if b is None or b.info is None or not self._burst:
            return None
        return b.end

    def window_length(self, bucket: str) -> float | None:
        """The length of a bucket's window, as learned from the headers; None before one
        is known (the ETA of a bulk job uses it)."""
        b = self._buckets.get(bucket)
        if b is None:
            return None
        if self._burst:
            return b.wlen if b.h_ok else None
        return b.window_len if b.window_len is not None else b.first_reset_after or None

    def server_offset(self, bucket: str) -> tuple[float, float] | None:
        """Burst pacing: bounds of (server epoch - local monotonic), from ``Date`` headers."""
        b = self._buckets.get(bucket)
        if b is None or b.off_lo == -math.inf or not self._burst:
            return None
        return (b.off_lo, b.off_hi)

    def share(self, bucket: str) -> float:
        """Burst pacing: this client's estimated part of the bucket's traffic (1.0 alone)."""
        b = self._buckets.get(bucket)
        return 1.0 if b is None else b.share

    # ---------------------------------------------------------------- pacing

    def _headroom(self, limit: int) -> int:
        return int(limit * (1.0 - self.max_capacity) + 0.999999)

    def _wait_time(self, b: _Bucket, now: float) -> float | None:
        """0 to send now; seconds to wait; None to wait for a response."""
        if b.in_flight >= max(1, int(b.cap)):
            return None
        info = b.info
        if info is None:
            return None if b.in_flight else 0.0  # one probe at a time until headers arrive
        if self._burst:
            return self._wait_burst(b, info, now)
        return self._wait_smooth(b, info, now)

    # ---- burst

    def _wait_burst(self, b: _Bucket, info: RateLimitInfo, now: float) -> float | None:
        if b.rolled_at is None and now >= b.end:
            b.rolled_at = now  # the window has ended; its successor opens with one request
            b.probing = False
        if b.rolled_at is not None:
            # Nothing in flight: whatever answered the probe has come back.
            return None if b.probing and b.in_flight else 0.0
        headroom = self._headroom(info.limit)
        left = b.remaining - headroom
        fleet = self.fleet_budget
        if fleet is not None and fleet.deciding:
            if now < b.blocked_until:
                return b.blocked_until - now
            if left - b.in_flight <= 0:
                return b.end - now
            # shared_left: what the fleet has left of the window, as last seen (counted
            # only against a confirmed cap): at 0, the window is spent for everyone.
            return 0.0 if b.shared_left > 0 else b.end - now
        usable = left
        share = self._share_now(b)
        spent = b.own - b.own_zero + 1 if b.own_zero > 1 else b.own
        if share < 1.0:
            if b.windows <= 1:
                # Shares seen so far in the window are rough: keep a margin.
                usable = int(left * share * 0.7)
            else:
                # Our quota of the window, by our part of the last one.
                usable = min(left, int(share * (info.limit - headroom)) - spent)
        if b.ceiling is not None:
            usable = min(usable, b.ceiling - (b.own - b.refused))
        elif not b.more_shown and self.assumed_share < 1.0:
            succeeded = b.own - b.refused
            assumed = max(1, math.ceil(self.assumed_share * (info.limit - headroom)))
            if succeeded > assumed:
                b.more_shown = True  # the headers are this principal's own: no assumption
            else:
                # Past the assumed share, one request at a time until one succeeds.
                usable = min(usable, max(assumed - succeeded, 1))
        if b.windows <= 1 and usable > max(2 * b.own, left // 4):
            # The first window: a quarter at once, then ramp up (doubling per response
            # round), so that processes that start together see each other in Remaining
            # before they have spent it.
            usable = max(2 * b.own, left // 4)
        if usable - b.in_flight > 0:
            return 0.0
        if share < 1.0 and left > 0:
            # What the quotas leave (rounding, a process that has finished) goes one
            # request at a time in the second half of the window, or the window loses it.
            others = info.limit - b.remaining - spent
            late = b.first_recv + 0.2 * (b.end - b.first_recv)
            if now < late and others < (1.0 - share) * (info.limit - headroom):
                return late - now
            if b.in_flight == 0:
                return 0.0
            return None
        return b.end - now

    @staticmethod
    def _share_now(b: _Bucket) -> float:
        """Our part of the bucket's traffic: in the last window (all of it); in the first
        window, since our first response."""
        if b.quiet >= 5:
            return 1.0  # nobody else is spending the bucket now
        if b.windows <= 1:
            used = b.first_rem - b.remaining
            if used >= 3:
                share = (b.own - 1) / used
                return 1.0 if share > 0.9 else max(share, 0.02)
        return b.share

    def _end(self, b: _Bucket, info: RateLimitInfo) -> float:
        if b.off_lo != -math.inf:
            end = info.reset_at - b.off_lo
        else:
            end = info.observed_at + info.reset_after
        b.end_by_start = False
        if b.h_ok and b.wlen is not None and b.first_recv + b.wlen < end:
            end = b.first_recv + b.wlen
            b.end_by_start = True
        return end + _END_MARGIN

    def _observe_burst(
        self, b: _Bucket, info: RateLimitInfo, sent_at: float | None, now: float
    ) -> None:
        recv = info.observed_at
        date = info.reset_at - info.reset_after
        if info.reset_after > 0:
            # The server answered between sent_at and recv, at a time in [Date, Date + 1).
            lo = date - recv
            hi = date + 1.0 - sent_at if sent_at is not None else math.inf
            if lo > b.off_hi or hi < b.off_lo:
                b.off_lo, b.off_hi = lo, hi  # the server's clock was stepped
            else:
                b.off_lo = max(b.off_lo, lo)
                b.off_hi = min(b.off_hi, hi)
        current = b.info
        if (
            current is not None
            and info.reset_at < current.reset_at
            and (b.rolled_at is None or sent_at is None or sent_at < b.rolled_at)
        ):
            # A response from an older window arrived late. (One sent after the window was
            # taken to have ended is the server's clock stepping back: its window is new.)
            return
        if info.reset_after > 0:
            # If windows open at their first request and last a whole number of seconds,
            # then Reset = ceil(open + length), and Date = floor(open) in the window's
            # first second: the largest Reset - Date - 1 seen is the length.
            length = info.reset_at - date - 1.0
            if length >= 1.0 and (b.wlen is None or length > b.wlen):
                b.wlen = length
        if current is not None and info.reset_at == current.reset_at:
            b.info = info
            if info.remaining < b.remaining:
                if b.remaining - info.remaining > 1:
                    b.quiet = 0  # Remaining fell by more than this response: other traffic
                elif b.in_flight == 0:
                    b.quiet += 1  # our only request, and nobody else's in between
                b.remaining = info.remaining
            b.own += 1
            if info.remaining == 0:
                b.own_zero += 1
            b.first_recv = min(b.first_recv, recv)
            if b.rolled_at is not None and sent_at is not None and sent_at >= b.rolled_at:
                # Sent after we took the window to have ended, yet counted in it: early.
                if b.end_by_start and b.wlen is not None:
                    b.wlen += 1.0  # windows aligned to the clock, or not whole seconds
                    if b.early >= 2:
                        b.h_ok = False
                elif info.reset_after > 0:
                    b.off_lo, b.off_hi = date - recv, date + 1.0 - sent_at
                b.early += 1
                b.rolled_at = None
                b.probing = False
                backoff = 0.05 * 2 ** min(b.early, 6)
                b.end = max(self._end(b, info), now + backoff)
            return
        # A new window (or the first).
        if current is not None:
            used = current.limit - b.remaining
            if used >= 3:
                # Responses with Remaining 0 after the first were 429s: not our share.
                share = (b.own - max(0, b.own_zero - 1)) / used
                b.share = 1.0 if share > 0.9 else max(share, 0.02)
        b.windows += 1
        b.info = info
        b.remaining = b.first_rem = info.remaining
        b.own = 1
        b.refused = 0
        b.quiet = 0
        b.own_zero = 1 if info.remaining == 0 else 0
        b.first_recv = recv
        b.rolled_at = None
        b.probing = False
        b.shared_left = 1 << 30
        b.end = self._end(b, info)

    # ---- smooth

    def _wait_smooth(self, b: _Bucket, info: RateLimitInfo, now: float) -> float | None:
        if now >= b.end_est and not b.synthetic:
            # The window should have reset; act on it until a response shows the new one.
            b.synthetic = True
            b.remaining = info.limit
            b.start_est = b.end_est
            length = b.window_len if b.window_len is not None else b.first_reset_after
            b.end_est = b.end_est + max(length, 0.001) + b.rtt
            b.next_send = now
        budget = b.remaining - self._headroom(info.limit) - b.in_flight
        if budget <= 0:
            if now >= b.end_est and b.in_flight:
                return None  # past the assumed end: wait for a response, do not poll
            return max(b.end_est - now, 0.001)
        # Spread the budget over the time left (a GCRA schedule), but let a short burst
        # through first, so that a handful of calls never waits. No burst into a window
        # that no response has confirmed yet.
        tolerance = 0.0
        if not b.synthetic:
            burst = max(1, int(info.limit * self.burst_fraction))
            tolerance = (burst - 1) * self._interval(b, now, budget)
        if now < b.next_send - tolerance:
            return b.next_send - tolerance - now
        return 0.0

    @staticmethod
    def _interval(b: _Bucket, now: float, budget: int) -> float:
        left = b.end_est - now
        return left / budget if left > 0 and budget > 0 else 0.0

    def _grant(self, b: _Bucket, now: float) -> float:
        if self._burst:
            if b.rolled_at is not None:
                b.probing = True
        elif b.info is not None:
            budget = b.remaining - self._headroom(b.info.limit) - b.in_flight
            b.next_send = max(b.next_send, now) + self._interval(b, now, budget)
        b.in_flight += 1
        b.last_grant = now
        return now

    def slot(self, bucket: str, deadline: float | None = None) -> Permit:
        """A slot in ``bucket``: ``async with limiter.slot(bucket, deadline) as permit:``.

        Entering waits for the grant (``TimeoutError`` when ``deadline``, monotonic
        seconds, passes first); leaving returns it with what :meth:`Permit.learn` saw.
        """
        return Permit(self, bucket, deadline)

    def slot_now(self, bucket: str, deadline: float | None = None) -> Permit | None:
        """A permit already taken, when a request may go in ``bucket`` at once; None when
        it must wait (then ``await limiter.slot(bucket, deadline).take()``).

        The hot path, without a coroutine. A limiter that adds to its grants (a shared
        budget) always says None."""
        if not self._grants_locally or self.fleet_budget is not None:
            return None
        b = self._bucket(bucket)
        now = self._clock()
        if b.lock.locked() or self._wait_time(b, now) != 0.0:
            return None
        permit = Permit(self, bucket, deadline)
        permit.sent_at = self._grant(b, now)
        permit._returned = False
        return permit

    def _grant_now(self, bucket: str) -> float | None:
        """The grant time when a request may go in ``bucket`` at once, else None."""
        b = self._bucket(bucket)
        now = self._clock()
        if not b.lock.locked() and self._wait_time(b, now) == 0.0:
            return self._grant(b, now)
        return None

    async def _take(self, permit: Permit) -> None:
        """Grant ``permit`` (sets its ``sent_at``, and its ``grant`` from a fleet budget)."""
        fleet = self.fleet_budget
        if fleet is None:
            permit.sent_at = await self._pace(permit.bucket, permit.deadline)
        else:
            await self._take_shared(permit, fleet)

    async def _take_shared(self, permit: Permit, fleet: Budget) -> None:
        """The local grant, then the fleet budget's; until both agree or the deadline."""
        bucket, deadline = permit.bucket, permit.deadline
        while True:
            permit.sent_at = await self._pace(bucket, deadline)
            permit.grant = None
            state = self._state(bucket)
            probe = state.opening
            try:
                answer = await fleet.reserve(bucket, state, deadline)
            except BaseException:
                state.undo_grant(probe)
                raise
            if not answer.refused:
                permit.grant = answer.grant
                return
            state.undo_grant(probe)
            if deadline is not None and self._clock() + answer.wait >= deadline:
                raise TimeoutError("the deadline passed while waiting for the shared budget")
            if answer.wait > 0:
                await asyncio.sleep(answer.wait)

    def _give(self, permit: Permit) -> None:
        """Return ``permit``'s slot and learn what it saw."""
        info = permit.info
        fleet = self.fleet_budget
        if fleet is not None and permit.grant is not None:
            self._give_shared(fleet, permit.bucket, permit.sent_at, permit.grant, info,
                              refused=permit.refused)  # fmt: skip
            return
        self._settle(permit.bucket, permit.sent_at, info)
        if permit.refused and info is not None:
            self._refused(permit.bucket, info)

    def _give_shared(
        self,
        fleet: Budget,
        bucket: str,
        sent_at: float,
        grant: Any,
        info: RateLimitInfo | None,
        *,
        refused: bool,
    ) -> None:
        """The local release, then the fleet budget learns what the response showed."""
        state = self._state(bucket)
        early = state.early
        self._settle(bucket, sent_at, info)
        refused = refused and info is not None
        if refused and info is not None:
            self._refused(bucket, info)
        fleet.learn(bucket, grant, state, info, refused=refused, early=state.early > early)

    async def acquire(self, bucket: str, deadline: float | None = None) -> float:
        """Wait until a request may be sent in ``bucket``; returns the grant time.

        Every successful acquire must be matched by one :meth:`release`; :meth:`slot`
        pairs them for you.

        Raises:
            TimeoutError: when ``deadline`` (monotonic seconds) passes while waiting.
        """
        fleet = self.fleet_budget
        if fleet is None:
            return await self._pace(bucket, deadline)
        permit = Permit(self, bucket, deadline)
        await self._take_shared(permit, fleet)
        if permit.grant is not None:
            self._held.setdefault((bucket, permit.sent_at), []).append(permit.grant)
        return permit.sent_at

    async def _pace(self, bucket: str, deadline: float | None) -> float:
        """The local pacer's grant (the headers only); returns the grant time."""
        b = self._bucket(bucket)
        now = self._clock()
        if not b.lock.locked() and self._wait_time(b, now) == 0.0:
            return self._grant(b, now)
        started = now
        async with b.lock:
            loop = asyncio.get_running_loop()
            while True:
                now = self._clock()
                wait = self._wait_time(b, now)
                if wait == 0.0:
                    if self.on_wait is not None or self._paced:
                        self._tell_paced(bucket, now - started)
                    return self._grant(b, now)
                if deadline is not None:
                    left = deadline - now
                    if left <= 0:
                        raise TimeoutError("the deadline passed while waiting for rate limit")
                    wait = left if wait is None else min(wait, left)
                # Sleep until the timer or a release, whichever comes first.
                fut = b.waiter = loop.create_future()
                timer = None if wait is None else loop.call_later(max(wait, 0.0), _wake, fut)
                try:
                    await fut
                finally:
                    b.waiter = None
                    if timer is not None:
                        timer.cancel()
                self.wakeups += 1

    async def aclose(self) -> None:
        """Let go of shared state (a fleet budget's connection); a local limiter has none."""
        if self.fleet_budget is not None:
            await self.fleet_budget.aclose()

    def release(
        self,
        bucket: str,
        *,
        sent_at: float,
        info: RateLimitInfo | None,
    ) -> None:
        """Return a slot, and learn from the response's headers (None when there were none)."""
        held = self._held.get((bucket, sent_at)) if self._held else None
        if not held or self.fleet_budget is None:
            self._settle(bucket, sent_at, info)
            return
        grant = held.pop(0)
        if not held:
            del self._held[(bucket, sent_at)]
        self._give_shared(self.fleet_budget, bucket, sent_at, grant, info, refused=False)

    def _settle(self, bucket: str, sent_at: float, info: RateLimitInfo | None) -> None:
        """The local pacer's release: the slot back, and what the headers showed."""
        b = self._bucket(bucket)
        if b.in_flight > 0:
            b.in_flight -= 1
        now = self._clock()
        sample = now - sent_at
        b.rtt = sample if b.rtt == 0.0 else 0.8 * b.rtt + 0.2 * sample
        if info is not None and not info.is_concurrency_signal:
            cap = b.cap
            if cap < self.max_in_flight:
                cap += 1.0 / cap if cap > 1.0 else 1.0
                b.cap = cap if cap < self.max_in_flight else float(self.max_in_flight)
            if self._burst:
                self._observe_burst(b, info, sent_at, now)
            else:
                self._observe(b, info, sent_at)
        else:
            if info is not None:
                b.cap = max(1.0, b.cap / 2.0)
            if b.rolled_at is not None:
                b.probing = False  # the new window's first request told nothing: another
        waiter = b.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def rate_limited(self, bucket: str, info: RateLimitInfo) -> None:
        """Learn from a rate-limit 429, after its :meth:`release`.

        A 429 whose ``X-Rate-Limit-Remaining`` still shows budget above this client's
        headroom means the org's bucket was not spent, this principal's part of it was
        (the headers show the org's ceiling, not the token's): from then on each window
        takes at most as many requests as this one had succeeded when the 429 came.
        """
        self._refused(bucket, info)
        if self.fleet_budget is not None:
            self.fleet_budget.rate_limited(bucket, info)

    def _refused(self, bucket: str, info: RateLimitInfo) -> None:
        """The local pacer's side of :meth:`rate_limited`."""
        b = self._bucket(bucket)
        if info.is_concurrency_signal or b.info is None or info.reset_at != b.info.reset_at:
            return
        b.refused += 1
        if info.remaining > self._headroom(info.limit):
            ok = b.own - b.refused
            b.ceiling = max(1, ok if b.ceiling is None else min(b.ceiling, ok))

    def ceiling(self, bucket: str) -> int | None:
        """Burst pacing: this principal's per-window ceiling, once a 429 has shown it."""
        b = self._buckets.get(bucket)
        return None if b is None else b.ceiling

    def observe(self, bucket: str, info: RateLimitInfo, sent_at: float | None = None) -> None:
        """Record headers seen outside :meth:`acquire`/:meth:`release` (e.g. a token call)."""
        if info.is_concurrency_signal:
            return
        b = self._bucket(bucket)
        if self._burst:
            self._observe_burst(b, info, sent_at, self._clock())
        else:
            self._observe(b, info, info.observed_at if sent_at is None else sent_at)
        waiter = b.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _observe(self, b: _Bucket, info: RateLimitInfo, sent_at: float) -> None:
        current = b.info
        if current is not None and info.reset_at < current.reset_at:
            return  # a response from an older window arrived late
        if current is not None and info.reset_at == current.reset_at:
            if b.synthetic:
                if b.start_est is None or sent_at < b.start_est:
                    return  # sent before the assumed reset: the old window, written off
                # Sent after we assumed the reset, yet still the old window: we were early.
                b.synthetic = False
                b.remaining = info.remaining
                b.info = info
                b.end_est = info.observed_at + info.reset_after
                if b.window_len is not None:
                    b.window_len *= 1.05
                return
            b.remaining = min(b.remaining, info.remaining)
            b.info = info
            if b.start_est is not None and sent_at < b.start_est:
                b.start_est = sent_at
            return
        # A new window.
        previous_start = None if (current is None or b.synthetic) else b.start_est
        if previous_start is not None and sent_at > previous_start:
            observed = sent_at - previous_start
            b.window_len = observed if b.window_len is None else min(b.window_len, observed)
        if b.window_len is not None:
            b.window_len = max(b.window_len, info.reset_after - 1.0)
        b.info = info
        b.remaining = info.remaining
        b.synthetic = False
        b.start_est = sent_at
        b.first_reset_after = info.reset_after
        header_end = info.observed_at + info.reset_after
        if b.window_len is not None:
            b.end_est = min(header_end, sent_at + b.window_len + b.rtt)
        else:
            b.end_est = header_end
        b.next_send = min(b.next_send, info.observed_at)
