"""Retry decisions as data: a policy looks at a failed attempt and answers a delay or stop.

The session does the sleeping (through :attr:`RetryPolicy.sleep`) and the jitter comes from
:attr:`RetryPolicy.random`, so tests can make both deterministic.
"""

from __future__ import annotations

import asyncio
import random as _random
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from ..errors import (
    ApiError,
    ConfigurationError,
    OktaError,
    OktaTimeoutError,
    ResponseTooLargeError,
    TransportError,
)
from ..ratelimit.headers import RateLimitInfo, retry_after_seconds

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy"]

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


def _at_least(minimum: float) -> Callable[[object, attrs.Attribute[Any], Any], None]:
    def check(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise ConfigurationError(f"retry.{attribute.name}", f"must be >= {minimum}")

    return check


@attrs.frozen
class RetryPolicy:
    """When and how long to wait before retrying a failed attempt.

    Idempotent operations (get, update, activate, deactivate, get_jwks) are retried on 429,
    500, 502, 503 and 504, on connection errors and on per-attempt timeouts. ``verify`` uses
    a single-use code, so it is retried only when the request cannot have reached Okta: a
    failed connect, or a 429 (Okta refused it before processing).

    Waits use exponential backoff with full jitter, except that ``Retry-After`` is honoured
    when present, and a rate-limit 429 waits for the window's reset (measured against the
    response's ``Date``). A concurrency 429 (limit and remaining both 0) is retried soon,
    with jitter, not at the reset. A body over ``max_response_bytes`` is never retried.

    The client has two policies: ``retry`` for API calls and ``token_retry`` for requests
    to the OAuth token endpoint (:meth:`for_token_requests`), which run through the same
    pipeline, paced in the ``oauth2-token`` bucket.

    Args:
        max_attempts: Attempts per call, the first included (default 4). 1 disables retries.
        backoff_base: First backoff ceiling in seconds; doubles per attempt.
        backoff_max: Largest backoff ceiling in seconds.
        max_rate_limit_wait: Longest wait for a rate-limit reset; a longer one gives up
            and raises the 429.
        statuses: HTTP statuses retried for idempotent operations.
        random: Returns a float in [0, 1); injectable for deterministic tests.
        sleep: The async sleep used between attempts; injectable for fast tests.
        deadline: Seconds one call may take across its attempts, when shorter than the
            client's ``Timeouts.deadline``; None (the default for API calls) leaves that.
    """

    max_attempts: int = attrs.field(default=4, validator=_at_least(1))
    backoff_base: float = attrs.field(default=0.5, validator=_at_least(0))
    backoff_max: float = attrs.field(default=20.0, validator=_at_least(0))
    max_rate_limit_wait: float = attrs.field(default=75.0, validator=_at_least(0))
    statuses: frozenset[int] = RETRYABLE_STATUSES
    random: Callable[[], float] = attrs.field(default=_random.random, repr=False)
    sleep: Callable[[float], Awaitable[None]] = attrs.field(default=asyncio.sleep, repr=False)
    deadline: float | None = attrs.field(default=None)

    @deadline.validator
    def _check_deadline(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            _at_least(0.001)(self, attribute, value)

    @classmethod
    def never(cls) -> RetryPolicy:
        """A policy that makes exactly one attempt."""
        return cls(max_attempts=1)

    @classmethod
    def for_token_requests(cls, **changes: Any) -> RetryPolicy:
        """The default policy of token requests: 4 attempts, backoff up to 10 s, a 60 s
        deadline, and no wait for a rate-limit reset longer than 60 s.

        A refresh shared by many calls runs under this deadline; each waiting call stops
        waiting at its own call's deadline.
        """
        base = {"backoff_max": 10.0, "max_rate_limit_wait": 60.0, "deadline": 60.0}
        return cls(**{**base, **changes})

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff after ``attempt`` (1-based) failed attempts."""
        ceiling = min(self.backoff_max, self.backoff_base * (2.0 ** (attempt - 1)))
        return float(self.random()) * ceiling

    def delay(
        self,
        *,
        attempt: int,
        idempotent: bool,
        error: OktaError,
        rate_limit: RateLimitInfo | None = None,
    ) -> float | None:
        """Seconds to wait before the next attempt, or None to stop and raise ``error``.

        Args:
            attempt: How many attempts have been made so far (1 after the first failure).
            idempotent: Whether the operation may be repeated safely.
            error: What the attempt failed with.
            rate_limit: The rate-limit headers of the failed response, if any.
        """
        if attempt >= self.max_attempts:
            return None
        if isinstance(error, TransportError):
            if isinstance(error, OktaTimeoutError) and error.phase == "deadline":
                return None
            if isinstance(error, ResponseTooLargeError):
                return None
            if error.request_sent and not idempotent:
                return None
            return self.backoff(attempt)
        if not isinstance(error, ApiError):
            return None
        if error.status == 429:
            return self._rate_limited(attempt, error, rate_limit)
        if error.status in self.statuses and idempotent:
            hinted = retry_after_seconds(error.headers)
            return hinted if hinted is not None else self.backoff(attempt)
        return None

    def decide(
        self,
        *,
        attempt: int,
        idempotent: bool,
        error: OktaError,
        rate_limit: RateLimitInfo | None = None,
        now: float,
        deadline: float,
        window_end: float | None = None,
    ) -> float | None:
        """:meth:`delay`, within the call's limits: the pipeline's retry decision.

        A rate-limit 429 waits no longer than ``window_end`` (the pacer knows the
        window's end better than ``Reset - Date``, in whole seconds, and the next attempt
        waits for the pacer anyway); and a wait that would reach the call's ``deadline``
        gives up instead.

        Args:
            attempt, idempotent, error, rate_limit: as for :meth:`delay`.
            now: The loop's time.
            deadline: The loop's time at which the call's deadline runs out.
            window_end: The pacer's end of the bucket's window (loop time), if known.
        """
        delay = self.delay(
            attempt=attempt, idempotent=idempotent, error=error, rate_limit=rate_limit
        )
        if delay is None:
            return None
        if (
            window_end
            and rate_limit is not None
            and not rate_limit.is_concurrency_signal
            and isinstance(error, ApiError)
            and error.status == 429
        ):
            delay = min(delay, max(0.0, window_end - now))
        return None if now + delay >= deadline else delay

    def _rate_limited(
        self, attempt: int, error: ApiError, rate_limit: RateLimitInfo | None
    ) -> float | None:
        hinted = retry_after_seconds(error.headers)
        if hinted is not None:
            wait = hinted
        elif rate_limit is None or rate_limit.is_concurrency_signal:
            # Too many requests in flight: come back soon, spread out; not at the reset.
            return min(self.backoff_max, 0.1 + self.backoff(attempt))
        else:
            # Wake just after the reset, spread out so that waiters do not stampede.
            wait = rate_limit.reset_after + 0.05 + 0.25 * self.random()
        return wait if wait <= self.max_rate_limit_wait else None
