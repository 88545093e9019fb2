"""Pure parsing of X-Rate-Limit-* headers, the bucket table, and the per-client state."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict

from okta_connections.ratelimit import (
    RateLimiter,
    bucket_for,
    parse_rate_limit,
    retry_after_seconds,
)

DATE = "Tue, 14 Nov 2023 22:13:20 GMT"  # epoch 1700000000


def headers(*pairs: tuple[str, str]) -> CIMultiDict[str]:
    return CIMultiDict(pairs)


def test_reset_is_measured_against_date_not_the_local_clock() -> None:
    # The server clock is years behind ours: the local clock must not matter.
    h = headers(
        ("X-Rate-Limit-Limit", "100"),
        ("X-Rate-Limit-Remaining", "42"),
        ("X-Rate-Limit-Reset", "1700000045"),
        ("Date", DATE),
    )
    info = parse_rate_limit(h, now=lambda: 10.0)
    assert info is not None
    assert (info.limit, info.remaining, info.reset_after) == (100, 42, 45.0)
    assert info.resets_in(now=20.0) == pytest.approx(35.0)


def test_missing_headers_give_none() -> None:
    assert parse_rate_limit(headers(("Date", DATE))) is None
    assert parse_rate_limit(headers(("X-Rate-Limit-Limit", "100"), ("Date", DATE))) is None


def test_duplicated_headers_are_taken_conservatively() -> None:
    h = headers(
        ("X-Rate-Limit-Limit", "100"),
        ("X-Rate-Limit-Limit", "50"),
        ("X-Rate-Limit-Remaining", "40, 7"),
        ("X-Rate-Limit-Reset", "1700000030"),
        ("X-Rate-Limit-Reset", "1700000060"),
        ("Date", DATE),
    )
    info = parse_rate_limit(h)
    assert info is not None
    assert (info.limit, info.remaining, info.reset_after) == (50, 7, 60.0)


def test_garbage_values_are_ignored() -> None:
    h = headers(
        ("X-Rate-Limit-Limit", "lots"),
        ("X-Rate-Limit-Remaining", "-1"),
        ("X-Rate-Limit-Reset", "soon"),
        ("Date", DATE),
    )
    assert parse_rate_limit(h) is None


@pytest.mark.parametrize(
    ("path", "bucket"),
    [
        ("/api/v1/apps", "apps"),
        ("/api/v1/apps/0oa1/connections/default", "apps"),
        ("/api/v1/apps/slack/0oa1/oauth2/callback", "apps"),
        ("/api/v1/appsx", "default"),
        ("/api/v1/users", "default"),
        ("/oauth2/v1/token", "oauth2-token"),
    ],
)
def test_bucket_table(path: str, bucket: str) -> None:
    assert bucket_for(path) == bucket


def _info(remaining: int, reset_at: float, limit: int = 100) -> object:
    from okta_connections.ratelimit import RateLimitInfo

    return RateLimitInfo(
        limit=limit, remaining=remaining, reset_after=1.0, reset_at=reset_at, observed_at=0.0
    )


def test_state_ignores_stale_windows_and_keeps_lowest_remaining() -> None:
    state = RateLimiter()
    state.observe("apps", _info(50, 1000))  # type: ignore[arg-type]
    state.observe("apps", _info(60, 1000))  # same window, arrived late: keep 50
    assert state.get("apps").remaining == 50  # type: ignore[union-attr]
    state.observe("apps", _info(99, 940))  # an older window: ignored
    assert state.get("apps").reset_at == 1000  # type: ignore[union-attr]
    state.observe("apps", _info(99, 1060))  # a new window
    assert state.get("apps").remaining == 99  # type: ignore[union-attr]
    state.observe("apps", _info(0, 1070, limit=0))  # a concurrency 429 says nothing of the window
    assert state.get("apps").limit == 100  # type: ignore[union-attr]
    assert set(state.snapshot()) == {"apps"}


def test_non_ascii_digits_in_headers_are_ignored_not_raised() -> None:
    # "²".isdigit() is True but int("²") raises: one odd header must not fail the call.
    headers = {
        "X-Rate-Limit-Limit": "\u00b2",
        "X-Rate-Limit-Remaining": "5",
        "X-Rate-Limit-Reset": "100",
        "Retry-After": "\u00b3",
    }
    assert parse_rate_limit(headers) is None
    assert retry_after_seconds(headers) is None
