"""Client settings that are plain data: timeouts."""

from __future__ import annotations

import math
from typing import Any

import attrs

from .errors import ConfigurationError

__all__ = ["Timeouts"]


def _positive(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(
            f"timeouts.{attribute.name}", f"must be a number of seconds, not {value!r}"
        )
    if not math.isfinite(value) or value <= 0:
        raise ConfigurationError(
            f"timeouts.{attribute.name}",
            f"must be a positive, finite number of seconds (got {value!r}); "
            "'no timeout' is not offered because a hung server would hang the caller",
        )


@attrs.frozen
class Timeouts:
    """Timeouts, in seconds. None of them can be disabled.

    Args:
        connect: Establishing the TCP/TLS connection.
        total: One attempt, from sending the request to reading the whole body.
        deadline: One call, across all its attempts and the waits between them.

    Example:
        >>> Timeouts(connect=5, total=30)
        Timeouts(connect=5, total=30, deadline=180.0)
    """

    connect: float = attrs.field(default=10.0, validator=_positive)
    total: float = attrs.field(default=60.0, validator=_positive)
    deadline: float = attrs.field(default=180.0, validator=_positive)

    @classmethod
    def coerce(cls, value: Timeouts | float | None, base: Timeouts) -> Timeouts:
        """A per-call override: a Timeouts, a number (the per-attempt total), or None."""
        if value is None:
            return base
        if isinstance(value, Timeouts):
            return value
        return attrs.evolve(base, total=value)
