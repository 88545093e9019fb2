"""Bulk throughput, memory and kill-and-resume, side by side in one run.

    python -m benchmarks.bench_bulk                  # all four
    python -m benchmarks.bench_bulk throughput       # or one: throughput | imports | memory | resume
    python -m benchmarks.bench_bulk throughput imports --base /tmp/parent
        # A/B: also run ours from a checkout of another commit, in the same rounds

Throughput: 5,000 gets, 50 in flight, no rate limit, each run in its own process against a
fresh fake org in another (so the CPU measured is the client's alone), five interleaved
runs per client, medians reported. ``ours`` is the bulk runner, ``gather`` individual
``connections.get`` calls under ``asyncio.gather``. The apps have token connections: okta 3.4.6 cannot parse OAUTH2
ones. Memory: a bulk activate over 10,000 and 100,000 app ids from a generator, each in a
fresh process, peak RSS. Resume: a job is SIGKILLed mid-way, then rerun with the same
journal.
"""

from __future__ import annotations

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
from ._harness import fake_org, table

THROUGHPUT_N = 5_000
IN_FLIGHT = 50
UNLIMITED = {"rate_limit": 10_000_000, "rate_window": 60.0, "enforce_rate_limit": False}


#: One client's run in a fresh process, so that its CPU is its own, and so that ``ours``
#: can be imported from another checkout (the A/B against the parent commit): the code
#: under test comes from ``tree``, the benchmark's clients from ``bench_root``.
CLIENT_CHILD = """
import asyncio, json, resource, sys, time
tree, bench_root, client, url, token, op, n, inflight = sys.argv[1:]
sys.path.insert(0, tree)
import okta_connections
sys.path.remove(tree)
sys.path.insert(0, bench_root)
from benchmarks import clients
ids = json.loads(sys.stdin.read())
func = getattr(clients, client)
def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime
wall, c = time.perf_counter(), cpu()
result = asyncio.run(func(url, token, op, ids, int(inflight)))
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": cpu() - c,
                  "succeeded": result["succeeded"], "code": okta_connections.__file__}))
"""

ROOT = Path(__file__).resolve().parent.parent


def _run_child(tree: Path, client: str, url: str, token: str, ids: list[str]) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            CLIENT_CHILD,
            str(tree),
            str(ROOT),
            client,
            url,
            token,
            "get",
            str(len(ids)),
            str(IN_FLIGHT),
        ],
        input=json.dumps(ids),
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def throughput(
    which: list[str], rounds: int = 5, baseline: Path | None = None
) -> list[dict[str, Any]]:
    """Each client ``rounds`` times, interleaved, each run in its own process against a
    fresh fake org; the row of a client holds its medians (a shared 2-core machine is
    noisy). With ``baseline`` (a checkout of another commit), ``ours`` and ``gather`` run
    from it too, as ``ours@base`` and ``gather@base``, in the same rounds."""
    plan: list[tuple[str, str, Path]] = []
    for client in which:
        plan.append((client, client, ROOT))
        if baseline is not None and client in ("ours", "gather"):
            plan.append((f"{client}@base", client, baseline))
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in plan}
    for _ in range(rounds):
        for name, client, tree in plan:
            with fake_org(apps=0, token_apps=1000, **UNLIMITED) as fake:
                ids = [fake.apps[i % len(fake.apps)][0] for i in range(THROUGHPUT_N)]
                runs[name].append(_run_child(tree, client, fake.url, fake.token, ids))
    rows = []
    for name, measured_runs in runs.items():
        wall = statistics.median(r["wall"] for r in measured_runs)
        cpu = statistics.median(r["cpu"] for r in measured_runs)
        rows.append(
            {
                "client": name,
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


def import_time(rounds: int = 15, baseline: Path | None = None) -> list[dict[str, Any]]:
    """Median wall time of ``import okta_connections`` in a fresh interpreter, less that of
    an interpreter that imports nothing, interleaved."""
    trees = [("ours", ROOT)] + ([("ours@base", baseline)] if baseline is not None else [])
    samples: dict[str, list[float]] = {name: [] for name, _ in [("python", ROOT), *trees]}

    def once(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - started

    site = "import site; "
    for _ in range(rounds):
        samples["python"].append(once(site + "pass"))
        for name, tree in trees:
            samples[name].append(
                once(
                    f"{site}import sys; sys.path.insert(0, {str(tree)!r}); import okta_connections"
                )
            )
    bare = statistics.median(samples["python"])
    return [
        {
            "import": name,
            "runs": rounds,
            "median ms": statistics.median(values) * 1000,
            "ms over bare python": (statistics.median(values) - bare) * 1000,
        }
        for name, values in samples.items()
    ]


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

async def main(url, token, n, ids, journal):
    def source():
        for i in range(n):
            yield ids[i % len(ids)]
    async with OktaClient(url, auth=SSWSToken(token)) as okta:
        await okta.connections.get(ids[0])  # imports, session and pool warmed up
        before = peak_mb()
        # The guaranteed path: a task group, a capacity limiter, a bounded stream.
        async with okta.bulk.activate(source(), concurrency=50, journal=journal) as job:
            async for _ in job:
                pass
        report = job.report
    print(json.dumps({"n": n, "journal": bool(journal), "succeeded": report.succeeded,
                      "failed": report.failed, "peak RSS before job MB": before,
                      "peak RSS MB": peak_mb()}))

url, token, n, idfile = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
journal = sys.argv[5] if len(sys.argv) > 5 else None
asyncio.run(main(url, token, n, json.load(open(idfile)), journal))
"""


def memory() -> list[dict[str, Any]]:
    rows = []
    with (
        fake_org(apps=0, token_apps=2000, **UNLIMITED) as fake,
        tempfile.TemporaryDirectory() as tmp,
    ):
        idfile = Path(tmp) / "ids.json"
        idfile.write_text(json.dumps([a for a, _ in fake.apps]))
        # The last run also writes a journal: 100k lines on disk, the same flat memory.
        for n, journal in ((10_000, ""), (100_000, ""), (100_000, str(Path(tmp) / "j.jsonl"))):
            started = time.perf_counter()
            extra = [journal] if journal else []
            out = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    MEMORY_CHILD,
                    fake.url,
                    fake.token,
                    str(n),
                    str(idfile),
                    *extra,
                ],
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
            json.loads(x) for x in journal.read_text().splitlines()[1:] if x.strip().endswith("}")
        ]  # [1:]: the journal's header
        succeeded = [r["key"] for r in records if r.get("status") == "succeeded"]
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
    baseline: Path | None = None
    if "--base" in argv:
        at = argv.index("--base")
        baseline = Path(argv[at + 1]).resolve()
        argv = argv[:at] + argv[at + 2 :]
    scenarios = argv or ["throughput", "imports", "memory", "resume"]
    which = clients.available()
    which.insert(1, "gather")
    if "throughput" in scenarios:
        print(f"## Throughput: {THROUGHPUT_N} gets, {IN_FLIGHT} in flight, no rate limit\n")
        if baseline is not None:
            print(f"(`@base`: the same client imported from {baseline})\n")
        print(
            table(
                throughput(which, baseline=baseline),
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
    if "imports" in scenarios:
        print("## Import time: `import okta_connections` in a fresh interpreter\n")
        print(
            table(
                import_time(baseline=baseline),
                ["import", "runs", "median ms", "ms over bare python"],
            )
        )
        print()
    if "memory" in scenarios:
        print("## Memory: bulk activate from a generator, fresh process each\n")
        print(
            table(
                memory(),
                [
                    "n",
                    "journal",
                    "succeeded",
                    "failed",
                    "peak RSS before job MB",
                    "peak RSS MB",
                    "wall s",
                ],
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
