"""Okta-style rate limits for the fake org: fixed per-bucket windows, principal shares and
concurrency limits, all on an injectable clock.

Okta counts each bucket per org in fixed windows (reference §10) and caps each principal
(an API token or an OAuth service app) at a share of every bucket, 50% by default (§8.4,
§10 "Principal Rate Limits API"). Concurrency is capped per org, and principals get a
concurrency share likewise. A request is admitted only when its principal and the org
both have budget left.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Final, Literal, NamedTuple

import attrs

__all__ = [
    "EVENT_CLIENT_CONCURRENCY",
    "EVENT_CLIENT_RATE",
    "EVENT_ORG_CONCURRENCY",
    "EVENT_ORG_RATE",
    "EVENT_PRINCIPAL_CONCURRENCY",
    "EVENT_PRINCIPAL_RATE",
    "HeaderMode",
    "Limits",
    "RateState",
    "bucket_of",
    "check_share",
    "check_window",
]

HeaderMode = Literal["principal", "org"]

#: System Log event names, recorded on the refused request that caused them: a rate
#: event once per window, a concurrency event the first time each minute (not once per
#: refused request). Sources in docs/testing.md, "Rate limits".
EVENT_ORG_RATE: Final = "system.org.rate_limit.violation"
EVENT_ORG_CONCURRENCY: Final = "core.concurrency.org.limit.violation"
#: A principal (API token, OAuth service app) over its share (Okta Support, "429 Too
#: Many Requests").
EVENT_PRINCIPAL_RATE: Final = "system.operation.rate_limit.violation"
EVENT_PRINCIPAL_CONCURRENCY: Final = "system.operation.concurrency_limit.violation"
#: Okta documents these for per-client limits on ``/authorize``, which the fake does not
#: serve: kept for existing imports, never recorded.
EVENT_CLIENT_RATE: Final = "system.client.rate_limit.violation"
EVENT_CLIENT_CONCURRENCY: Final = "system.client.concurrency_rate_limit.violation"
#: Concurrency events are recorded at most once per this many seconds (whole minutes).
_CONCURRENCY_EVENT_PERIOD: Final = 60


def bucket_of(path: str) -> str:
    """The bucket of a path: ``apps`` for ``/api/v1/apps`` and below, else ``default``.

    All six connection operations, including ``/api/v1/apps/{appName}/{appId}/oauth2/
    callback``, share the ``/api/v1/apps*`` bucket (reference §8.3).
    """
    if path == "/api/v1/apps" or path.startswith("/api/v1/apps/"):
        return "apps"
    return "default"


class RateState(NamedTuple):
    """What a request sees of its bucket, for the ``X-Rate-Limit-*`` headers."""

    limit: int
    remaining: int
    reset: int
    exceeded: bool


def check_share(name: str, value: float) -> float:
    """A share: a fraction in (0, 1]."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise ValueError(f"{name} must be a fraction in (0, 1], not {value!r}")
    return float(value)


def check_window(window: float) -> int:
    """A window length in whole seconds (windows open and end on whole seconds)."""
    if (
        isinstance(window, bool)
        or not isinstance(window, int | float)
        or not window >= 1
        or window != int(window)
    ):
        raise ValueError(f"rate window must be a whole number of seconds >= 1, not {window!r}")
    return int(window)


def check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"rate limit must be an integer >= 0, not {limit!r}")
    return limit


def _share(value: float) -> float:
    return check_share("share", value)


@attrs.define
class _Window:
    start: int
    end: int
    count: int = 0
    by_principal: Counter[str] = attrs.field(factory=Counter)
    # Rate events already recorded in this window: (event, principal or None).
    logged: set[tuple[str, str | None]] = attrs.field(factory=set)


@attrs.define
class Admission:
    """The outcome of :meth:`Limits.admit`: headers to send and, if refused, why."""

    state: RateState
    refused: bool = False
    events: tuple[str, ...] = ()


@attrs.define
class Limits:
    """Rate and concurrency limits of one org, and the state of its windows.

    Attributes:
        limit: Requests per window in each bucket, for the whole org.
        window: Window length, whole seconds.
        enforce: Refuse requests past a ceiling (429); otherwise only the headers count.
        share: Default share of each bucket that one principal may use.
        concurrency: Requests in flight at once for the whole org; None: no limit.
        concurrency_share: Default share of ``concurrency`` one principal may use.
        headers: ``principal``: ``X-Rate-Limit-Limit`` is the principal's ceiling and
            ``-Remaining`` what is left of it (or of the org's, when less); ``org``: both
            show the org's bucket.
        shares: Per-principal overrides: principal key -> (share, concurrency share),
            None meaning the default.
    """

    limit: int = attrs.field(converter=check_limit)
    window: int = attrs.field(converter=check_window)
    enforce: bool = True
    share: float = attrs.field(default=1.0, converter=_share)
    concurrency: int | None = None
    concurrency_share: float = attrs.field(default=1.0, converter=_share)
    headers: HeaderMode = "principal"
    shares: dict[str, tuple[float | None, float | None]] = attrs.field(factory=dict)
    windows: dict[str, _Window] = attrs.field(factory=dict)
    in_flight: int = 0
    in_flight_by: Counter[str] = attrs.field(factory=Counter)
    # Concurrency events: (event, principal or None) -> the minute last recorded.
    concurrency_logged: dict[tuple[str, str | None], int] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        self.set_headers(self.headers)
        self.set_concurrency(self.concurrency)

    # ------------------------------------------------------------------ configuration

    def configure(self, limit: int, window: float) -> None:
        """Set the limit and window length; open windows are discarded."""
        self.limit = check_limit(limit)
        self.window = check_window(window)
        self.windows.clear()

    def set_headers(self, mode: str) -> None:
        if mode not in ("principal", "org"):
            raise ValueError(f"rate_limit_headers must be 'principal' or 'org', not {mode!r}")
        self.headers = mode  # type: ignore[assignment]  # checked just above

    def set_concurrency(self, limit: int | None) -> None:
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise ValueError(f"concurrency limit must be an integer >= 1 or None, not {limit!r}")
        self.concurrency = limit

    def set_share(self, key: str, share: float | None, concurrency_share: float | None) -> None:
        """Override one principal's shares (None: the org default)."""
        self.shares[key] = (
            None if share is None else check_share("share", share),
            None
            if concurrency_share is None
            else check_share("concurrency share", concurrency_share),
        )

    def share_of(self, key: str | None) -> float:
        if key is None:
            return 1.0
        own = self.shares.get(key, (None, None))[0]
        return self.share if own is None else own

    def ceiling(self, key: str | None) -> int:
        """The principal's ceiling per window: its share of the limit, at least 1."""
        share = self.share_of(key)
        if share >= 1 or self.limit == 0:
            return self.limit
        return max(1, math.floor(self.limit * share))

    def concurrency_ceiling(self, key: str | None) -> int | None:
        if self.concurrency is None:
            return None
        if key is None:
            return self.concurrency
        own = self.shares.get(key, (None, None))[1]
        share = self.concurrency_share if own is None else own
        return max(1, math.floor(self.concurrency * share))

    # ------------------------------------------------------------------ requests

    def _window(self, bucket: str, now: float) -> _Window:
        win = self.windows.get(bucket)
        # A clock stepped backwards past the window start also opens a new window, so a
        # skewed test clock never leaves a bucket stuck. Windows open on whole seconds.
        if win is None or now >= win.end or now < win.start:
            start = math.floor(now)
            win = self.windows[bucket] = _Window(start, start + self.window)
        return win

    def peek(self, bucket: str, key: str | None, now: float) -> RateState:
        """The bucket's state as this principal would see it, without counting."""
        return self._state(self._window(bucket, now), key, exceeded=False)

    def _state(self, win: _Window, key: str | None, *, exceeded: bool) -> RateState:
        org_left = max(self.limit - win.count, 0)
        if self.headers == "org" or key is None:
            return RateState(self.limit, org_left, win.end, exceeded)
        ceiling = self.ceiling(key)
        own_left = max(ceiling - win.by_principal[key], 0)
        return RateState(ceiling, min(own_left, org_left), win.end, exceeded)

    def admit(self, bucket: str, key: str | None, now: float) -> Admission:
        """Count one request of principal ``key`` (None: not authenticated) in ``bucket``.

        A request past the principal's ceiling counts against the principal only; one
        past the org's limit counts against both (a 429 does not give the budget back).
        """
        win = self._window(bucket, now)
        violation: tuple[str, str | None] | None = None
        if key is not None:
            win.by_principal[key] += 1
            ceiling = self.ceiling(key)
            # At a full share the org's bucket is the ceiling: that is an org violation.
            if ceiling < self.limit and win.by_principal[key] > ceiling:
                violation = (EVENT_PRINCIPAL_RATE, key)
        if violation is None:
            win.count += 1
            if win.count > self.limit:
                violation = (EVENT_ORG_RATE, None)
        events: tuple[str, ...] = ()
        if violation is not None and violation not in win.logged:
            # Once per window, on the first request refused in it.
            win.logged.add(violation)
            events = (violation[0],)
        exceeded = violation is not None
        refused = exceeded and self.enforce
        return Admission(self._state(win, key, exceeded=exceeded), refused, events)

    def enter(self, key: str | None, now: float) -> Admission | None:
        """Take an in-flight slot; an :class:`Admission` refusing it when none is free.

        A refused request does not count against the rate budget (the reference does not
        say that it does) and holds no slot.
        """
        limit = self.concurrency
        if limit is not None:
            violation: tuple[str, str | None] | None = None
            if self.in_flight >= limit:
                violation = (EVENT_ORG_CONCURRENCY, None)
            elif key is not None:
                own = self.concurrency_ceiling(key)
                if own is not None and self.in_flight_by[key] >= own:
                    violation = (EVENT_PRINCIPAL_CONCURRENCY, key)
            if violation is not None:
                # Concurrency 429s report Limit = Remaining = 0 and an estimated reset.
                state = RateState(limit=0, remaining=0, reset=math.floor(now) + 1, exceeded=True)
                # The first each minute (whole minutes of the clock), not every refusal.
                minute = math.floor(now / _CONCURRENCY_EVENT_PERIOD)
                first = self.concurrency_logged.get(violation) != minute
                if first:
                    self.concurrency_logged[violation] = minute
                return Admission(state, True, (violation[0],) if first else ())
        self.in_flight += 1
        if key is not None:
            self.in_flight_by[key] += 1
        return None

    def leave(self, key: str | None) -> None:
        self.in_flight -= 1
        if key is not None:
            self.in_flight_by[key] -= 1
            if self.in_flight_by[key] <= 0:
                del self.in_flight_by[key]
