"""One rate budget across processes, on Redis: ``OktaClient(..., shared_budget=URL)``.

Every client with the same org, bucket and principal (a hash of the credential, or an OAuth
client id; never the credential) draws its grants from Redis:

- one counter per rate-limit window, keyed by Okta's ``X-Rate-Limit-Reset``, which all
  processes read from the same headers; every response's ``Limit - Remaining`` raises the
  counter to what Okta counted, because other integrations spend the same bucket;
- one concurrency semaphore whose slots are leases with a time-to-live, so that a worker
  killed with SIGKILL holds none for longer than a request can run;
- the first request of each new window goes out as a probe (counted apart until its
  answer shows the new window), as in local burst pacing.

The local pacer still tracks each window's end from the ``Date`` and ``Reset`` headers and
sleeps until it; Redis only says how much of the window is left to the whole fleet. If
Redis does not answer (down, restarted, unreachable), the client goes on pacing locally
from the headers, with one warning per outage, and tries Redis again every few seconds.

The Lua scripts run atomically on the server, with the server's clock (``TIME``) for the
leases, so the processes' clocks need not agree. All keys of one principal share a Redis
Cluster hash tag.

Requires the ``redis`` extra: ``pip install 'okta-connections[redis]'``.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
import math
import os
import time
import urllib.parse
from typing import TYPE_CHECKING, Any

import attrs

from .errors import ConfigurationError
from .ratelimit import RateLimiter, RateLimitInfo

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["SharedBudget"]

logger = logging.getLogger("okta_connections")

_SCHEMES = ("redis", "rediss", "unix")
#: Longest a pacer blocks on what the shared budget said (an hour: Okta's longest window).
_MAX_BLOCK = 3600.0

# KEYS: leases (zset), probes in flight, "shown", ceiling, newest window seen, probe hold,
#       the newest window's limit, the window length learned (ms)
# ARGV: 1 lease id, 2 lease ttl ms, 3 max concurrency, 4 full cap (0: no headers yet),
#       5 assumed cap, 6 window key ttl s, 7 the caller's window (its Reset; 0: none),
#       8 the window counters' key prefix, 9 1 if the caller takes the window to be over,
#       10 the caller's max_capacity, 11 its assumed share
# Every answer ends with the window length (ms) that an early probe taught (0: none).
# Returns {1, n, window, left}: granted, the n-th of the window (window 0: a probe), with
# `left` grants left in it (2^30 while the assumed share is unconfirmed); {0, held, 0, 0}:
# every concurrency slot is leased; {-1, used, window, final}: the window is spent
# (final 0: only up to the assumed share, which a grant past it may still lift);
# {-2, ms, 0, 0}: another client's probe is out (or held back for ms): wait for its answer.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
local wl = tonumber(redis.call('GET', KEYS[8]) or '0')
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZCARD', KEYS[1])
if held >= tonumber(ARGV[3]) then
  return {0, held, 0, 0, wl}
end
local probes = tonumber(redis.call('GET', KEYS[2]) or '0')
local full = tonumber(ARGV[4])
local window = tonumber(ARGV[7])
local probe = ARGV[9] == '1' or full <= 0
local newest = tonumber(redis.call('GET', KEYS[5]) or '0')
local assumed = tonumber(ARGV[5])
if full <= 0 and newest > 0 then
  -- A client with no headers yet, where others know the window: their limit, its caps.
  local limit = tonumber(redis.call('GET', KEYS[7]) or '0')
  if limit > 0 then
    full = math.max(1, limit - math.ceil(limit * (1 - tonumber(ARGV[10])) - 0.000001))
    assumed = full
    if tonumber(ARGV[11]) < 1 then
      assumed = math.max(1, math.ceil(tonumber(ARGV[11]) * full)) + 1
    end
  end
end
if full > 0 and newest > window then
  window = newest  -- another client has seen a newer window: draw on it, no probe
  probe = false
end
if probe then
  -- One probe at a time for the whole fleet, none while a probe that came too early
  -- holds the rest back: {-2, ms to wait}.
  local hold = redis.call('PTTL', KEYS[6])
  if hold > 0 then
    return {-2, hold, 0, 0, wl}
  end
  if probes > 0 then
    return {-2, 0, 0, 0, wl}
  end
  local n = redis.call('INCR', KEYS[2])
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], 2 * ttl)
  return {1, n, 0, 1073741824, wl}
end
local cap = full
local final = 1
if redis.call('EXISTS', KEYS[3]) == 0 and assumed < cap then
  cap = assumed
  final = 0
end
local ceiling = redis.call('GET', KEYS[4])
if ceiling and tonumber(ceiling) < cap then
  cap = tonumber(ceiling)
  final = 1
end
local key = ARGV[8] .. string.format('%d', window)
local used = tonumber(redis.call('GET', key) or '0')
if used + probes >= cap then
  return {-1, used + probes, window, final, wl}
end
local n = redis.call('INCR', key) + probes
redis.call('EXPIRE', key, ARGV[6])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], 2 * ttl)
if final == 0 then
  return {1, n, window, 1073741824, wl}
end
return {1, n, window, cap - n, wl}
"""

# KEYS: leases, the answered window's counter, probes, "shown", ceiling, newest window,
#       probe hold
# ARGV: 1 lease id, 2 Limit - Remaining seen (-1: no headers), 3 1 if the grant was a
#       probe, 4 window key ttl s, 5 1 if a grant past the assumed share succeeded,
#       6 a ceiling (-1: none), 7 the answered window (its Reset), 8 ms to hold the
#       fleet's next probe back (a probe that came before the window's end), or 0,
#       9 the answered window's limit, 10 the window length learned from an early probe
#       (ms; 0: none)
_GIVE = """
redis.call('ZREM', KEYS[1], ARGV[1])
local seen = tonumber(ARGV[2])
if ARGV[3] == '1' then
  if redis.call('DECR', KEYS[3]) < 0 then
    redis.call('SET', KEYS[3], 0)
  end
  if seen >= 0 then
    -- The probe was counted apart until now: it joins the window it landed in.
    redis.call('INCR', KEYS[2])
    redis.call('EXPIRE', KEYS[2], ARGV[4])
  end
end
if seen >= 0 then
  local used = tonumber(redis.call('GET', KEYS[2]) or '0')
  if seen > used then
    redis.call('SET', KEYS[2], seen, 'EX', ARGV[4])
  end
  local newest = tonumber(redis.call('GET', KEYS[6]) or '0')
  if tonumber(ARGV[7]) > newest then
    redis.call('SET', KEYS[6], ARGV[7], 'EX', 3600)
    redis.call('SET', KEYS[8], ARGV[9], 'EX', 3600)
  end
end
if ARGV[5] == '1' then
  redis.call('SET', KEYS[4], '1', 'EX', 86400)
  redis.call('DEL', KEYS[5])
end
if tonumber(ARGV[8]) > 0 then
  redis.call('SET', KEYS[7], '1', 'PX', ARGV[8])
end
local wl = tonumber(ARGV[10])
if wl > tonumber(redis.call('GET', KEYS[9]) or '0') then
  redis.call('SET', KEYS[9], wl, 'EX', 86400)
end
local ceiling = tonumber(ARGV[6])
if ceiling >= 1 then
  local known = redis.call('GET', KEYS[5])
  if (not known) or tonumber(known) > ceiling then
    redis.call('SET', KEYS[5], ceiling, 'EX', 3600)
  end
end
return 1
"""


def _display(url: str) -> str:
    """The URL with its password masked, for reprs and log lines."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def check_budget_url(url: object) -> str:
    """Validate a ``shared_budget`` URL before anything connects; returns it."""
    if not isinstance(url, str) or not url.strip():
        raise ConfigurationError(
            "shared_budget", "must be a Redis URL such as redis://localhost:6379/0"
        )
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigurationError(
            "shared_budget", f"is not a valid URL: {_display_unparsed(url)}"
        ) from None
    if parts.scheme not in _SCHEMES:
        raise ConfigurationError(
            "shared_budget",
            f"must start with redis://, rediss:// or unix://, not {parts.scheme or '(none)'}://",
        )
    if parts.scheme != "unix" and not parts.hostname:
        raise ConfigurationError("shared_budget", "names no host: redis://HOST:6379/0")
    if port == 0:
        raise ConfigurationError("shared_budget", "port 0 is not a Redis port")
    db = parts.path.strip("/")
    if parts.scheme != "unix" and db and not db.isdigit():
        raise ConfigurationError(
            "shared_budget", f"the database must be a number (redis://host:6379/0), not {db!r}"
        )
    return url


def _display_unparsed(url: str) -> str:
    """A URL that does not parse: show its scheme only (it may hold a password)."""
    scheme = url.split(":", 1)[0] if ":" in url else ""
    return f"{scheme}://..." if scheme.isalpha() else "(not shown)"


class SharedBudget:
    """A Redis server that several clients' pacers share (see the module's docs).

    Usually made for you from ``OktaClient(..., shared_budget="redis://host:6379/0")``;
    make one yourself to set its options.

    Args:
        url: ``redis://[user:password@]host:port/db``, ``rediss://`` (TLS) or
            ``unix:///path/redis.sock``. The password is a secret: never shown.
        key_prefix: Prefix of every key (default ``okta-connections``).
        timeout: Seconds to wait for Redis on each operation before pacing locally
            (default 0.5).
        retry_after: Seconds between attempts to reach Redis again after it failed
            (default 5).

    Raises:
        ConfigurationError: the URL is unusable, or the ``redis`` package is missing.
    """

    def __init__(
        self,
        url: str,
        *,
        key_prefix: str = "okta-connections",
        timeout: float = 0.5,
        retry_after: float = 5.0,
    ) -> None:
        self._url = check_budget_url(url)
        if not isinstance(key_prefix, str) or not key_prefix or "{" in key_prefix:
            raise ConfigurationError("key_prefix", "must be a non-empty string without braces")
        for name, value in (("timeout", timeout), ("retry_after", retry_after)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigurationError(name, f"must be a positive number, not {value!r}")
        try:
            import redis.asyncio  # noqa: F401  (checked now, used on first request)
        except ImportError:
            raise ConfigurationError(
                "shared_budget", "needs the redis extra: pip install 'okta-connections[redis]'"
            ) from None
        self.key_prefix = key_prefix
        self.timeout = float(timeout)
        self.retry_after = float(retry_after)
        self._client: Any = None
        self._take: Any = None
        self._give: Any = None

    def __repr__(self) -> str:
        return f"SharedBudget({self.display!r})"

    @property
    def display(self) -> str:
        """The URL with its password masked."""
        return _display(self._url)

    @property
    def password(self) -> str | None:
        """The URL's password (a secret), for redaction."""
        try:
            return urllib.parse.urlsplit(self._url).password
        except ValueError:
            return None

    def _redis(self) -> Any:
        if self._client is None:
            import redis.asyncio as aioredis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            self._client = aioredis.Redis.from_url(
                self._url,
                socket_timeout=self.timeout,
                socket_connect_timeout=self.timeout,
                retry=Retry(NoBackoff(), 0),
                health_check_interval=0,
            )
            self._take = self._client.register_script(_TAKE)
            self._give = self._client.register_script(_GIVE)
        return self._client

    async def take(self, keys: list[str], args: list[object]) -> tuple[int, int, int, int, int]:
        """Run the grant script; raises whatever redis-py raises."""
        self._redis()
        out = await asyncio.wait_for(self._take(keys=keys, args=args), self.timeout * 2)
        verdict, n, window, extra, wlen_ms = (int(v) for v in out)
        return verdict, n, window, extra, wlen_ms

    async def give(self, keys: list[str], args: list[object]) -> None:
        """Run the release script; raises whatever redis-py raises."""
        self._redis()
        await asyncio.wait_for(self._give(keys=keys, args=args), self.timeout * 2)

    async def aclose(self) -> None:
        """Close the connection pool (idempotent)."""
        client, self._client = self._client, None
        if client is not None:
            try:
                await client.aclose()
            except Exception:  # closing a broken connection is not a failure
                logger.debug("shared budget: closing the Redis connection failed")


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


#: The grant of the current task's request, between acquire and release (one task makes
#: one request at a time, so a context variable pairs them without a lookup table).
_grant: contextvars.ContextVar[_Grant | None] = contextvars.ContextVar(
    "okta_connections_grant", default=None
)


class SharedRateLimiter(RateLimiter):
    """A burst pacer whose windows' budgets and concurrency come from a :class:`SharedBudget`.

    Args:
        budget: The Redis server.
        org_url: The org (part of every key, hashed).
        principal: Who Okta counts the calls against (see :attr:`Auth.principal`).
        lease_ttl: Seconds a concurrency slot is held at most (a request's longest run).
        **kwargs: As for :class:`RateLimiter` (``pacing`` must be ``"burst"``).
    """

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
        super().__init__(clock=clock, **kwargs)
        self.budget = budget
        digest = hashlib.sha256(f"{org_url}\n{principal}".encode()).hexdigest()[:32]
        self._base = f"{budget.key_prefix}:{{{digest}}}"
        self._lease_ms = max(1000, int(lease_ttl * 1000))
        self._shared = True
        self._down = False
        self._retry_at = 0.0
        self._tasks: set[asyncio.Task[None]] = set()
        self._serial = 0
        self._token = os.urandom(6).hex()
        #: Outages seen (Redis not answering); for tests and diagnostics.
        self.outages = 0

    def __repr__(self) -> str:
        return f"SharedRateLimiter({self.budget!r})"

    def _counter(self, bucket: str, window: float | None) -> str:
        return f"{self._base}:{bucket}:w:{int(window) if window is not None else 'none'}"

    def _keys(self, bucket: str) -> list[str]:
        """The grant script's keys: leases, probes, shown, ceiling, newest window, hold."""
        base = f"{self._base}:{bucket}"
        names = ("leases", "probes", "shown", "ceiling", "newest", "hold", "limit", "wlen")
        return [f"{base}:{name}" for name in names]

    def _caps(self, info: RateLimitInfo | None) -> tuple[int, int]:
        if info is None:
            return 0, -1
        headroom = self._headroom(info.limit)
        full = max(1, info.limit - headroom)
        if self.assumed_share >= 1.0:
            return full, full
        # Past the assumed share, one grant more per window until one succeeds.
        return full, max(1, math.ceil(self.assumed_share * full)) + 1

    def _went_down(self, exc: BaseException) -> None:
        self._shared = False
        self._retry_at = self._clock() + self.budget.retry_after
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

    def _came_back(self) -> None:
        if self._down:
            self._down = False
            logger.info(
                "shared budget %s answers again; pacing on it",
                self.budget.display,
                extra={"shared_budget": self.budget.display},
            )

    async def acquire(self, bucket: str, deadline: float | None = None) -> float:
        """Wait for the local pacer, then for a grant of the shared budget."""
        while True:
            sent_at = await super().acquire(bucket, deadline)
            _grant.set(None)
            if self._down:
                if self._clock() < self._retry_at:
                    return sent_at
                self._shared = True  # try Redis again with this request
            b = self._bucket(bucket)
            info = b.info
            probe = info is None or b.rolled_at is not None
            full, assumed = self._caps(info)
            mine = int(info.reset_at) if info is not None else 0
            self._serial += 1
            lease = f"{self._token}:{self._serial}"
            ttl_s = int(info.reset_after) + 60 if info is not None else 120
            try:
                verdict, n, window, extra, wlen_ms = await self.budget.take(
                    self._keys(bucket),
                    [
                        lease,
                        self._lease_ms,
                        self.max_in_flight,
                        full,
                        assumed,
                        ttl_s,
                        mine,
                        f"{self._base}:{bucket}:w:",
                        1 if probe else 0,
                        self.max_capacity,
                        self.assumed_share,
                    ],
                )
            except asyncio.CancelledError:
                self._undo(b, probe)
                raise
            except Exception as exc:  # redis-py's errors, OSError, a timeout: go local
                self._went_down(exc)
                return sent_at
            self._came_back()
            if wlen_ms:
                self._learn_length(b, wlen_ms / 1000.0)
            if verdict == 1:
                if window:
                    b.shared_left = extra
                _grant.set(_Grant(lease, n, window == 0, window or None, assumed))
                return sent_at
            self._undo(b, probe)
            now = self._clock()
            wait = 0.0
            if verdict == -1 and extra == 1:
                # The fleet has spent this window: sleep to its end (the newer window's,
                # by the server clock, when another client has seen one we have not).
                end: float | None = None
                if window > mine:
                    if b.off_lo != -math.inf:
                        end = window - b.off_lo + 0.001
                elif b.end != math.inf:
                    end = b.end
                if end is not None and now < end < now + _MAX_BLOCK:
                    b.blocked_until = end
                else:
                    wait = 0.05  # no clock to convert its end with yet: look again soon
            elif verdict == -2 and n > 0:
                wait = n / 1000.0  # an early probe holds the fleet back until then
            else:
                # All concurrency slots are leased, another client's probe or a grant past
                # the assumed share is out: each comes back within a round trip.
                wait = min(0.05, max(0.005, b.rtt / 2))
            if deadline is not None and now + wait >= deadline:
                raise TimeoutError("the deadline passed while waiting for the shared budget")
            if wait:
                await asyncio.sleep(wait)

    @staticmethod
    def _learn_length(b: Any, length: float) -> None:
        """Another client's probe came before a window's end: its length is longer than
        this pacer's estimate (see RateLimiter's burst pacing), so the end moves too."""
        if b.wlen is not None and length > b.wlen:
            b.wlen = length
            if b.end_by_start:
                b.end = max(b.end, b.first_recv + length + 0.001)

    def _undo(self, b: Any, probe: bool) -> None:
        """Give back a local grant that the shared budget refused."""
        b.in_flight = max(0, b.in_flight - 1)
        if probe:
            b.probing = False
        waiter = b.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def release(self, bucket: str, *, sent_at: float, info: RateLimitInfo | None) -> None:
        """Return the local slot, and the lease with what the headers showed to Redis."""
        grant = _grant.get()
        if grant is None:
            super().release(bucket, sent_at=sent_at, info=info)
            return
        _grant.set(None)
        b = self._bucket(bucket)
        early = b.early
        super().release(bucket, sent_at=sent_at, info=info)
        if grant.probe and b.early > early:
            # This probe was still counted in the old window: the local pacer has pushed
            # its estimate of the window's end back; hold the fleet's probes until then.
            hold = min(b.end - self._clock(), _MAX_BLOCK)
            grant.hold_ms = max(1, int(hold * 1000))
            grant.wlen_ms = int(b.wlen * 1000) if b.wlen is not None and b.h_ok else 0
        # A task, as release is synchronous. Its first step runs on a later turn of the
        # loop, so after this call's rate_limited() (on a 429), which marks it refused.
        task = asyncio.get_running_loop().create_task(self._give_back(bucket, grant, info))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def rate_limited(self, bucket: str, info: RateLimitInfo) -> None:
        """A rate-limit 429: as locally, and the grant is marked refused for Redis."""
        super().rate_limited(bucket, info)
        grant = _grant.get()
        if grant is not None:
            grant.refused = True

    async def _give_back(self, bucket: str, grant: _Grant, info: RateLimitInfo | None) -> None:
        seen = -1
        window = grant.window
        shown = 0
        ceiling = -1
        ttl_s = 120
        if info is not None and not info.is_concurrency_signal:
            seen = max(0, info.limit - info.remaining)
            ttl_s = int(info.reset_after) + 60
            window = info.reset_at
            if grant.refused:
                if info.remaining > self._headroom(info.limit) and grant.n > 1:
                    ceiling = grant.n - 1  # the principal's share ran out before the org's
            elif not grant.probe and grant.n >= grant.assumed > 0:
                shown = 1  # a grant past the assumed share succeeded
        try:
            leases, probes, shown_key, ceiling_key, newest, hold, limit, wlen = self._keys(bucket)
            await self.budget.give(
                [
                    leases,
                    self._counter(bucket, window),
                    probes,
                    shown_key,
                    ceiling_key,
                    newest,
                    hold,
                    limit,
                    wlen,
                ],
                [
                    grant.lease,
                    seen,
                    1 if grant.probe else 0,
                    ttl_s,
                    shown,
                    ceiling,
                    int(window) if window is not None else 0,
                    grant.hold_ms,
                    info.limit if info is not None else 0,
                    grant.wlen_ms,
                ],
            )
        except Exception as exc:  # as in acquire: pace locally
            self._went_down(exc)

    async def aclose(self) -> None:
        """Wait briefly for leases still being returned, then close the connection."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self.budget.timeout * 2)
        await self.budget.aclose()
