"""Okta's wire format: error bodies, connection and app JSON, and request parsing."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from aiohttp import web

from ._appobject import app_object, signing_kid
from ._model import FakeApp, RotationMode

__all__ = [
    "FILTER_PROPERTIES",
    "OktaError",
    "app_body",
    "app_filter",
    "app_not_found",
    "connection_body",
    "json_response",
    "no_provisioning",
    "parse_activate",
    "parse_limit",
    "parse_object",
    "parse_signing",
    "required_str",
    "validation_error",
]

_JSON: Final = "application/json"
_DEFAULT_PAGE: Final = 20
CONSENT_GUIDANCE: Final = "Open this URI in a browser to grant scope consent"


class OktaError(Exception):
    """Raised by a handler to answer with an Okta error body."""

    def __init__(
        self,
        status: int,
        code: str,
        summary: str,
        causes: Iterable[str] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(summary)
        self.status = status
        self.code = code
        self.summary = summary
        self.causes = tuple(causes)
        #: Extra response headers (``WWW-Authenticate`` on a scope refusal).
        self.headers = dict(headers or {})


def validation_error(field: str, cause: str) -> OktaError:
    return OktaError(400, "E0000001", f"Api validation failed: {field}", [f"{field}: {cause}"])


def no_provisioning(app: FakeApp) -> OktaError:
    return validation_error("provisioning", f"the {app.name} app does not support provisioning")


def app_not_found(app_id: str) -> OktaError:
    return OktaError(404, "E0000007", f"Not found: Resource not found: {app_id} (AppInstance)")


# ---------------------------------------------------------------------- rendering


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body, separators=(",", ":")).encode(),
        content_type=_JSON,
    )


def _link(href: str, *allow: str) -> dict[str, Any]:
    return {"href": href, "hints": {"allow": list(allow)}}


def connection_body(app: FakeApp, base: str) -> dict[str, Any]:
    """The ``ProvisioningConnectionResponse`` Okta returns for the app's state."""
    conn = f"{base}/api/v1/apps/{app.id}/connections/default"
    links: dict[str, Any] = {"self": _link(conn, "GET", "POST")}
    scheme = app.auth_scheme
    # An UNKNOWN scheme yields UNKNOWN status (reference §4.10), whatever a test set.
    status = "UNKNOWN" if scheme == "UNKNOWN" else app.connection_status
    # Lifecycle links only where the operation would change the status: a connection
    # that is unconfigured or waits for consent cannot be activated.
    if status == "DISABLED" and not app.consent_pending:
        links["activate"] = _link(conn + "/lifecycle/activate", "POST")
    elif status == "ENABLED":
        links["deactivate"] = _link(conn + "/lifecycle/deactivate", "POST")
    body: dict[str, Any] = {}
    if scheme == "TOKEN" or (scheme == "OAUTH2" and app.name == "okta_org2org"):
        # Okta returns the top-level authScheme for token and Org2Org OAuth connections
        # (reference §7.4), not for third-party OAuth ones (§3.1, the O365 example).
        body["authScheme"] = scheme
    body["status"] = status
    if scheme == "TOKEN" and app.base_url:
        body["baseUrl"] = app.base_url
    profile: dict[str, Any] = {"authScheme": scheme}
    if scheme == "OAUTH2" and app.name == "okta_org2org":
        if app.client_id is not None:
            profile["clientId"] = app.client_id
        if app.rotation_mode is not None:
            profile["signing"] = {"rotationMode": app.rotation_mode}
    body["profile"] = profile
    # authorize: while consent is pending, and on an ENABLED third-party OAuth
    # connection (the spec's Office 365 example: ENABLED, deactivate and authorize).
    # Verified but not yet activated: none (the spec is silent; docs/testing.md).
    if app.consent_pending or (status == "ENABLED" and scheme == "OAUTH2" and app.needs_consent):
        links["authorize"] = {
            "href": f"{base}/fake-consent/{app.id}",
            # guidance inside hints, as the schema (HrefHintsGuidanceObject) has it.
            "hints": {"allow": ["GET"], "guidance": [CONSENT_GUIDANCE]},
        }
    body["_links"] = links
    return body


def app_body(app: FakeApp, base: str) -> dict[str, Any]:
    """Okta's ``Application`` object for the app (see ``_appobject``)."""
    return app_object(app, base)


# ---------------------------------------------------------------------- request parsing


def parse_activate(raw: str | None) -> bool:
    # Booleans are accepted in any case (the docs' curl uses TRUE, SDKs send true); an
    # empty value counts as absent, as Okta's Java stack binds it to the default (false).
    if raw is None or raw == "":
        return False
    lowered = raw.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise validation_error("activate", f"must be true or false, not {json.dumps(raw)}")


def parse_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        data = None
    if not isinstance(data, dict):
        raise OktaError(400, "E0000003", "The request body was not well-formed.")
    return data


def required_str(container: Mapping[str, Any], key: str, parent: str) -> str:
    value = container.get(key)
    if not isinstance(value, str) or not value.strip():
        raise validation_error(f"{parent}.{key}", "The field cannot be left blank")
    return value


def parse_signing(signing: Any) -> RotationMode | None:
    if signing is None:
        return None  # Okta uses MANUAL when signing is omitted
    if not isinstance(signing, dict):
        raise validation_error("profile.signing", "must be an object")
    mode = signing.get("rotationMode")
    if mode == "AUTO":
        return "AUTO"
    if mode == "MANUAL":
        return "MANUAL"
    raise validation_error(
        "profile.signing.rotationMode", f"must be AUTO or MANUAL, not {json.dumps(mode)}"
    )


def parse_limit(raw: str | None) -> int:
    """A page size from ``limit``: absent, empty or ``-1`` (the spec's default) is 20."""
    if raw is None or raw == "":
        return _DEFAULT_PAGE
    try:
        limit = int(raw)
    except ValueError:
        raise validation_error("limit", "must be an integer") from None
    if limit == -1:
        # The spec's default value; Okta does not say what page it means. The fake's
        # default page (20) makes a client that forgets to paginate fail on a big estate.
        return _DEFAULT_PAGE
    if limit < 1:
        raise validation_error("limit", "must be -1 or at least 1")
    return min(limit, 200)  # Okta caps a page at 200 apps


#: Properties ``filter`` takes (the spec: ``id``, ``status``, ``credentials.signing.kid``,
#: ``settings.slo.enabled``, ``name``; the docs add ``user.id`` and ``group.id``).
FILTER_PROPERTIES: Final = (
    "id",
    "status",
    "name",
    "credentials.signing.kid",
    "settings.slo.enabled",
    "user.id",
    "group.id",
)


def _clause(clause: str) -> tuple[str, str]:
    """(property, value) of one ``property eq "value"`` clause.

    Raises:
        OktaError: 400, not a clause the fake understands.
    """
    parts = clause.strip().split(None, 2)
    if len(parts) == 3 and parts[0] in FILTER_PROPERTIES and parts[1].lower() == "eq":
        value = parts[2]
        if len(value) >= 2 and value[0] == value[-1] == '"' and '"' not in value[1:-1]:
            return parts[0], value[1:-1]
        if parts[0] == "settings.slo.enabled" and value.lower() in ("true", "false"):
            return parts[0], value.lower()
    raise validation_error(
        "filter",
        f"unsupported expression {clause.strip()!r} (use {', '.join(FILTER_PROPERTIES)} "
        'with eq "...", joined by and)',
    )


def _value_of(app: FakeApp, prop: str) -> str | None:
    """The app's value of a filter property; None: the app has none (never matches)."""
    if prop == "id":
        return app.id
    if prop == "status":
        return app.status
    if prop == "name":
        return app.name
    if prop == "credentials.signing.kid":
        return signing_kid(app)
    if prop == "settings.slo.enabled":
        return "false"  # no fake app has single logout enabled
    return None  # user.id, group.id: a fake estate has no users or groups to assign


def app_filter(filter_expr: str | None, q: str | None) -> Callable[[FakeApp], bool]:
    """A predicate for ``filter`` (``eq`` clauses joined by ``and``) and ``q``."""
    wanted: list[tuple[str, str]] = []
    if filter_expr:
        wanted = [_clause(clause) for clause in _split_and(filter_expr)]
    prefix = q.lower() if q else None

    def matches(app: FakeApp) -> bool:
        for prop, value in wanted:
            if _value_of(app, prop) != value:
                return False
        # q: Okta matches the start of the name or the label, case-insensitively.
        return prefix is None or (
            app.name.lower().startswith(prefix) or app.label.lower().startswith(prefix)
        )

    return matches


def _split_and(expr: str) -> list[str]:
    clauses: list[str] = []
    current: list[str] = []
    for word in expr.split(" "):
        if word.lower() == "and" and current:
            clauses.append(" ".join(current))
            current = []
        else:
            current.append(word)
    clauses.append(" ".join(current))
    return clauses
