"""The cached access token, and the helpers of its single-flight refresh."""

from __future__ import annotations

import asyncio
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
