"""Bulk work across many apps: bounded concurrency, streaming outcomes, a resumable journal.

- :mod:`.outcomes`: what a job reports (outcomes, progress, the report, the ETA);
- :mod:`.journal`: the resumable JSONL journal;
- :mod:`.job`: :class:`BulkJob`, the runner;
- :mod:`.service`: :class:`BulkService`, ``client.bulk``.
"""

from .job import BulkJob
from .job import default_key as default_key
from .journal import (
    Journal,
    JournalError,
    JournalLockedError,
    JournalMismatchError,
    JournalWarning,
)
from .outcomes import (
    BulkReport,
    Changed,
    Outcome,
    OutcomeStatus,
    PlannedCall,
    Progress,
    ReadBackError,
    eta_seconds,
)
from .service import BulkService
from .service import connection_secrets as connection_secrets

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
