"""FakeOkta against Okta's own answers, round two (issue #25 items 1, 3, 5, 6).

Scope refusals name the missing scope in ``WWW-Authenticate``; the ``authorize`` link
follows the spec's Office 365 example; a client assertion may live an hour and not a
second more; System Log events are recorded once per window (rate) or the first each
minute (concurrency), under the names Okta uses for principals.
"""

from __future__ import annotations

import aiohttp
from yarl import URL

from okta_connections.auth import _jose
from okta_connections.auth._keys import load_signing_key
from okta_connections.testing import FakeOkta
from tests.support.fake_http import Api, FakeClock
from tests.support.keys import pem, rsa_key

READ = "okta.apps.read"
MANAGE = "okta.apps.manage"


def _links(body: dict[str, object]) -> set[str]:
    links = body["_links"]
    assert isinstance(links, dict)
    return set(links)


# ---------------------------------------------------------------------- 1: scope refusals


async def test_scope_refusal_names_the_missing_scope(api: Api, fake: FakeOkta) -> None:
    app = fake.add_app("zscalerbyz", connection="token")
    fake.add_bearer_token("read-only", [READ])
    fake.add_bearer_token("other", ["okta.users.read"])
    conn = f"/api/v1/apps/{app.id}/connections/default"

    reply = await api.activate(app.id, auth="Bearer read-only")
    assert reply.status == 403
    # The spec's E0000006 body stays (docs/testing.md: the sources disagree on it).
    assert reply.error_code == "E0000006"
    assert reply.headers["WWW-Authenticate"] == (
        f'Bearer error="insufficient_scope", scope="{MANAGE}", resource="{conn}/lifecycle/activate"'
    )
    reply = await api.get(app.id, auth="Bearer other")
    assert reply.status == 403
    assert reply.headers["WWW-Authenticate"] == (
        f'Bearer error="insufficient_scope", scope="{READ}", resource="{conn}"'
    )
    # The JWKS refusal stays a 401 E0000011.
    hub = fake.add_app("okta_org2org", connection="oauth")
    reply = await api.jwks(hub.id, auth="Bearer other")
    assert (reply.status, reply.error_code) == (401, "E0000011")
    assert "insufficient_scope" not in reply.headers.get("WWW-Authenticate", "")


# ---------------------------------------------------------------------- 3: authorize link


async def test_authorize_link_follows_the_o365_example(api: Api, fake: FakeOkta) -> None:
    app = fake.add_app("office365", connection="oauth", status="ENABLED")
    assert _links((await api.get(app.id)).json()) == {"self", "deactivate", "authorize"}
    # Deactivated after consent was verified: no authorize link (the spec is silent).
    assert (await api.deactivate(app.id)).status == 204
    assert _links((await api.get(app.id)).json()) == {"self", "activate"}
    assert (await api.activate(app.id)).status == 204
    assert "authorize" in _links((await api.get(app.id)).json())
    # Org2Org OAuth has no third party to consent at: never an authorize link.
    hub = fake.add_app("okta_org2org", connection="oauth", status="ENABLED")
    assert _links((await api.get(hub.id)).json()) == {"self", "deactivate"}


async def test_authorize_link_pending_verified_enabled(api: Api, fake: FakeOkta) -> None:
    app = fake.add_app("slack")
    body = {"profile": {"authScheme": "OAUTH2"}}
    assert (await api.update(app.id, body)).status == 200
    assert _links((await api.get(app.id)).json()) == {"self", "authorize"}  # pending
    href = URL(fake.consent(app.id))
    assert (await api.verify("slack", app.id, href.query["code"], href.query["state"])).status == (
        204
    )
    assert _links((await api.get(app.id)).json()) == {"self", "activate"}  # verified
    assert (await api.activate(app.id)).status == 204
    assert _links((await api.get(app.id)).json()) == {"self", "deactivate", "authorize"}


# ---------------------------------------------------------------------- 5: assertion lifetime


async def _token_status(
    fake: FakeOkta, http: aiohttp.ClientSession, clock: FakeClock, lifetime: int
) -> tuple[int, str]:
    token_url = fake.org_url + "/oauth2/v1/token"
    assertion = _jose.client_assertion(
        load_signing_key(pem(rsa_key())),
        client_id="0oaLIFETIME",
        audience=token_url,
        issued_at=clock.now,
        lifetime=lifetime,
        jti=_jose.new_jti(),
    )
    form = _jose.client_credentials_form([READ], assertion)
    async with http.post(token_url, data=form) as resp:
        return resp.status, (await resp.json()).get("error", "")


async def test_assertion_exp_more_than_an_hour_ahead_is_refused_without_leeway(
    fake: FakeOkta, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    fake.register_service_app("0oaLIFETIME", rsa_key().public_key())
    assert await _token_status(fake, http, clock, 3601) == (401, "invalid_client")
    assert fake.oauth.rejections[-1].endswith("expires too far in the future.")
    assert await _token_status(fake, http, clock, 3605) == (401, "invalid_client")
    assert (await _token_status(fake, http, clock, 3600))[0] == 200


# ---------------------------------------------------------------------- 6: System Log events

ORG_RATE = "system.org.rate_limit.violation"
PRINCIPAL_RATE = "system.operation.rate_limit.violation"


async def test_rate_events_are_recorded_once_per_window(
    http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with FakeOkta(
        apps=1, clock=clock, token="tok-a", rate_limit=4, rate_window=60, principal_share=0.5
    ) as fake:
        fake.add_token("tok-b")
        fake.add_token("tok-c")
        api = Api(fake, http)
        app_id = fake.apps[0].id

        async def statuses(token: str, n: int) -> list[int]:
            return [(await api.get(app_id, auth=f"SSWS {token}")).status for _ in range(n)]

        assert await statuses("tok-a", 5) == [200, 200, 429, 429, 429]
        assert await statuses("tok-b", 2) == [200, 200]
        assert await statuses("tok-c", 2) == [429, 429]  # the org's 4 are spent
        assert [r.events for r in fake.requests(status=429)] == [
            [PRINCIPAL_RATE],
            [],
            [],
            [ORG_RATE],
            [],
        ]
        assert fake.requests(event=PRINCIPAL_RATE)[0].principal == "ssws-1"
        assert not fake.requests(event="system.client.rate_limit.violation")
        # A new window: each violation is recorded again, once.
        clock.advance(60)
        assert await statuses("tok-a", 4) == [200, 200, 429, 429]
        assert [r.events for r in fake.requests(status=429)][-2:] == [[PRINCIPAL_RATE], []]


def test_concurrency_events_are_recorded_the_first_time_each_minute() -> None:
    from okta_connections.testing._ratelimit import Limits

    limits = Limits(limit=100, window=60, concurrency=2, concurrency_share=0.5)
    now = 1_800_000_000.0  # a whole minute
    assert limits.enter("ssws-1", now) is None  # holds the principal's one slot
    assert limits.enter("ssws-2", now) is None  # the org's two are taken

    def events(key: str | None, at: float) -> tuple[str, ...]:
        refused = limits.enter(key, at)
        assert refused is not None and refused.refused
        return refused.events

    assert events(None, now) == ("core.concurrency.org.limit.violation",)
    assert events(None, now + 59) == ()
    assert events(None, now + 60) == ("core.concurrency.org.limit.violation",)
    limits.leave("ssws-2")
    principal = "system.operation.concurrency_limit.violation"
    assert events("ssws-1", now + 60) == (principal,)
    assert events("ssws-1", now + 61) == ()
    assert events("ssws-1", now + 120) == (principal,)
