"""Bulk throughput, memory and kill-and-resume, side by side in one run.

    python -m benchmarks.bench_bulk                  # all three
    python -m benchmarks.bench_bulk throughput       # or one: throughput | memory | resume

Throughput: 5,000 gets, 50 in flight, no rate limit, each run against a fresh fake org in
its own process (so the CPU measured is the client's alone), five interleaved runs per
client, medians reported. The apps have token connections: okta 3.4.6 cannot parse OAUTH2
ones. Memory: a bulk activate over 10,000 and 100,000 app ids from a generator, each in a
fresh process, peak RSS. Resume: a job is SIGKILLed mid-way, then rerun with the same
journal.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import clients
from ._harness import fake_org, measured, table

THROUGHPUT_N = 5_000
IN_FLIGHT = 50
UNLIMITED = {"rate_limit": 10_000_000, "rate_window": 60.0, "enforce_rate_limit": False}


def throughput(which: list[str], rounds: int = 5) -> list[dict[str, Any]]:
    """Each client ``rounds`` times, interleaved, each run against a fresh fake org; the
    row of a client holds its medians (a shared 2-core machine is noisy)."""
    runs: dict[str, list[dict[str, float]]] = {client: [] for client in which}
    for _ in range(rounds):
        for client in which:
            with fake_org(apps=0, token_apps=1000, **UNLIMITED) as fake:
                ids = [fake.apps[i % len(fake.apps)][0] for i in range(THROUGHPUT_N)]
                func = getattr(clients, client)
                with measured() as m:
                    result = asyncio.run(func(fake.url, fake.token, "get", ids, IN_FLIGHT))
            runs[client].append({**m, "succeeded": result["succeeded"]})
    rows = []
    for client, measured_runs in runs.items():
        wall = statistics.median(r["wall"] for r in measured_runs)
        cpu = statistics.median(r["cpu"] for r in measured_runs)
        rows.append(
            {
                "client": client,
                "requests": THROUGHPUT_N,
                "runs": rounds,
                "wall s": wall,
                "req/s": THROUGHPUT_N / wall,
                "CPU s per 1k": cpu / THROUGHPUT_N * 1000,
                "succeeded": min(int(r["succeeded"]) for r in measured_runs),
            }
        )
    floor = next((r for r in rows if r["client"] == "bare"), None)
    off = next((r for r in rows if r["client"] == "official"), None)
    for row in rows:
        if floor:
            row["CPU vs bare"] = row["CPU s per 1k"] / floor["CPU s per 1k"]
        if off:
            row["req/s vs official"] = row["req/s"] / off["req/s"]
    return rows


MEMORY_CHILD = """
import asyncio, json, resource, sys
from okta_connections import OktaClient, SSWSToken

def peak_mb():
    # VmHWM is this process image's own peak; ru_maxrss would report the parent's
    # RSS at fork time, which Linux carries across exec.
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

async def main(url, token, n, ids):
    def source():
        for i in range(n):
            yield ids[i % len(ids)]
    async with OktaClient(url, auth=SSWSToken(token)) as okta:
        await okta.connections.get(ids[0])  # imports, session and pool warmed up
        before = peak_mb()
        report = await okta.bulk.activate(source(), concurrency=50).run()
    print(json.dumps({"n": n, "succeeded": report.succeeded, "failed": report.failed,
                      "peak RSS before job MB": before, "peak RSS MB": peak_mb()}))

url, token, n, idfile = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
asyncio.run(main(url, token, n, json.load(open(idfile))))
"""


def memory() -> list[dict[str, Any]]:
    rows = []
    with (
        fake_org(apps=0, token_apps=2000, **UNLIMITED) as fake,
        tempfile.TemporaryDirectory() as tmp,
    ):
        idfile = Path(tmp) / "ids.json"
        idfile.write_text(json.dumps([a for a, _ in fake.apps]))
        for n in (10_000, 100_000):
            started = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", MEMORY_CHILD, fake.url, fake.token, str(n), str(idfile)],
                check=True,
                capture_output=True,
                text=True,
            )
            row = json.loads(out.stdout.strip().splitlines()[-1])
            row["wall s"] = time.perf_counter() - started
            rows.append(row)
    return rows


RESUME_CHILD = """
import asyncio, sys
from okta_connections import OktaClient, SSWSToken

async def main(url, token, journal, ids):
    async with OktaClient(url, auth=SSWSToken(token)) as okta:
        report = await okta.bulk.activate(ids, journal=journal, concurrency=20).run()
    print(report.summary(), flush=True)

url, token, journal = sys.argv[1], sys.argv[2], sys.argv[3]
ids = sys.stdin.read().split()
asyncio.run(main(url, token, journal, ids))
"""


def resume() -> list[dict[str, Any]]:
    n = 3000
    with (
        fake_org(
            apps=0, token_apps=n, rate_limit=2000, rate_window=1.0, enforce_rate_limit=True
        ) as fake,
        tempfile.TemporaryDirectory() as tmp,
    ):
        journal = Path(tmp) / "job.jsonl"
        ids = "\n".join(a for a, _ in fake.apps)
        args = [sys.executable, "-c", RESUME_CHILD, fake.url, fake.token, str(journal)]
        started = time.perf_counter()
        first = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert first.stdin is not None
        first.stdin.write(ids)
        first.stdin.close()
        while not journal.exists() or journal.stat().st_size < 40_000:
            time.sleep(0.01)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        killed_at = time.perf_counter() - started
        lines_before = len(journal.read_text().splitlines())
        second = subprocess.run(args, input=ids, capture_output=True, text=True, check=True)
        total = time.perf_counter() - started
        records = [
            json.loads(x) for x in journal.read_text().splitlines() if x.strip().endswith("}")
        ]
        succeeded = [r["key"] for r in records if r["status"] == "succeeded"]
    return [
        {
            "apps": n,
            "killed after s": killed_at,
            "journal lines at kill": lines_before,
            "total s (kill + resume)": total,
            "apps succeeded": len(set(succeeded)),
            "duplicate successes": len(succeeded) - len(set(succeeded)),
            "resume summary": second.stdout.strip(),
        }
    ]


def main(argv: list[str]) -> None:
    scenarios = argv or ["throughput", "memory", "resume"]
    which = clients.available()
    if "throughput" in scenarios:
        print(f"## Throughput: {THROUGHPUT_N} gets, {IN_FLIGHT} in flight, no rate limit\n")
        print(
            table(
                throughput(which),
                [
                    "client",
                    "requests",
                    "runs",
                    "wall s",
                    "req/s",
                    "CPU s per 1k",
                    "CPU vs bare",
                    "req/s vs official",
                    "succeeded",
                ],
            )
        )
        print()
    if "memory" in scenarios:
        print("## Memory: bulk activate from a generator, fresh process each\n")
        print(
            table(
                memory(),
                ["n", "succeeded", "failed", "peak RSS before job MB", "peak RSS MB", "wall s"],
            )
        )
        print()
    if "resume" in scenarios:
        print("## Resume: SIGKILL mid-job, rerun with the same journal\n")
        print(
            table(
                resume(),
                [
                    "apps",
                    "killed after s",
                    "journal lines at kill",
                    "total s (kill + resume)",
                    "apps succeeded",
                    "duplicate successes",
                    "resume summary",
                ],
            )
        )


if __name__ == "__main__":
    main(sys.argv[1:])
