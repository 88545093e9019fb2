"""Every public coroutine of the client, the bulk jobs and ``scale_out``, cancelled at random
points and run under ``asyncio.timeout`` (issue 24's last "done when").

Each round is seeded: a failure names its seed and the command that replays it. The
default seeds are fixed, so CI is deterministic; ``OKC_FUZZ_SEED`` (the first seed) and
``OKC_FUZZ_ROUNDS`` (how many) explore further, e.g.
``OKC_FUZZ_SEED=1000 OKC_FUZZ_ROUNDS=50 pytest tests/test_cancellation_fuzz.py``.

A round: a FakeOkta with a small rate limit, latency and random faults (5xx, drops, slow
and malformed answers), so that the cancellation lands in pacing, the token request,
the send, a retry's sleep or a job's streaming; a client (SSWS or OAuth); the call,
cancelled after a random number of event-loop turns or a random delay, or under a
timeout of random length. It must raise the cancellation, ``TimeoutError`` or an
``OktaError`` (and a call cancelled while it ran never returns as if it was not); then,
once what the cancellation started has settled, no task is left, the pacer holds no slot,
lock, waiter or probe, the shared budget no lease (in the limiter or in Redis), no job an
item in flight or an open journal, and the next call goes through.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from okta_connections import (
    OktaClient,
    OktaError,
    PrivateKeyJWT,
    RetryPolicy,
    SharedBudget,
    SSWSToken,
    Timeouts,
)
from okta_connections.testing import FakeOkta
from tests.support.cancel_fuzz import (
    CASES,
    Ctx,
    case_seed,
    exercise,
    job_leftovers,
    limiter_leftovers,
    log_outcome,
    public_coroutines,
    redis_leftovers,
    settle,
    stray_tasks,
)
from tests.support.keys import pem, rsa_key
from tests.support.redis_server import RedisServer, redis_server

FIRST_SEED = int(os.environ.get("OKC_FUZZ_SEED", "0"))
ROUNDS = int(os.environ.get("OKC_FUZZ_ROUNDS", "3"))
SEEDS = range(FIRST_SEED, FIRST_SEED + ROUNDS)
#: Rounds of the shared-budget test (real time): fewer, unless OKC_FUZZ_ROUNDS says.
SHARED_ROUNDS = int(os.environ.get("OKC_FUZZ_ROUNDS", "1"))
CLIENT_ID = "0oacancelfuzz0000001"


async def test_every_public_coroutine_has_a_case() -> None:
    async with OktaClient("http://127.0.0.1:9", auth=SSWSToken("x" * 20)) as okta:
        found = public_coroutines(okta)
    # The introspection itself finds the ones we know of (a guard against it finding none).
    assert {"OktaClient.open", "connections.get", "apps.list", "bulk.get", "BulkJob.run"} <= found
    assert {"scale_out.run_chunk"} <= found
    missing = sorted(found - set(CASES))
    assert not missing, f"public coroutines without a case in cancel_fuzz.CASES: {missing}"


def _replay(case: str, how: str, seed: int) -> str:
    return (
        f"case {case!r}, {how}, seed {seed}; replay: OKC_FUZZ_SEED={seed} OKC_FUZZ_ROUNDS=1 "
        f"pytest tests/test_cancellation_fuzz.py -k '{case}-{how}' (or '{case}' for shared)"
    )


def _raised(exc: BaseException | None) -> str:
    return "returned" if exc is None else "".join(traceback.format_exception(exc))


async def _org(
    rng: random.Random, seed: int, clock: Callable[[], float] | None, scale: float
) -> tuple[FakeOkta, list[str], str]:
    options: dict[str, Any] = {} if clock is None else {"clock": clock}
    fake = FakeOkta(
        apps=0, seed=seed, rate_limit=rng.choice([4, 10, 40]), rate_window=1.0, **options
    )
    await fake.start()
    fake.latency = rng.choice([0.0, 0.02, 0.2]) * scale
    fake.latency_jitter = 0.5
    fake.set_faults(
        fail_rate=rng.choice([0.0, 0.0, 0.3]),
        drop_rate=rng.choice([0.0, 0.0, 0.1]),
        slow_rate=rng.choice([0.0, 0.2]),
        slow_seconds=rng.uniform(0.1, 1.5) * scale,
        malformed_rate=rng.choice([0.0, 0.0, 0.1]),
        seed=seed,
    )
    ids = [fake.add_app("okta_org2org", connection="token").id for _ in range(8)]
    oauth_app = fake.add_app("okta_org2org", connection="oauth").id
    return fake, ids, oauth_app


def _client(
    fake: FakeOkta,
    rng: random.Random,
    clock: Callable[[], float] | None,
    shared_budget: str | None = None,
) -> OktaClient:
    if rng.random() < 0.3:
        fake.register_service_app(CLIENT_ID, rsa_key().public_key())
        options = {} if clock is None else {"clock": clock}
        auth: Any = PrivateKeyJWT(CLIENT_ID, pem(rsa_key()), **options)
    else:
        auth = SSWSToken(fake.token)
    scale = 1.0 if clock is not None else 0.1
    client_options: dict[str, Any] = {}
    if shared_budget is None and rng.random() < 0.3:
        client_options["pacing"] = "smooth"
    if rng.random() < 0.3:
        client_options["max_capacity"] = rng.choice([0.5, 0.9])
    if rng.random() < 0.3:  # attempts that time out, and are retried
        client_options["timeouts"] = Timeouts(total=rng.uniform(0.05, 2.0) * scale)
    return OktaClient(
        fake.org_url,
        auth=auth,
        **client_options,
        retry=RetryPolicy(random=rng.random, backoff_max=1.0),
        # 10 s for Redis to answer: on a loaded machine a slower reply is an outage
        # (local pacing), which is not what this test is about.
        shared_budget=None if shared_budget is None else SharedBudget(shared_budget, timeout=10),
    )


async def _round(
    case: str,
    how: str,
    seed: int,
    tmp: Path,
    *,
    clock: Callable[[], float] | None,
    horizon: float,
    settle_for: float,
    redis_url: str | None = None,
) -> None:
    rng = random.Random(case_seed(case, how, seed))
    where = _replay(case, how, seed)
    fake, ids, oauth_app = await _org(rng, seed, clock, horizon / 3.0)
    try:
        okta = _client(fake, rng, clock, redis_url)
        ctx = Ctx(okta, fake, ids, oauth_app, rng, tmp, shared_budget=redis_url)
        try:
            if rng.random() < 0.5:
                with contextlib.suppress(OktaError):  # a fault: warm enough
                    await okta.connections.get(ids[0])  # a warm client: windows known, token
            outcome = await exercise(CASES[case], ctx, how, horizon=horizon)
            assert outcome.allowed, f"{where} ({outcome.where}): {_raised(outcome.raised)}"
            log_outcome(case, how, seed, outcome)
            await settle(settle_for)
            strays = stray_tasks()
            assert not strays, f"{where} ({outcome.where}): tasks left {strays}"
            left = limiter_leftovers(okta) + job_leftovers(ctx)
            if redis_url is not None:
                left += await redis_leftovers(okta, redis_url)
            assert not left, f"{where} ({outcome.where}): left behind {left}"
            if not okta.closed:
                # Nothing wedged: with the faults off, the next call goes through.
                fake.set_faults()
                fake.latency = 0.0
                async with asyncio.timeout(30):
                    await okta.connections.get(ids[0])
        finally:
            await okta.close()
        await settle(settle_for)
        strays = stray_tasks()
        assert not strays, f"{where}: tasks left after close {strays}"
        session = getattr(okta.transport, "_session", None)
        assert session is None or session.closed, f"{where}: the aiohttp session left open"
        budget = getattr(okta.rate_limiter, "budget", None)
        if budget is not None:
            assert budget._client is None, f"{where}: a Redis connection left open after close"
    finally:
        await fake.close()


@pytest.mark.looptime
@pytest.mark.parametrize("how", ["cancel", "timeout"])
@pytest.mark.parametrize("case", sorted(CASES))
async def test_cancelled_anywhere_raises_only_that_and_leaves_nothing(
    case: str,
    how: str,
    client_on_loop_clock: Callable[[], float],
    loop_wall_clock: Callable[[], float],
    tmp_path: Path,
) -> None:
    for seed in SEEDS:
        await _round(case, how, seed, tmp_path, clock=loop_wall_clock, horizon=3.0, settle_for=5.0)


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    server = redis_server()
    try:
        yield server
    finally:
        server.cleanup()


# Real time: redis-server answers on its own clock, which looptime cannot skip ahead of.
# The rounds are shorter (delays up to 0.3 s) to keep the whole run within a minute.
@pytest.mark.slow
@pytest.mark.real_components
@pytest.mark.parametrize("how", ["cancel", "timeout"])
@pytest.mark.parametrize("case", sorted(CASES))
async def test_with_a_shared_budget_no_lease_is_left_in_redis(
    case: str, how: str, redis: RedisServer, tmp_path: Path
) -> None:
    for seed in SEEDS[:SHARED_ROUNDS]:
        await _round(
            case,
            how,
            seed,
            tmp_path,
            clock=None,
            horizon=0.3,
            settle_for=0.3,
            redis_url=redis.url,
        )
