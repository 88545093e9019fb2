"""TokenState: one function decides FRESH, STALE or INVALID from the clock, the token's
``refresh_at`` and ``expires_at``, and the retry time of a failed early refresh."""

from __future__ import annotations

import pytest

from okta_connections import OktaClient, PrivateKeyJWT, RetryPolicy, TokenState
from okta_connections import auth as auth_package
from okta_connections.auth._token import _Token, token_state
from tests.support.clock import Clock, Sleeps
from tests.support.constants import APP_ID
from tests.support.keys import pem, rsa_key
from tests.support.oauth_server import CLIENT_ID, OAuthServer
from tests.support.retry import fast_retry

FRESH, STALE, INVALID = TokenState.FRESH, TokenState.STALE, TokenState.INVALID


def token(refresh_at: float, expires_at: float) -> _Token:
    return _Token(
        authorization="Bearer t",
        access_token="t",
        expires_at=expires_at,
        refresh_at=refresh_at,
        ath=None,
    )


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (0.0, FRESH),
        (99.999, FRESH),
        (100.0, STALE),  # refresh_at itself: the margin has begun
        (109.999, STALE),
        (110.0, INVALID),  # expires_at itself: no longer usable
        (1e9, INVALID),
    ],
)
def test_state_over_the_refresh_and_expiry_boundaries(now: float, expected: TokenState) -> None:
    assert token_state(token(100.0, 110.0), now) is expected


def test_no_token_is_invalid() -> None:
    assert token_state(None, 0.0) is INVALID
    assert token_state(None, 0.0, retry_not_before=1e9) is INVALID


@pytest.mark.parametrize(
    ("now", "retry_not_before", "expected"),
    [
        (104.0, 105.0, FRESH),  # a failed early refresh postpones the next one
        (105.0, 105.0, STALE),  # the cooldown is over: refresh again
        (99.0, 0.0, FRESH),
        (109.0, 200.0, FRESH),  # a cooldown past expiry holds only until expiry
        (110.0, 200.0, INVALID),
    ],
)
def test_a_retry_time_postpones_staleness_never_expiry(
    now: float, retry_not_before: float, expected: TokenState
) -> None:
    assert token_state(token(100.0, 110.0), now, retry_not_before=retry_not_before) is expected


def test_zero_margin_goes_from_fresh_to_invalid() -> None:
    assert token_state(token(110.0, 110.0), 109.999) is FRESH
    assert token_state(token(110.0, 110.0), 110.0) is INVALID


def test_token_state_is_public() -> None:
    assert auth_package.TokenState is TokenState
    assert "TokenState" in auth_package.__all__
    assert [s.value for s in TokenState] == ["fresh", "stale", "invalid"]


async def test_strategy_reports_its_token_state(oauth_server: OAuthServer) -> None:
    clock = Clock()
    oauth_server.clock = clock
    oauth_server.register(public_key=rsa_key().public_key(), token_lifetime=3600)
    sleeps = Sleeps()
    auth = PrivateKeyJWT(CLIENT_ID, pem(rsa_key()), clock=clock, refresh_margin=300)
    start = clock.now
    assert auth.token_state is INVALID  # nothing fetched yet
    policy = RetryPolicy.for_token_requests(sleep=sleeps, random=lambda: 0.0)
    async with OktaClient(
        oauth_server.url, auth=auth, retry=fast_retry(), token_retry=policy
    ) as okta:
        await okta.connections.get(APP_ID)
        assert auth.token_state is FRESH
        clock.now = start + 3300  # inside the 300 s margin
        assert auth.token_state is STALE
        for _ in range(4):
            oauth_server.script_token(503, raw=b"down")
        await okta.connections.get(APP_ID)  # the early refresh fails: cooldown
        assert auth.token_state is FRESH
        assert oauth_server.token_requests == 5
        clock.now = start + 3600
        assert auth.token_state is INVALID
        await okta.connections.get(APP_ID)
        assert auth.token_state is FRESH
        assert oauth_server.tokens_issued == 2
    with pytest.raises(AttributeError):
        auth.token_state = FRESH  # type: ignore[misc]
