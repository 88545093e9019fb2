"""Static credentials: an SSWS API token, or an OAuth bearer token (or a provider of one)."""

from __future__ import annotations

import hashlib
import inspect

from ._base import Auth, AuthRequest, AuthResponse, TokenProvider, check_header_secret

__all__ = ["BearerToken", "SSWSToken"]


class SSWSToken(Auth):
    """Okta API token auth: ``Authorization: SSWS <token>``.

    Args:
        token: The API token. It is never shown in ``repr`` or logs.

    Raises:
        ConfigurationError: if the token is empty or contains whitespace.
    """

    __slots__ = ("_token",)

    def __init__(self, token: str) -> None:
        self._token = check_header_secret(token, "token")

    def __repr__(self) -> str:
        return "SSWSToken(token='***')"

    async def authorize(self, request: AuthRequest) -> None:
        request.headers["Authorization"] = f"SSWS {self._token}"

    @property
    def principal(self) -> str:
        """``ssws:`` and a SHA-256 of the token (never the token)."""
        return "ssws:" + hashlib.sha256(self._token.encode()).hexdigest()

    def secret_values(self) -> tuple[str, ...]:
        return (self._token,)


class BearerToken(Auth):
    """OAuth 2.0 access token auth: ``Authorization: Bearer <token>``.

    Args:
        token: The access token, or an async callable returning the current one (for
            example read from a vault). A callable is awaited before every attempt; after a
            401 it is awaited once more and, if it returns a different token, the request
            is replayed once.

    Raises:
        ConfigurationError: if a string token is empty or contains whitespace, or
            ``token`` is neither a string nor a callable.
    """

    __slots__ = ("_provider", "_token")

    def __init__(self, token: str | TokenProvider) -> None:
        self._token: str | None = None
        self._provider: TokenProvider | None = None
        if isinstance(token, str):
            self._token = check_header_secret(token, "token")
        elif callable(token):
            self._provider = token
        else:
            check_header_secret(token, "token")  # raises with a clear message

    def __repr__(self) -> str:
        kind = "provider" if self._provider is not None else "'***'"
        return f"BearerToken(token={kind})"

    async def _current(self) -> str:
        if self._provider is None:
            assert self._token is not None
            return self._token
        value = self._provider()
        if not inspect.isawaitable(value):
            raise TypeError("BearerToken's token provider must be an async callable")
        return check_header_secret(await value, "token (from provider)")

    async def authorize(self, request: AuthRequest) -> None:
        request.headers["Authorization"] = f"Bearer {await self._current()}"

    @property
    def principal(self) -> str | None:
        """``bearer:`` and a SHA-256 of a static token; None for a provider (its tokens
        rotate: subclass and name the principal, e.g. the service app's client id)."""
        if self._token is None:
            return None
        return "bearer:" + hashlib.sha256(self._token.encode()).hexdigest()

    def secret_values(self) -> tuple[str, ...]:
        return () if self._token is None else (self._token,)

    async def on_response(self, request: AuthRequest, response: AuthResponse) -> bool:
        if response.status != 401 or self._provider is None:
            return False
        failed = request.headers.get("Authorization", "")
        fresh = await self._current()
        return failed != f"Bearer {fresh}"
