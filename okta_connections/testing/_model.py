"""State of the fake org: apps with their provisioning connections, and the request log."""

from __future__ import annotations

import base64
import hashlib
import json
import random
from collections.abc import Mapping
from typing import Any, Final, Literal

import attrs
from multidict import CIMultiDict

__all__ = [
    "APP_STATUSES",
    "AUTH_SCHEMES",
    "CONNECTION_STATUSES",
    "CONSENT_APPS",
    "OAUTH_APPS",
    "OPERATIONS",
    "ROTATION_MODES",
    "TOKEN_APPS",
    "AppStatus",
    "AuthScheme",
    "ConnectionStatus",
    "ConsentState",
    "FakeApp",
    "RecordedRequest",
    "RotationMode",
    "UnknownAppError",
    "copy_headers",
    "make_rsa_jwk",
    "redact_query",
]

AuthScheme = Literal["TOKEN", "OAUTH2", "UNKNOWN"]
ConnectionStatus = Literal["ENABLED", "DISABLED", "UNKNOWN"]
AppStatus = Literal["ACTIVE", "INACTIVE"]
RotationMode = Literal["AUTO", "MANUAL"]
ConsentState = Literal["pending", "verified"]

AUTH_SCHEMES: Final = ("TOKEN", "OAUTH2", "UNKNOWN")
CONNECTION_STATUSES: Final = ("ENABLED", "DISABLED", "UNKNOWN")
APP_STATUSES: Final = ("ACTIVE", "INACTIVE")
ROTATION_MODES: Final = ("AUTO", "MANUAL")

#: Apps that accept a token connection (reference §3.2, spec tag description).
TOKEN_APPS: Final = frozenset({"okta_org2org", "zscalerbyz"})
#: Apps that accept an OAuth 2.0 connection.
OAUTH_APPS: Final = frozenset({"google", "office365", "okta_org2org", "slack", "zoomus"})
#: OAuth apps whose connection needs the admin's consent in the third party, then verify
#: (the spec's ``OAuthProvisioningEnabledApp`` enum). Org2Org OAuth needs no consent.
CONSENT_APPS: Final = frozenset({"google", "office365", "slack", "zoomus"})

#: Values of :attr:`RecordedRequest.operation`. ``list_apps`` is ``GET /api/v1/apps``,
#: ``get_app`` is ``GET /api/v1/apps/{appId}``.
OPERATIONS: Final = (
    "get",
    "update",
    "activate",
    "deactivate",
    "get_jwks",
    "verify",
    "list_apps",
    "get_app",
)

_SECRET_HEADERS: Final = frozenset({"authorization", "dpop", "cookie", "proxy-authorization"})


class RemoteHostError(ValueError):
    """A FakeOkta asked to listen beyond loopback without ``allow_remote=True``.

    The fake serves an org and accepts a token it prints: on any other interface, anyone
    who can reach the port gets both, over plain HTTP.
    """

    def __init__(self, host: str) -> None:
        super().__init__(
            f"host {host!r} is not a loopback address: the fake org and its token would be "
            "served, without TLS, to anyone who can reach this machine; pass "
            "allow_remote=True (fake-server: --allow-remote) to do it anyway"
        )
        self.host = host


class UnknownAppError(KeyError):
    """No app with this id exists in the fake org."""

    def __init__(self, app_id: str) -> None:
        super().__init__(app_id)
        self.app_id = app_id

    def __str__(self) -> str:
        # KeyError's own __str__ is the repr of its argument; a sentence reads better.
        return f"no app with id {self.app_id!r} in this FakeOkta org"


def _keys_repr(keys: list[dict[str, str]]) -> str:
    return "[" + ", ".join(repr(k.get("kid")) for k in keys) + "]"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_rsa_jwk(rng: random.Random) -> dict[str, str]:
    """A public RSA JWK (``kid``, ``kty``, ``use``, ``e``, ``n``) drawn from ``rng``.

    The modulus is a random odd 2048-bit integer, not a product of two primes. The fake
    never signs anything, so no private key is needed, and drawing the modulus costs
    microseconds where generating a real key pair costs ~30 ms of blocked event loop per
    connection. The key parses as an RSA public key (``cryptography``, PyJWT), and the
    ``kid`` is its RFC 7638 thumbprint, as Okta's are. Deterministic for a seeded ``rng``.
    """
    n = rng.getrandbits(2048) | (1 << 2047) | 1
    n_b64 = _b64url(n.to_bytes(256, "big"))
    e_b64 = "AQAB"  # 65537
    # RFC 7638: the required members in lexicographic order, no whitespace.
    thumb = json.dumps({"e": e_b64, "kty": "RSA", "n": n_b64}, separators=(",", ":"))
    kid = _b64url(hashlib.sha256(thumb.encode("ascii")).digest())
    return {"kid": kid, "kty": "RSA", "use": "sig", "e": e_b64, "n": n_b64}


@attrs.define(eq=False)
class FakeApp:
    """One app in the fake org and the state of its default provisioning connection.

    Mutable: a test may set a field directly to arrange a state (the next request sees
    it). Secrets (``token``, ``admin_password``) are kept server-side, never returned by
    the API and left out of ``repr``.

    Attributes:
        id: Okta-shaped app id, ``0oa`` + 17 characters.
        name: Catalog name, e.g. ``okta_org2org``, ``zscalerbyz``, ``slack``, ``bookmark``.
        label: Display name.
        status: The app's own status, ``ACTIVE`` or ``INACTIVE`` (not the connection's).
        sign_on_mode: e.g. ``SAML_2_0``, ``BOOKMARK``, ``OPENID_CONNECT``.
        auth_scheme: Connection scheme: ``TOKEN``, ``OAUTH2`` or ``UNKNOWN`` (unconfigured,
            or an app without provisioning).
        connection_status: ``ENABLED``, ``DISABLED`` or ``UNKNOWN`` (no provisioning, or
            not configured yet: an ``UNKNOWN`` scheme yields ``UNKNOWN`` status, §4.10).
        base_url: Returned as ``baseUrl`` for TOKEN connections. For Org2Org it is the
            target org (an app setting, kept across updates); for Zscaler it comes from
            the update request.
        token: The token of a TOKEN connection. Never returned by the API.
        client_id: Org2Org OAuth: the hub org's service app client id.
        rotation_mode: Org2Org OAuth: ``AUTO`` or ``MANUAL`` signing key rotation.
        admin_username: Office 365 OAuth: the admin username from ``settings``.
        admin_password: Office 365 OAuth: the admin password. Never returned by the API.
        consent_state: Third-party OAuth (google, office365, slack, zoomus): ``pending``
            until verify succeeds, then ``verified``; None for other connections.
        jwks: Public keys of an Org2Org OAuth connection, newest first.
        created: Creation time (epoch seconds).
        last_updated: Last connection change (epoch seconds).
    """

    id: str
    name: str
    label: str
    status: AppStatus = attrs.field(default="ACTIVE", validator=attrs.validators.in_(APP_STATUSES))
    sign_on_mode: str = "SAML_2_0"
    auth_scheme: AuthScheme = attrs.field(
        default="UNKNOWN", validator=attrs.validators.in_(AUTH_SCHEMES)
    )
    connection_status: ConnectionStatus = attrs.field(
        default="UNKNOWN", validator=attrs.validators.in_(CONNECTION_STATUSES)
    )
    base_url: str | None = None
    token: str | None = attrs.field(default=None, repr=False)
    client_id: str | None = None
    rotation_mode: RotationMode | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.in_(ROTATION_MODES))
    )
    admin_username: str | None = None
    admin_password: str | None = attrs.field(default=None, repr=False)
    consent_state: ConsentState | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(attrs.validators.in_(("pending", "verified"))),
    )
    jwks: list[dict[str, str]] = attrs.field(factory=list, repr=_keys_repr)
    created: float = 0.0
    last_updated: float = 0.0
    # Outstanding consent grants: authorization code -> state. Private to the fake.
    _consent_codes: dict[str, str] = attrs.field(factory=dict, repr=False, init=False)
    # Counter that makes each new JWKS key distinct yet deterministic per seed.
    _key_serial: int = attrs.field(default=0, repr=False, init=False)

    @property
    def supports_token(self) -> bool:
        """Whether the app accepts a TOKEN connection (okta_org2org, zscalerbyz)."""
        return self.name in TOKEN_APPS

    @property
    def supports_oauth(self) -> bool:
        """Whether the app accepts an OAUTH2 connection."""
        return self.name in OAUTH_APPS

    @property
    def supports_provisioning(self) -> bool:
        """Whether the app has a provisioning connection at all."""
        return self.name in TOKEN_APPS or self.name in OAUTH_APPS

    @property
    def needs_consent(self) -> bool:
        """Whether an OAUTH2 connection of this app goes through the consent flow."""
        return self.name in CONSENT_APPS

    @property
    def consent_pending(self) -> bool:
        """Whether the connection waits for the admin's consent (it has an authorize link)."""
        return self.auth_scheme == "OAUTH2" and self.consent_state == "pending"

    @property
    def has_jwks(self) -> bool:
        """Whether the JWKS endpoint serves keys for this connection (Org2Org OAuth)."""
        return self.name == "okta_org2org" and self.auth_scheme == "OAUTH2"


def _headers_repr(headers: CIMultiDict[str]) -> str:
    shown = {k: ("<redacted>" if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()}
    return repr(shown)


#: Query parameters that carry secrets (the consent flow's code and state).
_SECRET_QUERY: Final = frozenset({"code", "state"})


def redact_query(query: Mapping[str, str]) -> dict[str, str]:
    """The query with the consent flow's ``code`` and ``state`` values hidden."""
    return {k: ("<redacted>" if k in _SECRET_QUERY else v) for k, v in query.items()}


def _query_repr(query: dict[str, str]) -> str:
    return repr(redact_query(query))


@attrs.define(eq=False)
class RecordedRequest:
    """One request the fake received, with the status it answered.

    Attributes:
        method: HTTP method.
        path: URL path (decoded).
        query: Query parameters (the last value wins for a repeated name). ``repr``
            redacts the consent flow's ``code`` and ``state``.
        headers: A copy of the request headers, case-insensitive. ``repr`` redacts
            credentials (Authorization, DPoP, Cookie).
        body: The raw request body.
        status: The response status (0 while the request is still being handled).
        operation: ``get``, ``update``, ``activate``, ``deactivate``, ``get_jwks``,
            ``verify``, ``list_apps``, ``get_app``, or None for any other route.
        app_id: The app id from the path when the route has one.
        request_id: The ``X-Okta-Request-Id`` the fake answered with.
        received_at: Server clock time when the request arrived (epoch seconds).
        principal: Who sent it, for principal rate limits: ``ssws-1``... for API
            tokens, ``bearer-1``... for :meth:`FakeOkta.add_bearer_token` tokens, the
            client id for tokens the org's OAuth server issued; None when unknown.
            Never the credential itself.
        events: System Log events the request caused, e.g.
            ``system.org.rate_limit.violation`` (see docs/testing.md).
    """

    method: str
    path: str
    query: dict[str, str] = attrs.field(repr=_query_repr)
    headers: CIMultiDict[str] = attrs.field(repr=_headers_repr)
    body: bytes
    status: int
    operation: str | None
    app_id: str | None
    request_id: str
    received_at: float = 0.0
    principal: str | None = None
    events: list[str] = attrs.field(factory=list)

    def json(self) -> Any:
        """The body parsed as JSON.

        Raises:
            ValueError: The body is not JSON.
        """
        return json.loads(self.body)


def copy_headers(headers: Mapping[str, str]) -> CIMultiDict[str]:
    """A detached, case-insensitive copy of request headers (keeps repeated names)."""
    return CIMultiDict(headers)
