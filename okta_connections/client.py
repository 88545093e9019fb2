"""OktaClient: the entry point. One client owns one aiohttp session for its whole life."""

from __future__ import annotations

import warnings
from types import TracebackType
from typing import Any

from ._session import Session, default_user_agent
from ._validation import normalize_org_url
from .auth import Auth
from .config import Settings, Timeouts, load_settings
from .errors import ConfigurationError
from .ratelimit import RateLimiter, RateLimitInfo
from .retry import RetryPolicy
from .services import AppsService, ConnectionsService

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
        retry: The retry policy (default: 4 attempts, full-jitter backoff).
        user_agent_suffix: Appended to ``okta-connections/<v> python/<x.y> aiohttp/<x.y>``.
        connector_limit: Most simultaneous connections to the org (default 100).
        max_capacity: Fraction (0, 1] of each rate-limit bucket this client may use; leave
            headroom for other integrations that share the org (default 1.0).
        max_in_flight: Ceiling of the adaptive in-flight cap per bucket (default 64). A
            concurrency 429 halves the cap; successes raise it again.

    Raises:
        ConfigurationError: the org URL, auth or settings are unusable; nothing is sent.
    """

    def __init__(
        self,
        org_url: str,
        *,
        auth: Auth,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        user_agent_suffix: str | None = None,
        connector_limit: int = 100,
        max_capacity: float = 1.0,
        max_in_flight: int = 64,
    ) -> None:
        self._session: Session | None = None
        normalized = normalize_org_url(org_url)
        if not isinstance(auth, Auth):
            raise ConfigurationError(
                "auth",
                f"must be an Auth strategy such as SSWSToken(token), not {type(auth).__name__}",
            )
        if timeouts is not None and not isinstance(timeouts, Timeouts):
            raise ConfigurationError("timeouts", "must be a Timeouts instance")
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise ConfigurationError("retry", "must be a RetryPolicy instance")
        if (
            isinstance(connector_limit, bool)
            or not isinstance(connector_limit, int)
            or (connector_limit < 1)
        ):
            raise ConfigurationError("connector_limit", "must be a positive integer")
        for name, value in (("max_capacity", max_capacity),):
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not (0 < value <= 1)
            ):
                raise ConfigurationError(name, f"must be a fraction in (0, 1], not {value!r}")
        if (
            isinstance(max_in_flight, bool)
            or not isinstance(max_in_flight, int)
            or (max_in_flight < 1)
        ):
            raise ConfigurationError("max_in_flight", "must be a positive integer")
        self._limiter = RateLimiter(max_capacity=float(max_capacity), max_in_flight=max_in_flight)
        self._session = Session(
            normalized,
            auth,
            timeouts=timeouts or Timeouts(),
            retry=retry or RetryPolicy(),
            user_agent=default_user_agent(user_agent_suffix),
            connector_limit=connector_limit,
            limiter=self._limiter,
        )
        self.connections = ConnectionsService(self._session)
        """The default provisioning connection of each app: see :class:`ConnectionsService`."""
        self.apps = AppsService(self._session)
        from .bulk import BulkService

        self.bulk = BulkService(self)
        """Many apps at once, paced, journaled, streaming: see :class:`BulkService`."""
        """The org's apps, for picking bulk targets: see :class:`AppsService`."""

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
        profiles live under ``okta: profiles: <name>:``.

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
        return cls(
            _require(settings, "org_url", "OKTA_CLIENT_ORGURL", "orgUrl"),
            auth=auth_from_settings(settings),
            **client_options,
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
    def rate_limits(self) -> dict[str, RateLimitInfo]:
        """The latest rate-limit window seen per bucket (``"apps"``, ``"default"`` ...)."""
        return self._limiter.snapshot()

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
        """Close the aiohttp session and the auth strategy. Safe to call twice."""
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
        from .auth import SSWSToken

        return SSWSToken(_require(settings, "token", "OKTA_CLIENT_TOKEN", "token"))
    if mode == "Bearer":
        from .auth import BearerToken

        return BearerToken(_require(settings, "token", "OKTA_CLIENT_TOKEN", "token"))
    from .auth import PrivateKeyJWT

    return PrivateKeyJWT(
        _require(settings, "client_id", "OKTA_CLIENT_CLIENTID", "clientId"),
        _require(settings, "private_key", "OKTA_CLIENT_PRIVATEKEY", "privateKey"),
        scopes=settings.scopes,
        key_id=settings.key_id,
    )
