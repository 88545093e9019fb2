"""Checks of the OAuth strategies' arguments; none echoes a value it refuses."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import yarl

from .._redact import unchained
from .._validation import is_loopback
from ..errors import ConfigurationError


def _check_identifier(value: object, argument: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(argument, "must be a non-empty string")
    if any(c.isspace() or ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        raise ConfigurationError(argument, "contains whitespace or control characters")
    return value


def _check_scopes(value: object, argument: str = "scopes") -> tuple[str, ...]:
    items: Iterable[object]
    if isinstance(value, str):
        items = value.split()
    elif isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
        items = list(value)
    else:
        raise ConfigurationError(argument, "must be a sequence of scope strings")
    scopes = tuple(_check_identifier(s, argument) for s in items)
    if not scopes:
        raise ConfigurationError(argument, "must name at least one scope, e.g. okta.apps.read")
    return scopes


def _check_number(value: object, argument: str, *, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= minimum:
        raise ConfigurationError(argument, f"must be a number >= {minimum:g}")
    if not math.isfinite(value):
        raise ConfigurationError(argument, "must be finite")
    return float(value)


def _check_int(value: object, argument: str, *, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise ConfigurationError(argument, f"must be an integer from {minimum} to {maximum}")
    return value


def _check_callable(value: object, argument: str) -> None:
    if not callable(value):
        raise ConfigurationError(argument, "must be callable")


@unchained
def _check_token_url(value: object, argument: str = "token_url") -> str:
    """An absolute https URL (http only for loopback), or a path resolved at bind()."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(argument, "must be a non-empty URL string")
    text = value.strip()
    if text.startswith("/"):
        return text
    try:
        url = yarl.URL(text)
    except (ValueError, TypeError):
        raise ConfigurationError(argument, "is not a valid URL") from None
    if url.user is not None or url.password is not None:
        raise ConfigurationError(argument, "must not contain credentials (user:password@)")
    if url.scheme not in ("https", "http") or not url.raw_host:
        raise ConfigurationError(
            argument, "must be an absolute https:// URL, e.g. https://acme.okta.com/oauth2/v1/token"
        )
    if url.scheme == "http" and not is_loopback(url.raw_host):
        raise ConfigurationError(argument, "must use https:// (http is allowed only for loopback)")
    if url.fragment:
        raise ConfigurationError(argument, "must not have a #fragment")
    return text
