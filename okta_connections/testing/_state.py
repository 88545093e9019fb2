"""The fake org's state, apart from the server that serves it.

:class:`OrgState` holds everything that makes up an org: the estate, the credentials and
their principals, the rate-limit windows, the fault plan, the OAuth server, the invented
refusals, latency and the request log. A snapshot is a deep copy of the whole object, so
a field added here is in every snapshot without a list to keep up to date.
"""

from __future__ import annotations

import copy
import random
import secrets
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs
from yarl import URL

from ._faults import FaultPlan
from ._log import RequestLog
from ._model import FakeApp
from ._oauth import FakeAuthorizationServer
from ._ratelimit import Limits

__all__ = ["REFUSALS", "BearerGrant", "OrgState", "Refusal", "capture", "restore"]


@attrs.define
class BearerGrant:
    scopes: frozenset[str]
    expires_at: float | None
    principal: str


@attrs.frozen
class Refusal:
    """How the fake answers a request Okta's docs give no answer for (204: accept it
    without changing anything). ``{field}`` in the summary names the refused field."""

    status: int
    code: str = ""
    summary: str = ""


#: The invented refusals, by name: their defaults (see docs/testing.md).
REFUSALS: Final[dict[str, Refusal]] = {
    "activate_unconfigured": Refusal(400, "E0000001", "Api validation failed: {field}"),
    "activate_pending_consent": Refusal(400, "E0000001", "Api validation failed: {field}"),
    "lifecycle_without_provisioning": Refusal(400, "E0000001", "Api validation failed: {field}"),
    "verify_bad_code": Refusal(400, "E0000001", "Api validation failed: {field}"),
}

_DEFAULT_SUMMARIES: Final = {
    400: ("E0000001", "Api validation failed: {field}"),
    401: ("E0000011", "Invalid token provided"),
    403: ("E0000006", "You do not have permission to perform the requested action"),
    404: ("E0000007", "Not found: Resource not found: {field}"),
    429: ("E0000047", "API call exceeded rate limit due to too many requests."),
}


def make_refusal(
    name: str, status: int, code: str | None = None, summary: str | None = None
) -> Refusal:
    """A :class:`Refusal` for ``name``, with Okta's code and summary for the status."""
    if name not in REFUSALS:
        raise ValueError(f"unknown refusal {name!r}; choose from {', '.join(REFUSALS)}")
    if isinstance(status, bool) or not isinstance(status, int):
        raise ValueError(f"refusal status must be an integer, not {status!r}")
    if status != 204 and not 400 <= status <= 499:
        raise ValueError(f"refusal status must be 204 or 400-499, not {status}")
    if status == 204:
        return Refusal(204)
    if status == REFUSALS[name].status and code is None and summary is None:
        return REFUSALS[name]
    default_code, default_summary = _DEFAULT_SUMMARIES.get(
        status, ("E0000001", "Api validation failed: {field}")
    )
    return Refusal(status, code or default_code, summary or default_summary)


def parse_refusals(value: Mapping[str, object] | None) -> dict[str, Refusal]:
    """``{"verify_bad_code": 403, "activate_unconfigured": (409, "E0000001", "...")}``."""
    refusals = dict(REFUSALS)
    for name, spec in (value or {}).items():
        if isinstance(spec, Refusal):
            refusals[name] = make_refusal(
                name, spec.status, spec.code or None, spec.summary or None
            )
        elif isinstance(spec, tuple | list):
            refusals[name] = make_refusal(name, *spec)
        elif isinstance(spec, int):
            refusals[name] = make_refusal(name, spec)
        else:
            raise ValueError(f"refusal {name!r}: give a status or (status, code, summary)")
    return refusals


@attrs.define(eq=False, slots=False, repr=False)
class OrgState:
    """Everything a :class:`FakeOkta` org is made of; the server only reads and changes it.

    Attributes:
        seed: The estate's seed.
        rng: The seeded stream new ids and secrets are drawn from.
        apps: Apps by id.
        order: Apps in listing order.
        ssws: Accepted SSWS tokens -> their principal id (``ssws-1``...).
        bearer: Accepted ``add_bearer_token`` tokens -> their grant.
        principals: How many principal ids were handed out (for the next id).
        used_codes: Spent consent authorization codes.
        limits: Rate and concurrency limits and the open windows.
        faults: The one fault plan (scripted and random faults) of every route.
        oauth: The org authorization server (service apps, issued tokens).
        refusals: The invented answers, by name (see :data:`REFUSALS`).
        latency: Seconds each API request waits.
        update_status: The status of a successful update: 200 (the spec's) or 201.
        latency_jitter: Spread of that wait, 0 to 1.
        latency_rng: Seeded stream of the jitter.
        requests: The request log.
    """

    seed: int
    rng: random.Random
    limits: Limits
    faults: FaultPlan
    oauth: FakeAuthorizationServer
    apps: dict[str, FakeApp] = attrs.field(factory=dict)
    order: list[FakeApp] = attrs.field(factory=list)
    position: dict[str, int] = attrs.field(factory=dict)
    ssws: dict[str, str] = attrs.field(factory=dict)
    bearer: dict[str, BearerGrant] = attrs.field(factory=dict)
    principals: int = 0
    used_codes: set[str] = attrs.field(factory=set)
    refusals: dict[str, Refusal] = attrs.field(factory=lambda: dict(REFUSALS))
    latency: float = 0.0
    update_status: int = attrs.field(default=200, validator=attrs.validators.in_((200, 201)))
    latency_jitter: float = 0.0
    latency_rng: random.Random = attrs.field(factory=random.Random)
    requests: RequestLog = attrs.field(factory=RequestLog)

    def __repr__(self) -> str:
        # Credentials and consent codes are keys of these maps: counts only.
        return (
            f"<OrgState apps={len(self.order)} tokens={len(self.ssws) + len(self.bearer)} "
            f"service_apps={len(self.oauth.apps)} requests={len(self.requests)}>"
        )

    def insert(self, app: FakeApp) -> None:
        self.apps[app.id] = app
        self.position[app.id] = len(self.order)
        self.order.append(app)

    def reindex(self) -> None:
        self.apps = {a.id: a for a in self.order}
        self.position = {a.id: i for i, a in enumerate(self.order)}

    def delay(self) -> float:
        """How long the next request waits: ``latency``, spread by ``latency_jitter``."""
        jitter = self.latency_jitter
        if not jitter:
            return self.latency
        return self.latency * self.latency_rng.uniform(1 - jitter, 1 + jitter)

    def issue_consent(self, app: FakeApp, base: str) -> str:
        """Grant consent for ``app``: a single-use code and its state; the continue URL.

        Raises:
            ValueError: The app has no third-party OAuth connection to consent to.
        """
        if not (app.needs_consent and app.auth_scheme == "OAUTH2"):
            raise ValueError(
                f"app {app.id} ({app.name}) has no OAuth connection that needs consent"
            )
        code = secrets.token_urlsafe(24)
        state = secrets.token_urlsafe(16)
        app._consent_codes[code] = state
        query = URL.build(query={"code": code, "state": state}).raw_query_string
        return f"{base}/api/v1/apps/{app.name}/{app.id}/oauth2/callback?{query}"

    def new_principal(self, kind: str) -> str:
        self.principals += 1
        return f"{kind}-{self.principals}"

    def principal_key(self, who: str) -> str:
        """The principal id of an SSWS or bearer token, else ``who`` as a client id."""
        if who in self.ssws:
            return self.ssws[who]
        grant = self.bearer.get(who)
        return grant.principal if grant is not None else who


@attrs.frozen(repr=False)
class FakeOktaSnapshot:
    """The state of a :class:`FakeOkta` at one moment; see :meth:`FakeOkta.snapshot`."""

    apps: int
    requests: int
    _state: OrgState

    def __repr__(self) -> str:
        return f"<FakeOktaSnapshot apps={self.apps} requests={self.requests}>"


def _copy(state: OrgState, clock: Callable[[], float]) -> OrgState:
    # Shared, not copied: the clock, the OAuth keys (cryptography objects) and the
    # recorded requests (final once answered); the log itself is a new list.
    memo: dict[int, Any] = {id(clock): clock}
    for app in state.oauth.apps.values():
        for key in app.keys.values():
            memo[id(key)] = key
    for keys in vars(state.oauth).get("_proof_keys", {}).values():
        memo[id(keys)] = keys
    memo[id(state.requests)] = RequestLog(state.requests)
    return copy.deepcopy(state, memo)


def capture(state: OrgState, clock: Callable[[], float]) -> FakeOktaSnapshot:
    """A snapshot of every field of ``state``."""
    return FakeOktaSnapshot(len(state.order), len(state.requests), _copy(state, clock))


def restore(state: OrgState, snapshot: FakeOktaSnapshot, clock: Callable[[], float]) -> None:
    """Put ``state`` back as it was in ``snapshot``, in place.

    Apps that still exist are restored in place (``FakeApp`` objects a test holds stay
    live); the OAuth server object stays the same one, with the saved contents. Every
    other field is replaced by a copy of the saved one.
    """
    saved = _copy(snapshot._state, clock)
    order: list[FakeApp] = []
    for app in saved.order:
        live = state.apps.get(app.id)
        if live is None:
            order.append(app)
            continue
        for field in attrs.fields(FakeApp):
            setattr(live, field.name, getattr(app, field.name))
        order.append(live)
    saved.order = order
    vars(state.oauth).update(vars(saved.oauth))
    saved.oauth = state.oauth
    for field in attrs.fields(OrgState):
        setattr(state, field.name, getattr(saved, field.name))
    state.reindex()
