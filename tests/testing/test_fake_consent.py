"""FakeOkta: the third-party OAuth consent flow and the verify operation."""

from __future__ import annotations

import pytest
from yarl import URL

from okta_connections.testing import FakeApp, FakeOkta, UnknownAppError
from tests.support.fake_http import Api


async def start_oauth(api: Api, fake: FakeOkta, name: str) -> tuple[FakeApp, str]:
    """Create ``name`` with an OAuth connection pending consent; returns (app, authorize href)."""
    app = fake.add_app(name)
    profile: dict[str, object] = {"authScheme": "OAUTH2"}
    if name == "office365":
        profile["settings"] = {"adminUsername": "admin@contoso", "adminPassword": "pw"}
    body = (await api.update(app.id, {"profile": profile}, activate="true")).json()
    assert body["status"] == "DISABLED"
    return app, body["_links"]["authorize"]["href"]


@pytest.mark.parametrize("name", ["google", "office365", "slack", "zoomus"])
async def test_full_consent_flow(api: Api, fake: FakeOkta, name: str) -> None:
    app, authorize = await start_oauth(api, fake, name)

    # 1. The admin opens the authorize link: the third party's page takes no Okta token.
    page = await api.call("GET", authorize, auth=None)
    assert page.status == 200
    cont = page.json()["continue_oauth_flow_url"]
    assert cont["method"] == "POST"
    url = URL(cont["href"])
    assert str(url.origin()) == fake.org_url
    assert url.path == f"/api/v1/apps/{name}/{app.id}/oauth2/callback"
    assert url.query["code"] and url.query["state"]

    # Still pending: activation is refused until verify.
    assert (await api.activate(app.id)).status == 400

    # 2. POST the continue URL with Okta credentials: verify.
    reply = await api.call("POST", cont["href"])
    assert reply.status == 204
    assert reply.body == b""
    assert fake.requests[-1].operation == "verify"
    assert fake.requests[-1].app_id == app.id

    # 3. The authorize link is gone; the connection stays DISABLED until activate.
    body = (await api.get(app.id)).json()
    assert "authorize" not in body["_links"]
    assert body["status"] == "DISABLED"
    assert set(body["_links"]) == {"self", "activate"}
    assert app.consent_state == "verified"

    # 4. Activate: ENABLED with deactivate and authorize, as the spec's O365 example.
    assert (await api.activate(app.id)).status == 204
    body = (await api.get(app.id)).json()
    assert body["status"] == "ENABLED"
    assert set(body["_links"]) == {"self", "deactivate", "authorize"}


async def test_consent_helper_matches_the_page(api: Api, fake: FakeOkta) -> None:
    app, _ = await start_oauth(api, fake, "slack")
    href = fake.consent(app.id)
    url = URL(href)
    assert href.startswith(f"{fake.org_url}/api/v1/apps/slack/{app.id}/oauth2/callback?")
    reply = await api.verify("slack", app.id, url.query["code"], url.query["state"])
    assert reply.status == 204


async def test_code_is_single_use(api: Api, fake: FakeOkta) -> None:
    app, _ = await start_oauth(api, fake, "zoomus")
    href = fake.consent(app.id)
    assert (await api.call("POST", href)).status == 204
    reply = await api.call("POST", href)
    assert reply.status == 400
    body = reply.json()
    assert body["errorCode"] == "E0000001"
    assert "already been used" in body["errorCauses"][0]["errorSummary"]


async def test_verify_rejects_bad_code_state_and_names(api: Api, fake: FakeOkta) -> None:
    app, _ = await start_oauth(api, fake, "google")
    url = URL(fake.consent(app.id))
    code, state = url.query["code"], url.query["state"]

    for bad_code, bad_state in ((None, state), (code, None), ("", state), (code, "")):
        reply = await api.verify("google", app.id, bad_code, bad_state)
        assert reply.status == 400
        assert reply.error_code == "E0000001"

    reply = await api.verify("google", app.id, "made-up-code", state)
    assert reply.status == 400
    assert "invalid" in reply.json()["errorCauses"][0]["errorSummary"]

    reply = await api.verify("google", app.id, code, "wrong-state")
    assert reply.status == 400
    assert reply.json()["errorSummary"] == "Api validation failed: state"

    # appName outside google/office365/slack/zoomus: 404
    for name in ("okta_org2org", "zscalerbyz", "notanapp"):
        reply = await api.verify(name, app.id, code, state)
        assert reply.status == 404, name
        assert reply.error_code == "E0000007"
    # appName that is valid but not this app's name: 404
    reply = await api.verify("slack", app.id, code, state)
    assert reply.status == 404
    assert reply.error_code == "E0000007"

    assert app.consent_state == "pending"
    # None of the failures spent the code.
    assert (await api.verify("google", app.id, code, state)).status == 204
    assert fake.app(app.id).consent_state == "verified"


async def test_update_invalidates_outstanding_codes(api: Api, fake: FakeOkta) -> None:
    app, _ = await start_oauth(api, fake, "slack")
    url = URL(fake.consent(app.id))
    await api.update(app.id, {"profile": {"authScheme": "OAUTH2"}})  # a new connection
    reply = await api.verify("slack", app.id, url.query["code"], url.query["state"])
    assert reply.status == 400
    assert app.consent_pending


async def test_consent_requires_an_oauth_connection(fake: FakeOkta) -> None:
    with pytest.raises(ValueError, match="needs consent"):
        fake.consent(fake.add_app("okta_org2org", connection="oauth").id)
    with pytest.raises(ValueError, match="needs consent"):
        fake.consent(fake.add_app("slack").id)  # unconfigured
    with pytest.raises(UnknownAppError, match="no app with id"):
        fake.consent("0oaNOPE")
    # An already-consented connection can be re-consented (a new grant).
    app = fake.add_app("slack", connection="oauth", status="ENABLED")
    assert "code=" in fake.consent(app.id)


async def test_consent_page_for_an_app_without_consent_is_404(api: Api, fake: FakeOkta) -> None:
    app = fake.add_app("zscalerbyz", connection="token")
    reply = await api.call("GET", f"/fake-consent/{app.id}", auth=None)
    assert reply.status == 404
    assert reply.error_code == "E0000007"
    reply = await api.call("GET", "/fake-consent/0oaMISSING", auth=None)
    assert reply.status == 404


async def test_seeded_pending_apps_have_authorize_links(api: Api) -> None:
    async with FakeOkta(apps=200, seed=3) as fake:
        api = Api(fake, api.session)
        pending = [a for a in fake.apps if a.consent_pending]
        assert pending, "the seeded estate should include connections awaiting consent"
        for app in pending[:3]:
            body = (await api.get(app.id)).json()
            assert body["status"] == "DISABLED"
            assert body["_links"]["authorize"]["href"] == f"{fake.org_url}/fake-consent/{app.id}"
