"""FakeOkta: a fake Okta org serving the Application Connections API over aiohttp.web.

:class:`FakeOkta` is the public face of two parts: the org's state (:class:`OrgState`,
``_state``: apps, credentials and principals, windows, faults, refusals, the request
log) and the aiohttp server that serves it (:class:`OrgServer`, ``_server``). The
methods here arrange the state; the server only reads and changes it per request.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Concatenate, Final, Literal, ParamSpec, TypeVar

from aiohttp import web

from .._validation import is_loopback
from ._faults import FaultPlan, ScriptedFault, check_fault_args
from ._log import RequestLog
from ._model import (
    OPERATIONS,
    FakeApp,
    RecordedRequest,
    RemoteHostError,
    RotationMode,
    UnknownAppError,
)
from ._oauth import FakeAuthorizationServer, ServiceApp
from ._ratelimit import HeaderMode, Limits, check_share
from ._seed import (
    SIGN_ON_MODES,
    apply_oauth,
    apply_token,
    new_app_id,
    new_jwk,
    new_secret,
    seed_apps,
)
from ._server import OrgServer
from ._state import (
    BearerGrant,
    FakeOktaSnapshot,
    OrgState,
    capture,
    make_refusal,
    parse_refusals,
    restore,
)

__all__ = ["FakeOkta", "FakeOktaSnapshot"]

_P = ParamSpec("_P")
_R = TypeVar("_R")

_log = logging.getLogger(__name__)

#: The default limit of FakeOkta and fake-server: enforced, and generous enough that no
#: test or demo of today's users meets it (see docs/testing.md, "Rate limits").
DEFAULT_RATE_LIMIT: Final = 1_000_000
DEFAULT_RATE_WINDOW: Final = 60

#: Okta's documented defaults (reference §8.3-§8.5): the ``okta`` preset.
OKTA_PRESET: Final[dict[str, Any]] = {
    "rate_limit": 100,
    "rate_window": 60,
    "principal_share": 0.5,
    "concurrency_limit": 75,
    "principal_concurrency_share": 0.5,
}


#: What ``fail(operation=...)`` matches: the operations, the token endpoint, the consent page.
_FAULT_OPERATIONS: Final = frozenset(OPERATIONS) | {"token", "consent"}


def _on_server_loop(
    method: Callable[Concatenate[FakeOkta, _P], _R],
) -> Callable[Concatenate[FakeOkta, _P], _R]:
    """Run a state-changing method on the loop that serves the org.

    When the org is served from another thread (as the pytest plugin does), a call made
    from the test's thread is handed to the serving loop and waited for, so that it runs
    between two request handlers, never in the middle of one. On the serving thread, or
    before the org is started, the method runs directly.
    """

    @functools.wraps(method)
    def wrapper(self: FakeOkta, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        loop = self._serving_loop
        if (
            loop is None
            or self._serving_thread == threading.get_ident()
            or loop.is_closed()
            or not loop.is_running()
        ):
            return method(self, *args, **kwargs)
        done: concurrent.futures.Future[_R] = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(method(self, *args, **kwargs))
            except BaseException as exc:
                done.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return done.result(timeout=30)

    return wrapper


class FakeOkta:
    """A fake Okta org: the six provisioning-connection operations, on 127.0.0.1.

    It behaves like Okta where the reference documents it: Okta's error bodies and codes,
    HAL links that follow the connection's status, the third-party OAuth consent flow,
    SSWS and scoped Bearer auth, and ``X-Okta-Request-Id``, ``Date`` and ``X-Rate-Limit-*``
    headers on every response, with per-bucket windows on an injectable clock. It also
    serves ``GET /api/v1/apps`` (paged with ``Link`` headers) and ``GET /api/v1/apps/{id}``
    to pick targets from; other app routes answer 501 (docs/testing.md).

    Example::

        async with FakeOkta(apps=20) as fake:
            app = next(a for a in fake.apps if a.name == "okta_org2org")
            ...  # point a client at fake.org_url with "SSWS " + fake.token
            assert fake.count(operation="activate") == 1

    Handlers never await in the middle of a state change, so concurrent requests on one
    event loop see consistent state; each is a few dict lookups, whatever the org size.

    Attributes:
        token: An SSWS API token the org accepts (random unless given). Not in ``repr``.
        requests: Every request received, in arrival order (kept only when
            ``record_requests``): a list of :class:`RecordedRequest` that can also be
            called with filters, ``fake.requests(operation="activate", app_id=...)``
            (see :class:`RequestLog`). A test may ``clear()`` it.
        latency: Seconds each API request waits before it is handled (default 0), to
            model a slow org; it uses real time, not ``clock``.
        latency_jitter: Spread of that wait, from 0 (default: every request waits exactly
            ``latency``) to 1: each request waits ``latency`` times a factor drawn
            uniformly from ``[1 - latency_jitter, 1 + latency_jitter]``, so that
            requests sent together are not all answered together, as on a real network.
        web_app: The ``aiohttp.web.Application``, to embed or to serve yourself.
    """

    def __init__(
        self,
        *,
        apps: int = 60,
        seed: int = 0,
        token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
        rate_limit: int | None = None,
        rate_window: float | None = None,
        enforce_rate_limit: bool = True,
        principal_share: float | None = None,
        concurrency_limit: int | None = None,
        principal_concurrency_share: float | None = None,
        rate_limit_headers: HeaderMode = "principal",
        preset: Literal["okta"] | None = None,
        refusals: Mapping[str, Any] | None = None,
        record_requests: bool = True,
        fail_rate: float = 0.0,
        drop_rate: float = 0.0,
        slow_rate: float = 0.0,
        malformed_rate: float = 0.0,
        allow_remote: bool = False,
        update_status: int = 200,
    ) -> None:
        """Create the org and seed its apps; call :meth:`start` (or ``async with``) to serve.

        Args:
            apps: How many apps to seed.
            seed: Seed of the estate: ids, labels and connection states are the same for
                the same seed.
            token: The SSWS API token to accept; a random one when None.
            host: Interface to listen on: a loopback address (``127.0.0.1``, ``::1``,
                ``localhost``) unless ``allow_remote`` is True.
            port: TCP port; 0 picks a free one (read :attr:`org_url` after start).
            clock: Time source (epoch seconds) for ``Date``, rate-limit windows and
                ``X-Rate-Limit-Reset``, bearer token expiry and timestamps; inject one to
                skew or freeze the server's clock.
            rate_limit: Requests per window in each bucket, for the whole org. Default
                1,000,000 (a minute), or the preset's. Okta's ``/api/v1/apps*`` bucket is
                100/min on most plans (``preset="okta"``).
            rate_window: Window length, whole seconds (default 60). Windows open on the
                whole second of their first request; ``X-Rate-Limit-Reset`` is their end.
            enforce_rate_limit: Answer 429 (``E0000047``) past a ceiling (the default).
                False only counts the headers down, so that they lie: avoid it.
            principal_share: Share of each bucket one principal (an API token or an
                OAuth service app) may use: 1.0 by default, 0.5 in the ``okta`` preset
                (reference §8.4). Change one principal's with :meth:`set_principal_share`.
            concurrency_limit: Requests in flight at once for the org (None: no limit;
                75 in the ``okta`` preset); see :meth:`set_concurrency_limit`.
            principal_concurrency_share: Share of ``concurrency_limit`` one principal may
                use (1.0; 0.5 in the ``okta`` preset).
            rate_limit_headers: ``"principal"`` (default): ``X-Rate-Limit-Limit`` is the
                principal's ceiling and ``-Remaining`` what it has left (or the org, when
                less); ``"org"``: both show the org's bucket. Okta's docs do not settle it.
            preset: ``"okta"``: Okta's documented defaults at once (100 a minute, a 0.5
                share, 75 in flight with a 0.5 share); explicit arguments win.
            refusals: Answers to requests Okta's docs give none for, by name:
                ``activate_unconfigured``, ``activate_pending_consent``,
                ``lifecycle_without_provisioning``, ``verify_bad_code`` -> a status (204:
                accept and change nothing) or ``(status, errorCode, errorSummary)``.
                Each defaults to 400 ``E0000001`` (see docs/testing.md).
            record_requests: Keep every request in :attr:`requests`. Turn off for long
                benchmark runs, where the log would only grow.
            fail_rate: Fraction of API requests answered with a random 500/502/503/504
                before anything changes (see :meth:`set_faults`).
            drop_rate: Fraction handled and then cut off without a response.
            slow_rate: Fraction held for 2 s before being handled.
            malformed_rate: Fraction of JSON successes whose body is cut short.
            allow_remote: Listen on a ``host`` that is not loopback (``0.0.0.0``, a LAN
                address): anyone who can reach the port then gets the org and its token,
                over plain HTTP.
            update_status: The status of a successful update: 200, as the spec and
                Okta answer, or 201, as older specs documented (see
                :attr:`update_status`).

        Raises:
            ValueError: A ``port`` outside 0-65535.
            RemoteHostError: ``host`` is not a loopback address and ``allow_remote`` is
                not True (a ``ValueError``).
            ValueError: A negative ``apps``, a bad rate limit, window, share, preset,
                refusal or ``update_status``.
        """
        if isinstance(apps, bool) or not isinstance(apps, int) or apps < 0:
            raise ValueError(f"apps must be an integer >= 0, not {apps!r}")
        if update_status not in (200, 201) or isinstance(update_status, bool):
            raise ValueError(f"update_status must be 200 or 201, not {update_status!r}")
        if preset not in (None, "okta"):
            raise ValueError(f"preset must be 'okta' or None, not {preset!r}")
        base: dict[str, Any] = dict(OKTA_PRESET) if preset == "okta" else {}

        def pick(name: str, given: Any, default: Any) -> Any:
            return given if given is not None else base.get(name, default)

        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be 0-65535 (0: a free one), not {port!r}")
        if not isinstance(host, str) or not (allow_remote is True or is_loopback(host)):
            raise RemoteHostError(str(host))
        self._host = host
        self._port = port
        self._clock = clock
        limits = Limits(
            limit=pick("rate_limit", rate_limit, DEFAULT_RATE_LIMIT),
            window=pick("rate_window", rate_window, DEFAULT_RATE_WINDOW),
            enforce=enforce_rate_limit,
            share=pick("principal_share", principal_share, 1.0),
            concurrency=pick("concurrency_limit", concurrency_limit, None),
            concurrency_share=pick("principal_concurrency_share", principal_concurrency_share, 1.0),
            headers=rate_limit_headers,
        )
        faults = FaultPlan(
            error_rate=fail_rate,
            drop_rate=drop_rate,
            slow_rate=slow_rate,
            malformed_rate=malformed_rate,
            rng=random.Random(seed + 1),
        )
        oauth = FakeAuthorizationServer(clock)
        oauth.faults = faults
        rng = random.Random(seed)
        self._org = OrgState(
            seed=seed,
            rng=rng,
            limits=limits,
            faults=faults,
            oauth=oauth,
            refusals=parse_refusals(refusals),
            latency_rng=random.Random(seed + 2),
            update_status=update_status,
        )
        for app in seed_apps(apps, rng, seed):
            self._org.insert(app)
        self.token: str = token if token is not None else new_secret(random.Random())
        self._org.ssws[self.token] = self._org.new_principal("ssws")
        self._serving_loop: asyncio.AbstractEventLoop | None = None
        self._serving_thread: int | None = None
        self._server = OrgServer(self._org, clock, record=record_requests)
        self._runner: web.AppRunner | None = None
        self._closed = False
        self.web_app: web.Application = self._server.web_app

    @property
    def state(self) -> OrgState:
        """The org's state, apart from the server (see :class:`OrgState`)."""
        return self._org

    @property
    def oauth(self) -> FakeAuthorizationServer:
        """The org authorization server (``/oauth2/v1/token``); see :mod:`._oauth`."""
        return self._org.oauth

    @property
    def faults(self) -> FaultPlan:
        """The fault plan of every route: scripted faults and random fault rates."""
        return self._org.faults

    @property
    def limits(self) -> Limits:
        """Rate and concurrency limits, principal shares and the open windows."""
        return self._org.limits

    @property
    def latency(self) -> float:
        """Seconds each API request waits before it is handled (real time, not ``clock``)."""
        return self._org.latency

    @latency.setter
    def latency(self, value: float) -> None:
        self._org.latency = value

    @property
    def update_status(self) -> int:
        """The status of a successful update: 200 (the default, as the spec) or 201.

        Okta's older specs documented 201 for the update; a test of code that must cope
        with both sets ``fake.update_status = 201`` (or ``FakeOkta(update_status=201)``).
        """
        return self._org.update_status

    @update_status.setter
    def update_status(self, value: int) -> None:
        if value not in (200, 201) or isinstance(value, bool):
            raise ValueError(f"update_status must be 200 or 201, not {value!r}")
        self._org.update_status = value

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> FakeOkta:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Start serving on ``host:port``; :attr:`org_url` is then set.

        Raises:
            RuntimeError: Already started, or closed (an org serves once).
            OSError: The address is taken.
        """
        if self._runner is not None or self._closed:
            raise RuntimeError("this FakeOkta was already started; create a new one")
        # handle_signals=False: the embedding program owns SIGINT/SIGTERM. A short
        # shutdown_timeout: close() should not wait a minute for a stuck client.
        runner = web.AppRunner(
            self.web_app, access_log=None, handle_signals=False, shutdown_timeout=5.0
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._host, self._port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._serving_loop = asyncio.get_running_loop()
        self._serving_thread = threading.get_ident()
        port = runner.addresses[0][1]
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._server.org_url = f"http://{host}:{port}"

    async def close(self) -> None:
        """Stop serving and close open connections. Safe to call more than once."""
        self._closed = True
        self._serving_loop = None
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    @property
    def org_url(self) -> str:
        """The org's base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash).

        Set it yourself when you serve :attr:`web_app` some other way, so that
        :meth:`consent` can build URLs.

        Raises:
            RuntimeError: Not started and not set.
        """
        if self._server.org_url is None:
            raise RuntimeError("FakeOkta is not serving yet: use 'async with' or start()")
        return self._server.org_url

    @org_url.setter
    def org_url(self, value: str) -> None:
        self._server.org_url = value.rstrip("/")

    def __repr__(self) -> str:
        where = self._server.org_url or "not started"
        return f"<FakeOkta {where} apps={len(self._org.order)} seed={self._org.seed!r}>"

    # ------------------------------------------------------------------ the estate

    @property
    def apps(self) -> list[FakeApp]:
        """The org's apps in a stable order: seeded ones first, then added ones.

        A new list each time; the apps in it are the live, mutable state.
        """
        return list(self._org.order)

    def app(self, app_id: str) -> FakeApp:
        """The app with this id.

        Raises:
            UnknownAppError: (a ``KeyError``) no such app.
        """
        try:
            return self._org.apps[app_id]
        except KeyError:
            raise UnknownAppError(app_id) from None

    @_on_server_loop
    def add_app(
        self,
        name: str,
        *,
        label: str | None = None,
        connection: Literal["token", "oauth"] | None = None,
        status: Literal["ENABLED", "DISABLED"] = "DISABLED",
        app_id: str | None = None,
        app_status: Literal["ACTIVE", "INACTIVE"] = "ACTIVE",
        sign_on_mode: str | None = None,
        base_url: str | None = None,
        token: str | None = None,
        client_id: str | None = None,
        rotation_mode: RotationMode = "MANUAL",
        admin_username: str | None = None,
        admin_password: str | None = None,
        consented: bool = True,
    ) -> FakeApp:
        """Add an app, optionally with a configured connection.

        Args:
            name: Catalog name. ``okta_org2org`` and ``zscalerbyz`` take token connections;
                ``google``, ``office365``, ``okta_org2org``, ``slack`` and ``zoomus`` take
                OAuth ones; any other name has no provisioning (status ``UNKNOWN``).
            label: Display name (defaults to the name).
            connection: None for an unconfigured connection, ``"token"`` or ``"oauth"``.
            status: The connection's status (an unconfigured connection, and an app
                without provisioning, are ``UNKNOWN`` whatever this says).
            app_id: The id; a fresh ``0oa…`` id when None.
            app_status: The app's own status.
            sign_on_mode: Defaults to the catalog app's usual mode.
            base_url: TOKEN: Zscaler's SCIM base URL, or Org2Org's target org URL.
            token: TOKEN: the stored token (random when None).
            client_id: Org2Org OAuth: the hub service app's client id (random when None).
            rotation_mode: Org2Org OAuth signing key rotation.
            admin_username: Office 365 OAuth admin username.
            admin_password: Office 365 OAuth admin password (random when None).
            consented: Third-party OAuth: whether consent is already verified. False
                leaves it pending (with an authorize link), which requires DISABLED.

        Returns:
            The new app (live state).

        Raises:
            ValueError: The app cannot have that connection, the id is taken or cannot
                appear in a URL path, or the state is contradictory.
        """
        if app_id is None:
            app_id = new_app_id(self._org.rng, self._org.apps)
        elif app_id in self._org.apps:
            raise ValueError(f"app id {app_id!r} is already in use")
        elif not app_id or "/" in app_id:
            raise ValueError(f"app id {app_id!r} cannot be used in a URL path")
        if status not in ("ENABLED", "DISABLED"):
            raise ValueError(f"status must be ENABLED or DISABLED, not {status!r}")
        now = self._clock()
        app = FakeApp(
            id=app_id,
            name=name,
            label=label if label is not None else name,
            status=app_status,
            sign_on_mode=sign_on_mode or SIGN_ON_MODES.get(name, "SAML_2_0"),
            created=now,
            last_updated=now,
        )
        if name == "okta_org2org":
            # The target org is an app setting, shown as baseUrl by token connections.
            app.base_url = base_url or f"https://target-{app_id[-6:].lower()}.okta.com"
        if not app.supports_provisioning:
            if connection is not None:
                raise ValueError(f"{name!r} apps have no provisioning connection")
            app.auth_scheme = "UNKNOWN"
            app.connection_status = "UNKNOWN"
        elif connection is None:
            if status == "ENABLED":
                raise ValueError("an unconfigured connection cannot be ENABLED")
        elif connection == "token":
            if not app.supports_token:
                raise ValueError(f"{name!r} apps do not support token connections")
            if name == "zscalerbyz" and base_url is None:
                base_url = (
                    f"https://scim.zscalerbeta.net/{self._org.rng.randrange(10**6, 10**7)}/890/scim"
                )
            apply_token(
                app,
                token=token if token is not None else new_secret(self._org.rng),
                base_url=base_url,
                activate=status == "ENABLED",
                now=now,
            )
        elif connection == "oauth":
            if not app.supports_oauth:
                raise ValueError(f"{name!r} apps do not support OAuth connections")
            if app.needs_consent and not consented and status == "ENABLED":
                raise ValueError("a connection still pending consent cannot be ENABLED")
            office = name == "office365"
            apply_oauth(
                app,
                activate=status == "ENABLED",
                now=now,
                seed=self._org.seed,
                client_id=(client_id or new_app_id(self._org.rng, ()))
                if name == "okta_org2org"
                else None,
                rotation_mode=rotation_mode,
                admin_username=(admin_username or "admin@contoso.onmicrosoft.com")
                if office
                else None,
                admin_password=(admin_password or new_secret(self._org.rng, 24, prefix=""))
                if office
                else None,
                consented=consented,
            )
        else:
            raise ValueError(f"connection must be None, 'token' or 'oauth', not {connection!r}")
        self._org.insert(app)
        return app

    @_on_server_loop
    def remove_app(self, app_id: str) -> FakeApp:
        """Delete an app: later requests for it get 404 ``E0000007``.

        Raises:
            UnknownAppError: No such app.
        """
        app = self.app(app_id)
        del self._org.apps[app_id]
        self._org.order.remove(app)
        self._org.position = {a.id: i for i, a in enumerate(self._org.order)}
        return app

    @_on_server_loop
    def rotate_keys(self, app_id: str) -> str:
        """Rotate an Org2Org OAuth connection's signing key, as ``AUTO`` rotation does.

        The new key is published first and the previous one stays in the JWKS (so
        tokens signed with it still verify); older keys are dropped.

        Returns:
            The new key's ``kid``.

        Raises:
            UnknownAppError: No such app.
            ValueError: The connection has no JWKS (not an Org2Org OAuth connection).
        """
        app = self.app(app_id)
        if not app.has_jwks:
            raise ValueError(f"app {app_id} has no JWKS (not an Org2Org OAuth connection)")
        key = new_jwk(app, self._org.seed)
        app.jwks = [key, *app.jwks[:1]]
        return key["kid"]

    # ------------------------------------------------------------------ credentials

    @_on_server_loop
    def add_token(self, token: str) -> None:
        """Accept another SSWS API token."""
        if not token:
            raise ValueError("token must be a non-empty string")
        if token not in self._org.ssws:
            self._org.ssws[token] = self._org.new_principal("ssws")

    @_on_server_loop
    def add_bearer_token(
        self,
        token: str,
        scopes: Iterable[str] = ("okta.apps.read", "okta.apps.manage"),
        *,
        expires_at: float | None = None,
    ) -> None:
        """Accept an OAuth 2.0 access token as ``Authorization: Bearer <token>``.

        Args:
            token: The access token.
            scopes: Its granted scopes. GETs need ``okta.apps.read`` or
                ``okta.apps.manage``; POSTs need ``okta.apps.manage`` (else 403).
            expires_at: Epoch seconds (on ``clock``) from which it is refused with 401.
        """
        if not token:
            raise ValueError("token must be a non-empty string")
        if isinstance(scopes, str):
            # A lone string would otherwise be iterated character by character.
            scopes = scopes.split()
        old = self._org.bearer.get(token)
        principal = old.principal if old is not None else self._org.new_principal("bearer")
        self._org.bearer[token] = BearerGrant(frozenset(scopes), expires_at, principal)

    @_on_server_loop
    def revoke_token(self, token: str) -> None:
        """Refuse an SSWS or Bearer token from now on (401 ``E0000011``).

        Raises:
            KeyError: The token was never accepted.
        """
        if token in self._org.ssws:
            del self._org.ssws[token]
        elif self._org.bearer.pop(token, None) is None:
            raise KeyError("that token is not registered with this FakeOkta")

    @_on_server_loop
    def register_service_app(
        self,
        client_id: str,
        public_key: object = None,
        *,
        scopes: Iterable[str] = ("okta.apps.read", "okta.apps.manage"),
        dpop_required: bool = False,
        token_lifetime: int = 3600,
        key_id: str | None = None,
        client_secret: str | None = None,
        rotate_refresh_tokens: bool = True,
    ) -> ServiceApp:
        """Register an OAuth client with the org authorization server (``/oauth2/v1/token``).

        Args:
            client_id: The client ID.
            public_key: For ``private_key_jwt``: a ``cryptography`` public (or private) key,
                PEM, a JWK or a JWKS ``{"keys": [...]}``. None for a client that uses only
                ``client_secret`` or is public.
            scopes: Granted scopes; tokens carry the requested subset. GETs need
                ``okta.apps.read`` (or manage), POSTs ``okta.apps.manage``, else 403.
            dpop_required: Demand DPoP: a nonce challenge, then a proof on every token
                request and every API call with the token.
            token_lifetime: Seconds each access token lives (``expires_in``), on ``clock``.
            key_id: The ``kid`` of ``public_key`` when it is not a JWK that names one.
            client_secret: Accept ``client_secret_basic`` (refresh-token grants).
            rotate_refresh_tokens: Issue a new refresh token on each use.
        """
        return self.oauth.register_service_app(
            client_id,
            public_key,
            scopes=scopes,
            dpop_required=dpop_required,
            token_lifetime=token_lifetime,
            key_id=key_id,
            client_secret=client_secret,
            rotate_refresh_tokens=rotate_refresh_tokens,
        )

    @_on_server_loop
    def issue_refresh_token(self, client_id: str, scopes: Iterable[str] | None = None) -> str:
        """A refresh token for a registered client, as an admin's consent would give."""
        return self.oauth.issue_refresh_token(client_id, scopes)

    @_on_server_loop
    def revoke_tokens(self, client_id: str | None = None, *, api_tokens: bool = False) -> int:
        """Revoke credentials, as an admin would: later calls with them get 401 ``E0000011``.

        Args:
            client_id: Only this OAuth client's access tokens; all clients' when None.
            api_tokens: Also revoke every SSWS API token (:attr:`token` included) and every
                :meth:`add_bearer_token` token, so that no credential works any more.
                Accept new ones with :meth:`add_token` or :meth:`add_bearer_token`.

        Returns:
            How many credentials were revoked.
        """
        revoked = self.oauth.revoke_tokens(client_id)
        if api_tokens:
            revoked += len(self._org.ssws) + len(self._org.bearer)
            self._org.ssws.clear()
            self._org.bearer.clear()
        return revoked

    def count_token_requests(self) -> int:
        """Requests received at ``/oauth2/v1/token``, refused ones included."""
        return self.oauth.token_requests

    # ------------------------------------------------------------------ consent flow

    @_on_server_loop
    def consent(self, app_id: str) -> str:
        """Grant consent as the admin would in the third party's page.

        Issues a single-use authorization code and its state for the app's pending
        OAuth connection.

        Returns:
            The ``continue_oauth_flow_url`` href: POST it with Okta credentials (the verify
            operation) to finish the flow.

        Raises:
            UnknownAppError: No such app.
            ValueError: The app has no third-party OAuth connection to consent to.
            RuntimeError: The org has no URL yet (not started, ``org_url`` not set).
        """
        return self._org.issue_consent(self.app(app_id), self.org_url)

    # ------------------------------------------------------------------ rate limits, faults

    @_on_server_loop
    def set_rate_limit(
        self,
        limit: int,
        window: float,
        enforce: bool = True,
        *,
        principal_share: float | None = None,
        concurrency_share: float | None = None,
        headers: HeaderMode | None = None,
    ) -> None:
        """Change the per-bucket limit and window; open windows start afresh.

        Args:
            limit: Requests per window in each bucket, for the whole org.
            window: Window length, whole seconds.
            enforce: Answer 429 ``E0000047`` past a ceiling.
            principal_share: The default share of each principal (unchanged when None).
            concurrency_share: The default concurrency share (unchanged when None).
            headers: ``"principal"`` or ``"org"`` (unchanged when None); see the class.
        """
        limits = self._org.limits
        limits.configure(limit, window)
        limits.enforce = enforce
        if principal_share is not None:
            limits.share = check_share("principal_share", principal_share)
        if concurrency_share is not None:
            limits.concurrency_share = check_share("concurrency_share", concurrency_share)
        if headers is not None:
            limits.set_headers(headers)

    @_on_server_loop
    def set_principal_share(
        self,
        principal: str,
        share: float | None = None,
        *,
        concurrency_share: float | None = None,
    ) -> None:
        """Set one principal's share of each bucket and of the concurrency limit.

        Okta's Principal Rate Limits (reference §8.4, §10): each API token and each OAuth
        service app gets ``share`` of every bucket (None: the org default,
        ``principal_share``). Shares need not add up to 1: the org's bucket still caps
        them all, first come, first served.

        Args:
            principal: An SSWS token, an :meth:`add_bearer_token` token, or an OAuth
                client id (registered already or later).
            share: Fraction in (0, 1].
            concurrency_share: Fraction in (0, 1] of the concurrency limit.
        """
        self._org.limits.set_share(self._org.principal_key(principal), share, concurrency_share)

    def principal_of(self, credential: str) -> str:
        """The principal id that requests with this token or client id are logged under."""
        return self._org.principal_key(credential)

    @property
    def latency_jitter(self) -> float:
        """How much each request's wait varies around ``latency`` (0 to 1; see the class)."""
        return self._org.latency_jitter

    @latency_jitter.setter
    def latency_jitter(self, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ValueError(f"latency_jitter must be a number from 0 to 1, not {value!r}")
        self._org.latency_jitter = float(value)

    @_on_server_loop
    def set_concurrency_limit(
        self, limit: int | None, *, principal_share: float | None = None
    ) -> None:
        """Refuse requests beyond ``limit`` in flight at once, as Okta's concurrency limit does.

        A refused request gets 429 ``E0000047`` with ``X-Rate-Limit-Limit`` and
        ``X-Rate-Limit-Remaining`` both 0 and ``X-Rate-Limit-Reset`` an estimate (the next
        whole second), the signal the reference (§8.2) describes; it spends no rate
        budget. Each principal may hold ``principal_share`` of the slots (the default
        stays unchanged when None). Requests overlap only while they wait out
        :attr:`latency`, so set that too. None turns the limit off.
        """
        self._org.limits.set_concurrency(limit)
        if principal_share is not None:
            self._org.limits.concurrency_share = check_share("principal_share", principal_share)

    @_on_server_loop
    def set_refusal(
        self,
        name: str,
        status: int,
        *,
        error_code: str | None = None,
        error_summary: str | None = None,
    ) -> None:
        """Choose the answer to a request Okta's docs give none for (see ``refusals``).

        Args:
            name: ``activate_unconfigured``, ``activate_pending_consent``,
                ``lifecycle_without_provisioning`` or ``verify_bad_code``.
            status: 204 (accept, change nothing) or a 4xx.
            error_code: Defaults by status (``E0000006`` for 403, ``E0000007`` for 404...).
            error_summary: Defaults to Okta's summary for the code.
        """
        self._org.refusals[name] = make_refusal(name, status, error_code, error_summary)

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        operation: str | None = None,
        error_code: str | None = None,
        error_summary: str | None = None,
        reset_in: int | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with an error, to test retries.

        The same mechanism as :meth:`fail`, for any app.

        Args:
            status: HTTP status, 400-599.
            times: How many requests fail, an int >= 1; ``sys.maxsize`` fails for ever.
            operation: Only requests of this operation (e.g. ``"get"``, ``"token"``) fail;
                any when None.
            error_code: Defaults by status (``E0000047`` for 429, ``E0000009`` for 5xx...).
            error_summary: Defaults to Okta's summary for the code.
            reset_in: For a 429: ``X-Rate-Limit-Reset`` this many whole seconds ahead.
                None (default): the next whole second, so that a scripted 429 costs a
                client at most a second; ``reset_in=60`` waits as for a spent window.

        Raises:
            TypeError: An argument of the wrong type (``times=None`` included).
            ValueError: A status outside 400-599, ``times`` < 1, an unknown operation.
        """
        check_fault_args(
            status=status,
            times=times,
            operations=_FAULT_OPERATIONS,
            operation=operation,
            reset_in=reset_in,
            texts={"error_code": error_code, "error_summary": error_summary},
        )
        self._script(
            ScriptedFault(
                None,
                operation,
                status,
                times,
                error_code=error_code,
                error_summary=error_summary,
                reset_in=reset_in,
            )
        )

    def fail(
        self,
        app_id: str | None,
        operation: str | None,
        status: int = 503,
        *,
        times: int = 1,
        reset_in: int | None = None,
    ) -> None:
        """Script a failure: ``app_id`` fails ``operation`` with ``status``, ``times`` times.

        Example: ``fake.fail(app.id, "activate", status=503, times=2)`` makes the next two
        activations of that app fail; the third succeeds. None matches any app or operation.
        Every route takes scripted faults: the six operations, ``list_apps``, ``get_app``,
        ``token`` (an OAuth error body) and ``consent``. ``times`` is an int >= 1:
        ``times=sys.maxsize`` fails for ever. ``reset_in`` as in :meth:`fail_next`.

        Raises:
            TypeError: An argument of the wrong type (``times=None`` included).
            ValueError: A status outside 400-599, ``times`` < 1, an unknown operation.
        """
        check_fault_args(
            status=status,
            times=times,
            operations=_FAULT_OPERATIONS,
            operation=operation,
            app_id=app_id,
            reset_in=reset_in,
        )
        self._script(ScriptedFault(app_id, operation, status, times, reset_in=reset_in))

    @_on_server_loop
    def _script(self, fault: ScriptedFault) -> None:
        self._org.faults.script(fault)

    @_on_server_loop
    def set_faults(
        self,
        *,
        fail_rate: float = 0.0,
        drop_rate: float = 0.0,
        slow_rate: float = 0.0,
        slow_seconds: float = 2.0,
        malformed_rate: float = 0.0,
        seed: int | None = None,
    ) -> None:
        """Set random fault rates (fractions of authenticated API requests).

        Args:
            fail_rate: Answered with a random 500/502/503/504 before anything changes.
            drop_rate: Handled (the state changes), then the connection is closed without
                a response, so the client cannot know whether it worked.
            slow_rate: Held for ``slow_seconds`` before being handled.
            slow_seconds: How long a slow request waits (real time).
            malformed_rate: A 200 whose JSON body is cut short.
            seed: Seed of the fault dice, for reproducible runs.
        """
        plan = FaultPlan(
            error_rate=fail_rate,
            drop_rate=drop_rate,
            slow_rate=slow_rate,
            slow_seconds=slow_seconds,
            malformed_rate=malformed_rate,
            scripted=self.faults.scripted,
            counts=self.faults.counts,
            rng=random.Random(seed) if seed is not None else self.faults.rng,
        )
        self._org.faults = self._org.oauth.faults = plan

    # ------------------------------------------------------------------ request log

    @property
    def requests(self) -> RequestLog:
        """Every request received, in arrival order: see :class:`RequestLog`."""
        return self._org.requests

    @requests.setter
    def requests(self, value: Iterable[RecordedRequest]) -> None:
        self._org.requests = RequestLog(value)

    def assert_called(
        self,
        operation: str | None = None,
        *,
        app_id: str | None = None,
        status: int | None = None,
        method: str | None = None,
        times: int | None = None,
    ) -> list[RecordedRequest]:
        """Assert that the org received matching requests (exactly ``times``, if given).

        Example: ``fake.assert_called("activate", app_id=app.id, times=3)``. On failure the
        message lists every request the org received, so you see what was called instead.

        Args:
            operation: ``get``, ``update``, ``activate``, ``deactivate``, ``get_jwks``,
                ``verify``, ``list_apps`` or ``token``; any when None.
            app_id: The app id in the path.
            status: The status the org answered with.
            method: The HTTP method.
            times: The exact number of matching requests; at least one when None.

        Returns:
            The matching requests.

        Raises:
            AssertionError: The expectation does not hold.
        """
        __tracebackhide__ = True  # a failure points at the user's test, not here
        return self._org.requests.assert_called(
            operation, app_id=app_id, status=status, method=method, times=times
        )

    def assert_not_called(
        self,
        operation: str | None = None,
        *,
        app_id: str | None = None,
        status: int | None = None,
        method: str | None = None,
    ) -> None:
        """Assert that the org received no matching request (see :meth:`assert_called`).

        Raises:
            AssertionError: Listing what was received; matching requests are starred.
        """
        __tracebackhide__ = True
        self._org.requests.assert_not_called(operation, app_id=app_id, status=status, method=method)

    # ------------------------------------------------------------------ snapshots

    @_on_server_loop
    def snapshot(self) -> FakeOktaSnapshot:
        """Capture the org's state, to :meth:`restore` later (e.g. between tests).

        The snapshot is a deep copy of the whole :class:`OrgState`: the apps and their
        connections, accepted tokens and principals, the OAuth server (service apps,
        issued tokens), rate limits and open windows, scripted and random faults,
        refusals, latency and the request log. Later changes do not alter it, and it can
        be restored any number of times.
        """
        return capture(self._org, self._clock)

    @_on_server_loop
    def restore(self, snapshot: FakeOktaSnapshot) -> None:
        """Put the org back in the state of ``snapshot`` (taken from this org).

        Apps that existed at the snapshot are restored in place, so ``FakeApp`` objects
        a test holds stay live; apps added since are removed, removed ones come back.

        Raises:
            TypeError: Not a snapshot.
        """
        if not isinstance(snapshot, FakeOktaSnapshot):
            raise TypeError(f"expected a FakeOktaSnapshot, not {type(snapshot).__name__}")
        restore(self._org, snapshot, self._clock)

    def count(
        self,
        operation: str | None = None,
        status: int | None = None,
        *,
        app_id: str | None = None,
    ) -> int:
        """How many recorded requests match every filter given.

        Args:
            operation: e.g. ``"activate"`` (see :attr:`RecordedRequest.operation`).
            status: The response status.
            app_id: The app id in the path.
        """
        return len(self._org.requests(operation, app_id=app_id, status=status))
