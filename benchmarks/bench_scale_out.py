"""One bulk job across Celery workers, one rate budget on Redis: wall time vs the minimum.

    python -m benchmarks.bench_scale_out                # 3 rounds of 600 gets
    python -m benchmarks.bench_scale_out --rounds 1 --action ensure_deactivated

The scenario of tests/scale_out/test_scale_out.py without its faults: ``fake-server`` (100 per 2 s
window, a 50% share per token, so 50 per window for our token), two redis-servers (the
broker and results; the budget), two Celery workers of two pool processes each, 600 apps
in chunks of 50. The clock starts when both workers answer a ping and stops when the last
chunk's result is in. The minimum of N requests at 50 per 2 s window is
(ceil(N / 50) - 1) * 2 s, N the requests answered (not 429): 22 s for 600 gets. Needs celery and redis-server
(``pip install -e '.[dev]'``, ``apt-get install redis-server``).
"""

from __future__ import annotations

import argparse
import collections
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ._harness import table

SHARE_PER_WINDOW = 50
WINDOW = 2.0


def minimum(requests: int) -> float:
    return (math.ceil(requests / SHARE_PER_WINDOW) - 1) * WINDOW


def one_round(action: str, apps: int) -> dict[str, Any]:
    from okta_connections.scale_out import celery_fan_out, celery_gather
    from tests.support.celery_cluster import Cluster, app_ids

    with tempfile.TemporaryDirectory(prefix="okc-scale-") as tmp:
        c = Cluster(Path(tmp), apps=apps)
        try:
            ids = app_ids(apps)
            c.start_workers(2, 2)
            app, task = c.client()
            try:
                deadline = time.monotonic() + 60
                while len(app.control.ping(timeout=0.5)) < 2:
                    if time.monotonic() > deadline:
                        raise SystemExit("the workers did not answer a ping within 60 s")
                started = time.perf_counter()
                chunks, result = celery_fan_out(task, action, ids, chunk_size=50)
                report = celery_gather(chunks, result, timeout=600)
                wall = time.perf_counter() - started
            finally:
                app.close()
            served = c.served()
        finally:
            c.stop()
    statuses = collections.Counter(r["status"] for r in served)
    requests = len(served)
    needed = requests - statuses[429]  # a 429 costs no budget; its retry does
    return {
        "action": action,
        "apps": report.accounted,
        "succeeded": report.report.succeeded,
        "requests": requests,
        "429s": statuses[429],
        "wall_s": wall,
        "minimum_s": minimum(needed),
        "x_minimum": wall / minimum(needed),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_scale_out")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--apps", type=int, default=600)
    parser.add_argument(
        "--action", default="get", choices=["get", "ensure_deactivated", "ensure_activated"]
    )
    args = parser.parse_args(argv)
    rows = [one_round(args.action, args.apps) for _ in range(args.rounds)]
    print(
        table(
            rows,
            ["action", "apps", "succeeded", "requests", "429s", "wall_s", "minimum_s", "x_minimum"],
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
