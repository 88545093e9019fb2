"""Okta's ``Application`` object for a fake app: the shape ``GET /api/v1/apps`` returns.

Okta's Application schemas (one per ``signOnMode``) require ``settings``, and
``credentials`` for ``OPENID_CONNECT``; clients generated from them (the official
``okta`` SDK) refuse an app without them. Every field is derived from the app's own
fields, so the seeded estate is unchanged: the signing ``kid`` is a hash of the app id.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any, Final

from ._model import FakeApp

__all__ = ["app_object", "signing_kid"]

#: Sign-on modes whose apps sign with an app key (``credentials.signing.kid``).
_SIGNING_MODES: Final = frozenset({"SAML_2_0", "SAML_1_1", "WS_FEDERATION", "OPENID_CONNECT"})
_PASSWORD_PROTECTED: Final = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
_USERNAME: Final = {"template": "${source.login}", "type": "BUILT_IN"}


def signing_kid(app: FakeApp) -> str | None:
    """The ``kid`` of the app's signing key (an RFC 7638-shaped value), or None."""
    if app.sign_on_mode not in _SIGNING_MODES:
        return None
    digest = hashlib.sha256(f"fake-okta/app-signing/{app.id}".encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{int(ts * 1000) % 1000:03d}Z"
    )


def _slug(app: FakeApp) -> str:
    return "".join(c if c.isalnum() else "-" for c in app.label.lower()).strip("-") or app.name


def _credentials(app: FakeApp) -> dict[str, Any]:
    kid = signing_kid(app)
    credentials: dict[str, Any] = {
        "userNameTemplate": dict(_USERNAME),
        "signing": {"kid": kid} if kid else {},
    }
    if app.sign_on_mode == "BROWSER_PLUGIN":
        credentials["scheme"] = "EDIT_USERNAME_AND_PASSWORD"
        credentials["revealPassword"] = False
    if app.sign_on_mode == "OPENID_CONNECT":
        credentials["oauthClient"] = {
            "autoKeyRotation": True,
            "client_id": app.id,
            "token_endpoint_auth_method": "client_secret_basic",
        }
    return credentials


def _app_settings(app: FakeApp) -> dict[str, Any]:
    """``settings.app``: the catalog app's instance properties."""
    site = f"https://{_slug(app)}.example.com"
    if app.name == "okta_org2org":
        return {"acsUrl": None, "audRestriction": None, "baseUrl": app.base_url}
    if app.name == "office365":
        # The WS_FEDERATION schema's required fields, then Office 365's own.
        return {
            "audienceRestriction": "urn:federation:MicrosoftOnline",
            "authnContextClassRef": _PASSWORD_PROTECTED,
            "groupValueFormat": "windowsDomainQualifiedName",
            "nameIDFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
            "siteURL": "https://login.microsoftonline.com",
            "usernameAttribute": "username",
            "wReplyURL": "https://login.microsoftonline.com/login.srf",
            "domain": "contoso.onmicrosoft.com",
            "msftTenant": "contoso",
        }
    if app.name == "google":
        return {"domain": "example.com"}
    if app.name in ("slack", "zoomus", "zscalerbyz"):
        return {"domain": _slug(app)}
    if app.sign_on_mode == "BOOKMARK":
        return {"requestIntegration": False, "url": site}
    if app.sign_on_mode == "BROWSER_PLUGIN":
        return {
            "url": site + "/login",
            "usernameField": "#username",
            "passwordField": "#password",
            "buttonField": "#submit",
            "loginUrlRegex": None,
        }
    return {}


def _settings(app: FakeApp) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "app": _app_settings(app),
        "notifications": {
            "vpn": {"network": {"connection": "DISABLED"}, "message": None, "helpUrl": None}
        },
        "manualProvisioning": False,
        "implicitAssignment": False,
        "notes": {"admin": None, "enduser": None},
    }
    if app.sign_on_mode == "OPENID_CONNECT":
        site = f"https://{_slug(app)}.example.com"
        settings["oauthClient"] = {
            "client_uri": site,
            "logo_uri": None,
            "redirect_uris": [site + "/authorization-code/callback"],
            "post_logout_redirect_uris": [site],
            "response_types": ["code"],
            "grant_types": ["authorization_code"],
            "application_type": "web",
            "consent_method": "REQUIRED",
            "issuer_mode": "DYNAMIC",
            "idp_initiated_login": {"mode": "DISABLED", "default_scope": []},
            "wildcard_redirect": "DISABLED",
        }
    return settings


def _links(app: FakeApp, base: str) -> dict[str, Any]:
    href = f"{base}/api/v1/apps/{app.id}"
    links: dict[str, Any] = {
        "self": {"href": href},
        "users": {"href": href + "/users"},
        "groups": {"href": href + "/groups"},
        "appLinks": [
            {
                "name": "login",
                "href": f"{base}/home/{app.name}/{app.id}/login",
                "type": "text/html",
            }
        ],
    }
    if app.status == "ACTIVE":
        links["deactivate"] = {"href": href + "/lifecycle/deactivate"}
    else:
        links["activate"] = {"href": href + "/lifecycle/activate"}
    if app.sign_on_mode in ("SAML_2_0", "SAML_1_1", "WS_FEDERATION"):
        links["metadata"] = {"href": href + "/sso/saml/metadata", "type": "application/xml"}
    return links


def app_object(app: FakeApp, base: str) -> dict[str, Any]:
    """The ``Application`` Okta returns for ``app`` (list and ``GET /api/v1/apps/{id}``)."""
    return {
        "id": app.id,
        "name": app.name,
        "label": app.label,
        "status": app.status,
        "lastUpdated": _iso(app.last_updated),
        "created": _iso(app.created),
        "accessibility": {"selfService": False, "errorRedirectUrl": None, "loginRedirectUrl": None},
        "visibility": {
            "autoLaunch": False,
            "autoSubmitToolbar": False,
            "hide": {"iOS": False, "web": False},
            "appLinks": {"login": True},
        },
        "features": [],
        "signOnMode": app.sign_on_mode,
        "credentials": _credentials(app),
        "settings": _settings(app),
        "_links": _links(app, base),
    }
