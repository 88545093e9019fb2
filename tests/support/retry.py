"""``fast_retry``: a RetryPolicy that never sleeps, for tests that retry."""

from __future__ import annotations

from typing import Any

from okta_connections import RetryPolicy


async def _no_sleep(_: float) -> None:
    return None


def fast_retry(**kwargs: Any) -> RetryPolicy:
    """A retry policy that never sleeps and has no jitter."""
    kwargs.setdefault("sleep", _no_sleep)
    kwargs.setdefault("random", lambda: 0.0)
    return RetryPolicy(**kwargs)
