"""The retry policy as data: per-operation decisions, backoff, Retry-After, rate limits."""

from __future__ import annotations

import pytest

from okta_connections import (
    ApiError,
    BadRequestError,
    OktaConnectionError,
    OktaTimeoutError,
    RetryPolicy,
)
from okta_connections.ratelimit import RateLimitInfo


def api(status: int, **headers: str) -> ApiError:
    return ApiError.from_response(status, None, request_id=None, operation="x", headers=headers)


def conn_error(sent: bool) -> OktaConnectionError:
    return OktaConnectionError("x", method="POST", path="/p", request_sent=sent)


def timeout(phase: str) -> OktaTimeoutError:
    return OktaTimeoutError(
        "x", method="POST", path="/p", request_sent=phase != "connect", phase=phase
    )


POLICY = RetryPolicy(random=lambda: 0.5, backoff_base=1.0, backoff_max=8.0)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_idempotent_ops_retry_on_retryable_statuses(status: int) -> None:
    assert POLICY.delay(attempt=1, idempotent=True, error=api(status)) is not None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 501])
def test_client_errors_are_never_retried(status: int) -> None:
    assert POLICY.delay(attempt=1, idempotent=True, error=api(status)) is None


@pytest.mark.parametrize(
    ("error", "idempotent_delay", "verify_delay"),
    [
        (conn_error(sent=False), True, True),  # connect failed: never reached Okta
        (timeout("connect"), True, True),
        (conn_error(sent=True), True, False),  # dropped mid-request: may have been processed
        (timeout("read"), True, False),  # verify is not retried after a timeout
        (timeout("deadline"), False, False),
        (api(503), True, False),
        (api(500), True, False),
        (api(429), True, True),  # Okta refused it before processing
    ],
)
def test_verify_retries_only_when_the_request_cannot_have_reached_okta(
    error: Exception, idempotent_delay: bool, verify_delay: bool
) -> None:
    assert (POLICY.delay(attempt=1, idempotent=True, error=error) is not None) is idempotent_delay  # type: ignore[arg-type]
    assert (POLICY.delay(attempt=1, idempotent=False, error=error) is not None) is verify_delay  # type: ignore[arg-type]


def test_attempts_are_capped() -> None:
    policy = RetryPolicy(max_attempts=3, random=lambda: 0.0)
    assert policy.delay(attempt=2, idempotent=True, error=api(503)) == 0.0
    assert policy.delay(attempt=3, idempotent=True, error=api(503)) is None
    assert RetryPolicy.never().delay(attempt=1, idempotent=True, error=api(503)) is None


def test_full_jitter_exponential_backoff() -> None:
    rolls = iter([1.0, 1.0, 1.0, 1.0, 0.25])
    policy = RetryPolicy(
        max_attempts=10, backoff_base=0.5, backoff_max=3.0, random=lambda: next(rolls)
    )
    delays = [policy.delay(attempt=n, idempotent=True, error=api(500)) for n in (1, 2, 3, 4, 5)]
    assert delays == [0.5, 1.0, 2.0, 3.0, 0.75]  # doubling, capped, then jittered


def test_retry_after_is_honoured() -> None:
    assert POLICY.delay(attempt=1, idempotent=True, error=api(503, **{"Retry-After": "7"})) == 7.0
    http_date = {
        "Retry-After": "Tue, 14 Nov 2023 22:13:30 GMT",
        "Date": "Tue, 14 Nov 2023 22:13:20 GMT",
    }
    assert POLICY.delay(attempt=1, idempotent=True, error=api(429, **http_date)) == 10.0


def test_rate_limit_429_waits_for_the_reset_plus_spread() -> None:
    info = RateLimitInfo(limit=100, remaining=0, reset_after=12.0, reset_at=0, observed_at=0)
    delay = POLICY.delay(attempt=1, idempotent=True, error=api(429), rate_limit=info)
    assert delay == pytest.approx(12.0 + 0.05 + 0.125)


def test_rate_limit_wait_beyond_the_cap_gives_up() -> None:
    info = RateLimitInfo(limit=100, remaining=0, reset_after=500.0, reset_at=0, observed_at=0)
    assert POLICY.delay(attempt=1, idempotent=True, error=api(429), rate_limit=info) is None


def test_concurrency_429_retries_soon_not_at_reset() -> None:
    info = RateLimitInfo(limit=0, remaining=0, reset_after=55.0, reset_at=0, observed_at=0)
    delay = POLICY.delay(attempt=1, idempotent=True, error=api(429), rate_limit=info)
    assert delay is not None
    assert delay < 2.0


def test_bad_request_not_retried_even_for_verify() -> None:
    err = BadRequestError(status=400)
    assert POLICY.delay(attempt=1, idempotent=False, error=err) is None
