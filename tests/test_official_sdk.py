"""A client we did not write: the official ``okta`` 3.4.6 SDK drives FakeOkta.

Needs the ``official-sdk`` extra (``pip install -e '.[test,official-sdk]'``); skipped
without it. All six operations go through the SDK's public methods against the
``fake_okta`` fixture, and the SDK's view of each result is checked against the fake's
state. Where the SDK fails on a response that is legitimate Okta, the test asserts the
failure: those are findings about the SDK (docs/testing.md, "Findings"), and the fake is
not changed to suit it.
"""

from __future__ import annotations

from typing import Any

import pytest
from yarl import URL

from okta_connections.testing import AppFactory, FakeOkta

okta_client_module = pytest.importorskip("okta.client")
okta_models = pytest.importorskip("okta.models")
pydantic = pytest.importorskip("pydantic")


@pytest.fixture
def sdk(fake_okta: FakeOkta, monkeypatch: pytest.MonkeyPatch) -> Any:
    # The fake org is http on 127.0.0.1; this variable is the SDK's only switch for that
    # (its config loader nests every OKTA_* variable, hence OKTA_TESTING_TESTING...).
    monkeypatch.setenv("OKTA_TESTING_TESTINGDISABLEHTTPSCHECK", "true")
    for name in ("OKTA_CLIENT_TOKEN", "OKTA_CLIENT_ORGURL", "OKTA_CLIENT_AUTHORIZATIONMODE"):
        monkeypatch.delenv(name, raising=False)
    return okta_client_module.Client({"orgUrl": fake_okta.org_url, "token": fake_okta.token})


def _ssws_with_space(client: Any) -> None:
    # Finding 1 (below): restore the space the documented "SSWS {token}" has.
    client.configuration.authorization_mode = "SSWS "


async def test_finding_sdk_sends_ssws_without_a_space(
    sdk: Any, fake_okta: FakeOkta, okta_app_factory: AppFactory
) -> None:
    """okta 3.4.6 sends ``Authorization: SSWS<token>``; Okta documents ``SSWS {token}``."""
    app = okta_app_factory.token("zscalerbyz")
    data, _response, error = await sdk.get_default_provisioning_connection_for_application(app.id)
    (record,) = fake_okta.requests(operation="get")
    assert record.headers["Authorization"] == "SSWS" + fake_okta.token
    # The fake keeps to the documented scheme and refuses it, as 401 E0000011.
    assert data is None and record.status == 401
    assert "E0000011" in str(error)


async def test_sdk_drives_all_six_operations(
    sdk: Any, fake_okta: FakeOkta, okta_app_factory: AppFactory
) -> None:
    _ssws_with_space(sdk)
    zscaler = okta_app_factory.token("zscalerbyz", status="ENABLED")
    hub = okta_app_factory.oauth("okta_org2org", rotation_mode="AUTO", status="DISABLED")
    slack = okta_app_factory.pending_consent("slack")

    # 1. get
    conn, response, error = await sdk.get_default_provisioning_connection_for_application(
        zscaler.id
    )
    assert error is None and response.status_code == 200
    assert conn.status.value == "ENABLED" and conn.profile.auth_scheme.value == "TOKEN"
    assert conn.base_url == zscaler.base_url
    assert conn.links.deactivate.href.endswith(
        f"/{zscaler.id}/connections/default/lifecycle/deactivate"
    )

    # 2. update (TOKEN, activate=true): the oneOf request wrapper serialises as Okta expects.
    body = okta_models.UpdateDefaultProvisioningConnectionForApplicationRequest(
        okta_models.ProvisioningConnectionTokenRequest(
            profile=okta_models.ProvisioningConnectionTokenRequestProfile(
                authScheme="TOKEN", token="new-target-token"
            )
        )
    )
    org2org = okta_app_factory.unconfigured("okta_org2org")
    updated, _, error = await sdk.update_default_provisioning_connection_for_application(
        org2org.id, body, activate=True
    )
    assert error is None and updated.status.value == "ENABLED"
    (update,) = fake_okta.requests(operation="update")
    assert update.query == {"activate": "true"}
    assert update.json() == {"profile": {"authScheme": "TOKEN", "token": "new-target-token"}}
    assert fake_okta.app(org2org.id).token == "new-target-token"

    # 3./4. deactivate and activate: 204, no body.
    for call, expected in (
        (sdk.deactivate_default_provisioning_connection_for_application, "DISABLED"),
        (sdk.activate_default_provisioning_connection_for_application, "ENABLED"),
    ):
        data, response, error = await call(zscaler.id)
        assert (data, error, response.status_code) == (None, None, 204)
        assert fake_okta.app(zscaler.id).connection_status == expected
    for record in fake_okta.requests(app_id=zscaler.id, method="POST"):
        assert record.headers["Content-Length"] == "0"  # no 411: the SDK sends it

    # 5. JWKS of an Org2Org OAuth connection.
    jwks, _, error = await sdk.get_user_provisioning_connection_jwks(hub.id)
    assert error is None
    assert [k.kid for k in jwks.jwks.keys] == [k["kid"] for k in hub.jwks]

    # 6. verify, after the admin's consent in the third party.
    query = URL(fake_okta.consent(slack.id)).query
    data, response, error = await sdk.verify_provisioning_connection_for_application(
        "slack", slack.id, code=query["code"], state=query["state"]
    )
    assert (data, error, response.status_code) == (None, None, 204)
    assert fake_okta.app(slack.id).consent_state == "verified"

    # A third-party OAuth connection (no top-level authScheme) parses fine.
    pending, _, error = await sdk.get_default_provisioning_connection_for_application(slack.id)
    assert error is None and pending.profile.auth_scheme.value == "OAUTH2"

    for operation in ("get", "update", "activate", "deactivate", "get_jwks", "verify"):
        fake_okta.assert_called(operation)
    assert {r.status for r in fake_okta.requests} <= {200, 204}


async def test_sdk_reads_okta_errors_from_the_fake(
    sdk: Any, fake_okta: FakeOkta, okta_app_factory: AppFactory
) -> None:
    _ssws_with_space(sdk)
    data, response, error = await sdk.get_default_provisioning_connection_for_application(
        "0oaDOESNOTEXIST123"
    )
    assert data is None and response.status == 404 and "E0000007" in str(error)
    app = okta_app_factory.token("zscalerbyz")
    fake_okta.fail(app.id, "activate", status=503, times=1)
    data, response, error = await sdk.activate_default_provisioning_connection_for_application(
        app.id
    )
    # The SDK retries 503 (ref. §8.6) with its X-Okta-Retry-* headers, then succeeds.
    assert error is None and response.status_code == 204
    first, retry = fake_okta.assert_called("activate", app_id=app.id, times=2)
    assert retry.headers["X-Okta-Retry-For"] == first.request_id
    assert retry.headers["X-Okta-Retry-Count"] == "1"


async def test_finding_sdk_cannot_parse_an_org2org_oauth_connection(
    sdk: Any, fake_okta: FakeOkta, okta_app_factory: AppFactory
) -> None:
    """Okta returns ``"authScheme": "OAUTH2"`` at the top level for Org2Org OAuth (the
    spec's own example, reference §7.4); the SDK types that field as the one-value enum
    ``[TOKEN]`` and raises pydantic's ValidationError out of the call."""
    _ssws_with_space(sdk)
    hub = okta_app_factory.oauth("okta_org2org")
    with pytest.raises(pydantic.ValidationError, match="authScheme"):
        await sdk.get_default_provisioning_connection_for_application(hub.id)
    record = fake_okta.assert_called("get", app_id=hub.id, status=200, times=1)[0]
    assert record.status == 200  # the server answered fine; the client failed to read it

    # The same for the update that sets such a connection up.
    body = okta_models.UpdateDefaultProvisioningConnectionForApplicationRequest(
        okta_models.ProvisioningConnectionOauthRequest(
            profile=okta_models.ProvisioningConnectionOauthRequestProfile(
                authScheme="OAUTH2",
                clientId="0oa2h6su6bVFyJzIf1d7",
                signing=okta_models.Org2OrgProvisioningOAuthSigningSettings(rotationMode="AUTO"),
            )
        )
    )
    target = okta_app_factory.unconfigured("okta_org2org")
    with pytest.raises(pydantic.ValidationError, match="authScheme"):
        await sdk.update_default_provisioning_connection_for_application(target.id, body)
    # ...after the change was made: the caller cannot tell that it worked.
    assert fake_okta.app(target.id).auth_scheme == "OAUTH2"
    assert fake_okta.app(target.id).rotation_mode == "AUTO"


async def test_finding_sdk_user_agent_is_the_generator_default(
    sdk: Any, fake_okta: FakeOkta
) -> None:
    _ssws_with_space(sdk)
    await sdk.get_default_provisioning_connection_for_application(fake_okta.apps[0].id)
    assert fake_okta.requests[0].headers["User-Agent"].startswith("OpenAPI-Generator/")


def _next_cursor(response: Any) -> str | None:
    """The ``after`` of the ``rel="next"`` link, or None (the SDK does not paginate)."""
    for part in (response.headers or {}).get("Link", "").split(","):
        if 'rel="next"' in part:
            return URL(part.split(";")[0].strip().strip("<>")).query["after"]
    return None


async def test_sdk_lists_the_whole_default_estate(sdk: Any, fake_okta: FakeOkta) -> None:
    """Issue #25, item 2: every seeded sign-on mode parses as the SDK's Application."""
    _ssws_with_space(sdk)
    listed: list[Any] = []
    after: str | None = None
    pages = 0
    while True:
        apps, response, error = await sdk.list_applications(after=after)
        assert error is None and response.status_code == 200
        listed.extend(apps)
        pages += 1
        after = _next_cursor(response)
        if after is None:
            break
    assert pages == 3  # 60 apps, 20 a page
    assert [a.id for a in listed] == [a.id for a in fake_okta.apps]
    modes = {a.sign_on_mode.value for a in listed}
    assert modes == {a.sign_on_mode for a in fake_okta.apps}
    assert modes >= {"SAML_2_0", "WS_FEDERATION", "BOOKMARK", "OPENID_CONNECT", "BROWSER_PLUGIN"}
    for sdk_app, app in zip(listed, fake_okta.apps, strict=True):
        assert (sdk_app.name, sdk_app.label, sdk_app.status.value) == (
            app.name,
            app.label,
            app.status,
        )
        assert sdk_app.settings is not None
    oidc = next(a for a in listed if a.sign_on_mode.value == "OPENID_CONNECT")
    assert oidc.credentials.oauth_client.client_id == oidc.id


async def test_sdk_filters_pages_and_reads_one_app(sdk: Any, fake_okta: FakeOkta) -> None:
    """Issue #25, items 7 and 8: the spec's filters, ``limit=-1``, and ``GET /apps/{id}``."""
    _ssws_with_space(sdk)
    first = fake_okta.apps[0]
    apps, _, error = await sdk.list_applications(filter=f'id eq "{first.id}"')
    assert error is None and [a.id for a in apps] == [first.id]
    kid = apps[0].credentials.signing.kid
    assert kid
    apps, _, error = await sdk.list_applications(filter=f'credentials.signing.kid eq "{kid}"')
    assert error is None and [a.id for a in apps] == [first.id]
    apps, _, error = await sdk.list_applications(filter="settings.slo.enabled eq true")
    assert error is None and apps == []
    for prop in ("user.id", "group.id"):
        apps, _, error = await sdk.list_applications(filter=f'{prop} eq "00u1ab2CD3ef4GH5ij6"')
        assert error is None and apps == []  # a fake estate assigns no users or groups
    apps, response, error = await sdk.list_applications(limit=-1)
    assert error is None and response.status_code == 200 and len(apps) == 20

    app, response, error = await sdk.get_application(first.id)
    assert error is None and response.status_code == 200
    assert (app.id, app.label, type(app).__name__) == (first.id, first.label, "SamlApplication")
    fake_okta.assert_called("get_app", app_id=first.id, status=200, times=1)
    assert {r.status for r in fake_okta.requests} == {200}
