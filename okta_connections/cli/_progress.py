"""The live progress bar of bulk jobs, drawn on stderr when it is a terminal."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TextIO

from ..bulk.outcomes import Progress

__all__ = ["ProgressBar", "format_duration", "render_progress", "terminal_columns"]


def format_duration(seconds: float | None) -> str:
    """``75`` -> ``1m15s``; None -> ``?``."""
    if seconds is None:
        return "?"
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def render_progress(
    p: Progress, width: int = 80, *, now: float | None = None, bar_width: int | None = None
) -> str:
    """One line: bar, done/total, rate, ETA, failures and the rate-limit window.

    With ``bar_width`` the bar is exactly that wide whatever the rest says (a live bar keeps
    its width from frame to frame), and the fields that do not fit are left off from the
    end. Without it, the bar takes what the fields leave, up to 40.
    """
    total = p.total
    parts = _fields(p, now)
    if bar_width is not None:
        bar = ""
        if total and bar_width > 0:
            filled = min(bar_width, int(bar_width * p.done / total))
            bar = f"[{'#' * filled}{'.' * (bar_width - filled)}] "
        return (bar + _fit(parts, width - len(bar)))[:width]
    tail = "  ".join(parts)
    room = width - len(tail) - 4
    if room >= 10 and total:
        bar_width = min(room, 40)
        filled = min(bar_width, int(bar_width * p.done / total))
        return f"[{'#' * filled}{'.' * (bar_width - filled)}] {tail}"[:width]
    return tail[:width]


def _fields(p: Progress, now: float | None) -> list[str]:
    total = p.total
    parts = []
    if total:
        parts.append(f"{p.done}/{total} {100 * p.done // total:3d}%")  # 100% only at the end
    else:
        parts.append(f"{p.done}/?")
    parts.append(f"{p.rate:.0f}/s")
    if total:
        parts.append(f"ETA {format_duration(p.eta)}")
    if p.failed:
        parts.append(f"{p.failed} failed")
    if p.skipped:
        parts.append(f"{p.skipped} skipped")  # not in the rate: they made no requests
    rl = p.rate_limit
    if rl is not None:
        if rl.is_concurrency_signal:
            parts.append("rate limit: concurrency 429")
        else:
            reset = rl.resets_in(now)
            parts.append(f"rate limit {rl.remaining}/{rl.limit} left, resets {reset:.1f}s")
    return parts


def _fit(parts: list[str], room: int) -> str:
    """The fields, two spaces apart, as many as fit in ``room`` (the first one always)."""
    text = parts[0] if parts else ""
    for part in parts[1:]:
        if len(text) + 2 + len(part) > room:
            break
        text += "  " + part
    return text


def terminal_columns(stream: TextIO, fallback: int = 100) -> int:
    """The width of the terminal ``stream`` is on: ``$COLUMNS`` when set (as ``shutil``
    has it), else the stream's own terminal. Not stdout's: a bar on stderr keeps its width
    when stdout goes to a file."""
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return fallback


class ProgressBar:
    """Redraws one stderr line at most ``hz`` times a second; :meth:`close` ends the line.

    The bar stays on screen for the whole job. When stdout shares the terminal, the caller
    wraps each output line in :meth:`clear` and :meth:`redraw`, so the line lands above the
    bar and the bar comes straight back under it.

    Args:
        stream: A terminal (the caller checks ``isatty``).
        label: Shown before the bar, e.g. ``"activate"``.
        hz: Most redraws per second.
        clock: Monotonic time source.
    """

    def __init__(
        self,
        stream: TextIO,
        label: str = "",
        *,
        hz: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._label = label
        self._interval = 1.0 / hz
        self._clock = clock
        self._last = -1e9
        self._latest: Progress | None = None
        self._drawn = False

    def __call__(self, progress: Progress) -> None:
        """The ``on_progress`` callback of a bulk job."""
        self._latest = progress
        now = self._clock()
        finished = progress.total is not None and progress.done >= progress.total
        if finished or now - self._last >= self._interval:
            self._last = now
            self._draw(progress)

    def _draw(self, progress: Progress) -> None:
        # The width of stderr's terminal, where the bar is (not stdout's, which may be a
        # file). The bar's own width follows only the terminal's, never the fields beside it.
        width = max(40, terminal_columns(self._stream) - 1)
        label = f"{self._label} " if self._label else ""
        bar_width = max(10, min(40, (width - len(label)) // 3))
        line = label + render_progress(progress, width - len(label), bar_width=bar_width)
        self._stream.write("\r\x1b[2K" + line)
        self._stream.flush()
        self._drawn = True

    def clear(self) -> None:
        """Blank the line, so that a line of other output can be printed; then :meth:`redraw`."""
        if self._drawn:
            self._stream.write("\r\x1b[2K")
            self._stream.flush()
            self._drawn = False

    def redraw(self) -> None:
        """Draw the latest state again (after :meth:`clear` and a line of other output)."""
        if self._latest is not None and not self._drawn:
            self._draw(self._latest)

    def close(self) -> None:
        """Draw the final state and end the line."""
        if self._latest is not None:
            self._draw(self._latest)
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
            self._drawn = False
