"""OAuth 2.0 for an Okta service app: client_credentials with ``private_key_jwt``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Final

from . import _jose
from ._checks import _check_identifier, _check_int, _check_scopes
from ._keys import KeySource, load_signing_key
from ._oauth import _OAuthStrategy

__all__ = ["DEFAULT_SCOPES", "PrivateKeyJWT"]

#: The scopes a connections client needs: read for GETs, manage for the POSTs.
DEFAULT_SCOPES: Final = ("okta.apps.read", "okta.apps.manage")


class PrivateKeyJWT(_OAuthStrategy):
    """OAuth 2.0 for an Okta service app: client_credentials with ``private_key_jwt``.

    The strategy signs a short-lived client assertion with the app's private key, trades
    it at the org authorization server for an access token with the requested scopes,
    caches that token and sends it as ``Authorization: Bearer <token>`` (or, with
    ``dpop=True``, ``Authorization: DPoP <token>`` plus a ``DPoP`` proof per request).

    Example::

        auth = PrivateKeyJWT("0oa1serviceapp", Path("service-app.pem"), key_id="k1")
        async with OktaClient("https://acme.okta.com", auth=auth) as okta:
            conn = await okta.connections.get("0oafxqCAJWWGELFTYASJ")

    Args:
        client_id: The service app's client ID (``iss`` and ``sub`` of the assertion).
        private_key: The app's private key: PEM text or bytes, a file path (``str`` or
            :class:`pathlib.Path`), or a private JWK dict. RSA signs RS256 (or the JWK's
            ``alg``); EC P-256/P-384/P-521 signs ES256/ES384/ES512.
        scopes: Scopes to request; every one must be granted to the app. A space-separated
            string is accepted too.
        key_id: The ``kid`` header, needed when the app has several keys. Defaults to the
            JWK's ``kid``.
        password: The passphrase of an encrypted PEM key.
        token_url: The token endpoint. Defaults to ``{org_url}/oauth2/v1/token`` (the org
            authorization server, the only one that issues ``okta.*`` scopes). A path
            starting with ``/`` is resolved against the org URL.
        dpop: Bind tokens to an ephemeral key with DPoP (RFC 9449). Required when the app
            has "Require DPoP" checked.
        refresh_margin: Seconds before expiry at which the token is renewed, capped at
            a tenth of the token's lifetime.
        assertion_lifetime: Seconds each client assertion is valid (1 to 3600).
        clock: Wall-clock seconds since the epoch; injectable for tests.

    Raises:
        ConfigurationError: the key is malformed, encrypted without ``password``, public,
            of an unsupported type, or its file is missing; or another argument is invalid.
            The message never contains key material.

    Calls made with this strategy can raise:
        OAuthError: the token endpoint refused (``invalid_client``, ``invalid_scope`` ...),
            or answered something unusable (``invalid_response``, ``invalid_token_type``).
        TokenEndpointUnreachableError (an AuthError): the token endpoint could not be
            reached within the client's ``token_retry`` policy (attempts and deadline).
    """

    def __init__(
        self,
        client_id: str,
        private_key: KeySource,
        *,
        scopes: Iterable[str] | str = DEFAULT_SCOPES,
        key_id: str | None = None,
        password: str | bytes | None = None,
        token_url: str | None = None,
        dpop: bool = False,
        refresh_margin: float = 300.0,
        assertion_lifetime: int = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client_id = _check_identifier(client_id, "client_id")
        self._scopes = _check_scopes(scopes)
        self._assertion_lifetime = _check_int(
            assertion_lifetime, "assertion_lifetime", minimum=1, maximum=3600
        )
        self._key = load_signing_key(private_key, password=password, key_id=key_id)
        super().__init__(
            dpop=dpop,
            token_url=token_url,
            refresh_margin=refresh_margin,
            clock=clock,
        )

    def __repr__(self) -> str:
        return (
            f"PrivateKeyJWT(client_id={self._client_id!r}, scopes={self._scopes!r}, "
            f"dpop={self.dpop!r})"
        )

    @property
    def client_id(self) -> str:
        """The service app's client ID."""
        return self._client_id

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scopes requested."""
        return self._scopes

    @property
    def algorithm(self) -> str:
        """The JWS algorithm of the client assertion (``RS256``, ``ES256`` ...)."""
        return self._key.algorithm

    def _token_request(self, token_url: str) -> tuple[dict[str, str], dict[str, str]]:
        assertion = self._client_assertion(
            self._key, self._client_id, token_url, self._assertion_lifetime
        )
        return _jose.client_credentials_form(self._scopes, assertion), {}
