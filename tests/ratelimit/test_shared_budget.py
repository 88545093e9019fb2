"""One rate budget across clients (processes), on a real redis-server."""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from okta_connections import (
    Auth,
    AuthRequest,
    ConfigurationError,
    OktaClient,
    PrivateKeyJWT,
    SharedBudget,
    SSWSToken,
)
from okta_connections.shared import SharedRateLimiter
from okta_connections.testing import FakeOkta
from tests.support.cli import cli_env, run_cli
from tests.support.keys import pem, rsa_key
from tests.support.redis_server import RedisServer, redis_server
from tests.support.until import until

pytestmark = [pytest.mark.real_components, pytest.mark.slow]

PASSWORD = "s3cret-redis-pass-7f2a"


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    server = redis_server(PASSWORD)
    try:
        yield server
    finally:
        server.cleanup()


async def _keys(server: RedisServer) -> dict[str, str]:
    import redis.asyncio as aioredis

    r = aioredis.Redis.from_url(server.url, decode_responses=True)
    try:
        out = {}
        async for key in r.scan_iter("*"):
            kind = await r.type(key)
            out[key] = await r.get(key) if kind == "string" else kind
        return out
    finally:
        await r.aclose()


async def _run_fleet(fake: FakeOkta, url: str | None, clients: int, per: int) -> list[int]:
    ids = [fake.add_app("okta_org2org", connection="token").id for _ in range(clients * per)]
    # A loaded machine can hold this loop (four clients, the fake's thread) past the
    # default 0.5 s per Redis call, and a call that slow counts as an outage, paced
    # locally; these tests are about the counter, so Redis gets 10 s to answer.
    fleet = [
        OktaClient(
            fake.org_url,
            auth=SSWSToken(fake.token),
            shared_budget=None if url is None else SharedBudget(url, timeout=10),
        )
        for _ in range(clients)
    ]

    async def one(okta: OktaClient, part: list[str]) -> None:
        async with okta:
            await asyncio.gather(*(okta.connections.get(i) for i in part))

    await asyncio.gather(*(one(c, ids[k::clients]) for k, c in enumerate(fleet)))
    return [r.status for r in fake.requests if r.operation == "get"]


async def test_four_clients_draw_one_window_budget_from_redis(redis: RedisServer) -> None:
    async with FakeOkta(apps=0, rate_limit=40, rate_window=1.0) as fake:
        statuses = await _run_fleet(fake, redis.url, clients=4, per=40)
        served = [r for r in fake.requests if r.operation == "get"]
    assert statuses.count(200) == 160
    # Four pacers that each see only the headers collide at every window's start (see
    # the next test); one counter per window keeps them under the limit.
    assert statuses.count(429) <= 1
    windows = collections.Counter(int(r.received_at) for r in served if r.status == 200)
    assert max(windows.values()) <= 40
    keys = await _keys(redis)
    counters = [int(v) for k, v in keys.items() if ":w:" in k and not k.endswith(":w:none")]
    assert counters and max(counters) <= 40
    assert all(fake.token not in k for k in keys)  # keyed by a hash, never the token


async def test_without_the_shared_budget_the_same_fleet_collides() -> None:
    # The control for the test above: it can fail only because of the shared budget.
    async with FakeOkta(apps=0, rate_limit=40, rate_window=1.0) as fake:
        statuses = await _run_fleet(fake, None, clients=4, per=40)
    assert statuses.count(200) == 160
    assert statuses.count(429) > 1


async def test_a_client_that_joins_after_a_spent_window_ended_does_not_wait_on_it(
    redis: RedisServer,
) -> None:
    # The last window of an earlier job is spent in Redis; once it has ended (by Okta's
    # Reset), a new client probes the next window instead of waiting on that counter.
    async with FakeOkta(apps=0, rate_limit=10, rate_window=1.0) as fake:
        ids = [fake.add_app("okta_org2org", connection="token").id for _ in range(25)]
        async with OktaClient(
            fake.org_url, auth=SSWSToken(fake.token), shared_budget=redis.url
        ) as okta:
            await asyncio.gather(*(okta.connections.get(i) for i in ids[:20]))
        started = time.monotonic()
        async with OktaClient(
            fake.org_url, auth=SSWSToken(fake.token), shared_budget=redis.url
        ) as okta:
            await asyncio.gather(*(okta.connections.get(i) for i in ids[20:]))
        waited = time.monotonic() - started
        statuses = [r.status for r in fake.requests if r.operation == "get"]
    # A window or two (about 1.5 s idle), not the spent counter's minute-long life: 10 s
    # is the floor of any wall-clock bound.
    assert waited < 10
    assert statuses.count(429) <= 1


async def test_redis_going_away_mid_job_falls_back_to_local_pacing_with_one_warning(
    redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="okta_connections")
    async with FakeOkta(apps=0, rate_limit=20, rate_window=1.0) as fake:
        ids = [fake.add_app("okta_org2org", connection="token").id for _ in range(80)]
        async with OktaClient(
            fake.org_url, auth=SSWSToken(fake.token), shared_budget=redis.url
        ) as okta:
            first = await asyncio.gather(*(okta.connections.get(i) for i in ids[:30]))
            redis.stop()
            second = await asyncio.gather(*(okta.connections.get(i) for i in ids[30:]))
            limiter = okta.rate_limiter
            assert isinstance(limiter, SharedRateLimiter)
            assert limiter.outages == 1
    assert len(first) + len(second) == 80  # nothing lost
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    text = warnings[0].getMessage()
    assert "pacing locally" in text and "127.0.0.1" in text
    assert PASSWORD not in caplog.text and fake.token not in caplog.text


async def test_redis_coming_back_is_used_again(redis: RedisServer) -> None:
    budget = SharedBudget(redis.url, retry_after=0.2)
    async with FakeOkta(apps=0, rate_limit=1000, rate_window=1.0) as fake:
        ids = [fake.add_app("okta_org2org", connection="token").id for _ in range(20)]
        async with OktaClient(
            fake.org_url, auth=SSWSToken(fake.token), shared_budget=budget
        ) as okta:
            await okta.connections.get(ids[0])
            redis.restart()  # an empty Redis on the same port
            await asyncio.gather(*(okta.connections.get(i) for i in ids[1:5]))
            await asyncio.sleep(0.3)
            await asyncio.gather(*(okta.connections.get(i) for i in ids[5:]))
            limiter = okta.rate_limiter
            assert isinstance(limiter, SharedRateLimiter)
            assert not limiter.fleet_budget._down
    keys = await _keys(redis)
    assert any(":w:" in k for k in keys)  # the restarted Redis holds counters again


def _answered(fake: FakeOkta) -> int:
    return sum(1 for r in fake.requests if r.operation == "get" and r.status)


async def _all_returned(server: RedisServer) -> bool:
    """Every grant is back: the budget holds no lease (no call to Redis is on its way)."""
    return not any(k.endswith(":leases") for k in await _keys(server))


@pytest.mark.parametrize("how", ["held down", "restarted at once"])
async def test_a_restarted_redis_is_one_outage_not_one_per_stale_pooled_connection(
    redis: RedisServer, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    # Redis restarts empty mid-job, while the pacer idles at the end of a spent window:
    # held down until the client has noticed (a call failed), or restarted at once, which
    # redis-py hides (it reconnects a pooled connection that the server closed, and reloads
    # the scripts: no call fails, only the budget's epoch shows it). Either is one outage
    # and one warning: neither the empty Redis coming back nor each stale pooled connection
    # found by a retry (every retry_after) counts again.
    caplog.set_level(logging.WARNING, logger="okta_connections")
    # timeout=10: a reply slowed past the default 0.5 s by a loaded machine is an outage of
    # its own (seen: "held down" counted 2 under xdist with one core busy); what is tested
    # here is the restart, held down (connection refused) or hidden (the epoch).
    budget = SharedBudget(redis.url, retry_after=0.4, timeout=10)
    async with FakeOkta(apps=0, rate_limit=40, rate_window=1.0) as fake:
        ids = [fake.add_app("okta_org2org", connection="token").id for _ in range(240)]
        async with OktaClient(
            fake.org_url, auth=SSWSToken(fake.token), shared_budget=budget
        ) as okta:
            limiter = okta.rate_limiter
            assert isinstance(limiter, SharedRateLimiter)
            job = asyncio.create_task(okta.bulk.get(ids).run())
            await until(lambda: _answered(fake) >= 80, what="two windows' gets answered")
            await until(lambda: _all_returned(redis), what="the window's grants returned")
            if how == "held down":
                redis.stop()
                await until(lambda: limiter.outages > 0, what="the client to notice")
                await asyncio.to_thread(redis.start)  # empty
            else:
                await asyncio.to_thread(redis.restart)
            back = time.time()
            report = await job
            assert limiter.outages == 1
    assert report.succeeded == 240
    # Every app answered once: none lost, none fetched twice.
    done = collections.Counter(
        r.app_id for r in fake.requests if r.operation == "get" and r.status == 200
    )
    assert sorted(done) == sorted(ids) and set(done.values()) == {1}
    # The budget is kept again within a window of the client's first retry after Redis is
    # back.
    late = [r for r in fake.requests if r.received_at >= back + budget.retry_after + 1.0]
    assert all(r.status != 429 for r in late), [r.status for r in late]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [w.getMessage() for w in warnings]
    assert "127.0.0.1" in warnings[0].getMessage() and PASSWORD not in caplog.text
    keys = await _keys(redis)
    assert any(":w:" in k for k in keys) and any(k.endswith(":epoch") for k in keys)


async def test_a_restart_nobody_noticed_does_not_reset_the_windows_count(
    redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Two clients spend 16 of a minute's 20; Redis restarts empty while both idle, which
    # redis-py hides from them; then each asks for 4 more at once. The window's counter
    # must start again from Okta's count (16), not from zero: else each is granted its 4
    # (its own headers show 4 or 5 left), and Okta answers 429 to the 4 that do not fit.
    caplog.set_level(logging.WARNING, logger="okta_connections")
    async with FakeOkta(apps=0, rate_limit=20, rate_window=60.0) as fake:
        ids = [fake.add_app("okta_org2org", connection="token").id for _ in range(24)]
        a, b = (
            OktaClient(fake.org_url, auth=SSWSToken(fake.token), shared_budget=redis.url)
            for _ in range(2)
        )
        async with a, b:
            await asyncio.gather(*(a.connections.get(i) for i in ids[:8]))
            await asyncio.gather(*(b.connections.get(i) for i in ids[8:15]))
            await a.connections.get(ids[15])
            await until(lambda: _all_returned(redis), what="the grants returned")
            await asyncio.to_thread(redis.restart)
            # What does not fit waits for the next window, a minute away: cancelled.
            asking = [
                asyncio.create_task(okta.connections.get(i))
                for okta, part in ((a, ids[16:20]), (b, ids[20:]))
                for i in part
            ]
            await until(
                lambda: (
                    _answered(fake) >= 20
                    and a.rate_limiter.in_flight("apps") == b.rate_limiter.in_flight("apps") == 0
                ),
                what="the window's last four gets answered",
            )
            for task in asking:
                task.cancel()
            await asyncio.gather(*asking, return_exceptions=True)
            outages = [getattr(okta.rate_limiter, "outages", None) for okta in (a, b)]
    statuses = [r.status for r in fake.requests if r.operation == "get"]
    assert statuses.count(429) == 0 and statuses.count(200) == 20, statuses
    # Each client noticed the restart once, and put back what it knew: the token's share
    # is more than the assumed half.
    assert outages == [1, 1]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and all("restarted empty" in w for w in warnings), warnings
    assert any(k.endswith(":apps:shown") for k in await _keys(redis))


async def test_a_killed_workers_leases_expire(redis: RedisServer) -> None:
    # A worker killed with SIGKILL never returns its slots: fill the semaphore with
    # leases that nobody will give back, and see them expire by their time-to-live.
    budget = SharedBudget(redis.url)
    limiter = SharedRateLimiter(
        budget, org_url="https://acme.okta.com", principal="p", lease_ttl=1.0, max_in_flight=2
    )
    keys = limiter.fleet_budget._keys("apps")
    # Full cap 100 in a window an hour from now, no assumed share: only the concurrency
    # limit (2) binds.
    window = int(time.time()) + 3600
    prefix = "okta-connections:{x}:apps:w:"
    args: list[object] = [1000, 2, 100, 100, 60, window, prefix, 1.0, 1.0, 10, 0]
    rows, _ = await budget.take(keys, args, [("dead:1", False), ("dead:2", False)])
    assert [r[0] for r in rows] == [1, 1]
    rows, _ = await budget.take(keys, args, [("live:1", False)])
    assert rows[0][:2] == (0, 2)  # both slots held
    await asyncio.sleep(1.1)
    rows, _ = await budget.take(keys, args, [("live:1", False)])
    assert rows[0][0] == 1
    await limiter.aclose()


def test_oauth_strategies_share_by_client_id() -> None:
    # Their access tokens rotate; the client id is what Okta counts calls against.
    auth = PrivateKeyJWT("0oaclientid123", pem(rsa_key()))
    assert auth.principal == "oauth:0oaclientid123"


def test_principals_never_hold_the_credential() -> None:
    token = "00abcdefghijklmnopqrstuvwxyz0123456789ABCD"
    principal = SSWSToken(token).principal
    assert principal.startswith("ssws:") and token not in principal
    assert SSWSToken(token).principal == principal  # stable across processes


def test_the_password_is_never_shown() -> None:
    budget = SharedBudget(f"redis://user:{PASSWORD}@127.0.0.1:6390/2")
    assert PASSWORD not in repr(budget) and "***" in repr(budget)
    okta = OktaClient("https://acme.okta.com", auth=SSWSToken("t" * 40), shared_budget=budget)
    assert PASSWORD not in repr(okta) and PASSWORD not in repr(okta.rate_limiter)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:6379", "redis://"),
        ("redis://", "host"),
        (f"redis://:{PASSWORD}@127.0.0.1:notaport/0", "not a valid URL"),
        (f"redis://:{PASSWORD}@127.0.0.1:6379/db", "database"),
        ("", "Redis URL"),
    ],
)
def test_bad_urls_are_refused_before_anything_connects(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as info:
        OktaClient("https://acme.okta.com", auth=SSWSToken("t" * 40), shared_budget=url)
    assert PASSWORD not in str(info.value)


def test_a_custom_strategy_must_name_its_principal() -> None:
    class Vault(Auth):
        async def authorize(self, request: AuthRequest) -> None:
            request.headers["Authorization"] = "SSWS x"

    with pytest.raises(ConfigurationError, match="principal"):
        OktaClient("https://acme.okta.com", auth=Vault(), shared_budget="redis://h:6379/0")

    class Named(Vault):
        @property
        def principal(self) -> str:
            return "vault:okta-prod"

    okta = OktaClient("https://acme.okta.com", auth=Named(), shared_budget="redis://h:6379/0")
    assert isinstance(okta.rate_limiter, SharedRateLimiter)


def test_smooth_pacing_cannot_share() -> None:
    with pytest.raises(ConfigurationError, match="burst"):
        OktaClient(
            "https://acme.okta.com",
            auth=SSWSToken("t" * 40),
            shared_budget="redis://h:6379/0",
            pacing="smooth",
        )


def test_without_the_redis_package_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    with pytest.raises(ConfigurationError, match=r"okta-connections\[redis\]"):
        SharedBudget("redis://h:6379/0")


def test_okta_yaml_and_the_environment_set_the_shared_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in ("OKTA_CLIENT_ORGURL", "OKTA_CLIENT_TOKEN", "OKTA_CLIENT_RATELIMIT_SHAREDBUDGET"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "okta.yaml").write_text(
        "okta:\n  client:\n    orgUrl: https://acme.okta.com\n    token: "
        + "t" * 40
        + "\n    rateLimit:\n      maxRetries: 4\n      sharedBudget: redis://127.0.0.1:6391/3\n"
    )
    (tmp_path / "okta.yaml").chmod(0o600)
    okta = OktaClient.from_config()
    assert isinstance(okta.rate_limiter, SharedRateLimiter)
    assert okta.rate_limiter.budget.display == "redis://127.0.0.1:6391/3"
    monkeypatch.setenv("OKTA_CLIENT_RATELIMIT_SHAREDBUDGET", "redis://127.0.0.1:6392/4")
    okta = OktaClient.from_config()
    assert isinstance(okta.rate_limiter, SharedRateLimiter)
    assert okta.rate_limiter.budget.display == "redis://127.0.0.1:6392/4"
    (tmp_path / "okta.yaml").write_text(
        "okta:\n  client:\n    orgUrl: https://acme.okta.com\n    token: "
        + "t" * 40
        + "\n    rateLimit:\n      sharedBudgte: redis://x:1/0\n"
    )
    (tmp_path / "okta.yaml").chmod(0o600)
    monkeypatch.delenv("OKTA_CLIENT_RATELIMIT_SHAREDBUDGET")
    with pytest.warns(UserWarning, match="sharedBudgte"):
        okta = OktaClient.from_config()
    assert not isinstance(okta.rate_limiter, SharedRateLimiter)


# ---------------------------------------------------------------------------- the command


async def test_the_command_shares_a_budget_and_shows_it_masked(
    redis: RedisServer, tmp_path: Path
) -> None:
    (tmp_path / "home").mkdir()
    async with FakeOkta(apps=0, rate_limit=1000, rate_window=1.0) as fake:
        ids = [fake.add_app("okta_org2org", connection="token").id for _ in range(30)]
        env = cli_env(tmp_path, fake)
        shown = await run_cli(
            "--json", "config", "show", "--shared-budget", redis.url, cwd=tmp_path, env=env
        )
        assert shown.rc == 0, shown.err
        setting = json.loads(shown.out)["settings"]["rateLimit.sharedBudget"]
        assert setting == {
            "value": redis.url.replace(PASSWORD, "***"),
            "source": "--shared-budget",
        }
        result = await run_cli(
            "bulk", "get", "-", "--shared-budget", redis.url,
            cwd=tmp_path, env=env, input="\n".join(ids),
        )  # fmt: skip
        assert result.rc == 0, result.err
        outcomes = [json.loads(line) for line in result.out.splitlines()]
        assert sum(1 for o in outcomes if o.get("status") == "succeeded") == 30
        for text in (shown.out, shown.err, result.out, result.err):
            assert PASSWORD not in text and fake.token not in text
    keys = await _keys(redis)
    counters = [int(v) for k, v in keys.items() if ":w:" in k]
    # Every call drew on the shared budget (a grant near a window's end can be counted in
    # that window and, by the headers, in the next one too).
    assert sum(counters) >= 30


async def test_closing_right_after_a_call_returns_its_lease_and_opens_no_new_connection(
    redis: RedisServer,
) -> None:
    # The last call's lease goes back in a batch queued for the end of the loop's turn.
    # Closing the client in that same turn used to find no return under way, close the
    # pool, and leave the batch to open a new pool that nobody closed (a ResourceWarning);
    # with the loop ending there (asyncio.run), the lease stayed in Redis until its TTL.
    async with FakeOkta(apps=0) as fake:
        app = fake.add_app("okta_org2org", connection="token").id
        okta = OktaClient(fake.org_url, auth=SSWSToken(fake.token), shared_budget=redis.url)
        async with okta:
            await okta.connections.get(app)
        limiter = okta.rate_limiter
        assert isinstance(limiter, SharedRateLimiter)
        assert (
            not limiter.fleet_budget._gives and not limiter.fleet_budget._tasks
        )  # close() sent the return, waited
        assert await _all_returned(redis)
        await asyncio.sleep(0.1)
        assert limiter.budget._client is None  # and nothing reopened the pool after close
        assert not limiter.fleet_budget._tasks
