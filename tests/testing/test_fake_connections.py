"""FakeOkta: the connection operations, their state transitions and validation errors."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from typing import Any

import pytest

from okta_connections.testing import FakeOkta
from tests.support.fake_http import Api, first


def link_names(body: dict[str, Any]) -> set[str]:
    return set(body["_links"])


def assert_links(fake: FakeOkta, app_id: str, body: dict[str, Any]) -> None:
    """Links follow the status: DISABLED -> activate, ENABLED -> deactivate, UNKNOWN -> none."""
    conn = f"{fake.org_url}/api/v1/apps/{app_id}/connections/default"
    links = body["_links"]
    assert links["self"] == {"href": conn, "hints": {"allow": ["GET", "POST"]}}
    status = body["status"]
    if status == "DISABLED":
        assert links["activate"] == {
            "href": conn + "/lifecycle/activate",
            "hints": {"allow": ["POST"]},
        }
        assert "deactivate" not in links
    elif status == "ENABLED":
        assert links["deactivate"] == {
            "href": conn + "/lifecycle/deactivate",
            "hints": {"allow": ["POST"]},
        }
        assert "activate" not in links
    else:
        assert status == "UNKNOWN"
        assert set(links) == {"self"}


# ---------------------------------------------------------------- get


async def test_get_token_connection_never_echoes_the_token(api: Api, fake: FakeOkta) -> None:
    app = fake.add_app(
        "zscalerbyz",
        connection="token",
        status="ENABLED",
        token="zs-secret-token-123",
        base_url="https://scim.zscalerbeta.net/1234567/890/scim",
    )
    reply = await api.get(app.id)
    assert reply.status == 200
    body = reply.json()
    assert body["authScheme"] == "TOKEN"
    assert body["status"] == "ENABLED"
    assert body["baseUrl"] == "https://scim.zscalerbeta.net/1234567/890/scim"
    assert body["profile"] == {"authScheme": "TOKEN"}
    assert_links(fake, app.id, body)
    assert b"zs-secret-token-123" not in reply.body


async def test_get_org2org_token_connection_has_target_org_base_url(
    api: Api, fake: FakeOkta
) -> None:
    app = fake.add_app("okta_org2org", connection="token", base_url="https://targetorg.okta.com")
    body = (await api.get(app.id)).json()
    assert body == {
        "authScheme": "TOKEN",
        "status": "DISABLED",
        "baseUrl": "https://targetorg.okta.com",
        "profile": {"authScheme": "TOKEN"},
        "_links": body["_links"],
    }
    assert_links(fake, app.id, body)


async def test_get_unconfigured_and_no_provisioning(api: Api, fake: FakeOkta) -> None:
    unconfigured = fake.add_app("okta_org2org")
    body = (await api.get(unconfigured.id)).json()
    assert body["profile"] == {"authScheme": "UNKNOWN"}
    # An UNKNOWN scheme yields UNKNOWN status (reference §4.10), and activate would be
    # refused, so there is no activate link.
    assert body["status"] == "UNKNOWN"
    assert unconfigured.connection_status == "UNKNOWN"
    assert "authScheme" not in body
    assert link_names(body) == {"self"}
    # Even a test that sets the status by hand does not get a status that lies.
    unconfigured.connection_status = "DISABLED"
    assert (await api.get(unconfigured.id)).json()["status"] == "UNKNOWN"

    bookmark = fake.add_app("bookmark")
    body = (await api.get(bookmark.id)).json()
    assert body["profile"] == {"authScheme": "UNKNOWN"}
    assert body["status"] == "UNKNOWN"
    assert_links(fake, bookmark.id, body)


async def test_get_org2org_oauth_connection(api: Api, fake: FakeOkta) -> None:
    app = fake.add_app(
        "okta_org2org",
        connection="oauth",
        status="ENABLED",
        client_id="0oahubserviceapp0001",
        rotation_mode="AUTO",
    )
    body = (await api.get(app.id)).json()
    assert body["authScheme"] == "OAUTH2"
    assert body["profile"] == {
        "authScheme": "OAUTH2",
        "clientId": "0oahubserviceapp0001",
        "signing": {"rotationMode": "AUTO"},
    }
    assert "baseUrl" not in body
    assert link_names(body) == {"self", "deactivate"}


async def test_get_third_party_oauth_connection(api: Api, fake: FakeOkta) -> None:
    app = fake.add_app(
        "office365", connection="oauth", status="ENABLED", admin_password="O365-Pa55word!"
    )
    reply = await api.get(app.id)
    body = reply.json()
    assert "authScheme" not in body  # as in the O365 example: no top-level authScheme
    assert body["profile"] == {"authScheme": "OAUTH2"}
    # The O365 example's links: ENABLED, with deactivate and authorize.
    assert link_names(body) == {"self", "deactivate", "authorize"}
    assert b"O365-Pa55word!" not in reply.body


async def test_unknown_app_is_404_for_every_operation(api: Api) -> None:
    missing = "0oaDOESNOTEXIST000000"
    replies = [
        await api.get(missing),
        await api.update(missing, {"profile": {"authScheme": "TOKEN", "token": "t"}}),
        await api.activate(missing),
        await api.deactivate(missing),
        await api.jwks(missing),
        await api.verify("slack", missing, "code", "state"),
    ]
    for reply in replies:
        assert reply.status == 404
        body = reply.json()
        assert body["errorCode"] == "E0000007"
        assert body["errorSummary"] == f"Not found: Resource not found: {missing} (AppInstance)"
        assert body["errorLink"] == "E0000007"
        assert body["errorCauses"] == []


async def test_unknown_route_and_wrong_method(api: Api, fake: FakeOkta) -> None:
    reply = await api.call("GET", "/api/v1/nothing/here")
    assert reply.status == 404
    assert reply.error_code == "E0000007"
    app = fake.apps[0]
    reply = await api.call("DELETE", f"/api/v1/apps/{app.id}/connections/default")
    assert reply.status == 405
    assert reply.error_code == "E0000022"
    assert set(reply.headers["Allow"].split(", ")) == {"GET", "POST"}


# ---------------------------------------------------------------- update


@pytest.mark.parametrize("activate", [None, "false", "FALSE"])
async def test_update_token_creates_a_disabled_connection(
    api: Api, fake: FakeOkta, activate: str | None
) -> None:
    app = fake.add_app("zscalerbyz")
    reply = await api.update(
        app.id,
        {
            "baseUrl": "https://scim.zscalerbeta.net/7654321/890/scim",
            "profile": {"authScheme": "TOKEN", "token": "s3cr3t-zscaler"},
        },
        activate=activate,
    )
    assert reply.status == 200
    body = reply.json()
    assert body["authScheme"] == "TOKEN"
    assert body["status"] == "DISABLED"
    assert body["baseUrl"] == "https://scim.zscalerbeta.net/7654321/890/scim"
    assert_links(fake, app.id, body)
    assert b"s3cr3t-zscaler" not in reply.body
    assert app.token == "s3cr3t-zscaler"  # stored server-side
    assert app.connection_status == "DISABLED"


@pytest.mark.parametrize("activate", ["true", "TRUE", "True"])
async def test_update_with_activate_true_enables(api: Api, fake: FakeOkta, activate: str) -> None:
    app = fake.add_app("okta_org2org")
    reply = await api.update(
        app.id, {"profile": {"authScheme": "TOKEN", "token": "target-token"}}, activate
    )
    body = reply.json()
    assert body["status"] == "ENABLED"
    assert_links(fake, app.id, body)
    assert (await api.get(app.id)).json()["status"] == "ENABLED"


async def test_update_same_scheme_keeps_status_new_scheme_starts_disabled(
    api: Api, fake: FakeOkta
) -> None:
    app = fake.add_app("okta_org2org", connection="token", status="ENABLED")
    body = (await api.update(app.id, {"profile": {"authScheme": "TOKEN", "token": "n"}})).json()
    assert body["status"] == "ENABLED"
    assert app.token == "n"
    body = (
        await api.update(
            app.id,
            {"profile": {"authScheme": "OAUTH2", "clientId": "0oahub"}},
            activate="false",
        )
    ).json()
    assert body["status"] == "DISABLED"
    assert body["profile"] == {
        "authScheme": "OAUTH2",
        "clientId": "0oahub",
        "signing": {"rotationMode": "MANUAL"},  # Okta's default when signing is omitted
    }
    assert app.token is None  # the token connection was replaced


async def test_update_org2org_oauth_auto_then_jwks(api: Api, fake: FakeOkta) -> None:
    app = fake.add_app("okta_org2org", connection="token")
    assert (await api.jwks(app.id)).status == 404
    body = (
        await api.update(
            app.id,
            {
                "profile": {
                    "authScheme": "OAUTH2",
                    "clientId": "0oahubserviceapp01",
                    "signing": {"rotationMode": "AUTO"},
                }
            },
            activate="true",
        )
    ).json()
    assert body["status"] == "ENABLED"
    assert body["authScheme"] == "OAUTH2"
    assert body["profile"]["signing"] == {"rotationMode": "AUTO"}
    reply = await api.jwks(app.id)
    assert reply.status == 200
    keys = reply.json()["jwks"]["keys"]
    assert len(keys) == 1
    key = keys[0]
    assert key["kty"] == "RSA" and key["use"] == "sig" and key["e"] == "AQAB"
    assert key["kid"]
    # An OAuth -> OAuth update (rotation mode change) keeps the signing key.
    await api.update(
        app.id,
        {
            "profile": {
                "authScheme": "OAUTH2",
                "clientId": "0oahubserviceapp01",
                "signing": {"rotationMode": "MANUAL"},
            }
        },
    )
    assert (await api.jwks(app.id)).json()["jwks"]["keys"] == keys


async def test_jwks_keys_are_valid_rsa_public_keys(api: Api, fake: FakeOkta) -> None:
    jwt = pytest.importorskip("jwt")
    app = fake.add_app("okta_org2org", connection="oauth", rotation_mode="AUTO")
    new_kid = fake.rotate_keys(app.id)
    keys = (await api.jwks(app.id)).json()["jwks"]["keys"]
    assert keys[0]["kid"] == new_kid
    assert len(keys) == 2 and keys[0]["kid"] != keys[1]["kid"]
    for key in keys:
        public = jwt.algorithms.RSAAlgorithm.from_jwk(key)
        assert public.key_size == 2048
        assert public.public_numbers().e == 65537
        # kid is the RFC 7638 thumbprint: SHA-256 of the canonical {e, kty, n} JSON.
        canonical = json.dumps(
            {"e": key["e"], "kty": "RSA", "n": key["n"]}, separators=(",", ":")
        ).encode()
        thumb = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=")
        assert key["kid"] == thumb.decode()
        assert "=" not in key["n"]  # base64url without padding


async def test_jwks_404_for_connections_without_keys(api: Api, fake: FakeOkta) -> None:
    for app in (
        fake.add_app("zscalerbyz", connection="token"),
        fake.add_app("slack", connection="oauth"),
        fake.add_app("okta_org2org"),
        fake.add_app("bookmark"),
    ):
        reply = await api.jwks(app.id)
        assert reply.status == 404, app.name
        assert reply.error_code == "E0000007"


async def test_update_third_party_oauth_starts_pending_even_with_activate(
    api: Api, fake: FakeOkta
) -> None:
    app = fake.add_app("google", connection="oauth", status="ENABLED")  # consented, enabled
    reply = await api.update(app.id, {"profile": {"authScheme": "OAUTH2"}}, activate="true")
    body = reply.json()
    assert reply.status == 200
    assert body["status"] == "DISABLED"
    assert body["profile"] == {"authScheme": "OAUTH2"}
    assert "authScheme" not in body
    authorize = body["_links"]["authorize"]
    assert authorize["href"] == f"{fake.org_url}/fake-consent/{app.id}"
    assert authorize["hints"] == {
        "allow": ["GET"],
        "guidance": ["Open this URI in a browser to grant scope consent"],
    }
    # Activate is refused until consent is verified: no activate link.
    assert link_names(body) == {"self", "authorize"}
    assert app.consent_state == "pending"


async def test_update_office365_needs_admin_settings(api: Api, fake: FakeOkta) -> None:
    app = fake.add_app("office365")
    for profile in (
        {"authScheme": "OAUTH2"},
        {"authScheme": "OAUTH2", "settings": {"adminUsername": "admin@x"}},
        {"authScheme": "OAUTH2", "settings": {"adminPassword": "pw"}},
        {"authScheme": "OAUTH2", "settings": {"adminUsername": "", "adminPassword": "pw"}},
        {"authScheme": "OAUTH2", "adminUsername": "a", "adminPassword": "pw"},  # not in settings
    ):
        reply = await api.update(app.id, {"profile": profile})
        assert reply.status == 400, profile
        body = reply.json()
        assert body["errorCode"] == "E0000001"
        assert body["errorSummary"].startswith("Api validation failed: profile.settings")
        assert body["errorCauses"] and body["errorCauses"][0]["errorSummary"]
    reply = await api.update(
        app.id,
        {
            "profile": {
                "authScheme": "OAUTH2",
                "settings": {"adminUsername": "admin@contoso", "adminPassword": "hunter2"},
            }
        },
    )
    assert reply.status == 200
    assert b"hunter2" not in reply.body and b"admin@contoso" not in reply.body
    assert app.admin_username == "admin@contoso"
    assert "hunter2" not in repr(app)


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [
        # TOKEN only for okta_org2org and zscalerbyz
        ("slack", {"profile": {"authScheme": "TOKEN", "token": "t"}}, "profile.authScheme"),
        ("google", {"profile": {"authScheme": "TOKEN", "token": "t"}}, "profile.authScheme"),
        # OAUTH2 not for zscalerbyz
        ("zscalerbyz", {"profile": {"authScheme": "OAUTH2"}}, "profile.authScheme"),
        # token missing, empty, not a string
        ("zscalerbyz", {"profile": {"authScheme": "TOKEN"}}, "profile.token"),
        ("okta_org2org", {"profile": {"authScheme": "TOKEN", "token": ""}}, "profile.token"),
        ("okta_org2org", {"profile": {"authScheme": "TOKEN", "token": 42}}, "profile.token"),
        # authScheme missing or unknown (the spec example's "OAUTH" typo included)
        ("okta_org2org", {"profile": {"token": "t"}}, "profile.authScheme"),
        (
            "okta_org2org",
            {"profile": {"authScheme": "OAUTH", "clientId": "x"}},
            "profile.authScheme",
        ),
        ("okta_org2org", {"profile": {"authScheme": "UNKNOWN"}}, "profile.authScheme"),
        ("okta_org2org", {"profile": {"authScheme": "BASIC"}}, "profile.authScheme"),
        # profile missing or not an object
        ("okta_org2org", {}, "profile"),
        ("okta_org2org", {"profile": "TOKEN"}, "profile"),
        # Org2Org OAuth needs clientId; rotationMode must be AUTO or MANUAL
        ("okta_org2org", {"profile": {"authScheme": "OAUTH2"}}, "profile.clientId"),
        (
            "okta_org2org",
            {"profile": {"authScheme": "OAUTH2", "clientId": "c", "signing": {}}},
            "profile.signing.rotationMode",
        ),
        (
            "okta_org2org",
            {
                "profile": {
                    "authScheme": "OAUTH2",
                    "clientId": "c",
                    "signing": {"rotationMode": "x"},
                }
            },
            "profile.signing.rotationMode",
        ),
        # baseUrl must be a string
        (
            "zscalerbyz",
            {"baseUrl": 5, "profile": {"authScheme": "TOKEN", "token": "t"}},
            "baseUrl",
        ),
        # apps without provisioning
        ("bookmark", {"profile": {"authScheme": "TOKEN", "token": "t"}}, "provisioning"),
        ("oidc_client", {"profile": {"authScheme": "OAUTH2"}}, "provisioning"),
    ],
)
async def test_update_validation_errors(
    api: Api, fake: FakeOkta, name: str, body: dict[str, Any], field: str
) -> None:
    app = fake.add_app(name)
    before = (app.auth_scheme, app.connection_status, app.token)
    reply = await api.update(app.id, body)
    assert reply.status == 400
    error = reply.json()
    assert error["errorCode"] == "E0000001"
    assert error["errorLink"] == "E0000001"
    assert error["errorSummary"] == f"Api validation failed: {field}"
    assert len(error["errorCauses"]) == 1
    assert error["errorCauses"][0]["errorSummary"].startswith(field)
    assert (app.auth_scheme, app.connection_status, app.token) == before  # nothing changed


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b'"TOKEN"', b"null", b"\xff\xfe"])
async def test_update_malformed_body_is_e0000003(api: Api, fake: FakeOkta, raw: bytes) -> None:
    app = fake.add_app("okta_org2org")
    reply = await api.call(
        "POST",
        f"/api/v1/apps/{app.id}/connections/default",
        data=raw,
        headers={"Content-Type": "application/json"},
    )
    assert reply.status == 400
    assert reply.json()["errorCode"] == "E0000003"
    assert reply.json()["errorSummary"] == "The request body was not well-formed."


async def test_update_deeply_nested_body_is_e0000003(api: Api, fake: FakeOkta) -> None:
    app = fake.add_app("okta_org2org")
    reply = await api.call(
        "POST",
        f"/api/v1/apps/{app.id}/connections/default",
        data=b"[" * 100_000 + b"]" * 100_000,
        headers={"Content-Type": "application/json"},
    )
    assert reply.status == 400
    assert reply.error_code == "E0000003"


async def test_update_body_too_large_keeps_okta_error_shape(api: Api, fake: FakeOkta) -> None:
    app = fake.add_app("okta_org2org")
    big = json.dumps({"profile": {"authScheme": "TOKEN", "token": "x" * (2 * 1024 * 1024)}})
    async with api.session.post(
        f"{fake.org_url}/api/v1/apps/{app.id}/connections/default",
        data=io.BytesIO(big.encode()),  # a stream: aiohttp warns about large raw bytes
        headers={"Authorization": f"SSWS {fake.token}", "Content-Type": "application/json"},
    ) as resp:
        assert resp.status == 413
        assert (await resp.json())["errorCode"] == "E0000001"
        assert resp.headers["X-Okta-Request-Id"].startswith("req")
    assert app.auth_scheme == "UNKNOWN"


async def test_update_bad_activate_value(api: Api, fake: FakeOkta) -> None:
    app = fake.add_app("okta_org2org")
    reply = await api.update(app.id, {"profile": {"authScheme": "TOKEN", "token": "t"}}, "yes")
    assert reply.status == 400
    assert reply.json()["errorSummary"] == "Api validation failed: activate"
    assert app.auth_scheme == "UNKNOWN"


# ---------------------------------------------------------------- activate / deactivate


async def test_activate_deactivate_cycle_links_follow_status(api: Api, fake: FakeOkta) -> None:
    app = fake.add_app("zscalerbyz", connection="token")
    body = (await api.get(app.id)).json()
    assert body["status"] == "DISABLED"
    assert_links(fake, app.id, body)

    reply = await api.activate(app.id)
    assert reply.status == 204
    assert reply.body == b""
    assert "Content-Type" not in reply.headers
    body = (await api.get(app.id)).json()
    assert body["status"] == "ENABLED"
    assert_links(fake, app.id, body)

    assert (await api.activate(app.id)).status == 204  # idempotent
    assert app.connection_status == "ENABLED"

    reply = await api.deactivate(app.id)
    assert reply.status == 204
    assert reply.body == b""
    body = (await api.get(app.id)).json()
    assert body["status"] == "DISABLED"
    assert_links(fake, app.id, body)
    assert (await api.deactivate(app.id)).status == 204  # idempotent
    assert fake.app(app.id).connection_status == "DISABLED"


async def test_activate_errors(api: Api, fake: FakeOkta) -> None:
    cases = {
        "unconfigured": fake.add_app("okta_org2org"),
        "pending consent": fake.add_app("slack", connection="oauth", consented=False),
        "no provisioning": fake.add_app("template_saml_2_0"),
    }
    for what, app in cases.items():
        reply = await api.activate(app.id)
        assert reply.status == 400, what
        body = reply.json()
        assert body["errorCode"] == "E0000001", what
        assert body["errorCauses"][0]["errorSummary"], what
        assert app.connection_status != "ENABLED"
    assert (
        "consent"
        in (await api.activate(cases["pending consent"].id)).json()["errorCauses"][0][
            "errorSummary"
        ]
    )
    reply = await api.deactivate(cases["no provisioning"].id)
    assert reply.status == 400
    assert reply.error_code == "E0000001"
    # Deactivating an unconfigured connection is harmless.
    assert (await api.deactivate(cases["unconfigured"].id)).status == 204


async def test_direct_state_changes_are_served(api: Api, fake: FakeOkta) -> None:
    app = first(fake, "zscalerbyz", auth_scheme="TOKEN")
    app.connection_status = "ENABLED"
    assert (await api.get(app.id)).json()["status"] == "ENABLED"
    app.connection_status = "DISABLED"
    assert (await api.get(app.id)).json()["status"] == "DISABLED"
    with pytest.raises(ValueError, match="connection_status"):
        app.connection_status = "ON"  # type: ignore[assignment]


async def test_removed_app_is_404(api: Api, fake: FakeOkta) -> None:
    app = fake.apps[3]
    assert (await api.get(app.id)).status == 200
    fake.remove_app(app.id)
    assert (await api.get(app.id)).status == 404
    assert app.id not in {a.id for a in fake.apps}
