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

A Redis that restarted empty (no persistence) is noticed even when it never failed a call:
redis-py reconnects a pooled connection that the server closed by itself, and reloads the
scripts. Each script call answers with the budget's epoch, a key that the first call after
the state was lost writes anew; a client that sees it change counts one outage, with one
warning, and puts back what it knew (whether the principal's share was shown, its
ceiling). Every request raises its window's counter to what Okta's headers last showed
(``Limit - Remaining``), so a counter that Redis lost starts again from Okta's count, not
from zero.

The Lua scripts run atomically on the server, with the server's clock (``TIME``) for the
leases, so the processes' clocks need not agree. All keys of one principal share a Redis
Cluster hash tag.

Requires the ``redis`` extra: ``pip install 'okta-connections[redis]'``.
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from typing import Any

import attrs

from ..errors import ConfigurationError

__all__ = ["SharedBudget"]

logger = logging.getLogger("okta_connections")


_SCHEMES = ("redis", "rediss", "unix")


#: Longest any key of the budget lives, in seconds: every key the scripts write expires
#: within it, and a key found without an expiry (or a longer one) is given it.
_MAX_KEY_TTL = 3600

#: Seconds the budget's epoch is kept after the last call (the scripts' EXPIRE).
_EPOCH_TTL = float(_MAX_KEY_TTL)


# Both scripts take a batch: every grant asked for (or returned) in one turn of a client's
# event loop goes in one call, so a window's burst costs a few round trips, not hundreds.
#
# KEYS (both): 1 leases (zset: lease -> expiry ms by the server's clock), 2 probes in
# flight, 3 "shown" (a grant past the assumed share succeeded), 4 ceiling, 5 the newest
# window seen (its Reset), 6 probe hold, 7 the newest window's limit, 8 the window length
# an early probe taught (ms), 9 when the newest window ends (ms, Redis's clock): after
# that nobody draws on it, and the next client to ask probes the new one; 10 the epoch
# (the principal's, not the bucket's): when this server first held the budget's state.
#
# State in Redis is not trusted: someone else may have written it (by hand, a broken
# client, a user with write access). A key of the wrong type, a value that is not a
# number or lies outside its range, is treated as absent (and deleted); every key the
# scripts write, or read, expires within _MAX_KEY_TTL; leases scored further ahead than
# the caller's lease lifetime last one lease lifetime (or go at once, when there are more
# of them than the fleet may hold); a probe hold longer than a lease lifetime is cut to
# one. Within one lease lifetime of tampering, the fleet paces normally again.
#
# The epoch: a server that restarted empty (or lost the keys) has none; the first call
# writes a new one, and every client that knew the old one sees the change, whether or
# not its connection failed. (Kept an hour after the last call, as long as any other key:
# a client idle for longer takes a new epoch for what it is, state that expired.) An
# epoch that is not what the scripts write is replaced. Both scripts start with it.
_PROLOGUE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local MAXTTL = 3600
local big = 1073741824
-- A string key's number in [lo, hi]; nil (and the key deleted) when it is absent, of
-- another type, not a number or out of range. A key without an expiry (or a longer one
-- than any key of the budget has) is given one.
local function num(key, lo, hi)
  local v = redis.pcall('GET', key)
  if type(v) == 'table' then
    redis.call('DEL', key)
    return nil
  end
  if not v then
    return nil
  end
  local n = tonumber(v)
  if (not n) or n ~= n or n < lo or n > hi then
    redis.call('DEL', key)
    return nil
  end
  local pttl = redis.call('PTTL', key)
  if pttl < 0 or pttl > MAXTTL * 1000 then
    redis.call('EXPIRE', key, MAXTTL)
  end
  return n
end
-- A ttl asked for by a caller, in [1, MAXTTL] seconds.
local function secs(v)
  return math.max(1, math.min(MAXTTL, math.floor(tonumber(v) or 1)))
end
local lt = redis.call('TYPE', KEYS[1])['ok']
if lt ~= 'zset' and lt ~= 'none' then
  redis.call('DEL', KEYS[1])
end
local epoch = redis.pcall('GET', KEYS[10])
if type(epoch) == 'string' and #epoch <= 40 and string.match(epoch, '^%d+%.%d+$') then
  redis.call('EXPIRE', KEYS[10], MAXTTL)
else
  epoch = t[1] .. '.' .. t[2]
  redis.call('SET', KEYS[10], epoch, 'EX', MAXTTL)
end
"""


_TAKE = """
local ttl = math.max(1, math.min(MAXTTL * 1000, tonumber(ARGV[1])))
local maxc = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
-- Leases scored past this caller's lease lifetime: someone else's writing. More than the
-- fleet may hold go at once; fewer last one lease lifetime from now.
local far = '(' .. string.format('%d', now + ttl)
local beyond = redis.call('ZCOUNT', KEYS[1], far, '+inf')
if beyond > maxc then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], far, '+inf')
elseif beyond > 0 then
  for _, lease in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], far, '+inf')) do
    redis.call('ZADD', KEYS[1], 'XX', now + ttl, lease)
  end
end
local held = redis.call('ZCARD', KEYS[1])
local probes = num(KEYS[2], 0, maxc) or 0
local full = tonumber(ARGV[3])
local assumed = tonumber(ARGV[4])
local window = tonumber(ARGV[6])
local wttl = secs(ARGV[5])
-- A window's Reset lies within an hour of now; its end by Redis's clock too.
local newest = num(KEYS[5], 0, math.floor(now / 1000) + MAXTTL) or 0
local ends = num(KEYS[9], 0, now + MAXTTL * 1000) or 0
local limit = num(KEYS[7], 1, 10000000) or 0
-- A window is over at its Reset (epoch seconds; Okta's windows end on it, or before it
-- when they open at their first request): by Redis's clock, nobody draws on it after
-- that, whatever a client's own estimate says. (Redis's clock stands in for Okta's: on
-- NTP-synchronised hosts they agree to milliseconds.)
local over = now >= window * 1000
if newest > 0 and (now >= newest * 1000 or now >= ends) then
  newest = 0  -- over too: the next to ask probes the new window
end
if full <= 0 and newest > 0 then
  -- A client with no headers yet, where others know the window: their limit, its caps.
  if limit > 0 then
    full = math.max(1, limit - math.ceil(limit * (1 - tonumber(ARGV[8])) - 0.000001))
    assumed = full
    if tonumber(ARGV[9]) < 1 then
      assumed = math.max(1, math.ceil(tonumber(ARGV[9]) * full)) + 1
    end
  end
end
local adopt = full > 0 and newest > window
if adopt then
  window = newest  -- another client has seen a newer window: draw on it, no probe
end
local cap = full
local final = 1
local shown = num(KEYS[3], 1, 1) ~= nil
if (not shown) and assumed < cap then
  cap = assumed
  final = 0
end
local ceiling = num(KEYS[4], 1, big)
if ceiling and ceiling < cap then
  cap = ceiling
  final = 1
end
-- The window's last round trip: a request granted now would reach Okta after the window
-- has ended and count, unseen, in the next one. Refused as spent: the callers sleep to
-- the end and the next window's probe.
local closing = window > 0 and now >= window * 1000 - tonumber(ARGV[10])
local key = ARGV[7] .. string.format('%d', window)
-- A window's count: at most its limit (Okta's count), plus what the fleet has in flight.
local most = big
if math.max(limit, full) > 0 then
  most = 2 * math.max(limit, full) + 2 * maxc + 2
end
local used0 = num(key, 0, most) or 0
-- Okta's count of the caller's window, as its headers last showed it: the counter is
-- never below it (other integrations spend the window too), and a counter that Redis
-- lost (restarted empty) starts again from it, not from zero.
local known = tonumber(ARGV[11])
if not adopt and not over and known > used0 then
  used0 = known
  redis.call('SET', key, known, 'EX', wttl)
end
local used = used0
local probes0 = probes
local hold = redis.call('PTTL', KEYS[6])
if hold == -1 then
  redis.call('DEL', KEYS[6])  -- a hold without an end: someone else's
  hold = 0
elseif hold > ttl then
  redis.call('PEXPIRE', KEYS[6], ttl)  -- longer than a lease lifetime: cut to one
  hold = ttl
end
local out = {}
for i = 12, #ARGV, 2 do
  local probe = (ARGV[i + 1] == '1' or full <= 0 or over) and not adopt
  local r
  if held >= maxc then
    r = {0, held, 0, 0}
  elseif probe then
    -- One probe at a time for the whole fleet, none while an early one holds it back.
    if hold > 0 then
      r = {-2, hold, 0, 0}
    elseif probes > 0 then
      r = {-2, 0, 0, 0}
    else
      probes = probes + 1
      held = held + 1
      redis.call('ZADD', KEYS[1], now + ttl, ARGV[i])
      r = {1, probes, 0, big}
    end
  elseif closing or used + probes >= cap then
    r = {-1, used + probes, window, final}
  else
    used = used + 1
    held = held + 1
    redis.call('ZADD', KEYS[1], now + ttl, ARGV[i])
    local left = big
    if final == 1 then
      left = cap - used - probes
    end
    r = {1, used + probes, window, left}
  end
  for _, v in ipairs(r) do
    out[#out + 1] = v
  end
end
if used > used0 then
  redis.call('SET', key, used, 'EX', wttl)
  -- Grants of this window not yet answered: they may still land in the next one.
  local flying = ARGV[7] .. 'f' .. string.format('%d', window)
  local f = num(flying, 0, big) or 0
  redis.call('SET', flying, f + used - used0, 'EX', wttl)
end
if probes > probes0 then
  redis.call('SET', KEYS[2], probes, 'PX', ttl)
end
redis.call('PEXPIRE', KEYS[1], math.min(2 * ttl, MAXTTL * 1000))
out[#out + 1] = num(KEYS[8], 0, MAXTTL * 1000) or 0
out[#out + 1] = shown and 1 or 0
out[#out + 1] = ceiling or 0
out[#out + 1] = epoch
return out
"""


# GIVE ARGV: 1 the window counters' key prefix, then 12 fields per returned grant: lease
# id, Limit - Remaining seen (-1: no headers), 1 if it was a probe, window key ttl s, 1 if
# it was past the assumed share and succeeded, a ceiling (-1: none), the answered window
# (its Reset), ms to hold the fleet's probes back (a probe that came before the window's
# end; 0: none), the answered window's limit, the window length it taught (ms; 0: none),
# the answered window's Reset - Date (ms), the window it was granted in (0: a probe).
# Returns the epoch. (An entry with no lease, -1 seen and window 0 only puts back what a
# client knew of the principal's share, "shown" and a ceiling, after Redis lost it.)
_GIVE = """
for i = 2, #ARGV, 12 do
  redis.call('ZREM', KEYS[1], ARGV[i])
  local seen = tonumber(ARGV[i + 1])
  local ttl = secs(ARGV[i + 3])
  local window = tonumber(ARGV[i + 6])
  local key = ARGV[1] .. string.format('%d', window)
  local taken = tonumber(ARGV[i + 11])
  if taken > 0 then
    local flying = ARGV[1] .. 'f' .. string.format('%d', taken)
    local f = num(flying, 0, big) or 0
    if f > 1 then
      redis.call('DECR', flying)
    else
      redis.call('DEL', flying)
    end
  end
  if ARGV[i + 2] == '1' then
    local p = num(KEYS[2], 0, big) or 0
    if p > 1 then
      redis.call('DECR', KEYS[2])
    else
      redis.call('DEL', KEYS[2])
    end
    if seen >= 0 then
      -- The probe was counted apart until now: it joins the window it landed in.
      redis.call('SET', key, (num(key, 0, big) or 0) + 1, 'EX', ttl)
    end
  end
  if seen >= 0 then
    -- Okta's count of the window beats ours: other integrations spend it too.
    if seen > (num(key, 0, big) or 0) then
      redis.call('SET', key, seen, 'EX', ttl)
    end
    -- When the window ends, on Redis's clock: Reset - Date, from a Date rounded down, is
    -- at most a second late, never early; the earliest seen is the best bound.
    local ends = now + math.min(tonumber(ARGV[i + 10]), MAXTTL * 1000)
    local newest = num(KEYS[5], 0, math.floor(now / 1000) + MAXTTL) or 0
    if window > newest then
      -- A new window: what the last one still has in flight may land in this one (sent
      -- near its end); it counts here from the start, not when its answers come.
      if newest > 0 then
        local flying = num(ARGV[1] .. 'f' .. string.format('%d', newest), 0, big) or 0
        if flying > 0 then
          redis.call('SET', key, (num(key, 0, big) or 0) + flying, 'EX', ttl)
        end
      end
      redis.call('SET', KEYS[5], window, 'EX', MAXTTL)
      redis.call('SET', KEYS[7], ARGV[i + 8], 'EX', MAXTTL)
      redis.call('SET', KEYS[9], ends, 'EX', MAXTTL)
    elseif window == newest and ends < (num(KEYS[9], 0, now + MAXTTL * 1000) or ends) then
      redis.call('SET', KEYS[9], ends, 'EX', MAXTTL)
    end
  end
  if ARGV[i + 4] == '1' then
    redis.call('SET', KEYS[3], '1', 'EX', MAXTTL)
    redis.call('DEL', KEYS[4])
  end
  local ceiling = tonumber(ARGV[i + 5])
  if ceiling >= 1 then
    local known = num(KEYS[4], 1, big)
    if (not known) or known > ceiling then
      redis.call('SET', KEYS[4], ceiling, 'EX', MAXTTL)
    end
  end
  if tonumber(ARGV[i + 7]) > 0 then
    redis.call('SET', KEYS[6], '1', 'PX', math.min(tonumber(ARGV[i + 7]), MAXTTL * 1000))
  end
  local wl = math.min(tonumber(ARGV[i + 9]), MAXTTL * 1000)
  if wl > (num(KEYS[8], 0, MAXTTL * 1000) or 0) then
    redis.call('SET', KEYS[8], wl, 'EX', MAXTTL)
  end
end
return epoch
"""


#: Query parameters of a Redis URL whose values are shown (when they look harmless); every
#: other one (``password``, ``username`` and whatever redis-py may accept) is masked.
_SHOWN_PARAMS = frozenset(
    {
        "db",
        "socket_timeout",
        "socket_connect_timeout",
        "socket_keepalive",
        "retry_on_timeout",
        "max_connections",
        "health_check_interval",
        "ssl_cert_reqs",
        "ssl_check_hostname",
        "protocol",
        "decode_responses",
        "timeout",
    }
)
_HARMLESS_VALUE = re.compile(r"[A-Za-z0-9_.-]{0,40}")
_PARAM_NAME = re.compile(r"[A-Za-z0-9_]{1,40}")


def masked_url(url: str) -> str:
    """A Redis URL with its secrets masked, for reprs, log lines and ``config show``.

    The password becomes ``***`` wherever it is: in the userinfo, or in the query
    (``?password=``, which redis-py accepts); so does a username given alone (often a
    password written without its colon) and the value of every query parameter but a few
    harmless ones (``db``, timeouts). A URL that does not parse shows its scheme only.
    """
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return _display_unparsed(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{port}" if port else "")
    if parts.password is not None:
        netloc = f"{parts.username or ''}:***@{netloc}"
    elif parts.username is not None:
        netloc = f"***@{netloc}"
    query = "&".join(_masked_param(piece) for piece in parts.query.split("&") if piece)
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


def _masked_param(piece: str) -> str:
    name, sep, value = piece.partition("=")
    if not _PARAM_NAME.fullmatch(name):
        return "***"
    if name.lower() in _SHOWN_PARAMS and _HARMLESS_VALUE.fullmatch(value):
        return piece
    return f"{name}=***" if sep else "***"


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
        return masked_url(self._url)

    def _redis(self) -> Any:
        if self._client is None:
            import redis.asyncio as aioredis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            # A few connections are plenty: grants and returns go in batches.
            pool = aioredis.BlockingConnectionPool.from_url(
                self._url,
                max_connections=4,
                timeout=self.timeout,
                socket_timeout=self.timeout,
                socket_connect_timeout=self.timeout,
                retry=Retry(NoBackoff(), 0),
                health_check_interval=0,
            )
            self._client = aioredis.Redis(connection_pool=pool)
            self._take = self._client.register_script(_PROLOGUE + _TAKE)
            self._give = self._client.register_script(_PROLOGUE + _GIVE)
        return self._client

    async def take(
        self, keys: list[str], args: list[object], leases: list[tuple[str, bool]]
    ) -> tuple[list[tuple[int, int, int, int]], int]:
        """Ask for one grant per lease; raises whatever redis-py raises."""
        taken = await self._take_batch(keys, args, leases)
        return taken.rows, taken.wlen_ms

    async def _take_batch(
        self, keys: list[str], args: list[object], leases: list[tuple[str, bool]]
    ) -> _Taken:
        self._redis()
        flat: list[object] = list(args)
        for lease, probe in leases:
            flat += [lease, 1 if probe else 0]
        try:
            raw = await self._take(keys=keys, args=flat)
        except Exception as exc:
            await self._drop_connections(exc)
            raise
        return _parse_take(raw, len(leases))

    async def give(self, keys: list[str], prefix: str, entries: list[list[object]]) -> None:
        """Return grants (twelve fields each, see the script); raises what redis-py raises."""
        await self._give_batch(keys, prefix, entries)

    async def _give_batch(self, keys: list[str], prefix: str, entries: list[list[object]]) -> str:
        """As :meth:`give`; returns the budget's epoch."""
        self._redis()
        flat: list[object] = [prefix]
        for entry in entries:
            flat += entry
        try:
            epoch = await self._give(keys=keys, args=flat)
        except Exception as exc:
            await self._drop_connections(exc)
            raise
        return _epoch(epoch)

    async def _drop_connections(self, exc: BaseException) -> None:
        """After a connection error, close the pool's idle connections too.

        A restarted Redis leaves each of the pool's connections dead; without this, each
        retry (every ``retry_after`` seconds) could find the next dead one. (redis-py
        reconnects a pooled connection whose close it has read before it hands it out,
        but not one whose close has not reached it yet.) The connections in use are left
        to their calls: a dead one fails its own call, and closing a live one, already on
        the restarted server, would fail a call that Redis answers.
        """
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        client = self._client
        if client is None or not isinstance(
            exc, RedisConnectionError | RedisTimeoutError | OSError
        ):
            return
        try:
            await client.connection_pool.disconnect(inuse_connections=False)
        except Exception:  # closing a broken connection is not a failure
            logger.debug("shared budget: closing the Redis connections failed")

    async def aclose(self) -> None:
        """Close the connection pool (idempotent)."""
        client, self._client = self._client, None
        if client is not None:
            try:
                await client.aclose(close_connection_pool=True)
            except Exception:  # closing a broken connection is not a failure
                logger.debug("shared budget: closing the Redis connection failed")


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class MalformedReplyError(ValueError):
    """A script's reply is outside the protocol (length, types or range): the budget is
    taken as unavailable, as a Redis that does not answer."""


#: Bounds of a take reply's numbers: counts and grants left (2^30: unbounded), windows
#: (epoch seconds), window length (ms, an hour: no key lives longer).
_MAX_COUNT = 1 << 31
_MAX_WINDOW = 1 << 40
_MAX_WLEN_MS = _MAX_KEY_TTL * 1000


def _epoch(value: object) -> str:
    if not isinstance(value, bytes | str) or not 0 < len(value) <= 64:
        raise MalformedReplyError("the epoch is not a short string")
    try:
        return _text(value)
    except UnicodeDecodeError:
        raise MalformedReplyError("the epoch is not text") from None


def _number(value: object, lo: int, hi: int) -> int:
    if type(value) is not int or not lo <= value <= hi:
        raise MalformedReplyError("a number is missing or out of range")
    return value


def _parse_take(raw: object, leases: int) -> _Taken:
    """The take script's reply, checked: four numbers per lease, then four more."""
    if not isinstance(raw, list | tuple) or len(raw) != 4 * leases + 4:
        raise MalformedReplyError("the reply does not have a row per lease")
    rows = []
    for i in range(0, 4 * leases, 4):
        verdict = _number(raw[i], -2, 1)
        rows.append(
            (
                verdict,
                _number(raw[i + 1], 0, _MAX_COUNT),
                _number(raw[i + 2], 0, _MAX_WINDOW),
                _number(raw[i + 3], 0, _MAX_COUNT),
            )
        )
    wlen_ms = _number(raw[-4], 0, _MAX_WLEN_MS)
    shown = _number(raw[-3], 0, 1)
    ceiling = _number(raw[-2], 0, _MAX_COUNT)
    return _Taken(rows, wlen_ms, shown == 1, ceiling, _epoch(raw[-1]))


@attrs.define
class _Taken:
    """The grant script's answer: a row per lease, then what the fleet knows."""

    rows: list[tuple[int, int, int, int]]
    wlen_ms: int  # the window length an early probe taught, or 0
    shown: bool  # a grant past the assumed share succeeded
    ceiling: int  # the principal's per-window ceiling, or 0
    epoch: str
