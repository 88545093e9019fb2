"""``WWW-Authenticate`` challenges (RFC 9110 §11.6.1), read defensively.

Okta names the scope a refused call needs in the challenge of its 403:
``Bearer error="insufficient_scope", scope="okta.apps.manage", resource="/api/v1/..."``
(or ``DPoP algs="...", ...`` for a DPoP-bound token). The header comes from the network,
so the parser never raises, reads a bounded prefix, and :func:`required_scope` returns only
a value made of RFC 6749 scope tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

__all__ = ["parse_challenges", "required_scope"]

#: How much of a header is read (Okta's challenges are a few hundred characters).
MAX_HEADER: Final = 8192
#: The longest scope value believed (Okta's scopes are a few tens of characters).
MAX_SCOPE: Final = 512
_TCHAR: Final = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
_SCOPE_RE: Final = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+(?: [\x21\x23-\x5b\x5d-\x7e]+)*")


def _token(text: str, i: int) -> int:
    while i < len(text) and text[i] in _TCHAR:
        i += 1
    return i


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t":
        i += 1
    return i


def _quoted(text: str, i: int) -> tuple[str, int]:
    """The quoted-string starting at ``text[i] == '"'``: its value and the index after
    it (an unterminated one runs to the end)."""
    out: list[str] = []
    i += 1
    while i < len(text):
        char = text[i]
        if char == '"':
            return "".join(out), i + 1
        if char == "\\" and i + 1 < len(text):
            i += 1
            char = text[i]
        out.append(char)
        i += 1
    return "".join(out), i


def parse_challenges(value: str) -> list[tuple[str, dict[str, str]]]:
    """The challenges of one header value: ``[(scheme, {param: value})]``.

    Scheme and parameter names are lower-cased; the first of a repeated parameter wins;
    a ``token68`` is skipped. Anything that is not a challenge is skipped too: a hostile
    or broken header gives fewer (or no) challenges, never an exception.
    """
    text = value[:MAX_HEADER]
    challenges: list[tuple[str, dict[str, str]]] = []
    params: dict[str, str] | None = None
    i = 0
    while i < len(text):
        start = _token(text, i)
        if start == i:  # not a token: a separator or junk, skipped
            i += 1
            continue
        name = text[i:start].lower()
        after = _skip_space(text, start)
        if after < len(text) and text[after] == "=" and params is not None:
            j = _skip_space(text, after + 1)
            if j < len(text) and text[j] == '"':
                param, i = _quoted(text, j)
            else:
                end = _token(text, j)
                param, i = text[j:end], end
            params.setdefault(name, param)
            continue
        if after < len(text) and text[after] == "=":
            i = after + 1  # a parameter before any scheme: ignored
            continue
        # A scheme; a token68 may follow it ("Basic abc=="), which is skipped.
        params = {}
        challenges.append((name, params))
        i = _skip_space(text, start)
        end = _token(text, i)
        if end > i:
            k = end
            while k < len(text) and text[k] == "=":
                k += 1
            following = _skip_space(text, k)
            if following >= len(text) or text[following] == ",":
                i = following  # a token68 ("Basic abc=="), skipped
    return challenges


def required_scope(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> str | None:
    """The scope a refused request needs, from its ``WWW-Authenticate`` challenges.

    The ``scope`` of a Bearer or DPoP challenge whose ``error`` is ``insufficient_scope``,
    else of the first Bearer or DPoP challenge that names one; None when there is none or
    it is not a list of scope tokens (RFC 6749 §3.3) of at most :data:`MAX_SCOPE` characters.
    """
    items = headers.items() if isinstance(headers, Mapping) else headers
    found: list[tuple[bool, str]] = []
    for key, value in items:
        if key.lower() != "www-authenticate" or not isinstance(value, str):
            continue
        for scheme, params in parse_challenges(value):
            scope = params.get("scope")
            if scheme in ("bearer", "dpop") and scope is not None:
                found.append((params.get("error") == "insufficient_scope", scope))
    found.sort(key=lambda f: not f[0])  # stable: insufficient_scope first, then in order
    for _, scope in found:
        scope = scope.strip()
        if len(scope) <= MAX_SCOPE and _SCOPE_RE.fullmatch(scope):
            return scope
        return None
    return None
