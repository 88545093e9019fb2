"""Run one benchmark client in its own process and print one JSON line of results.

    python -m benchmarks._client_proc '{"client": "ours", "url": ..., "token": ..., "op":
        "get", "ids": [...], "concurrency": 32, "start_at": <epoch seconds>}'

The job starts at ``start_at`` (wall clock), so that several processes start together;
``end`` is the wall-clock time at which it finished and ``cpu`` the CPU seconds it used.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from . import clients
from ._harness import cpu_seconds


def main(args: dict[str, Any]) -> None:
    func = getattr(clients, args["client"])
    delay = float(args.get("start_at", 0.0)) - time.time()
    if delay > 0:
        time.sleep(delay)
    started, cpu = time.time(), cpu_seconds()
    result = asyncio.run(
        func(args["url"], args["token"], args["op"], args["ids"], args.get("concurrency"))
    )
    out = {"result": result, "start": started, "end": time.time(), "cpu": cpu_seconds() - cpu}
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
