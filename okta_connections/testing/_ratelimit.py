"""Okta-style per-bucket rate-limit windows, driven by an injectable clock."""

from __future__ import annotations

import math
from typing import NamedTuple

__all__ = ["RateLimiter", "RateState", "bucket_of"]


def bucket_of(path: str) -> str:
    """The bucket of a path: ``apps`` for ``/api/v1/apps`` and below, else ``default``.

    All six connection operations, including ``/api/v1/apps/{appName}/{appId}/oauth2/
    callback``, share the ``/api/v1/apps*`` bucket (reference §8.3).
    """
    if path == "/api/v1/apps" or path.startswith("/api/v1/apps/"):
        return "apps"
    return "default"


class RateState(NamedTuple):
    """What a request sees of its bucket, for the ``X-Rate-Limit-*`` headers."""

    limit: int
    remaining: int
    reset: int
    exceeded: bool


class _Window:
    __slots__ = ("count", "start")

    def __init__(self, start: float) -> None:
        self.start = start
        self.count = 0


class RateLimiter:
    """Counts requests per bucket in windows of ``window`` seconds.

    Like Okta's, a window is not aligned with the wall-clock minute: it opens at the
    first request after the previous window ended and lasts ``window`` seconds. Every
    request counts, including rejected ones (a 429 does not give the budget back).
    """

    def __init__(self, limit: int, window: float) -> None:
        self.configure(limit, window)

    def configure(self, limit: int, window: float) -> None:
        """Set the limit and window length; open windows are discarded."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ValueError(f"rate limit must be an integer >= 0, not {limit!r}")
        if not window > 0:
            raise ValueError(f"rate window must be > 0 seconds, not {window!r}")
        self.limit = limit
        self.window = float(window)
        self._windows: dict[str, _Window] = {}

    def hit(self, bucket: str, now: float) -> RateState:
        """Count one request in ``bucket`` at time ``now`` and report the bucket's state."""
        win = self._windows.get(bucket)
        if win is None or now >= win.start + self.window or now < win.start:
            # A clock stepped backwards past the window start also opens a new window,
            # so a skewed test clock never leaves a bucket stuck.
            win = self._windows[bucket] = _Window(now)
        win.count += 1
        return RateState(
            limit=self.limit,
            remaining=max(self.limit - win.count, 0),
            reset=math.ceil(win.start + self.window),
            exceeded=win.count > self.limit,
        )
