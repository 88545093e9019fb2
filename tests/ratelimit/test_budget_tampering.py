"""Tampered or garbage shared-budget state does not stall the fleet (issue 24, item 8).

State in Redis is written by someone else (by hand, a broken client, an attacker with
write access): a value out of range or of the wrong type is treated as absent; every key
the budget writes starts with its prefix and expires within an hour; within one lease
lifetime of the tampering the fleet paces normally again. A budget that never answers is
one outage and one warning, however many calls.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from okta_connections.ratelimit import RateLimitInfo
from okta_connections.ratelimit.budget import SharedBudget
from okta_connections.ratelimit.shared import SharedRateLimiter
from tests.support.redis_server import RedisServer, redis_server

pytestmark = [pytest.mark.real_components, pytest.mark.slow]

PREFIX = "okc-tamper"
HOUR_MS = 3_600_000


@pytest.fixture
def server() -> Iterator[RedisServer]:
    s = redis_server()
    try:
        yield s
    finally:
        s.cleanup()


@pytest.fixture
async def raw(server: RedisServer) -> AsyncIterator[Any]:
    import redis.asyncio as aioredis

    r = aioredis.Redis.from_url(server.url, socket_timeout=10, decode_responses=True)
    try:
        yield r
    finally:
        await r.aclose()


def _limiter(url: str, *, lease_ttl: float = 1.0, max_in_flight: int = 4) -> SharedRateLimiter:
    return SharedRateLimiter(
        SharedBudget(url, key_prefix=PREFIX, timeout=10),
        org_url="https://example.okta.com",
        principal="ssws:tamper",
        lease_ttl=lease_ttl,
        max_in_flight=max_in_flight,
    )


def _info(remaining: int) -> RateLimitInfo:
    reset = float(int(time.time()) + 60)
    return RateLimitInfo(
        limit=100, remaining=remaining, reset_after=reset - time.time(), reset_at=reset,
        observed_at=time.monotonic(),
    )  # fmt: skip


def _key(limiter: SharedRateLimiter, name: str) -> str:
    names = ("leases", "probes", "shown", "ceiling", "newest", "hold", "limit", "wlen", "ends")
    keys = limiter.fleet_budget._keys("apps")
    return keys[names.index(name)] if name in names else keys[-1]


async def _granted_by_the_budget(limiter: SharedRateLimiter, within: float) -> float:
    """One call through the budget; returns how long its grant took. The budget, not
    local pacing, must have granted it."""
    started = time.monotonic()
    async with limiter.slot("apps", started + within) as permit:
        took = time.monotonic() - started
        assert permit.grant is not None, "paced locally: the budget did not decide"
        permit.learn(_info(99))
    return took


async def _assert_keys_bounded(raw: Any) -> None:
    """Every key starts with the prefix and expires within an hour."""
    await asyncio.sleep(0.2)  # the last returns reach Redis
    keys = [k async for k in raw.scan_iter("*")]
    assert keys
    for key in keys:
        assert key.startswith(f"{PREFIX}:"), key
        ttl = await raw.pttl(key)
        assert 0 < ttl <= HOUR_MS, (key, ttl)


async def test_a_huge_probe_count_is_treated_as_absent(server: RedisServer, raw: Any) -> None:
    limiter = _limiter(server.url)
    # Before the fix every probe was refused ("another client's probe is out") for ever:
    # the call timed out.
    await raw.set(_key(limiter, "probes"), 10**15)
    assert await _granted_by_the_budget(limiter, within=5.0) < 5.0
    assert limiter.outages == 0
    await limiter.aclose()
    await _assert_keys_bounded(raw)


@pytest.mark.parametrize("squatters", [4, 500])
async def test_leases_scored_far_in_the_future_last_one_lease_lifetime(
    squatters: int, server: RedisServer, raw: Any
) -> None:
    # 4: as many as the fleet may hold, cut to one lease lifetime; 500: more than it may
    # ever hold, dropped at once.
    limiter = _limiter(server.url, lease_ttl=1.0, max_in_flight=4)
    far = int(time.time() * 1000) + 10**12
    await raw.zadd(_key(limiter, "leases"), {f"squatter-{i}": far for i in range(squatters)})
    # Before the fix every slot stayed leased for 30 years: the call timed out.
    assert await _granted_by_the_budget(limiter, within=8.0) < 8.0
    assert limiter.outages == 0
    await limiter.aclose()
    await _assert_keys_bounded(raw)


async def test_an_eleven_day_hold_lasts_at_most_one_lease_lifetime(
    server: RedisServer, raw: Any
) -> None:
    limiter = _limiter(server.url, lease_ttl=1.0)
    await raw.set(_key(limiter, "hold"), "1", px=11 * 86_400_000)
    # Before the fix the probe was told to wait 11 days: it timed out at once.
    assert await _granted_by_the_budget(limiter, within=8.0) < 8.0
    await limiter.aclose()
    await _assert_keys_bounded(raw)


async def test_a_window_count_far_past_the_limit_is_treated_as_absent(
    server: RedisServer, raw: Any
) -> None:
    limiter = _limiter(server.url)
    await _granted_by_the_budget(limiter, within=5.0)  # the probe: the window is known
    info = limiter.get("apps")
    assert info is not None
    counter = f"{limiter.fleet_budget._base}:apps:w:{int(info.reset_at)}"
    await asyncio.sleep(0.2)  # the probe's return reached Redis
    await raw.set(counter, 10**9)
    # Before the fix the window was spent for the whole fleet until its end (a minute):
    # the call timed out.
    assert await _granted_by_the_budget(limiter, within=5.0) < 5.0
    assert int(await raw.get(counter)) <= 100
    await limiter.aclose()
    await _assert_keys_bounded(raw)


WRONG_TYPES = {
    "leases-a-string": ("leases", "string"),
    "probes-a-hash": ("probes", "hash"),
    "shown-a-list": ("shown", "list"),
    "ceiling-a-set": ("ceiling", "set"),
    "newest-a-hash": ("newest", "hash"),
    "limit-a-list": ("limit", "list"),
    "wlen-a-set": ("wlen", "set"),
    "ends-a-zset": ("ends", "zset"),
    "epoch-a-list": ("epoch", "list"),
    "epoch-too-long": ("epoch", "long-string"),
    "ceiling-not-a-number": ("ceiling", "text"),
    "probes-negative": ("probes", "negative"),
    "wlen-a-year": ("wlen", "year"),
}


async def _write(raw: Any, key: str, kind: str) -> None:
    if kind == "string":
        await raw.set(key, "x")
    elif kind == "hash":
        await raw.hset(key, "a", "1")
    elif kind == "list":
        await raw.rpush(key, "1")
    elif kind == "set":
        await raw.sadd(key, "1")
    elif kind == "zset":
        await raw.zadd(key, {"a": 1})
    elif kind == "long-string":
        await raw.set(key, "9" * 500)
    elif kind == "text":
        await raw.set(key, "lots")
    elif kind == "negative":
        await raw.set(key, -7)
    elif kind == "year":
        await raw.set(key, 365 * 86_400_000)


@pytest.mark.parametrize("case", sorted(WRONG_TYPES))
async def test_a_key_of_the_wrong_type_or_value_is_treated_as_absent(
    case: str, server: RedisServer, raw: Any
) -> None:
    name, kind = WRONG_TYPES[case]
    limiter = _limiter(server.url)
    await _write(raw, _key(limiter, name), kind)
    # Before the fix the script failed (WRONGTYPE) or answered outside the protocol on
    # every call: the fleet paced locally for good, or waited on the garbage.
    for _ in range(3):
        assert await _granted_by_the_budget(limiter, within=5.0) < 5.0
    assert limiter.outages == 0
    if name == "wlen":
        assert (limiter.window_end("apps") or 0) < time.monotonic() + 120
    await limiter.aclose()
    await _assert_keys_bounded(raw)


async def test_every_key_the_scripts_write_expires_within_an_hour(
    server: RedisServer, raw: Any
) -> None:
    """Every path of both scripts, with the longest times a caller may ask for (a
    one-hour window, a long lease, a long hold): no key outlives an hour."""
    budget = SharedBudget(server.url, key_prefix=PREFIX, timeout=10)
    limiter = _limiter(server.url, lease_ttl=3 * 3600.0)
    keys = limiter.fleet_budget._keys("apps")
    base = limiter.fleet_budget._base
    prefix = f"{base}:apps:w:"
    window = int(time.time()) + 3600
    take_args: list[object] = [10_800_000, 64, 90, 46, 3660, window, prefix, 1.0, 0.5, 5, 10]
    await budget._take_batch(keys, take_args, [("a:1", True), ("a:2", False)])
    await budget._take_batch(keys, take_args, [("a:3", False)])
    # A probe returned early (a hold, a window length), a grant past the assumed share
    # that succeeded, a 429 that teaches a ceiling, a probe returned twice (the count
    # goes below zero), a grant whose window's in-flight count is gone.
    entries = [
        ["a:1", 10, 1, 3660, 0, -1, window, 10 * 86_400_000, 100, 3_600_000, 3_600_000, 0],
        ["a:2", 11, 0, 3660, 1, -1, window, 0, 100, 0, 3_600_000, window],
        ["a:3", 60, 0, 3660, 0, 30, window, 0, 100, 0, 3_600_000, window],
        ["a:1", 61, 1, 3660, 0, -1, window + 1, 0, 100, 0, 3_600_000, 0],
        ["a:9", 62, 0, 3660, 0, -1, window + 1, 0, 100, 0, 3_600_000, window + 7],
    ]
    await budget._give_batch(keys, prefix, entries)
    await budget._take_batch(keys, take_args, [("a:4", False)])
    await budget.aclose()
    await limiter.aclose()
    await _assert_keys_bounded(raw)


def _silent_listener() -> tuple[socket.socket, threading.Event, list[socket.socket]]:
    """A TCP listener on loopback that accepts and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    stop = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    return listener, stop, held


async def test_a_budget_that_never_answers_is_one_outage_and_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="okta_connections")
    listener, stop, held = _silent_listener()
    port = listener.getsockname()[1]
    limiter = SharedRateLimiter(
        SharedBudget(f"redis://127.0.0.1:{port}/0", timeout=0.2, retry_after=0.5),
        org_url="https://example.okta.com",
        principal="ssws:silent",
        lease_ttl=5.0,
    )
    late: list[float] = []
    grants: list[object] = []

    async def call(i: int) -> None:
        await asyncio.sleep(0.05 * i)  # spread over several retry periods
        started = time.monotonic()
        deadline = started + 3.0
        async with limiter.slot("apps", deadline) as permit:
            grants.append(permit.grant)
            await asyncio.sleep(0.01)
            permit.learn(_info(max(1, 99 - i)))
        if time.monotonic() > deadline:
            late.append(time.monotonic() - deadline)

    try:
        started = time.monotonic()
        await asyncio.gather(*(call(i) for i in range(60)))
        assert time.monotonic() - started < 30  # 3 s of calls; a loose upper bound
        await limiter.aclose()
    finally:
        stop.set()
        listener.close()
        for conn in held:
            conn.close()
    assert late == []
    assert grants and all(g is None for g in grants)  # every call paced locally
    assert limiter.outages == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "did not answer" in warnings[0].getMessage()
