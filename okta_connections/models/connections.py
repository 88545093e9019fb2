"""Models of the Application Connections API (reference section 4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from ..errors import InvalidArgumentError
from ._converter import converter
from ._enum import LenientStrEnum

__all__ = [
    "AuthScheme",
    "ConnectionLinks",
    "ConnectionProfile",
    "ConnectionStatus",
    "JsonWebKey",
    "JsonWebKeySet",
    "Link",
    "OAuthApp",
    "OAuthConnection",
    "ProvisioningConnection",
    "RotationMode",
    "SigningSettings",
    "TokenConnection",
]


def _hidden(_: object) -> str:
    return "'***'"


class AuthScheme(LenientStrEnum):
    """``ProvisioningConnectionAuthScheme``. Unknown values are kept, not rejected."""

    TOKEN = "TOKEN"
    OAUTH2 = "OAUTH2"
    UNKNOWN = "UNKNOWN"


class ConnectionStatus(LenientStrEnum):
    """``ProvisioningConnectionStatus``. Unknown values are kept, not rejected."""

    ENABLED = "ENABLED"
    DISABLED = "DISABLED"
    UNKNOWN = "UNKNOWN"


class RotationMode(LenientStrEnum):
    """``ConnectionsSigningRotationMode`` of an Org2Org OAuth connection."""

    AUTO = "AUTO"
    MANUAL = "MANUAL"


class OAuthApp(LenientStrEnum):
    """``OAuthProvisioningEnabledApp``: the apps whose OAuth consent is verified by callback."""

    GOOGLE = "google"
    OFFICE365 = "office365"
    SLACK = "slack"
    ZOOMUS = "zoomus"


# --------------------------------------------------------------------------- responses


@attrs.frozen
class Link:
    """A HAL link.

    Attributes:
        href: The link target.
        allow: HTTP methods the link allows (``hints.allow``).
        guidance: Human-readable hints (``hints.guidance``), e.g. "open this URI in a browser".
        name: Optional link name.
        type: Optional media type.
    """

    href: str
    allow: tuple[str, ...] = ()
    guidance: tuple[str, ...] = ()
    name: str | None = None
    type: str | None = None


def _structure_link(data: Any, _: type) -> Link:
    # `type(x) is dict` first: JSON gives dicts, and an ABC isinstance check is slow.
    if type(data) is not dict and not isinstance(data, Mapping):
        raise ValueError("a link needs an 'href' string")
    href = data.get("href")
    if type(href) is not str and not isinstance(href, str):
        raise ValueError("a link needs an 'href' string")
    hints = data.get("hints")
    if type(hints) is not dict and not isinstance(hints, Mapping):
        hints = _NO_HINTS
    # The spec's O365 example puts guidance next to hints; the schema puts it inside.
    guidance = hints.get("guidance")
    if guidance is None:
        guidance = data.get("guidance")
    if len(data) <= 2 and hints is not _NO_HINTS:
        name = type_ = None  # only href and hints: the usual link
    else:
        name, type_ = data.get("name"), data.get("type")
    allow = hints.get("allow")
    return Link(
        href,
        _strings(allow) if allow else (),
        _strings(guidance) if guidance else (),
        None if name is None or not isinstance(name, str) else name,
        None if type_ is None or not isinstance(type_, str) else type_,
    )


_NO_HINTS: Mapping[str, Any] = {}


def _strings(values: Any) -> tuple[str, ...]:
    if not values:
        return ()
    if type(values) is not list:
        if isinstance(values, str):
            return (values,)  # one value where the schema has a list
        if not isinstance(values, list | tuple):
            return ()
    out = tuple(values)
    for v in out:  # a loop, not all(genexpr): this runs for every link of every response
        if type(v) is not str:
            return tuple(v if isinstance(v, str) else str(v) for v in out)
    return out


converter.register_structure_hook(Link, _structure_link)


@attrs.frozen
class ConnectionLinks:
    """The ``_links`` of a connection. Which links are present follows the status.

    Attributes:
        self_link: The connection itself (wire name ``self``).
        activate: Present while the connection is DISABLED.
        deactivate: Present while the connection is ENABLED.
        authorize: Present while an OAuth connection waits for an admin's consent: open
            ``authorize.href`` in a browser.
    """

    __okta_model__: ClassVar[bool] = True

    self_link: Link | None = attrs.field(default=None, metadata={"wire": "self"})
    activate: Link | None = None
    deactivate: Link | None = None
    authorize: Link | None = None


#: The wire names of ConnectionLinks' fields, in field order.
_LINK_NAMES = ("self", "activate", "deactivate", "authorize")


def _structure_links(data: Any, _: type) -> ConnectionLinks:
    # Written out rather than generated: every connection response has these, and a
    # bulk job structures thousands of them.
    if type(data) is not dict and not isinstance(data, Mapping):
        raise ValueError("'_links' must be an object")

    found = [
        None if (value := data.get(name)) is None else _structure_link(value, Link)
        for name in _LINK_NAMES
    ]
    return ConnectionLinks(*found)


converter.register_structure_hook(ConnectionLinks, _structure_links)


@attrs.frozen
class SigningSettings:
    """Org2Org OAuth signing settings."""

    __okta_model__: ClassVar[bool] = True

    rotation_mode: RotationMode


@attrs.frozen
class ConnectionProfile:
    """``ProvisioningConnectionResponseProfile``.

    Attributes:
        auth_scheme: TOKEN, OAUTH2 or UNKNOWN (or a value newer than this SDK).
        signing: Org2Org OAuth key rotation settings, when present.
        client_id: Org2Org OAuth: the hub org service app's client id (not in the schema,
            but in Okta's examples).
    """

    __okta_model__: ClassVar[bool] = True

    auth_scheme: AuthScheme
    signing: SigningSettings | None = None
    client_id: str | None = None


@attrs.frozen
class ProvisioningConnection:
    """The default provisioning connection of an app (``ProvisioningConnectionResponse``).

    Attributes:
        auth_scheme: The connection's scheme. Okta sends a top-level ``authScheme`` only for
            some apps; when it is absent this is ``profile.auth_scheme``.
        status: ENABLED, DISABLED or UNKNOWN (or a newer value).
        profile: The profile: scheme, signing settings, client id.
        base_url: The target base URL (Zscaler SCIM base, or Org2Org target org), if any.
        links: The HAL links, which follow the status.
    """

    __okta_model__: ClassVar[bool] = True

    auth_scheme: AuthScheme
    status: ConnectionStatus
    profile: ConnectionProfile
    base_url: str | None = None
    links: ConnectionLinks = attrs.field(factory=ConnectionLinks, metadata={"wire": "_links"})

    @property
    def is_enabled(self) -> bool:
        """True when the connection's status is ENABLED."""
        return self.status == ConnectionStatus.ENABLED

    @property
    def needs_consent(self) -> bool:
        """True when an admin must open ``links.authorize.href`` to grant OAuth consent."""
        return self.links.authorize is not None


def _enum(cls: type[LenientStrEnum], value: str) -> Any:
    member = cls._value2member_map_.get(value)
    return member if member is not None else cls(value)


_SCHEMES: Mapping[str, Any] = AuthScheme._value2member_map_
_STATUSES: Mapping[str, Any] = ConnectionStatus._value2member_map_


def _fast_connection(data: Mapping[str, Any], profile: Mapping[str, Any]) -> Any:
    """The usual response, structured by hand (a bulk job decodes thousands); None for
    anything unusual, which the generated hook then structures, or explains."""
    scheme = profile.get("authScheme")
    status = data.get("status")
    top = data.get("authScheme", scheme)
    base_url = data.get("baseUrl")
    signing = profile.get("signing")
    client_id = profile.get("clientId")
    links = data.get("_links")
    if (
        type(scheme) is not str
        or type(status) is not str
        or type(top) is not str
        or not (base_url is None or type(base_url) is str)
        or not (client_id is None or type(client_id) is str)
        or not (links is None or type(links) is dict)
    ):
        return None  # unusual (a str subclass, another Mapping): the generated hook
    signing_settings = None
    if signing is not None:
        mode = signing.get("rotationMode") if isinstance(signing, Mapping) else None
        if not isinstance(mode, str):
            return None
        signing_settings = SigningSettings(rotation_mode=_enum(RotationMode, mode))
    # The enums' own value maps, looked up inline: three calls fewer per response.
    schemes = _SCHEMES
    auth_scheme = schemes.get(top) or _enum(AuthScheme, top)
    # Positional, in the fields' order: an attrs class built by keywords costs about
    # twice the instructions. ConnectionProfile(auth_scheme, signing, client_id):
    conn_profile = ConnectionProfile(
        auth_scheme if scheme == top else (schemes.get(scheme) or _enum(AuthScheme, scheme)),
        signing_settings,
        client_id,
    )
    # ProvisioningConnection(auth_scheme, status, profile, base_url, links):
    return ProvisioningConnection(
        auth_scheme,
        _STATUSES.get(status) or _enum(ConnectionStatus, status),
        conn_profile,
        base_url,
        ConnectionLinks() if links is None else _structure_links(links, ConnectionLinks),
    )


def _structure_connection(data: Any, cls: type) -> ProvisioningConnection:
    if type(data) is not dict and not isinstance(data, Mapping):
        raise ValueError("a provisioning connection must be a JSON object")
    profile = data.get("profile")
    if type(profile) is not dict and not isinstance(profile, Mapping):
        raise ValueError("'profile' is required and must be an object")
    if cls is ProvisioningConnection:
        fast: ProvisioningConnection | None = _fast_connection(data, profile)
        if fast is not None:
            return fast
    prepared = dict(data)
    if prepared.get("authScheme") is None:
        prepared["authScheme"] = profile.get("authScheme")
    prepared.setdefault("_links", {})
    conn: ProvisioningConnection = _generated_connection(prepared, cls)
    return conn


_generated_connection = converter.get_structure_hook(ProvisioningConnection)
converter.register_structure_hook(ProvisioningConnection, _structure_connection)


@attrs.frozen
class JsonWebKey:
    """A public JSON Web Key served by the connection's JWKS endpoint.

    Attributes:
        kid: Key id.
        kty: Key type (``RSA``).
        use: Public key use (``sig``).
        alg: Algorithm, when Okta sends one (not in the schema, but in its example).
        e: RSA public exponent.
        n: RSA modulus.
        x5c: X.509 certificate chain.
        x5t_s256: Base64url SHA-256 thumbprint of the certificate (wire ``x5t#S256``).
        created: Creation timestamp, as Okta sent it.
        expires_at: Certificate expiry, as Okta sent it.
        last_updated: Last update timestamp, as Okta sent it.
        raw: The key exactly as received, including fields this SDK does not model.
    """

    __okta_model__: ClassVar[bool] = True

    kid: str | None = None
    kty: str | None = None
    use: str | None = None
    alg: str | None = None
    e: str | None = None
    n: str | None = None
    x5c: tuple[str, ...] = ()
    x5t_s256: str | None = attrs.field(default=None, metadata={"wire": "x5t#S256"})
    created: str | None = None
    expires_at: str | None = None
    last_updated: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


_generated_jwk = converter.get_structure_hook(JsonWebKey)


def _structure_jwk(data: Any, cls: type) -> JsonWebKey:
    if not isinstance(data, Mapping):
        raise ValueError("a JSON Web Key must be an object")
    key: JsonWebKey = _generated_jwk({k: v for k, v in data.items() if k != "raw"}, cls)
    return attrs.evolve(key, raw=dict(data))


converter.register_structure_hook(JsonWebKey, _structure_jwk)


@attrs.frozen
class JsonWebKeySet:
    """The connection's JSON Web Key Set (``AppConnectionUserProvisionJWKResponse``)."""

    keys: tuple[JsonWebKey, ...]

    def to_dict(self) -> dict[str, Any]:
        """The standard ``{"keys": [...]}`` JWKS document, every key as Okta sent it."""
        return {"keys": [dict(k.raw) for k in self.keys]}

    def find(self, kid: str) -> JsonWebKey | None:
        """Return the key with this ``kid``, or None."""
        return next((k for k in self.keys if k.kid == kid), None)


def _structure_jwks(data: Any, _: type) -> JsonWebKeySet:
    if not isinstance(data, Mapping):
        raise ValueError("the JWKS response must be a JSON object")
    # The spec wraps the set ({"jwks": {"keys": [...]}}); a bare JWKS is accepted too.
    inner = data.get("jwks", data)
    if not isinstance(inner, Mapping) or not isinstance(inner.get("keys"), list):
        raise ValueError("the JWKS response has no 'jwks.keys' list")
    return JsonWebKeySet(keys=tuple(converter.structure(k, JsonWebKey) for k in inner["keys"]))


converter.register_structure_hook(JsonWebKeySet, _structure_jwks)


# --------------------------------------------------------------------------- requests


def _non_empty(argument: str) -> Any:
    def check(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, str) or not value.strip():
            raise InvalidArgumentError(argument or attribute.name, "must be a non-empty string")

    return check


def _optional_non_empty(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise InvalidArgumentError(attribute.name, "must be None or a non-empty string")


@attrs.frozen
class TokenConnection:
    """A token-based connection request (Org2Org, Zscaler 2.0).

    Args:
        token: The API token Okta uses to call the target app. Hidden in ``repr``.
        base_url: Zscaler 2.0 only: the SCIM base URL including the Zscaler id.

    Example:
        >>> TokenConnection(token="s3cr3t", base_url=None)
        TokenConnection(token='***', base_url=None)
    """

    token: str = attrs.field(repr=_hidden, validator=_non_empty("token"))
    base_url: str | None = attrs.field(default=None, validator=_optional_non_empty)

    def to_wire(self) -> dict[str, Any]:
        """The exact request body: ``{"baseUrl"?, "profile": {"authScheme": "TOKEN", ...}}``."""
        return _unstructure_token(self)


def _rotation_mode(value: RotationMode | str | None) -> RotationMode | None:
    if value is None:
        return None
    mode = RotationMode(value)
    if not mode.is_known:
        raise InvalidArgumentError("rotation_mode", f"{value!r} is not one of AUTO, MANUAL")
    return mode


@attrs.frozen
class OAuthConnection:
    """An OAuth 2.0 connection request (Google, Office 365, Org2Org, Slack, Zoom).

    Args:
        client_id: Org2Org only: the hub org's OAuth service app client id.
        rotation_mode: Org2Org only: ``AUTO`` (Okta rotates the signing keys) or ``MANUAL``.
        admin_username: Office 365 only: the global administrator's username.
        admin_password: Office 365 only: that administrator's password. Hidden in ``repr``.

    Raises:
        InvalidArgumentError: if only one of ``admin_username`` and ``admin_password`` is
            given, or a value is an empty string.
    """

    client_id: str | None = attrs.field(default=None, validator=_optional_non_empty)
    rotation_mode: RotationMode | None = attrs.field(default=None, converter=_rotation_mode)
    admin_username: str | None = attrs.field(default=None, validator=_optional_non_empty)
    admin_password: str | None = attrs.field(
        default=None, repr=_hidden, validator=_optional_non_empty
    )

    def __attrs_post_init__(self) -> None:
        if (self.admin_username is None) != (self.admin_password is None):
            raise InvalidArgumentError(
                "admin_password" if self.admin_password is None else "admin_username",
                "Office 365 needs admin_username and admin_password together",
            )

    def to_wire(self) -> dict[str, Any]:
        """The exact request body: ``{"profile": {"authScheme": "OAUTH2", ...}}``."""
        return _unstructure_oauth(self)


def _unstructure_token(req: TokenConnection) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if req.base_url is not None:
        body["baseUrl"] = req.base_url
    body["profile"] = {"authScheme": "TOKEN", "token": req.token}
    return body


def _unstructure_oauth(req: OAuthConnection) -> dict[str, Any]:
    profile: dict[str, Any] = {"authScheme": "OAUTH2"}
    if req.client_id is not None:
        profile["clientId"] = req.client_id
    if req.rotation_mode is not None:
        profile["signing"] = {"rotationMode": str(req.rotation_mode)}
    if req.admin_username is not None and req.admin_password is not None:
        profile["settings"] = {
            "adminUsername": req.admin_username,
            "adminPassword": req.admin_password,
        }
    return {"profile": profile}


converter.register_unstructure_hook(TokenConnection, _unstructure_token)
converter.register_unstructure_hook(OAuthConnection, _unstructure_oauth)
