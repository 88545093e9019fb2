"""What a bulk job reports: each item's outcome, progress snapshots, the job's counts.

Every item ends in exactly one outcome: succeeded, failed (with its error), skipped (the
journal says it was already done), cancelled (it was in flight when the job was stopped),
or planned (dry run). Items never pulled from the source because the job was cancelled
are counted as not started. The report accounts for every one.
"""

from __future__ import annotations

import math
from collections import Counter
from enum import StrEnum
from typing import Any, Generic, TypeVar

import attrs

from ..errors import ApiError, OktaError
from ..ratelimit.headers import RateLimitInfo

__all__ = [
    "BulkReport",
    "Changed",
    "Outcome",
    "OutcomeStatus",
    "PlannedCall",
    "Progress",
    "ReadBackError",
    "eta_seconds",
    "stopped_reason",
]

T = TypeVar("T")


class OutcomeStatus(StrEnum):
    """How an item ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    PLANNED = "planned"


@attrs.frozen
class Changed(Generic[T]):
    """What an idempotent convenience returns: the result, and whether anything changed.

    ``changed=False`` means the app was already in the wanted state and nothing was sent
    beyond the read.
    """

    value: T
    changed: bool


@attrs.frozen
class PlannedCall:
    """A dry run's description of the calls one item would make (bodies are never shown)."""

    calls: tuple[str, ...]


@attrs.frozen
class Outcome(Generic[T]):
    """The end of one item.

    Attributes:
        key: The app id the item is about.
        item: The item as the source gave it.
        status: succeeded, failed, cancelled, skipped or planned.
        result: The operation's return value (succeeded), or a PlannedCall (dry run).
        error: The exception (failed, cancelled), typed from :mod:`okta_connections.errors`.
        attempts: HTTP attempts made for the item, retries included.
        duration: Seconds the item took.
        changed: For idempotent conveniences: False when the app was already in the wanted
            state, True when it was changed; None otherwise.
        previous: For skipped items: the status the journal recorded.
    """

    key: str
    item: Any = attrs.field(repr=False)
    status: OutcomeStatus
    result: T | None = None
    error: BaseException | None = None
    attempts: int = 0
    duration: float = 0.0
    changed: bool | None = None
    previous: str | None = None

    @property
    def ok(self) -> bool:
        """True for succeeded (and skipped-because-already-succeeded) items."""
        return self.status is OutcomeStatus.SUCCEEDED or (
            self.status is OutcomeStatus.SKIPPED and self.previous == OutcomeStatus.SUCCEEDED
        )

    @property
    def error_code(self) -> str | None:
        """Okta's errorCode for API errors, else the error's class name; None without error."""
        if self.error is None:
            return None
        if isinstance(self.error, ApiError) and self.error.error_code:
            return self.error.error_code
        if isinstance(self.error, ApiError):
            return f"HTTP {self.error.status}"
        return type(self.error).__name__


@attrs.frozen
class Progress:
    """A progress snapshot, given to the ``on_progress`` callback after every outcome.

    Attributes:
        done: Items that have ended (any status).
        total: Items in the job, when the source has a length or ``total=`` was given.
        succeeded: Items that succeeded.
        failed: Items that failed.
        elapsed: Seconds since the job started.
        rate: Items that made requests and ran to their end, per second (skipped,
            planned and cancelled items excluded).
        eta: Estimated seconds left, when ``total`` is known: from the rate-limit
            schedule (see :func:`eta_seconds`), not from the rate so far alone.
        rate_limit: The client's latest ``apps`` rate-limit window.
        skipped: Items skipped because the journal recorded them.
    """

    done: int
    total: int | None
    succeeded: int
    failed: int
    elapsed: float
    rate: float
    eta: float | None
    rate_limit: RateLimitInfo | None
    skipped: int = 0


@attrs.define
class BulkReport:
    """Counts for a whole job. ``accounted`` equals the items the job pulled.

    ``skipped`` is split in two: ``skipped_done`` (the journal recorded a success) and
    ``skipped_failed`` (it recorded a failure, and the job was not told to retry
    failures). A job with skipped failures did not succeeded as a whole.
    """

    succeeded: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    failed_by_code: Counter[str] = attrs.field(factory=Counter)
    cancelled: int = 0
    skipped: int = 0
    skipped_done: int = 0
    skipped_failed: int = 0
    planned: int = 0
    not_started: int | None = 0
    elapsed: float = 0.0
    #: The error that stopped the job early because the credentials were refused for the
    #: whole org (see :class:`~okta_connections.bulk.BulkJob`'s ``stop_on_auth_failure``);
    #: None when the job was not stopped for it.
    stopped_by: BaseException | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def accounted(self) -> int:
        """Items that reached an outcome (not counting not_started)."""
        return self.succeeded + self.failed + self.cancelled + self.skipped + self.planned

    @property
    def all_succeeded(self) -> bool:
        """True when nothing failed (now or earlier), was cancelled, or was left unstarted."""
        return not (self.failed or self.skipped_failed or self.cancelled or self.not_started)

    def add(self, outcome: Outcome[Any]) -> None:
        status = outcome.status
        if status is OutcomeStatus.SUCCEEDED:
            self.succeeded += 1
            if outcome.changed is True:
                self.changed += 1
            elif outcome.changed is False:
                self.unchanged += 1
        elif status is OutcomeStatus.FAILED:
            self.failed += 1
            self.failed_by_code[outcome.error_code or "unknown"] += 1
        elif status is OutcomeStatus.CANCELLED:
            self.cancelled += 1
        elif status is OutcomeStatus.SKIPPED:
            self.skipped += 1
            if outcome.previous == OutcomeStatus.FAILED:
                self.skipped_failed += 1
            else:
                self.skipped_done += 1
        else:
            self.planned += 1

    def summary(self) -> str:
        """One human-readable line."""
        succeeded = f"{self.succeeded} succeeded"
        if self.changed or self.unchanged:
            succeeded += f" ({self.changed} changed, {self.unchanged} already in that state)"
        parts = [succeeded]
        failed = f"{self.failed} failed"
        if self.failed_by_code:
            failed += (
                " (" + ", ".join(f"{c}: {n}" for c, n in self.failed_by_code.most_common()) + ")"
            )
        parts.append(failed)
        skipped = f"{self.skipped} skipped"
        if self.skipped:
            skipped += f" ({self.skipped_done} done earlier, {self.skipped_failed} failed earlier)"
        parts.append(skipped)
        if self.planned:
            parts.append(f"{self.planned} planned")
        parts.append(f"{self.cancelled} cancelled")
        parts.append(f"{self.not_started if self.not_started is not None else '?'} not started")
        line = ", ".join(parts) + f" in {self.elapsed:.1f}s"
        if self.stopped_by is not None:
            line += f"; stopped: {stopped_reason(self.stopped_by)}"
        return line


def stopped_reason(error: BaseException) -> str:
    """Why a job stopped early on refused credentials, in a few words."""
    code = getattr(error, "error_code", None) or getattr(error, "error", None)
    status = getattr(error, "status", None)
    what = " ".join(str(x) for x in (status, code) if x)
    refused = "forbidden" if status == 403 else "refused"
    return f"the credentials were {refused} ({what or type(error).__name__})"


class ReadBackError(OktaError):
    """An update was accepted, but the connection Okta returned differs from what was set.

    Attributes:
        field: The field that differs: ``auth_scheme``, ``base_url``, ``client_id``,
            ``rotation_mode`` or ``status``.
        expected: What the job set.
        actual: What Okta has.
    """

    def __init__(self, app_id: str, field: str, expected: Any, actual: Any) -> None:
        super().__init__(
            f"read-back of {app_id}: {field} is {actual!r}, but the update set {expected!r}"
        )
        self.app_id = app_id
        self.field = field
        self.expected = expected
        self.actual = actual


def eta_seconds(
    items_left: int,
    rate_limit: RateLimitInfo | None,
    *,
    rate: float = 0.0,
    requests_per_item: float = 1.0,
    max_capacity: float = 1.0,
    window: float | None = 60.0,
    now: float | None = None,
    pacing: str = "smooth",
) -> float | None:
    """Seconds until ``items_left`` items are done, from the rate-limit schedule.

    ``window`` is the length of the rate-limit window in seconds (60 for Okta's per-minute
    limits; a bulk job passes the length its rate limiter learned from the headers, and
    None when none is known yet, which leaves the job's rate to decide). The items that
    fit in this window's remaining budget go in it; every item beyond it costs whole
    windows of ``limit * max_capacity`` requests each. With ``pacing="smooth"`` the budget
    is spread over the time left in each window, so the last window counts whole; with
    ``pacing="burst"`` (the client's default) a window's requests go at its start, so the
    job ends at the opening of its last window, and what fits in this window goes now.
    When the rate limit is not what binds (no window seen yet, a concurrency 429, or a
    limit so high that the job's own speed decides), the job's rate so far (``rate``,
    items a second, skipped ones excluded) is the floor. None when neither is known.

    This is the one place the ETA is computed: point it at the pacer's own schedule when
    the pacer can tell one.
    """
    if items_left <= 0:
        return 0.0
    by_rate = items_left / rate if rate > 0 else None
    if (
        rate_limit is None
        or rate_limit.is_concurrency_signal
        or rate_limit.limit <= 0
        or window is None
        or window <= 0
    ):
        return by_rate
    needed = items_left * max(requests_per_item, 1e-9)
    resets_in = rate_limit.resets_in(now)
    remaining = max(0, rate_limit.remaining)
    per_window = max(1.0, rate_limit.limit * max_capacity)
    burst = pacing == "burst"
    if needed <= remaining:
        scheduled = 0.0 if burst else (resets_in * needed / remaining if remaining else 0.0)
    else:
        windows = math.ceil((needed - remaining) / per_window)
        scheduled = resets_in + (windows - 1 if burst else windows) * window
    return scheduled if by_rate is None else max(scheduled, by_rate)
