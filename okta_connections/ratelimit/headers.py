"""Okta's rate-limit headers, as pure functions: the bucket table and the parsing.

Okta sends ``X-Rate-Limit-Limit``, ``-Remaining`` and ``-Reset`` (UTC epoch seconds) on every
response. The reset is measured against the response's ``Date`` header, never the local
clock, so a skewed local clock does not matter.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs

__all__ = [
    "BUCKETS",
    "RateLimitInfo",
    "bucket_for",
    "header_remaining",
    "header_values",
    "parse_rate_limit",
    "retry_after_seconds",
]

#: Path prefix -> bucket name. First match wins; anything else is "default".
BUCKETS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^/api/v1/apps(?:/|$)"), "apps"),
    (re.compile(r"^/oauth2/v1/token$"), "oauth2-token"),
)


def bucket_for(path: str) -> str:
    """The rate-limit bucket of a request path (``/api/v1/apps/...`` -> ``"apps"``)."""
    if path.startswith("/api/v1/apps/") or path == "/api/v1/apps":
        return "apps"  # the hot path, without a regex
    for pattern, name in BUCKETS:
        if pattern.match(path):
            return name
    return "default"


@attrs.frozen
class RateLimitInfo:
    """One observation of a bucket's window.

    Attributes:
        limit: ``X-Rate-Limit-Limit``: requests allowed per window (0 on a concurrency 429).
        remaining: ``X-Rate-Limit-Remaining``.
        reset_after: Seconds from the response until the window resets, measured against the
            response's ``Date`` header.
        reset_at: Server epoch seconds at which the window resets (``X-Rate-Limit-Reset``).
        observed_at: Local monotonic time at which the response was received.
    """

    limit: int
    remaining: int
    reset_after: float
    reset_at: float
    observed_at: float

    @property
    def is_concurrency_signal(self) -> bool:
        """Okta's concurrency 429 sets both limit and remaining to 0."""
        return self.limit == 0 and self.remaining == 0

    def resets_in(self, now: float | None = None) -> float:
        """Seconds until the window resets, from local monotonic ``now``."""
        now = time.monotonic() if now is None else now
        return max(0.0, self.observed_at + self.reset_after - now)


#: Longest number a rate-limit header may hold: an epoch reset has 10 digits. Anything
#: longer (a hostile or broken server) is ignored rather than turned into a huge int or
#: an OverflowError.
_MAX_DIGITS = 12
#: A reset further than this from the response's ``Date`` is not believed: Okta's windows
#: are a minute or less, and a bogus far-future reset would stall the bucket for good.
_MAX_RESET_AFTER = 3600.0


def _plain(part: str) -> bool:
    return 0 < len(part) <= _MAX_DIGITS and part.isdecimal() and part.isascii()


def _ints(values: list[str]) -> list[int]:
    if len(values) == 1 and _plain(values[0]):
        return [int(values[0])]  # the usual case: one plain number
    out = []
    for raw in values:
        for part in raw.split(","):
            part = part.strip()
            if _plain(part):
                out.append(int(part))
    return out


def header_values(headers: Mapping[str, str], name: str) -> list[str]:
    """Every value of a header, from a multidict or a plain mapping (case-insensitive)."""
    getall = getattr(headers, "getall", None)
    if getall is not None:
        return list(getall(name, []))
    lowered = name.lower()
    return [v for k, v in headers.items() if k.lower() == lowered]


def parse_rate_limit(
    headers: Mapping[str, str], *, now: Callable[[], float] = time.monotonic
) -> RateLimitInfo | None:
    """Parse the X-Rate-Limit-* headers of one response, or None if they are missing.

    Duplicated headers are taken conservatively: the smallest limit and remaining, and the
    latest reset. The reset is made relative with the response's ``Date``; without a
    parseable ``Date`` the local wall clock stands in. Values that cannot be Okta's
    (negative, non-numeric, more than 12 digits, a reset more than an hour away) are
    ignored, never raised: the headers then count as missing.
    """
    getall = getattr(headers, "getall", None)
    if getall is not None:
        # A multidict (what the transports give): one C call per header, and the usual
        # single plain number taken without building lists.
        limit = _one(getall("X-Rate-Limit-Limit", ()), min)
        remaining = _one(getall("X-Rate-Limit-Remaining", ()), min)
        reset = _one(getall("X-Rate-Limit-Reset", ()), max)
    else:
        limit = _one(header_values(headers, "X-Rate-Limit-Limit"), min)
        remaining = _one(header_values(headers, "X-Rate-Limit-Remaining"), min)
        reset = _one(header_values(headers, "X-Rate-Limit-Reset"), max)
    if limit is None or remaining is None or reset is None:
        return None
    reset_at = float(reset)
    reset_after = reset_at - _server_time(headers)
    if reset_after < 0.0:
        reset_after = 0.0
    elif reset_after > _MAX_RESET_AFTER:
        return None
    # Positional (limit, remaining, reset_after, reset_at, observed_at): an attrs class
    # built by keywords costs about twice the instructions, once per response.
    return RateLimitInfo(limit, remaining, reset_after, reset_at, now())


def _one(values: Any, pick: Callable[[list[int]], int]) -> int | None:
    """The number of a header's values (``pick`` of several), or None for none usable."""
    if len(values) == 1:
        value = values[0]
        if 0 < len(value) <= _MAX_DIGITS and value.isdecimal() and value.isascii():
            return int(value)
    numbers = _ints(list(values))
    return pick(numbers) if numbers else None


#: The last ``Date`` parsed and its epoch seconds. ``Date`` has one-second resolution, so
#: a busy client sees the same string many times in a row; parsing it is most of the cost
#: of reading the rate-limit headers.
_last_date: tuple[str, float] = ("", 0.0)


def _server_time(headers: Mapping[str, str]) -> float:
    global _last_date
    getall = getattr(headers, "getall", None)
    dates = getall("Date", ()) if getall is not None else header_values(headers, "Date")
    for value in dates:
        cached = _last_date
        if value == cached[0]:
            return cached[1]
        try:
            epoch = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            continue
        _last_date = (value, epoch)
        return epoch
    return time.time()


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date against ``Date``), or None."""
    values = header_values(headers, "Retry-After")
    if not values:
        return None
    value = values[0].strip()
    if _plain(value):
        return float(value)
    if value.isdecimal():
        return None  # absurdly long: ignored
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, when - _server_time(headers))


def header_remaining(headers: Mapping[str, str]) -> int | None:
    """``X-Rate-Limit-Remaining`` as an int, when it is one."""
    value = headers.get("X-Rate-Limit-Remaining")
    if value is None or not value.isdigit() or len(value) > 12:
        return None
    return int(value)
