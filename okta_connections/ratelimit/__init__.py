"""Okta rate-limit headers: pure parsing, the bucket table, and the per-client state.

- :mod:`.headers`: the bucket table and the parsing of the X-Rate-Limit-* headers;
- :mod:`.pacer`: :class:`RateLimiter`, the per-client pacer;
- :mod:`.fleet`: :class:`~.fleet.Budget`, what the pacer asks of a budget it shares with
  other processes (``RateLimiter(fleet_budget=...)``);
- :mod:`.budget`: :class:`~.budget.SharedBudget`, one rate budget across processes on
  Redis, and :mod:`.shared`: the pacer that draws on it.
"""

from .headers import BUCKETS as BUCKETS
from .headers import RateLimitInfo, bucket_for, parse_rate_limit, retry_after_seconds
from .headers import header_values as header_values
from .pacer import PACING_MODES as PACING_MODES
from .pacer import RateLimiter

__all__ = [
    "RateLimitInfo",
    "RateLimiter",
    "bucket_for",
    "parse_rate_limit",
    "retry_after_seconds",
]
