"""Redaction of secrets and query strings from text bound for exceptions and logs."""

from __future__ import annotations

import base64
import functools
import json
import re
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

__all__ = ["basic_credential_forms", "hide", "holds_secret", "redact", "secret_forms"]

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
    text = hide(text, secrets)
    text = _USERINFO_RE.sub(lambda m: m.group(1) + "***@", text)
    text = _QUERY_RE.sub(lambda m: m.group(1) + "?***", text)
    text = _CONTROL_RE.sub(" ", text)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def hide(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every form of ``secrets`` :func:`redact` knows made ``***`` (as sent,
    URL-encoded, JSON-escaped, and the whole base64 word that encodes one), and nothing
    else changed."""
    secrets = tuple(s for s in secrets if s)
    hidden = {form for s in secrets for form in secret_forms(s)}
    for secret in sorted(hidden, key=len, reverse=True):
        text = text.replace(secret, "***")
    for s in secrets:
        for core in _base64_cores(s):
            if core in text:
                text = _base64_word(core).sub("***", text)
    return text


@functools.lru_cache(maxsize=512)
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


#: Secrets shorter than this are not looked for inside base64 (too many false matches).
_MIN_BASE64_SECRET = 8


@functools.lru_cache(maxsize=512)
def _base64_cores(secret: str) -> tuple[str, ...]:
    """The base64 characters that encode ``secret`` wherever it sits in base64-encoded
    text (``Basic base64(user:secret)``, a token base64-encoded in a cookie ...).

    For each of the three alignments of the secret's bytes, the characters made only of
    its own bits (never of its neighbours'), in the standard and the URL-safe alphabet.
    """
    raw = secret.encode("utf-8", "replace")
    if len(raw) < _MIN_BASE64_SECRET:
        return ()
    cores: list[str] = []
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode("ascii")
        core = encoded[-(-8 * offset // 6) : (8 * (offset + len(raw))) // 6]
        cores += [core, core.replace("+", "-").replace("/", "_")]
    return tuple(dict.fromkeys(cores))


@functools.lru_cache(maxsize=512)
def _base64_word(core: str) -> re.Pattern[str]:
    """The whole base64 word around ``core``: what is redacted when a core shows."""
    return re.compile(r"[A-Za-z0-9+/_-]*" + re.escape(core) + r"[A-Za-z0-9+/_-]*=*")


def holds_secret(text: str, secrets: Iterable[str]) -> bool:
    """Whether ``text`` shows any of ``secrets`` in any form :func:`redact` hides (as sent,
    URL-encoded, JSON-escaped, inside base64)."""
    for s in secrets:
        if not s:
            continue
        for form in secret_forms(s):
            if form in text:
                return True
        for core in _base64_cores(s):
            if core in text:
                return True
    return False


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
