"""Fault injection for FakeOkta, one mechanism for every route: scripted failures per app
and operation (``fail``, ``fail_next``, the OAuth server's ``fail_next``), and random 5xx,
dropped connections, slow and malformed answers."""

from __future__ import annotations

import random
from collections import Counter

import attrs

__all__ = ["FaultPlan", "ScriptedFault", "check_fault_args"]

RANDOM_5XX = (500, 502, 503, 504)


@attrs.define
class ScriptedFault:
    """``app_id`` fails ``operation`` with ``status`` for the next ``remaining`` requests.

    ``error_code`` and ``error_summary`` shape an Okta error body (defaults by status);
    ``oauth_error`` the ``{error, error_description}`` body of the token endpoint.
    ``headers`` are added to the response (e.g. ``Retry-After``). ``reset_in``: a 429's
    ``X-Rate-Limit-Reset`` is that many seconds after the request's whole second (None:
    the next whole second).
    """

    app_id: str | None
    operation: str | None
    status: int
    remaining: int
    error_code: str | None = None
    error_summary: str | None = None
    oauth_error: str | None = None
    headers: dict[str, str] = attrs.field(factory=dict)
    reset_in: int | None = None

    def matches(self, app_id: str | None, operation: str | None) -> bool:
        return (self.app_id is None or self.app_id == app_id) and (
            self.operation is None or self.operation == operation
        )


def _whole(name: str, value: object, minimum: int, hint: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {value!r}{hint}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, not {value!r}{hint}")


def check_fault_args(
    *,
    status: object,
    times: object,
    operations: frozenset[str],
    operation: object = None,
    app_id: object = None,
    reset_in: object = None,
    texts: dict[str, object] | None = None,
) -> None:
    """Validate a scripted fault's arguments where they are given, in the caller's thread.

    Raises:
        TypeError: An argument of the wrong type (``times=None`` included).
        ValueError: A status outside 400-599, ``times`` < 1, an unknown operation.
    """
    forever = "; to fail for ever, pass times=sys.maxsize"
    if isinstance(status, bool) or not isinstance(status, int):
        raise TypeError(f"status must be an int, not {status!r}")
    if not 400 <= status <= 599:
        raise ValueError(f"status must be 400-599, not {status!r}")
    _whole("times", times, 1, forever)
    if reset_in is not None:
        _whole("reset_in", reset_in, 1)
    if operation is not None:
        if not isinstance(operation, str):
            raise TypeError(f"operation must be a str or None, not {operation!r}")
        if operation not in operations:
            raise ValueError(
                f"operation must be one of {', '.join(sorted(operations))} or None, "
                f"not {operation!r}"
            )
    if app_id is not None and not isinstance(app_id, str):
        raise TypeError(f"app_id must be a str or None, not {app_id!r}")
    for name, value in (texts or {}).items():
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name} must be a str or None, not {value!r}")


def _rate(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"{attribute.name} must be a fraction from 0 to 1, not {value!r}")


@attrs.define
class FaultPlan:
    """What goes wrong, how often. Rates are fractions of authenticated API requests.

    Attributes:
        error_rate: Answered with a random 500/502/503/504 before anything changes.
        drop_rate: Handled (state changes), then the connection is closed without a
            response: the client cannot know whether it worked.
        slow_rate: Held for ``slow_seconds`` before being handled.
        slow_seconds: How long a slow request waits.
        malformed_rate: A 200 whose JSON body is cut short.
        counts: What was injected so far, by kind: ``5xx``, ``dropped``, ``slow``,
            ``malformed``, ``scripted``.
    """

    error_rate: float = attrs.field(default=0.0, validator=_rate)
    drop_rate: float = attrs.field(default=0.0, validator=_rate)
    slow_rate: float = attrs.field(default=0.0, validator=_rate)
    slow_seconds: float = 2.0
    malformed_rate: float = attrs.field(default=0.0, validator=_rate)
    scripted: list[ScriptedFault] = attrs.field(factory=list)
    counts: Counter[str] = attrs.field(factory=Counter)
    rng: random.Random = attrs.field(factory=random.Random, repr=False)

    def script(self, fault: ScriptedFault) -> None:
        """Add a scripted fault; faults match in the order they were added."""
        if not 400 <= fault.status <= 599:
            raise ValueError(f"status must be 400-599, not {fault.status}")
        if fault.remaining < 1:
            raise ValueError("times must be >= 1")
        self.scripted.append(fault)

    def take(self, app_id: str | None, operation: str | None) -> ScriptedFault | None:
        """The first scripted fault matching this request, consuming one use."""
        for fault in self.scripted:
            if fault.matches(app_id, operation):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.scripted.remove(fault)
                self.counts["scripted"] += 1
                return fault
        return None

    def random_5xx(self) -> int | None:
        if self.error_rate and self.rng.random() < self.error_rate:
            self.counts["5xx"] += 1
            return self.rng.choice(RANDOM_5XX)
        return None

    def roll(self, kind: str, rate: float) -> bool:
        if rate and self.rng.random() < rate:
            self.counts[kind] += 1
            return True
        return False
