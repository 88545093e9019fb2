"""The seeded estate: a deterministic, realistic mix of apps and connection states."""

from __future__ import annotations

import random
import string
from collections.abc import Container
from typing import Final

from ._model import ConnectionStatus, FakeApp, RotationMode, make_rsa_jwk

__all__ = [
    "NAME_CYCLE",
    "SIGN_ON_MODES",
    "apply_oauth",
    "apply_token",
    "new_app_id",
    "new_jwk",
    "new_secret",
    "seed_apps",
]

_ALNUM: Final = string.ascii_letters + string.digits
_URLSAFE: Final = _ALNUM + "-_"

#: App names in seeding order; app ``i`` is ``NAME_CYCLE[i % 20]``. The first eight slots
#: hold every kind of app, so even a small estate has one of each; over a full cycle
#: Org2Org is the most common (7/20) and 4/20 (20%) have no provisioning at all.
NAME_CYCLE: Final = (
    "okta_org2org",
    "slack",
    "zscalerbyz",
    "google",
    "office365",
    "zoomus",
    "bookmark",
    "okta_org2org",
    "template_saml_2_0",
    "okta_org2org",
    "slack",
    "zscalerbyz",
    "oidc_client",
    "okta_org2org",
    "google",
    "okta_org2org",
    "template_swa",
    "okta_org2org",
    "slack",
    "okta_org2org",
)

SIGN_ON_MODES: Final = {
    "okta_org2org": "SAML_2_0",
    "zscalerbyz": "SAML_2_0",
    "google": "SAML_2_0",
    "office365": "WS_FEDERATION",
    "slack": "SAML_2_0",
    "zoomus": "SAML_2_0",
    "bookmark": "BOOKMARK",
    "template_saml_2_0": "SAML_2_0",
    "oidc_client": "OPENID_CONNECT",
    "template_swa": "BROWSER_PLUGIN",
}

_FIXED_LABELS: Final = {
    "zscalerbyz": ("Zscaler 2.0",),
    "google": ("Google Workspace",),
    "office365": ("Microsoft Office 365",),
    "slack": ("Slack",),
    "zoomus": ("Zoom",),
    "bookmark": ("Intranet Wiki", "HR Portal", "Status Page", "Benefits Bookmark"),
    "template_saml_2_0": ("Expenses (SAML)", "Legacy CRM", "Jira Data Center"),
    "oidc_client": ("Internal Portal", "Partner Dashboard", "Mobile App"),
    "template_swa": ("Vendor Portal", "Shared Social Account"),
}

_ORGS: Final = (
    "acme-east",
    "acme-west",
    "globex-eu",
    "initech-us",
    "umbrella-apac",
    "hooli-emea",
    "stark-na",
    "wayne-latam",
)

# Initial connection states, as (state, weight). "none" is an unconfigured connection.
_ORG2ORG_STATES: Final = (
    ("none", 15),
    ("token_disabled", 20),
    ("token_enabled", 30),
    ("oauth_auto_enabled", 20),
    ("oauth_manual_enabled", 5),
    ("oauth_auto_disabled", 10),
)
_ZSCALER_STATES: Final = (("none", 30), ("token_disabled", 30), ("token_enabled", 40))
_CONSENT_STATES: Final = (
    ("none", 40),
    ("oauth_enabled", 40),  # consented and active
    ("oauth_disabled", 10),  # consented, then deactivated
    ("oauth_pending", 10),  # set up, the admin never granted consent
)

# 2023-11-14T22:13:20Z: seeded creation times are before any test's clock.
_EPOCH_BASE: Final = 1_700_000_000.0


def new_app_id(rng: random.Random, taken: Container[str]) -> str:
    """An Okta-shaped app id (``0oa`` + 17 alphanumerics) not in ``taken``."""
    while True:
        app_id = "0oa" + "".join(rng.choices(_ALNUM, k=17))
        if app_id not in taken:
            return app_id


def new_secret(rng: random.Random, length: int = 40, prefix: str = "00") -> str:
    """An opaque, API-token-shaped secret (Okta API tokens are ``00`` + 40 characters)."""
    return prefix + "".join(rng.choices(_URLSAFE, k=length))


def new_jwk(app: FakeApp, seed: object) -> dict[str, str]:
    """The next signing key of ``app``: distinct per call, deterministic per seed."""
    app._key_serial += 1
    return make_rsa_jwk(random.Random(f"{seed}/{app.id}/{app._key_serial}"))


def _clear_connection(app: FakeApp) -> None:
    app.token = None
    app.client_id = None
    app.rotation_mode = None
    app.admin_username = None
    app.admin_password = None
    app.consent_state = None
    app._consent_codes.clear()


def _next_status(app: FakeApp, same_scheme: bool, activate: bool) -> ConnectionStatus:
    # activate=true enables; otherwise a replaced connection of the same scheme keeps its
    # status and a connection of a new scheme starts DISABLED.
    if activate:
        return "ENABLED"
    if same_scheme and app.connection_status in ("ENABLED", "DISABLED"):
        return app.connection_status
    return "DISABLED"


def apply_token(
    app: FakeApp, *, token: str, base_url: str | None, activate: bool, now: float
) -> None:
    """Replace the app's connection with a TOKEN connection."""
    same = app.auth_scheme == "TOKEN"
    status = _next_status(app, same, activate)
    _clear_connection(app)
    app.jwks = []
    app.auth_scheme = "TOKEN"
    app.token = token
    if app.name != "okta_org2org":
        # Zscaler's baseUrl comes from the request. Org2Org's is the target org, an app
        # setting the connection update does not touch.
        app.base_url = base_url
    app.connection_status = status
    app.last_updated = now


def apply_oauth(
    app: FakeApp,
    *,
    activate: bool,
    now: float,
    seed: object,
    client_id: str | None = None,
    rotation_mode: RotationMode | None = None,
    admin_username: str | None = None,
    admin_password: str | None = None,
    consented: bool = False,
) -> None:
    """Replace the app's connection with an OAUTH2 connection.

    Org2Org gets ``client_id``, a rotation mode (``MANUAL`` when None) and a signing key
    (kept when it was already OAuth). Third-party apps start DISABLED with consent pending
    unless ``consented`` (used to seed already-consented connections).
    """
    same = app.auth_scheme == "OAUTH2"
    status = _next_status(app, same, activate)
    keys = app.jwks if same else []
    _clear_connection(app)
    app.auth_scheme = "OAUTH2"
    if app.name == "okta_org2org":
        app.client_id = client_id
        app.rotation_mode = rotation_mode or "MANUAL"
        app.jwks = keys or [new_jwk(app, seed)]
    else:
        app.jwks = []
    if app.name == "office365":
        app.admin_username = admin_username
        app.admin_password = admin_password
    if app.needs_consent:
        app.consent_state = "verified" if consented else "pending"
        if not consented:
            # The connection works only after consent and verify, whatever activate said.
            status = "DISABLED"
    app.connection_status = status
    app.last_updated = now


def _label(name: str, ordinal: int, rng: random.Random) -> tuple[str, str | None]:
    """(label, Org2Org target org URL) for the ``ordinal``-th app (from 1) named ``name``."""
    if name == "okta_org2org":
        org = rng.choice(_ORGS)
        return f"Org2Org {org} {ordinal}", f"https://{org}-{ordinal}.okta.com"
    labels = _FIXED_LABELS.get(name, (name,))
    label = labels[(ordinal - 1) % len(labels)]
    rounds = (ordinal - 1) // len(labels)
    return (label if rounds == 0 else f"{label} {rounds + 1}"), None


def _pick(rng: random.Random, states: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([s for s, _ in states], weights=[w for _, w in states])[0]


def seed_apps(count: int, rng: random.Random, seed: object) -> list[FakeApp]:
    """``count`` apps with ids, labels and connection states drawn from ``rng``."""
    apps: list[FakeApp] = []
    ids: set[str] = set()
    ordinals: dict[str, int] = {}
    for i in range(count):
        name = NAME_CYCLE[i % len(NAME_CYCLE)]
        ordinals[name] = ordinal = ordinals.get(name, 0) + 1
        app_id = new_app_id(rng, ids)
        ids.add(app_id)
        label, target = _label(name, ordinal, rng)
        created = _EPOCH_BASE + rng.randrange(0, 300 * 86400)
        app = FakeApp(
            id=app_id,
            name=name,
            label=label,
            status="INACTIVE" if rng.random() < 0.08 else "ACTIVE",
            sign_on_mode=SIGN_ON_MODES.get(name, "SAML_2_0"),
            base_url=target,
            created=created,
            last_updated=created,
        )
        _seed_connection(app, rng, seed, created)
        apps.append(app)
    return apps


def _seed_connection(app: FakeApp, rng: random.Random, seed: object, now: float) -> None:
    if not app.supports_provisioning:
        app.auth_scheme = "UNKNOWN"
        app.connection_status = "UNKNOWN"
        return
    if app.name == "okta_org2org":
        state = _pick(rng, _ORG2ORG_STATES)
    elif app.name == "zscalerbyz":
        state = _pick(rng, _ZSCALER_STATES)
    else:
        state = _pick(rng, _CONSENT_STATES)
    if state == "none":
        return  # FakeApp's defaults: UNKNOWN scheme, UNKNOWN status (reference §4.10)
    enabled = state.endswith("_enabled")
    if state.startswith("token"):
        base_url = app.base_url
        if app.name == "zscalerbyz":
            base_url = (
                f"https://scim.zscalerbeta.net/{rng.randrange(1_000_000, 10_000_000)}"
                f"/{rng.randrange(100, 1000)}/scim"
            )
        apply_token(app, token=new_secret(rng), base_url=base_url, activate=enabled, now=now)
    elif app.name == "okta_org2org":
        apply_oauth(
            app,
            activate=enabled,
            now=now,
            seed=seed,
            client_id=new_app_id(rng, ()),
            rotation_mode="MANUAL" if "manual" in state else "AUTO",
        )
    else:
        office = app.name == "office365"
        apply_oauth(
            app,
            activate=enabled,
            now=now,
            seed=seed,
            admin_username="admin@contoso.onmicrosoft.com" if office else None,
            admin_password=new_secret(rng, 24, prefix="") if office else None,
            consented=state != "oauth_pending",
        )
