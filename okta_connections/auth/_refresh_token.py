"""OAuth 2.0 with a refresh token, for an app an admin authorised by consent."""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from ..errors import (
    AuthError,
    ConfigurationError,
    ReauthorizationRequired,
)
from . import _jose
from ._base import check_header_secret
from ._checks import _check_callable, _check_identifier, _check_int, _check_scopes
from ._keys import KeySource, load_signing_key
from ._log import auth_log_fields
from ._oauth import _OAuthStrategy
from ._token import _copy_error

__all__ = ["RefreshTokenAuth", "RotationCallback"]

logger = logging.getLogger("okta_connections.auth")

#: Called with each new refresh token; may be sync or async.
RotationCallback = Callable[[str], "Awaitable[None] | None"]


class RefreshTokenAuth(_OAuthStrategy):
    """OAuth 2.0 with a refresh token, for an app an admin authorised by consent.

    Each access token is obtained with ``grant_type=refresh_token``. When the server rotates
    the refresh token, the new one is used from then on and handed to ``on_rotate`` so you
    can persist it: with rotation on, the old one stops working.

    Example::

        async def save(new_refresh_token: str) -> None:
            await vault.write("okta-refresh-token", new_refresh_token)

        auth = RefreshTokenAuth(
            "https://acme.okta.com/oauth2/v1/token",
            await vault.read("okta-refresh-token"),
            client_id="0oa1connector",
            client_secret=await vault.read("okta-client-secret"),
            on_rotate=save,
        )

    Args:
        token_url: The token endpoint (an absolute URL, or a path such as
            ``/oauth2/v1/token`` resolved against the org URL).
        refresh_token: The current refresh token.
        client_id: The client ID of the app the token was issued to.
        client_secret: Authenticate with ``client_secret_basic``.
        private_key: Authenticate with ``private_key_jwt`` instead (same forms as
            :class:`PrivateKeyJWT`). With neither, the client is public and only sends
            ``client_id``.
        key_id: The ``kid`` of ``private_key``.
        password: The passphrase of an encrypted PEM ``private_key``.
        scopes: Scopes to request; None (the default) keeps the originally granted ones.
        on_rotate: Called (sync or async) with every new refresh token, inside the shared
            refresh, right after the new access token is cached. If it raises, the calls
            waiting on that refresh raise :class:`AuthError` naming the exception's type
            (not chaining it: it may hold the token); the new refresh token is still used
            in memory.
        refresh_margin: Seconds before expiry at which the token is renewed, capped at
            a tenth of the token's lifetime.
        assertion_lifetime: Seconds each client assertion is valid (``private_key`` only).
        clock: Wall-clock seconds since the epoch; injectable for tests.

    Raises:
        ConfigurationError: an argument is invalid, or both ``client_secret`` and
            ``private_key`` were given.

    Calls made with this strategy can raise:
        ReauthorizationRequired: the refresh token was rejected (``invalid_grant``): it
            expired, was revoked, or was already used. The connection is lost until an
            admin authorises the app again; later calls raise it at once.
        OAuthError: any other refusal by the token endpoint.
        TokenEndpointUnreachableError (an AuthError): the token endpoint could not be
            reached within the client's ``token_retry`` policy (attempts and deadline).
    """

    def __init__(
        self,
        token_url: str,
        refresh_token: str,
        *,
        client_id: str,
        client_secret: str | None = None,
        private_key: KeySource | None = None,
        key_id: str | None = None,
        password: str | bytes | None = None,
        scopes: Iterable[str] | str | None = None,
        on_rotate: RotationCallback | None = None,
        refresh_margin: float = 300.0,
        assertion_lifetime: int = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if token_url is None:
            raise ConfigurationError("token_url", "is required for RefreshTokenAuth")
        self._refresh_token = check_header_secret(refresh_token, "refresh_token")
        self._client_id = _check_identifier(client_id, "client_id")
        if client_secret is not None and private_key is not None:
            raise ConfigurationError("client_secret", "give client_secret or private_key, not both")
        self._client_secret = (
            None if client_secret is None else check_header_secret(client_secret, "client_secret")
        )
        self._key = (
            None
            if private_key is None
            else load_signing_key(private_key, password=password, key_id=key_id)
        )
        self._scopes = None if scopes is None else _check_scopes(scopes)
        if on_rotate is not None:
            _check_callable(on_rotate, "on_rotate")
        self._on_rotate = on_rotate
        self._assertion_lifetime = _check_int(
            assertion_lifetime, "assertion_lifetime", minimum=1, maximum=3600
        )
        self._rotated: str | None = None
        self._dead: ReauthorizationRequired | None = None
        super().__init__(
            dpop=False,
            token_url=token_url,
            refresh_margin=refresh_margin,
            clock=clock,
        )

    def __repr__(self) -> str:
        return (
            f"RefreshTokenAuth(token_url={self._configured_token_url!r}, "
            f"client_id={self._client_id!r}, client_auth={self.client_auth!r}, "
            f"scopes={self._scopes!r})"
        )

    @property
    def client_id(self) -> str:
        """The client ID."""
        return self._client_id

    @property
    def client_auth(self) -> str:
        """``client_secret_basic``, ``private_key_jwt`` or ``none``."""
        if self._client_secret is not None:
            return "client_secret_basic"
        if self._key is not None:
            return "private_key_jwt"
        return "none"

    @property
    def reauthorization_required(self) -> bool:
        """True once the refresh token has been rejected for good."""
        return self._dead is not None

    def _secrets(self) -> tuple[str, ...]:
        return (self._refresh_token, *((self._client_secret,) if self._client_secret else ()))

    def _check_usable(self) -> None:
        if self._dead is not None:
            raise _copy_error(self._dead)

    def _token_request(self, token_url: str) -> tuple[dict[str, str], dict[str, str]]:
        headers: dict[str, str] = {}
        assertion: str | None = None
        client_id: str | None = None
        if self._client_secret is not None:
            headers["Authorization"] = _jose.basic_authorization(
                self._client_id, self._client_secret
            )
        elif self._key is not None:
            assertion = self._client_assertion(
                self._key, self._client_id, token_url, self._assertion_lifetime
            )
        else:
            client_id = self._client_id
        form = _jose.refresh_token_form(
            self._refresh_token,
            scopes=self._scopes,
            client_assertion=assertion,
            client_id=client_id,
        )
        return form, headers

    def _refuse(self, error: str, description: str | None, status: int) -> AuthError:
        if error != "invalid_grant":
            return super()._refuse(error, description, status)
        text = (
            "the refresh token was rejected (expired, revoked or already used), so the "
            "connection is lost; an admin must authorise the app again"
        )
        if description:
            text += f" (server said: {description})"
        self._dead = ReauthorizationRequired(error, text, status=status)
        return self._dead

    def _accept(self, payload: Mapping[str, Any]) -> None:
        new = payload.get("refresh_token")
        if isinstance(new, str) and new and new != self._refresh_token:
            self._refresh_token = new
            self._rotated = new
            logger.debug(
                "the token endpoint rotated the refresh token",
                extra=auth_log_fields("token", bucket="oauth2-token"),
            )

    async def _after_store(self) -> None:
        rotated, self._rotated = self._rotated, None
        if rotated is None or self._on_rotate is None:
            return
        failed: str | None = None
        try:
            result = self._on_rotate(rotated)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            failed = type(exc).__name__
        if failed is not None:
            raise AuthError(
                f"on_rotate raised {failed} while saving the rotated refresh token; the new "
                "token is in use in memory, but was not persisted (the exception is not "
                "chained: it may hold the token)"
            )
