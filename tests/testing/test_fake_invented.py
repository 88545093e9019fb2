"""FakeOkta's invented answers (issue #12, parts 4-6): named refusals a test can change,
the smaller fixes, and one fault mechanism for every route."""

from __future__ import annotations

import functools
import re

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from yarl import URL

from okta_connections.testing import FakeOkta
from tests.support.fake_http import Api, FakeClock

# ---------------------------------------------------------------------- part 4: refusals


async def test_default_refusals_are_400_e0000001(api: Api, fake: FakeOkta) -> None:
    unconfigured = fake.add_app("zscalerbyz")
    pending = fake.add_app("slack", connection="oauth", consented=False)
    bookmark = fake.add_app("bookmark")
    replies = {
        "activate_unconfigured": await api.activate(unconfigured.id),
        "activate_pending_consent": await api.activate(pending.id),
        "lifecycle_without_provisioning": await api.deactivate(bookmark.id),
        "verify_bad_code": await api.verify("slack", pending.id, "nope", "nope"),
    }
    for name, reply in replies.items():
        assert reply.status == 400, name
        assert reply.error_code == "E0000001", name
        assert reply.json()["errorSummary"].startswith("Api validation failed: "), name
        assert reply.json()["errorCauses"], name
    assert (await api.activate(bookmark.id)).status == 400


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("activate_unconfigured", 403, "E0000006"),
        ("activate_pending_consent", 404, "E0000007"),
        ("lifecycle_without_provisioning", 403, "E0000006"),
        ("verify_bad_code", 403, "E0000006"),
    ],
)
async def test_a_test_chooses_another_refusal(
    api: Api, fake: FakeOkta, name: str, status: int, code: str
) -> None:
    fake.set_refusal(name, status)
    unconfigured = fake.add_app("zscalerbyz")
    pending = fake.add_app("slack", connection="oauth", consented=False)
    bookmark = fake.add_app("bookmark")
    call = {
        "activate_unconfigured": lambda: api.activate(unconfigured.id),
        "activate_pending_consent": lambda: api.activate(pending.id),
        "lifecycle_without_provisioning": lambda: api.deactivate(bookmark.id),
        "verify_bad_code": lambda: api.verify("slack", pending.id, "nope", "nope"),
    }[name]
    reply = await call()
    assert reply.status == status
    assert reply.error_code == code


async def test_a_204_refusal_accepts_and_changes_nothing(
    http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    refusals = {"activate_unconfigured": 204, "verify_bad_code": 204}
    async with FakeOkta(apps=0, clock=clock, refusals=refusals) as fake:
        api = Api(fake, http)
        unconfigured = fake.add_app("zscalerbyz")
        pending = fake.add_app("slack", connection="oauth", consented=False)
        assert (await api.activate(unconfigured.id)).status == 204
        assert unconfigured.connection_status == "UNKNOWN"
        assert (await api.verify("slack", pending.id, "nope", "nope")).status == 204
        assert pending.consent_state == "pending"
        # The other refusals keep their defaults.
        assert (await api.activate(pending.id)).status == 400


async def test_a_refusal_with_its_own_body(api: Api, fake: FakeOkta) -> None:
    fake.set_refusal("activate_unconfigured", 409, error_code="E0000999", error_summary="no")
    reply = await api.activate(fake.add_app("okta_org2org").id)
    assert (reply.status, reply.error_code, reply.json()["errorSummary"]) == (409, "E0000999", "no")


def test_bad_refusals_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown refusal"):
        FakeOkta(apps=0, refusals={"activate": 204})
    with pytest.raises(ValueError, match="204 or 400-499"):
        FakeOkta(apps=0, refusals={"verify_bad_code": 500})
    with pytest.raises(ValueError, match="204 or 400-499"):
        FakeOkta(apps=0).set_refusal("verify_bad_code", 200)


# ---------------------------------------------------------------------- part 3: links


async def test_links_match_what_each_operation_would_do(api: Api, fake: FakeOkta) -> None:
    apps = {
        "unconfigured": fake.add_app("okta_org2org"),
        "none": fake.add_app("bookmark"),
        "pending": fake.add_app("google", connection="oauth", consented=False),
        "disabled": fake.add_app("zscalerbyz", connection="token"),
        "enabled": fake.add_app("zscalerbyz", connection="token", status="ENABLED"),
    }
    for what, app in apps.items():
        before = (await api.get(app.id)).json()
        links = set(before["_links"]) - {"self", "authorize"}
        activated = await api.activate(app.id)
        after_activate = (await api.get(app.id)).json()["status"]
        # An activate link exactly when activate turns the connection ENABLED.
        assert ("activate" in links) == (
            activated.status == 204 and before["status"] != after_activate == "ENABLED"
        ), what
        if after_activate == "ENABLED":
            assert set((await api.get(app.id)).json()["_links"]) == {"self", "deactivate"}


# ---------------------------------------------------------------------- part 5


async def test_a_later_page_self_link_keeps_its_cursor(api: Api, fake: FakeOkta) -> None:
    first = await api.call("GET", "/api/v1/apps", params={"limit": "5"})
    links = _links(first.headers["Link"])
    assert "after" not in URL(links["self"]).query
    second = await api.call("GET", links["next"])
    links2 = _links(second.headers["Link"])
    assert URL(links2["self"]).query["after"] == URL(links["next"]).query["after"]
    again = await api.call("GET", links2["self"])  # the self link names the same page
    assert again.json() == second.json()


def _links(header: str) -> dict[str, str]:
    return {rel: href for href, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', header)}


@functools.cache
def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


async def _token_request(api: Api, fake: FakeOkta, clock: FakeClock, **claims: object) -> int:
    token_url = fake.org_url + "/oauth2/v1/token"
    payload = {"iss": "0oaSVC", "sub": "0oaSVC", "aud": token_url, "exp": int(clock.now) + 300}
    payload.update(claims)
    assertion = jwt.encode(payload, _key(), algorithm="RS256")
    form = {
        "grant_type": "client_credentials",
        "scope": "okta.apps.read",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }
    async with api.session.post(token_url, data=form) as resp:
        return resp.status


async def test_jti_is_optional_and_single_use_when_present(
    api: Api, fake: FakeOkta, clock: FakeClock
) -> None:
    fake.register_service_app("0oaSVC", _key().public_key())
    assert await _token_request(api, fake, clock) == 200
    assert await _token_request(api, fake, clock) == 200  # no jti: nothing to replay
    assert await _token_request(api, fake, clock, jti="once") == 200
    assert await _token_request(api, fake, clock, jti="once") == 401
    assert fake.oauth.rejections[-1].startswith("invalid_client: ")


# ---------------------------------------------------------------------- part 6: faults


async def test_one_fault_mechanism_serves_every_route(
    api: Api, fake: FakeOkta, clock: FakeClock
) -> None:
    fake.register_service_app("0oaSVC", _key().public_key())
    pending = fake.add_app("slack", connection="oauth", consented=False)
    fake.fail(None, "token", status=503)
    fake.oauth.fail_next(429, retry_after=2)
    fake.fail(pending.id, "consent", status=500)
    fake.fail(None, "list_apps", status=502)
    assert [f.operation for f in fake.faults.scripted] == ["token", "token", "consent", "list_apps"]
    assert fake.oauth.faults is fake.faults

    async with api.session.post(fake.org_url + "/oauth2/v1/token", data={"x": "y"}) as resp:
        assert resp.status == 503
        assert (await resp.json())["error"] == "temporarily_unavailable"
    async with api.session.post(fake.org_url + "/oauth2/v1/token", data={"x": "y"}) as resp:
        assert resp.status == 429
        assert resp.headers["Retry-After"] == "2"
        assert (await resp.json())["error"] == "slow_down"
    assert fake.count_token_requests() == 2  # refused ones included
    assert await _token_request(api, fake, clock) == 200

    page = await api.call("GET", f"/fake-consent/{pending.id}", auth=None)
    assert page.status == 500 and page.error_code == "E0000009"
    assert (await api.call("GET", f"/fake-consent/{pending.id}", auth=None)).status == 200
    assert (await api.call("GET", "/api/v1/apps")).status == 502
    assert (await api.call("GET", "/api/v1/apps")).status == 200
    assert fake.faults.scripted == []
    assert fake.faults.counts["scripted"] == 4
