"""Okta rate-limit headers: pure parsing, the bucket table, and the per-client state.

Okta sends ``X-Rate-Limit-Limit``, ``-Remaining`` and ``-Reset`` (UTC epoch seconds) on every
response. The reset is measured against the response's ``Date`` header, never the local
clock, so a skewed local clock does not matter.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable, Iterable, Mapping

import attrs

__all__ = ["RateLimitInfo", "RateLimitState", "bucket_for", "parse_rate_limit"]

#: Path prefix -> bucket name. First match wins; anything else is "default".
BUCKETS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^/api/v1/apps(?:/|$)"), "apps"),
    (re.compile(r"^/oauth2/v1/token$"), "oauth2-token"),
)


def bucket_for(path: str) -> str:
    """The rate-limit bucket of a request path (``/api/v1/apps/...`` -> ``"apps"``)."""
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


def _ints(values: Iterable[str]) -> list[int]:
    out = []
    for raw in values:
        for part in raw.split(","):
            part = part.strip()
            if part.isdigit():
                out.append(int(part))
    return out


def _getall(headers: Mapping[str, str], name: str) -> list[str]:
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
    parseable ``Date`` the local wall clock stands in.
    """
    limits = _ints(_getall(headers, "X-Rate-Limit-Limit"))
    remainings = _ints(_getall(headers, "X-Rate-Limit-Remaining"))
    resets = _ints(_getall(headers, "X-Rate-Limit-Reset"))
    if not limits or not remainings or not resets:
        return None
    reset_at = float(max(resets))
    server_now = _server_time(headers)
    reset_after = max(0.0, reset_at - server_now)
    return RateLimitInfo(
        limit=min(limits),
        remaining=min(remainings),
        reset_after=reset_after,
        reset_at=reset_at,
        observed_at=now(),
    )


def _server_time(headers: Mapping[str, str]) -> float:
    for value in _getall(headers, "Date"):
        try:
            return email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError, IndexError):
            continue
    return time.time()


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date against ``Date``), or None."""
    values = _getall(headers, "Retry-After")
    if not values:
        return None
    value = values[0].strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - _server_time(headers))


class RateLimitState:
    """The latest window seen for each bucket, shared by every call of one client.

    Stale observations (an older window arriving after a newer one) are ignored.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, RateLimitInfo] = {}

    def observe(self, bucket: str, info: RateLimitInfo) -> None:
        """Record an observation, keeping the newest window."""
        if info.is_concurrency_signal:
            return  # says nothing about the rate window
        current = self._buckets.get(bucket)
        if current is not None:
            if info.reset_at < current.reset_at:
                return  # a response from an older window arrived late
            if info.reset_at == current.reset_at and info.remaining > current.remaining:
                # Same window: responses can arrive out of order; keep the lower count.
                info = attrs.evolve(info, remaining=current.remaining)
        self._buckets[bucket] = info

    def get(self, bucket: str) -> RateLimitInfo | None:
        """The latest observation of a bucket, or None."""
        return self._buckets.get(bucket)

    def snapshot(self) -> dict[str, RateLimitInfo]:
        """A copy of every bucket's latest observation."""
        return dict(self._buckets)
