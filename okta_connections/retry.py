"""Retry decisions as data: a policy looks at a failed attempt and answers a delay or stop.

Kept where users import it from; the code is in :mod:`okta_connections.pipeline.retry`.
"""

from .pipeline.retry import RETRYABLE_STATUSES, RetryPolicy

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy"]
