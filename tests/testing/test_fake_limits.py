"""FakeOkta rate limits (issue #12, parts 1 and 2): enforced by default, whole-second
windows with an exact reset, principal shares in both header modes, concurrency shares,
System Log event names, and the ``okta`` preset."""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from okta_connections.cli._fake_server import add_arguments
from okta_connections.testing import FakeOkta
from okta_connections.testing.__main__ import _parser, build
from tests.support.fake_http import Api, FakeClock, Reply

RATE_EVENT = "system.org.rate_limit.violation"
# A principal over its share (Okta Support, "429 Too Many Requests"; docs/testing.md).
CLIENT_EVENT = "system.operation.rate_limit.violation"
ORG_CONCURRENCY = "core.concurrency.org.limit.violation"
CLIENT_CONCURRENCY = "system.operation.concurrency_limit.violation"


def rate(reply: Reply) -> tuple[int, int, int]:
    h = reply.headers
    return (
        int(h["X-Rate-Limit-Limit"]),
        int(h["X-Rate-Limit-Remaining"]),
        int(h["X-Rate-Limit-Reset"]),
    )


def assert_rate_429(reply: Reply) -> None:
    assert reply.status == 429
    body = reply.json()
    assert body["errorCode"] == "E0000047"
    assert body["errorSummary"] == "API call exceeded rate limit due to too many requests."
    assert body["errorLink"] == "E0000047"
    assert body["errorCauses"] == []
    assert rate(reply)[1] == 0


# ---------------------------------------------------------------------- part 1: defaults


def test_the_default_limit_is_generous_and_enforced() -> None:
    limits = FakeOkta(apps=0).limits
    assert (limits.limit, limits.window, limits.enforce) == (1_000_000, 60, True)
    assert (limits.share, limits.concurrency, limits.headers) == (1.0, None, "principal")


async def test_an_advertised_limit_is_enforced_without_asking(
    http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with FakeOkta(apps=2, clock=clock, rate_limit=3) as fake:
        api = Api(fake, http)
        app = fake.apps[0]
        replies = [await api.get(app.id) for _ in range(4)]
        assert [r.status for r in replies] == [200, 200, 200, 429]
        assert [rate(r)[:2] for r in replies] == [(3, 2), (3, 1), (3, 0), (3, 0)]
        assert_rate_429(replies[-1])
        assert fake.requests[-1].events == [RATE_EVENT]
        assert fake.requests(event=RATE_EVENT) == [fake.requests[-1]]


def test_fake_server_enforces_by_default() -> None:
    fake = build(_parser().parse_args(["--rate-limit", "7"]))
    assert (fake.limits.limit, fake.limits.window, fake.limits.enforce) == (7, 60, True)
    fake = build(_parser().parse_args([]))
    assert (fake.limits.limit, fake.limits.enforce) == (1_000_000, True)


def test_fake_server_flags_reach_the_org() -> None:
    args = _parser().parse_args(
        [
            "--token",
            "t0ken",
            "--preset",
            "okta",
            "--principal-share",
            "t0ken=0.2",
            "--principal-share",
            "0oaSERVICE=0.9",
            "--rate-limit-headers",
            "org",
        ]
    )
    fake = build(args)
    limits = fake.limits
    assert (limits.limit, limits.share, limits.concurrency) == (100, 0.5, 75)
    assert limits.headers == "org"
    assert limits.ceiling(fake.principal_of("t0ken")) == 20
    assert limits.ceiling("0oaSERVICE") == 90
    fake = build(_parser().parse_args(["--principal-share", "0.25"]))
    assert fake.limits.share == 0.25


@pytest.mark.parametrize(
    "argv",
    [["--principal-share", "2"], ["--principal-share", "=0.5"], ["--principal-share", "x"]],
)
def test_fake_server_refuses_bad_shares(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(exit_on_error=False)
    add_arguments(parser)
    with pytest.raises(argparse.ArgumentError):
        parser.parse_args(argv)


# ---------------------------------------------------------------------- part 1: windows


async def test_windows_open_on_whole_seconds_and_reset_is_their_exact_end(
    http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    clock.now = 1_800_000_000.75
    async with FakeOkta(apps=1, clock=clock, rate_limit=2, rate_window=10) as fake:
        api = Api(fake, http)
        app = fake.apps[0]
        first = await api.get(app.id)
        # Opened at 1_800_000_000 (not .75): the reset is its end, not rounded up.
        assert rate(first) == (2, 1, 1_800_000_010)
        await api.get(app.id)
        clock.now = 1_800_000_009.999
        assert_rate_429(await api.get(app.id))
        clock.now = 1_800_000_010.0  # exactly the announced reset: a new window
        reply = await api.get(app.id)
        assert reply.status == 200
        assert rate(reply) == (2, 1, 1_800_000_020)


async def test_a_rate_429_tells_the_window_end(
    http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    clock.now = 1_800_000_000.4
    async with FakeOkta(apps=1, clock=clock, rate_limit=1, rate_window=60) as fake:
        api = Api(fake, http)
        await api.get(fake.apps[0].id)
        clock.advance(30.3)
        reply = await api.get(fake.apps[0].id)
        assert_rate_429(reply)
        assert rate(reply) == (1, 0, 1_800_000_060)


# ---------------------------------------------------------------------- part 2: principals


async def test_each_token_gets_its_share_and_the_org_bucket_caps_them_all(
    http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with FakeOkta(
        apps=1, clock=clock, token="tok-a", rate_limit=10, principal_share=0.5
    ) as fake:
        fake.add_token("tok-b")
        fake.add_token("tok-c")
        api = Api(fake, http)
        app = fake.apps[0]
        a = [await api.get(app.id, auth="SSWS tok-a") for _ in range(6)]
        # The principal's ceiling by default: 5 of the org's 10.
        assert [rate(r)[:2] for r in a[:5]] == [(5, 4), (5, 3), (5, 2), (5, 1), (5, 0)]
        assert_rate_429(a[5])
        assert fake.requests[-1].events == [CLIENT_EVENT]
        assert fake.requests[-1].principal == fake.principal_of("tok-a") == "ssws-1"
        b = [await api.get(app.id, auth="SSWS tok-b") for _ in range(5)]
        assert [r.status for r in b] == [200] * 5  # tok-a's refusal spent none of the org's
        # The org's 10 are gone: tok-c, untouched, is refused by the org bucket.
        c = await api.get(app.id, auth="SSWS tok-c")
        assert_rate_429(c)
        assert rate(c) == (5, 0, rate(c)[2])
        assert fake.requests[-1].events == [RATE_EVENT]
        assert {r.principal for r in fake.requests} == {"ssws-1", "ssws-2", "ssws-3"}
        assert not any("tok-" in repr(r) for r in fake.requests)


async def test_org_header_mode_shows_the_org_bucket(
    http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with FakeOkta(
        apps=1,
        clock=clock,
        token="tok-a",
        rate_limit=10,
        principal_share=0.5,
        rate_limit_headers="org",
    ) as fake:
        fake.add_token("tok-b")
        api = Api(fake, http)
        app = fake.apps[0]
        a = [await api.get(app.id, auth="SSWS tok-a") for _ in range(6)]
        assert [rate(r)[:2] for r in a[:5]] == [(10, 9), (10, 8), (10, 7), (10, 6), (10, 5)]
        # Refused at the principal's ceiling while the org header still shows budget left:
        # a 429 always says Remaining 0.
        assert_rate_429(a[5])
        assert rate(a[5])[0] == 10
        b = await api.get(app.id, auth="SSWS tok-b")
        assert rate(b)[:2] == (10, 4)


async def test_share_per_principal(http: aiohttp.ClientSession, clock: FakeClock) -> None:
    async with FakeOkta(apps=1, clock=clock, token="tok-a", preset="okta") as fake:
        fake.add_token("tok-b")
        fake.set_principal_share("tok-b", 0.8)
        api = Api(fake, http)
        app = fake.apps[0]
        assert rate(await api.get(app.id, auth="SSWS tok-a"))[:2] == (50, 49)
        assert rate(await api.get(app.id, auth="SSWS tok-b"))[:2] == (80, 79)
        with pytest.raises(ValueError, match="share"):
            fake.set_principal_share("tok-b", 1.5)


async def test_bearer_tokens_are_principals_and_unauthenticated_requests_count_for_the_org(
    http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with FakeOkta(apps=1, clock=clock, rate_limit=4, principal_share=0.5) as fake:
        fake.add_bearer_token("bearer-token")
        api = Api(fake, http)
        app = fake.apps[0]
        assert (await api.get(app.id, auth=None)).status == 401
        assert fake.requests[-1].principal is None
        replies = [await api.get(app.id, auth="Bearer bearer-token") for _ in range(3)]
        assert [r.status for r in replies] == [200, 200, 429]
        assert fake.requests[-1].principal == "bearer-2"
        assert rate(replies[0])[:2] == (2, 1)
        # The org has spent 3 of 4 (the 401 and two 200s): the SSWS token gets one.
        assert rate(await api.get(app.id))[:2] == (2, 0)


@functools.cache
def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


async def _service_token(
    api: Api, fake: FakeOkta, client_id: str, clock: FakeClock, **claims: Any
) -> str:
    token_url = fake.org_url + "/oauth2/v1/token"
    payload = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "exp": int(clock.now) + 300,
        **claims,
    }
    assertion = jwt.encode(payload, _key(), algorithm="RS256")
    async with api.session.post(
        token_url,
        data={
            "grant_type": "client_credentials",
            "scope": "okta.apps.read okta.apps.manage",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        },
    ) as resp:
        body = await resp.json()
        assert resp.status == 200, body
    token = body["access_token"]
    assert isinstance(token, str)
    return token


async def test_a_service_app_is_one_principal_by_client_id(
    http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with FakeOkta(apps=1, clock=clock, rate_limit=10, principal_share=0.5) as fake:
        fake.register_service_app("0oaSERVICE", _key().public_key())
        fake.set_principal_share("0oaSERVICE", 0.3)
        api = Api(fake, http)
        # Two access tokens of one app share its ceiling. (No jti: optional, §6.2.)
        first = await _service_token(api, fake, "0oaSERVICE", clock)
        second = await _service_token(api, fake, "0oaSERVICE", clock)
        app = fake.apps[0]
        replies = [
            await api.get(app.id, auth=f"Bearer {t}") for t in (first, second, first, second)
        ]
        assert [r.status for r in replies] == [200, 200, 200, 429]
        assert rate(replies[0])[:2] == (3, 2)
        assert fake.requests[-1].principal == "0oaSERVICE"
        assert fake.requests[-1].events == [CLIENT_EVENT]


# ---------------------------------------------------------------------- concurrency


# The loop's time: every request reaches the fake while the first ones are held by its
# latency, however slowly a loaded machine sends them.
@pytest.mark.looptime
async def test_concurrency_share_and_no_rate_budget_spent_on_concurrency_429s(
    http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with FakeOkta(
        apps=1,
        clock=clock,
        token="tok-a",
        rate_limit=100,
        concurrency_limit=4,
        principal_concurrency_share=0.5,
    ) as fake:
        fake.add_token("tok-b")
        fake.latency = 0.3
        api = Api(fake, http)
        app = fake.apps[0]
        replies = await asyncio.gather(*(api.get(app.id, auth="SSWS tok-a") for _ in range(4)))
        assert sorted(r.status for r in replies) == [200, 200, 429, 429]
        for reply in replies:
            if reply.status == 429:
                assert rate(reply)[:2] == (0, 0)
                assert reply.json()["errorCode"] == "E0000047"
        refused = fake.requests(status=429)
        # The first refusal of the minute records the event, not every refusal.
        assert [r.events for r in refused] == [[CLIENT_CONCURRENCY], []]
        # The refused two spent no rate budget: 2 of 100 are gone.
        fake.latency = 0.0
        assert rate(await api.get(app.id, auth="SSWS tok-a"))[:2] == (100, 97)
        # The org's slots: tok-a holds 2, tok-b 2; a fifth request is the org's refusal.
        fake.latency = 0.3
        both = await asyncio.gather(
            *(api.get(app.id, auth=f"SSWS {t}") for t in ("tok-a", "tok-a", "tok-b", "tok-b")),
        )
        assert [r.status for r in both] == [200] * 4
        assert fake.limits.in_flight == 0 and not fake.limits.in_flight_by


# The loop's time: every request reaches the fake while the first ones are held by its
# latency, however slowly a loaded machine sends them.
@pytest.mark.looptime
async def test_org_concurrency_violation_event(
    http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with FakeOkta(apps=1, clock=clock, token="tok-a", concurrency_limit=2) as fake:
        fake.add_token("tok-b")
        fake.latency = 0.3
        api = Api(fake, http)
        app = fake.apps[0]
        tasks = [
            asyncio.ensure_future(api.get(app.id, auth="SSWS tok-a")),
            asyncio.ensure_future(api.get(app.id, auth="SSWS tok-b")),
        ]
        for _ in range(2000):  # 10 s or more: fails, never hangs
            if fake.limits.in_flight == 2:  # both counted, held by the latency
                break
            await asyncio.sleep(0.005)
        else:
            raise AssertionError("the two requests never were in flight together")
        late = await api.get(app.id, auth="SSWS tok-b")
        await asyncio.gather(*tasks)
        assert late.status == 429 and rate(late)[:2] == (0, 0)
        assert fake.requests(status=429)[0].events == [ORG_CONCURRENCY]


# ---------------------------------------------------------------------- the okta preset


def test_the_okta_preset_sets_okta_defaults_and_arguments_win() -> None:
    limits = FakeOkta(apps=0, preset="okta").limits
    assert (limits.limit, limits.window, limits.share) == (100, 60, 0.5)
    assert (limits.concurrency, limits.concurrency_share) == (75, 0.5)
    limits = FakeOkta(apps=0, preset="okta", rate_limit=20, principal_share=1.0).limits
    assert (limits.limit, limits.share, limits.concurrency) == (20, 1.0, 75)
    with pytest.raises(ValueError, match="preset"):
        FakeOkta(apps=0, preset="fast")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rate_limit_headers"):
        FakeOkta(apps=0, rate_limit_headers="both")  # type: ignore[arg-type]


async def test_opting_out_of_enforcement_still_counts(
    http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with FakeOkta(apps=1, clock=clock, rate_limit=1, enforce_rate_limit=False) as fake:
        api = Api(fake, http)
        replies = [await api.get(fake.apps[0].id) for _ in range(2)]
        assert [r.status for r in replies] == [200, 200]
        assert fake.requests[-1].events == [RATE_EVENT]  # the violation is still logged


def test_time_module_clock_is_the_default() -> None:
    fake = FakeOkta(apps=0)
    before = time.time()
    assert fake.limits.peek("apps", None, before).reset >= int(before)
