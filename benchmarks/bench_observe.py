"""What observability costs per request (issue #16): tracing off, the API with no provider,
and a provider with an in-memory exporter; optionally against another checkout.

    python -m benchmarks.bench_observe                       # CPU per request, 3 rounds
    python -m benchmarks.bench_observe --callgrind           # instructions per request too
    python -m benchmarks.bench_observe --base /tmp/base      # adds rows for that checkout

Each row is a client process of its own (benchmarks/_observe_proc.py) running gathered
``connections.get`` calls, 50 in flight, against a FakeOkta in another process. CPU is the
client's ``getrusage`` over the calls. ``--callgrind`` runs each client under
``valgrind --tool=callgrind`` at two sizes; the difference of the instruction totals over
the difference of the sizes is the cost of one request, start-up excluded, and does not
move with the machine's noise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from ._harness import fake_org

PROC = str(Path(__file__).with_name("_observe_proc.py"))
MODES = ("off", "api", "sdk")


def _env(base: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if base is not None:
        env["PYTHONPATH"] = base + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_client(
    mode: str, url: str, token: str, n: int, ids: list[str], base: str | None
) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, PROC, mode, url, token, str(n), ",".join(ids)],
        capture_output=True,
        text=True,
        env=_env(base),
        check=True,
        timeout=600,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def instructions(mode: str, url: str, token: str, n: int, ids: list[str], base: str | None) -> int:
    out = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            PROC,
            mode,
            url,
            token,
            str(n),
            ",".join(ids),
        ],
        capture_output=True,
        text=True,
        env=_env(base),
        check=True,
        timeout=3600,
    )
    match = _COLLECTED.search(out.stderr)
    if match is None:
        raise RuntimeError(out.stderr[-2000:])
    return int(match.group(1))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--callgrind", action="store_true")
    parser.add_argument("--sizes", default="300,1200", help="two call counts for callgrind")
    parser.add_argument("--base", help="another checkout to compare (its rows use mode off)")
    args = parser.parse_args(argv)
    rows: list[tuple[str, str | None, str]] = [(m, None, m) for m in MODES]
    if args.base:
        rows.insert(0, ("off", args.base, "base (parent commit)"))
    with fake_org(apps=200) as fake:
        ids = [a[0] for a in fake.apps[:100]]
        cpu: dict[str, list[float]] = {label: [] for _, _, label in rows}
        spans: dict[str, int] = {}
        for _ in range(args.rounds):
            for mode, base, label in rows:  # interleaved: drift hits every row alike
                r = run_client(mode, fake.url, fake.token, args.calls, ids, base)
                assert r["failed"] == 0, r
                assert r["otel_imported"] == (mode != "off"), r
                cpu[label].append(r["cpu"] / args.calls * 1e6)
                spans[label] = r["spans"]
        counted: dict[str, float] = {}
        if args.callgrind:
            small, large = (int(s) for s in args.sizes.split(","))
            for mode, base, label in rows:
                a = instructions(mode, fake.url, fake.token, small, ids, base)
                b = instructions(mode, fake.url, fake.token, large, ids, base)
                counted[label] = (b - a) / (large - small)
    reference = statistics.median(cpu[rows[0][2]])
    print(f"{args.calls} gathered gets, 50 in flight, {args.rounds} interleaved rounds\n")
    head = "| telemetry | CPU µs/request (median) | rounds | vs first row | spans kept |"
    sep = "|---|---|---|---|---|"
    if counted:
        head += " instructions/request | vs first row |"
        sep += "---|---|"
    print(head)
    print(sep)
    first_count = counted.get(rows[0][2])
    for _, _, label in rows:
        med = statistics.median(cpu[label])
        line = (
            f"| {label} | {med:.1f} | {', '.join(f'{c:.0f}' for c in cpu[label])} "
            f"| {med / reference:.3f} | {spans[label]} |"
        )
        if counted:
            count = counted[label]
            line += f" {count / 1000:.1f} k | {count / first_count:.4f} |" if first_count else ""
        print(line)


if __name__ == "__main__":
    main()
