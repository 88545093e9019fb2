"""OktaClient: the entry point. One client owns one transport for its whole life."""

from __future__ import annotations

import warnings
from types import TracebackType
from typing import TYPE_CHECKING, Any

import attrs

from ._validation import normalize_org_url
from .auth._base import Auth
from .config import Settings, Timeouts, load_settings
from .errors import ConfigurationError
from .options import Observability, Pacing, merge_options
from .pipeline.events import Events, Hook, RequestEvent, ResponseEvent
from .pipeline.observe import make_observer
from .pipeline.retry import RetryPolicy
from .pipeline.session import Session
from .ratelimit.headers import RateLimitInfo
from .ratelimit.pacer import RateLimiter
from .services.apps import AppsService
from .services.connections import ConnectionsService
from .transport.aiohttp import AiohttpTransport, SslSetting
from .transport.base import DEFAULT_MAX_RESPONSE_BYTES, Transport
from .transport.proxy import ProxySettings, check_proxy_url

if TYPE_CHECKING:
    import aiohttp

    from .ratelimit.budget import SharedBudget

__all__ = ["OktaClient"]


class OktaClient:
    """An async client for one Okta org.

    Use it as an async context manager, or call :meth:`close` yourself::

        async with OktaClient("https://acme.okta.com", auth=SSWSToken(token)) as okta:
            conn = await okta.connections.get("0oafxqCAJWWGELFTYASJ")

    Args:
        org_url: ``https://acme.okta.com``, a custom domain, or a bare ``acme.okta.com``
            (https is assumed). ``http://`` is accepted only for loopback hosts (the fake
            org). ``-admin`` domains, ``{yourOktaDomain}`` placeholders, credentials, paths,
            queries and fragments are refused with a message that says how to fix them.
        auth: An auth strategy: :class:`SSWSToken`, :class:`BearerToken`, or your own
            :class:`Auth` subclass.
        timeouts: Connect, per-attempt and per-call timeouts (defaults 10 s, 60 s, 180 s).
        retry: The retry policy of API calls (default: 4 attempts, full-jitter backoff).
        token_retry: The retry policy of OAuth token requests, which run through the same
            pipeline (default :meth:`RetryPolicy.for_token_requests`: 4 attempts, a 60 s
            deadline).
        user_agent_suffix: Appended to ``okta-connections/<v> python/<x.y> aiohttp/<x.y>``.
        connector_limit: Most simultaneous connections to the org (default 100).
        max_capacity: Fraction (0, 1] of each rate-limit bucket this client may use; leave
            headroom for other integrations that share the org (default 1.0).
        max_in_flight: Ceiling of the adaptive in-flight cap per bucket (default 64). A
            concurrency 429 halves the cap; successes raise it again.
        pacing: ``"burst"`` (default) spends each rate-limit window's budget as fast as
            the in-flight cap allows and sleeps until the next window opens, finishing at
            the fixed-window minimum; ``"smooth"`` spreads the budget evenly over the
            window. Or a :class:`Pacing`, which holds the mode, ``max_capacity``,
            ``max_in_flight`` and ``shared_budget`` together (those keywords are then
            refused unless left at their defaults).
        proxy: A forward proxy for every request, loopback hosts included, e.g.
            ``http://user:password@proxy.corp:3128``; the credentials are sent as
            ``Proxy-Authorization`` and never shown. Without it, ``HTTPS_PROXY``,
            ``HTTP_PROXY`` and ``NO_PROXY`` apply, except to loopback hosts.
        trust_env: Read the proxy environment variables (default True).
        ssl: An ``ssl.SSLContext``, or the path of a CA bundle (PEM) to trust, e.g. for a
            TLS-inspecting corporate proxy.
        session: Your own ``aiohttp.ClientSession``; the client uses it and never closes it.
        transport: A :class:`Transport` to send requests through instead of aiohttp, for
            example :class:`MockTransport` in unit tests. Excludes ``session``, ``proxy``,
            ``ssl``, ``connector_limit`` and ``trust_env``.
        max_response_bytes: Largest response body accepted, after decompression (default
            8 MiB); past it the call fails with :class:`ResponseTooLargeError`.
        shared_budget: One rate budget shared with every other client of the same org and
            principal, on Redis: a URL such as ``redis://:password@host:6379/0`` or a
            :class:`~okta_connections.shared.SharedBudget`. Needs the ``redis`` extra and
            burst pacing. If Redis stops answering, the client paces locally (one
            warning) until it answers again. See docs/bulk.md.
        on_request: Called (sync or async) with a :class:`RequestEvent` before each HTTP
            attempt, token requests included; headers that may hold a credential show
            ``***``. What it raises is logged and ignored.
        on_response: Called (sync or async) with a :class:`ResponseEvent` after each HTTP
            attempt, with the status (or the error) and the elapsed time.
        telemetry: Make OpenTelemetry spans and metrics when ``opentelemetry-api`` is
            installed (default True); False turns them off. See docs/observability.md.
        tracer_provider: The OpenTelemetry tracer provider to use instead of the global one.
        meter_provider: The OpenTelemetry meter provider to use instead of the global one.
        observability: An :class:`Observability` holding ``on_request``, ``on_response``,
            ``telemetry``, ``tracer_provider``, ``meter_provider`` and
            ``user_agent_suffix`` together (those keywords are then refused unless left at
            their defaults).

    The connection keywords (``proxy``, ``trust_env``, ``ssl``, ``connector_limit``,
    ``session``) build the default :class:`AiohttpTransport`; to hold them in one object,
    pass ``transport=AiohttpTransport(...)``, which refuses them (unless left at their
    defaults).

    Raises:
        ConfigurationError: the org URL, auth or settings are unusable, or an option object
            and a keyword it holds are both given; nothing is sent.
    """

    def __init__(
        self,
        org_url: str,
        *,
        auth: Auth,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        token_retry: RetryPolicy | None = None,
        user_agent_suffix: str | None = None,
        connector_limit: int = 100,
        max_capacity: float = 1.0,
        max_in_flight: int = 64,
        pacing: str | Pacing = "burst",
        proxy: str | None = None,
        trust_env: bool = True,
        ssl: SslSetting = None,
        session: aiohttp.ClientSession | None = None,
        transport: Transport | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        shared_budget: str | SharedBudget | None = None,
        on_request: Hook[RequestEvent] | None = None,
        on_response: Hook[ResponseEvent] | None = None,
        telemetry: bool = True,
        tracer_provider: Any = None,
        meter_provider: Any = None,
        observability: Observability | None = None,
    ) -> None:
        self._session: Session | None = None
        normalized = normalize_org_url(org_url)
        _check_auth(auth)
        _check_policies(timeouts, retry, token_retry)
        _check_response_limit(max_response_bytes)
        seen = _observability(
            observability,
            on_request=on_request,
            on_response=on_response,
            telemetry=telemetry,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            user_agent_suffix=user_agent_suffix,
        )
        rate = _pacing(
            pacing,
            max_capacity=max_capacity,
            max_in_flight=max_in_flight,
            shared_budget=shared_budget,
        )
        transport = _transport(
            transport,
            connector_limit=connector_limit,
            proxy=proxy,
            trust_env=trust_env,
            ssl=ssl,
            session=session,
        )
        timeouts = timeouts or Timeouts()
        self._limiter = _limiter(rate, org_url=normalized, auth=auth, timeouts=timeouts)
        self._session = Session(
            normalized,
            auth,
            timeouts=timeouts,
            retry=retry or RetryPolicy(),
            token_retry=token_retry,
            user_agent_suffix=seen.user_agent_suffix,
            limiter=self._limiter,
            transport=transport,
            max_response_bytes=max_response_bytes,
            observer=make_observer(
                org_url=normalized,
                limiter=self._limiter,
                on_request=seen.on_request,
                on_response=seen.on_response,
                telemetry=seen.telemetry,
                tracer_provider=seen.tracer_provider,
                meter_provider=seen.meter_provider,
            ),
        )
        self.connections = ConnectionsService(self._session)
        """The default provisioning connection of each app: see :class:`ConnectionsService`."""
        self.apps = AppsService(self._session)
        """The org's apps, for picking bulk targets: see :class:`AppsService`."""
        from .bulk.service import BulkService

        self.bulk = BulkService(self, tracer=self._session.observer)
        """Many apps at once, paced, journaled, streaming: see :class:`BulkService`."""

    @classmethod
    def from_config(
        cls,
        profile: str | None = None,
        *,
        org_url: str | None = None,
        token: str | None = None,
        authorization_mode: str | None = None,
        client_id: str | None = None,
        scopes: str | tuple[str, ...] | list[str] | None = None,
        private_key: str | None = None,
        key_id: str | None = None,
        **client_options: Any,
    ) -> OktaClient:
        """Build a client from arguments, the environment and okta.yaml files.

        Precedence, highest first: these arguments, ``OKTA_CLIENT_*`` environment variables
        (``ORGURL``, ``TOKEN``, ``AUTHORIZATIONMODE``, ``CLIENTID``, ``SCOPES``,
        ``PRIVATEKEY``, ``KEYID``, and ``PROFILE``), ``./okta.yaml``, ``~/.okta/okta.yaml``.
        The files use the official layout (``okta: client: orgUrl/token/...``); named
        profiles live under ``okta: profiles: <name>:``. ``connectionTimeout`` and
        ``requestTimeout`` (seconds; 0 keeps the default) become ``Timeouts.connect`` and
        ``Timeouts.deadline``; the ``proxy`` block (``host``, ``port``, ``username``,
        ``password``) becomes ``proxy=``; this SDK's ``caBundle`` becomes ``ssl=``. A key
        that neither layout defines gives a warning naming it.

        Args:
            profile: A named profile (connection nickname) such as ``"prod-admin"``.
            org_url: Overrides the org URL.
            token: Overrides the token (SSWS or Bearer).
            authorization_mode: ``SSWS`` (default), ``Bearer`` or ``PrivateKey``.
            client_id: Service app client id (PrivateKey).
            scopes: OAuth scopes (PrivateKey).
            private_key: PEM or path (PrivateKey).
            key_id: The key's kid (PrivateKey).
            **client_options: Passed to :class:`OktaClient` (timeouts, retry, ...).

        Raises:
            ConfigurationError: a missing or malformed setting, naming where to set it.
        """
        settings = load_settings(
            profile,
            org_url=org_url,
            token=token,
            authorization_mode=authorization_mode,
            client_id=client_id,
            scopes=scopes,
            private_key=private_key,
            key_id=key_id,
        )
        return cls._from_settings(settings, **client_options)

    @classmethod
    def _from_settings(cls, settings: Settings, **client_options: Any) -> OktaClient:
        """A client from resolved settings (the second half of :meth:`from_config`)."""
        options = dict(client_options)
        if options.get("timeouts") is None:  # an explicit timeouts= wins over the files
            options["timeouts"] = settings.timeouts()
        if settings.proxy is not None and "transport" not in options:
            options.setdefault("proxy", settings.proxy)
        if settings.ca_bundle is not None and "transport" not in options:
            options.setdefault("ssl", settings.ca_bundle)
        if settings.shared_budget is not None:
            rate = options.get("pacing")
            if isinstance(rate, Pacing):  # the files fill in what the Pacing leaves unset
                if rate.shared_budget is None and "shared_budget" not in options:
                    options["pacing"] = attrs.evolve(rate, shared_budget=settings.shared_budget)
            else:
                options.setdefault("shared_budget", settings.shared_budget)
        return cls(
            _require(settings, "org_url", "OKTA_CLIENT_ORGURL", "orgUrl"),
            auth=auth_from_settings(settings),
            **options,
        )

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"OktaClient({self.org_url!r}, auth={self.auth!r}, {state})"

    @property
    def org_url(self) -> str:
        """The normalised org URL, e.g. ``https://acme.okta.com``."""
        assert self._session is not None
        return self._session.org_url

    @property
    def auth(self) -> Auth:
        """The auth strategy."""
        assert self._session is not None
        return self._session.auth

    @property
    def timeouts(self) -> Timeouts:
        """The client's default timeouts."""
        assert self._session is not None
        return self._session.timeouts

    @property
    def transport(self) -> Transport:
        """The transport requests go through."""
        assert self._session is not None
        return self._session.transport

    @property
    def rate_limits(self) -> dict[str, RateLimitInfo]:
        """The latest rate-limit window seen per bucket (``"apps"``, ``"default"`` ...)."""
        return self._limiter.snapshot()

    @property
    def events(self) -> Events:
        """The events of this client's calls (attempts, pacing waits, token requests):
        ``client.events.subscribe(AttemptEnded, fn)``; see docs/architecture.md."""
        assert self._session is not None
        return self._session.events

    @property
    def rate_limiter(self) -> RateLimiter:
        """The client's pacer: in-flight counts and adaptive caps per bucket."""
        return self._limiter

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._session is None or self._session.closed

    async def open(self) -> None:
        """Open the session now instead of on first use (``async with`` does this)."""
        assert self._session is not None
        await self._session.open()

    async def close(self) -> None:
        """Close the transport (not a session you passed in) and the auth strategy.

        Safe to call twice."""
        if self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> OktaClient:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __del__(self, _warn: object = warnings.warn) -> None:
        session = getattr(self, "_session", None)
        if session is not None and session.opened and not session.closed:
            warnings.warn(
                f"OktaClient for {session.org_url} was never closed; use 'async with "
                "OktaClient(...)' or 'await client.close()'",
                ResourceWarning,
                stacklevel=2,
                source=self,
            )


# The builders of OktaClient.__init__: each checks one group of its keywords and raises
# ConfigurationError before anything is built or sent.


def _check_auth(auth: object) -> None:
    if not isinstance(auth, Auth):
        raise ConfigurationError(
            "auth",
            f"must be an Auth strategy such as SSWSToken(token), not {type(auth).__name__}",
        )


def _check_policies(timeouts: object, retry: object, token_retry: object) -> None:
    if timeouts is not None and not isinstance(timeouts, Timeouts):
        raise ConfigurationError("timeouts", "must be a Timeouts instance")
    for name, policy in (("retry", retry), ("token_retry", token_retry)):
        if policy is not None and not isinstance(policy, RetryPolicy):
            raise ConfigurationError(name, "must be a RetryPolicy instance")


def _check_response_limit(max_response_bytes: object) -> None:
    if (
        isinstance(max_response_bytes, bool)
        or not isinstance(max_response_bytes, int)
        or max_response_bytes < 1024
    ):
        raise ConfigurationError("max_response_bytes", "must be an integer >= 1024")


def _observability(given: Observability | None, **keywords: Any) -> Observability:
    """``observability=``, or one built from the hook, telemetry and user-agent keywords."""
    defaults = {f.name: f.default for f in attrs.fields(Observability)}
    return merge_options(
        Observability,
        "observability",
        given,
        {name: (value, defaults[name]) for name, value in keywords.items()},
    )


def _pacing(
    pacing: str | Pacing, *, max_capacity: float, max_in_flight: int, shared_budget: object
) -> Pacing:
    """``pacing=Pacing(...)``, or one built from ``pacing="burst"|"smooth"`` and the rate
    keywords."""
    keywords = {
        "max_capacity": (max_capacity, 1.0),
        "max_in_flight": (max_in_flight, 64),
        "shared_budget": (shared_budget, None),
    }
    if isinstance(pacing, Pacing):
        return merge_options(Pacing, "pacing", pacing, keywords)
    return merge_options(Pacing, "pacing", None, {**keywords, "mode": (pacing, "burst")})


def _transport(
    transport: Transport | None,
    *,
    connector_limit: int,
    proxy: str | None,
    trust_env: bool,
    ssl: SslSetting,
    session: aiohttp.ClientSession | None,
) -> Transport:
    """``transport=``, or the default aiohttp transport built from the connection keywords.

    :class:`AiohttpTransport` is the option object of the connection (proxy, TLS, pool,
    session): with ``transport=``, those keywords are refused rather than ignored."""
    if not isinstance(trust_env, bool):
        raise ConfigurationError("trust_env", "must be True or False")
    if (
        isinstance(connector_limit, bool)
        or not isinstance(connector_limit, int)
        or (connector_limit < 1)
    ):
        raise ConfigurationError("connector_limit", "must be a positive integer")
    if transport is None:
        if proxy is not None:
            check_proxy_url(proxy)
        return AiohttpTransport(
            connector_limit=connector_limit,
            proxy=ProxySettings(url=proxy, trust_env=trust_env),
            ssl=ssl,
            session=session,
        )
    if not isinstance(transport, Transport):
        raise ConfigurationError(
            "transport", "must have async send(request) and aclose() (see Transport)"
        )
    given = [
        name
        for name, value in (
            ("session", session),
            ("proxy", proxy),
            ("ssl", ssl),
            ("connector_limit", None if connector_limit == 100 else connector_limit),
            ("trust_env", None if trust_env else trust_env),
        )
        if value is not None
    ]
    if given:
        raise ConfigurationError(
            "transport",
            f"cannot be combined with {', '.join(given)}: configure those on the transport itself",
        )
    return transport


def _limiter(rate: Pacing, *, org_url: str, auth: Auth, timeouts: Timeouts) -> RateLimiter:
    if rate.shared_budget is None:
        return RateLimiter(
            max_capacity=float(rate.max_capacity),
            max_in_flight=rate.max_in_flight,
            pacing=rate.mode,
        )
    return _shared_limiter(
        rate.shared_budget,
        org_url=org_url,
        auth=auth,
        timeouts=timeouts,
        max_capacity=float(rate.max_capacity),
        max_in_flight=rate.max_in_flight,
        pacing=rate.mode,
    )


def _require(settings: Settings, field: str, var: str, key: str) -> str:
    value = getattr(settings, field)
    if not value:
        where = f"okta.profiles.{settings.profile}" if settings.profile else "okta.client"
        raise ConfigurationError(
            field, f"is not set: pass {field}=, set ${var}, or add {key} under {where} in okta.yaml"
        )
    return str(value)


def auth_from_settings(settings: Settings) -> Auth:
    """The auth strategy that resolved settings ask for."""
    mode = settings.authorization_mode
    if mode == "SSWS":
        from .auth._static import SSWSToken

        return SSWSToken(_require(settings, "token", "OKTA_CLIENT_TOKEN", "token"))
    if mode == "Bearer":
        from .auth._static import BearerToken

        return BearerToken(_require(settings, "token", "OKTA_CLIENT_TOKEN", "token"))
    from .auth._private_key import PrivateKeyJWT

    return PrivateKeyJWT(
        _require(settings, "client_id", "OKTA_CLIENT_CLIENTID", "clientId"),
        _require(settings, "private_key", "OKTA_CLIENT_PRIVATEKEY", "privateKey"),
        scopes=settings.scopes,
        key_id=settings.key_id,
    )


def _shared_limiter(
    budget: str | SharedBudget,
    *,
    org_url: str,
    auth: Auth,
    timeouts: Timeouts,
    max_capacity: float,
    max_in_flight: int,
    pacing: str,
) -> RateLimiter:
    from .ratelimit.budget import SharedBudget
    from .ratelimit.shared import SharedRateLimiter

    if pacing != "burst":
        raise ConfigurationError("shared_budget", "needs pacing='burst' (the default)")
    if not isinstance(budget, SharedBudget):
        budget = SharedBudget(budget)
    principal = auth.principal
    if not isinstance(principal, str) or not principal:
        raise ConfigurationError(
            "shared_budget",
            f"{type(auth).__name__} names no principal to share a budget by: give the "
            "strategy a `principal` property (e.g. the service app's client id)",
        )
    return SharedRateLimiter(
        budget,
        org_url=org_url,
        principal=principal,
        lease_ttl=timeouts.total + 5.0,
        max_capacity=max_capacity,
        max_in_flight=max_in_flight,
        pacing=pacing,
    )
