"""CPU per request as instruction counts, which a shared machine's noise does not move.

    python -m benchmarks.bench_cpu                        # every client below
    python -m benchmarks.bench_cpu gather bare            # or some of them
    python -m benchmarks.bench_cpu --sizes 500 1500 gather
    python -m benchmarks.bench_cpu --base /tmp/base       # A/B: also gather and ours
        # with okta_connections from another checkout (git worktree add --detach ...)

Each client runs its gets against a fake org in another process (not measured), under
``valgrind --tool=callgrind`` (instructions executed by the client's process, start-up
included), at two sizes; the slope between them is the cost of one request, start-up
excluded. Clients, all 50 in flight, token-connection gets, no rate limit:

- ``bare``: a bare aiohttp loop that reads each body and nothing more;
- ``bare_decoded``: the bare loop plus the JSON parse, the typed model and the rate-limit
  headers that any typed SDK call needs: the floor of a typed client on aiohttp;
- ``gather``: okta_connections' ``connections.get`` calls under ``asyncio.gather``;
- ``ours``: okta_connections' bulk runner (``client.bulk.get``).

``OKC_BENCH_NO_OTEL=1`` runs the clients as if ``opentelemetry-api`` were not installed
(tracing off; the dev extra installs it). Needs valgrind (``apt-get install valgrind``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from typing import Any

from ._harness import fake_org, table

CLIENTS = ["bare", "bare_decoded", "gather", "ours"]
SIZES = (1000, 3000)
UNLIMITED = {"rate_limit": 10_000_000, "rate_window": 60.0, "enforce_rate_limit": False}
CHILD = """
import asyncio, json, os, sys
if os.environ.get("OKC_BENCH_NO_OTEL"):
    sys.modules["opentelemetry"] = None  # tracing off: as without the otel extra
client, url, token, n, tree = sys.argv[1:]
if tree:  # the A/B: okta_connections from another checkout, the clients from this one
    sys.path.insert(0, tree)
    import okta_connections
    sys.path.remove(tree)
from benchmarks import clients
ids = json.loads(sys.stdin.read())[: int(n)]
result = asyncio.run(getattr(clients, client)(url, token, "get", ids, 50))
assert result["succeeded"] == len(ids), result
"""


def instructions(client: str, fake: Any, ids: list[str], n: int, tree: str = "") -> int:
    """Instructions the client's process executed for ``n`` gets (start-up included)."""
    proc = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-c",
            CHILD,
            client,
            fake.url,
            fake.token,
            str(n),
            tree,
        ],
        input=json.dumps(ids),
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from valgrind: {proc.stderr[-500:]}")
    return int(found.group(1))


def main(argv: list[str]) -> None:
    sizes = SIZES
    base = ""
    if "--base" in argv:
        i = argv.index("--base")
        base = argv[i + 1]
        del argv[i : i + 2]
    if "--sizes" in argv:
        i = argv.index("--sizes")
        sizes = (int(argv[i + 1]), int(argv[i + 2]))
        del argv[i : i + 3]
    which = argv or CLIENTS
    if shutil.which("valgrind") is None:
        raise SystemExit("bench_cpu needs valgrind (apt-get install valgrind)")
    rows = []
    with fake_org(apps=0, token_apps=max(sizes), **UNLIMITED) as fake:
        ids = [a for a, _ in fake.apps][: max(sizes)]
        runs = [(c, "") for c in which]
        if base:
            runs += [(c, base) for c in which if c in ("gather", "ours")]
        for client, tree in runs:
            small, large = (instructions(client, fake, ids, n, tree) for n in sizes)
            rows.append(
                {
                    "client": client + ("@base" if tree else ""),
                    "per request": (large - small) / (sizes[1] - sizes[0]),
                }
            )
    bare = next((r["per request"] for r in rows if r["client"] == "bare"), None)
    for row in rows:
        row["instructions per request"] = f"{row['per request'] / 1000:.0f} k"
        row["vs bare"] = f"{row['per request'] / bare:.2f}x" if bare else ""
    print(f"## Instructions per request (callgrind, sizes {sizes[0]} and {sizes[1]})\n")
    print(table(rows, ["client", "instructions per request", "vs bare"]))


if __name__ == "__main__":
    main(sys.argv[1:])
