"""Redaction of secrets and query strings from text bound for exceptions and logs."""

from __future__ import annotations

import base64
import functools
import json
import re
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

__all__ = ["basic_credential_forms", "redact", "secret_forms"]

_QUERY_RE = re.compile(
    r"((?:\b[a-zA-Z][a-zA-Z0-9+.-]*://|(?<![\w/:])/)[^\s?#'\"<>]*)\?[^\s#'\"<>]*"
)
#: ``scheme://user:password@`` (the userinfo of a URL: always a credential when present).
_USERINFO_RE = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^\s/?#@'\"<>]*@")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]+")
MAX_MESSAGE = 300


def redact(text: str, secrets: Iterable[str] = (), *, limit: int = MAX_MESSAGE) -> str:
    """Text made safe for an exception or a log: secrets and URL query strings removed.

    Every non-empty value of ``secrets`` (and its URL-encoded and JSON-escaped forms)
    becomes ``***``; a URL's ``user:password@`` becomes ``***@``; a ``?query`` after a URL
    or a path becomes ``?***``; control characters become spaces; the result is at most ``limit``
    characters long.

    >>> redact("GET http://h/p?code=abc failed for SSWS t0k", ["t0k"])
    'GET http://h/p?*** failed for SSWS ***'
    """
    hidden = {form for s in secrets if s for form in secret_forms(s)}
    for secret in sorted(hidden, key=len, reverse=True):
        text = text.replace(secret, "***")
    text = _USERINFO_RE.sub(lambda m: m.group(1) + "***@", text)
    text = _QUERY_RE.sub(lambda m: m.group(1) + "?***", text)
    text = _CONTROL_RE.sub(" ", text)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def secret_forms(secret: str) -> tuple[str, ...]:
    """A secret and the forms a server may echo it in: URL-encoded (``%20`` and ``+``
    for a space, ``/`` kept or not) and JSON-escaped. Empty for an empty secret.

    >>> secret_forms("p@ss w")
    ('p@ss w', 'p%40ss%20w', 'p%40ss+w')
    """
    if not secret:
        return ()
    forms = [
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret, safe=""),
        urllib.parse.quote(secret),
        urllib.parse.quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    ]
    return tuple(dict.fromkeys(forms))


def basic_credential_forms(user: str, password: str) -> tuple[str, ...]:
    """Every form of HTTP Basic credentials a server or a proxy may echo: the header value
    ``Basic base64(user:password)``, the base64 alone, and the password's own forms."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    forms = [f"Basic {token}", token]
    if password:
        forms += [f"{user}:{password}", *secret_forms(password)]
    return tuple(dict.fromkeys(forms))


#: Request headers that never hold a credential; every other one may.
_PLAIN_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "content-type",
        "content-length",
        "user-agent",
        "host",
        "x-okta-retry-for",
        "x-okta-retry-count",
        "x-okta-user-agent-extended",
    }
)


def header_secrets(headers: Iterable[tuple[str, str]]) -> list[str]:
    """The values of request headers that may hold a credential, and their last word.

    ``Authorization: SSWS abc`` gives ``"SSWS abc"`` and ``"abc"``, so that a server echoing
    only the token is caught too.
    """
    out: list[str] = []
    for name, value in headers:
        if name.lower() in _PLAIN_HEADERS or not value:
            continue
        out.append(value)
        last = value.rsplit(" ", 1)[-1]
        if last != value and len(last) >= 8:
            out.append(last)
    return out


_F = TypeVar("_F", bound=Callable[..., Any])


def unchained(func: _F) -> _F:
    """Re-raise what ``func`` raises without its ``__cause__``/``__context__`` chain.

    For validators of secret-bearing input: a third-party exception caught inside them
    (yarl's for a URL with a password, PyYAML's quoting a token, a key parser's) would
    otherwise stay in the chain of the error they raise, even with ``from None``. The
    re-raise happens outside any ``except`` block, so no new context is attached.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        failure: Exception | None = None
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            failure = exc
        failure.__cause__ = None
        failure.__context__ = None
        failure.__suppress_context__ = False
        raise failure

    return wrapper  # type: ignore[return-value]
