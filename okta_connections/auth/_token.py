"""The cached access token, and the helpers of its single-flight refresh."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Mapping

import attrs
from multidict import CIMultiDict, CIMultiDictProxy

from ..errors import (
    AuthError,
    OAuthError,
)


@attrs.frozen(repr=False)
class _Token:
    """One cached access token. Hand-written repr: the token must not leak."""

    authorization: str  # the whole Authorization header value, e.g. "Bearer eyJ..."
    access_token: str
    expires_at: float
    refresh_at: float
    ath: str | None  # DPoP access-token hash, computed once per token

    def __repr__(self) -> str:
        return f"_Token(expires_at={self.expires_at!r})"


class TokenState(enum.Enum):
    """Where a cached access token stands, as :attr:`PrivateKeyJWT.token_state` reports it.

    Attributes:
        FRESH: usable, and no refresh is due yet.
        STALE: still usable, but inside its refresh margin: one call refreshes it
            (single-flight) while the others keep using it.
        INVALID: missing, dropped after a 401, or expired: calls wait for a new one.
    """

    FRESH = "fresh"
    STALE = "stale"
    INVALID = "invalid"


def token_state(token: _Token | None, now: float, *, retry_not_before: float = 0.0) -> TokenState:
    """The state of ``token`` at ``now`` (the strategy's clock).

    ``retry_not_before`` is when an early refresh that failed for a passing reason may be
    tried again: until then a token inside its margin counts as FRESH (its refresh is
    postponed), though never past ``expires_at``.
    """
    if token is None or now >= token.expires_at:
        return TokenState.INVALID
    if now < token.refresh_at or now < retry_not_before:
        return TokenState.FRESH
    return TokenState.STALE


def _copy_error(exc: AuthError) -> AuthError:
    """A fresh instance for each waiter: the pipeline writes ``attempts`` on what it raises."""
    if isinstance(exc, OAuthError):
        copy: AuthError = type(exc)(exc.error, exc.error_description, status=exc.status)
    else:
        copy = type(exc)(*exc.args)
    copy.__cause__ = exc.__cause__
    return copy


def _retrieve(task: asyncio.Task[_Token]) -> None:
    """Mark a refresh's exception as seen; each waiter raises its own copy."""
    if not task.cancelled():
        task.exception()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None or isinstance(headers, CIMultiDictProxy | CIMultiDict):
        return value  # aiohttp's headers are already case-insensitive
    lowered = name.lower()
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None
