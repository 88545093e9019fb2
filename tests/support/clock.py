"""Injected time for the OAuth tests: a settable wall clock, and a sleep that records."""

from __future__ import annotations

import time


class Clock:
    """A settable wall clock shared by the strategy and the server."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class Sleeps(list[float]):
    """An injected sleep that records the delays and returns at once."""

    async def __call__(self, delay: float) -> None:
        self.append(delay)
