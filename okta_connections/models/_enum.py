"""Lenient string enums: Okta adds values over time, and an unknown one must not crash a parse."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class LenientStrEnum(StrEnum):
    """A StrEnum that keeps unknown values instead of raising.

    ``Status("SUSPENDED")`` on an enum without that member returns a pseudo-member whose
    ``value`` is ``"SUSPENDED"`` and whose :attr:`is_known` is False. It compares equal to the
    string, so callers can still branch on it.
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        pseudo = str.__new__(cls, value)
        pseudo._name_ = value
        pseudo._value_ = value
        return pseudo

    @property
    def is_known(self) -> bool:
        """True when the value is one this SDK version knows."""
        return self._name_ in type(self).__members__
