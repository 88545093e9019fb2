"""Bulk work across many apps: bounded concurrency, streaming outcomes, a resumable journal."""

from .job import (
    BulkJob,
    BulkReport,
    BulkService,
    Changed,
    Journal,
    JournalError,
    JournalLockedError,
    JournalMismatchError,
    JournalWarning,
    Outcome,
    OutcomeStatus,
    PlannedCall,
    Progress,
    ReadBackError,
    eta_seconds,
)
from .job import connection_secrets as connection_secrets
from .job import default_key as default_key

__all__ = [
    "BulkJob",
    "BulkService",
    "BulkReport",
    "Changed",
    "Journal",
    "JournalError",
    "JournalLockedError",
    "JournalMismatchError",
    "JournalWarning",
    "Outcome",
    "OutcomeStatus",
    "PlannedCall",
    "Progress",
    "ReadBackError",
    "eta_seconds",
]
