"""Wait for a condition, not for the clock: what a test waits on is what it needs.

Both poll ``condition`` every few milliseconds and fail with ``what`` when ``timeout``
passes: a loose upper bound (30 s by default) that only a hung test reaches.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable

POLL = 0.01


async def until(condition: Callable[[], object], *, what: str, timeout: float = 30.0) -> None:
    """Return once ``condition()`` (or what it returns, awaited) is true, yielding to the
    event loop in between."""
    deadline = time.monotonic() + timeout
    while True:
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(POLL)


def wait_until(condition: Callable[[], object], *, what: str, timeout: float = 30.0) -> None:
    """As :func:`until`, for a test without an event loop (it blocks the thread)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(POLL)


__all__ = ["until", "wait_until"]
