"""Shared benchmark plumbing: a fake org in a subprocess, CPU and wall clocks."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import attrs


@attrs.define
class FakeProc:
    url: str
    token: str
    apps: list[tuple[str, str]]
    proc: subprocess.Popen[str]
    stats: dict[str, Any] = attrs.field(factory=dict)


@contextmanager
def fake_org(**kwargs: Any) -> Iterator[FakeProc]:
    """A FakeOkta(**kwargs) in a child process; ``stats`` is filled in on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._fake_proc", json.dumps(kwargs)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdin is not None
    first = json.loads(proc.stdout.readline())
    fake = FakeProc(
        url=first["url"],
        token=first["token"],
        apps=[(a[0], a[1]) for a in first["apps"]],
        proc=proc,
    )
    try:
        yield fake
    finally:
        proc.stdin.close()
        line = proc.stdout.readline()
        fake.stats = json.loads(line) if line else {}
        proc.wait(timeout=30)


def cpu_seconds() -> float:
    """User + system CPU of this process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def measured() -> Iterator[dict[str, float]]:
    """Wall and CPU seconds of the block."""
    out: dict[str, float] = {}
    wall, cpu = time.perf_counter(), cpu_seconds()
    try:
        yield out
    finally:
        out["wall"] = time.perf_counter() - wall
        out["cpu"] = cpu_seconds() - cpu


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """A plain Markdown table."""

    def fmt(v: Any) -> str:
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(fmt(row.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)
