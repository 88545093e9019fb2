"""One client process of bench_observe: N gathered gets, in one telemetry mode.

    python benchmarks/_observe_proc.py MODE URL TOKEN N ID,ID,...

MODE is ``off`` (opentelemetry made unimportable, as when it is not installed), ``api``
(opentelemetry-api importable, no provider configured) or ``sdk`` (a tracer provider with
an in-memory span exporter and a meter provider with an in-memory metric reader, set as the
global providers). Run by path, not ``-m``, so that ``PYTHONPATH`` can point
``okta_connections`` at another checkout (``--base``). Prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _setup(mode: str) -> object:
    if mode == "off":
        sys.modules["opentelemetry"] = None  # type: ignore[assignment]
        return None
    if mode == "sdk":
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
            InMemorySpanExporter,
        )

        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
        return exporter
    if mode != "api":
        raise SystemExit(f"unknown mode {mode!r}")
    return None


async def _run(url: str, token: str, n: int, ids: list[str]) -> dict[str, float]:
    from okta_connections import OktaClient, OktaError, SSWSToken

    sem = asyncio.Semaphore(50)
    failed = 0
    async with OktaClient(url, auth=SSWSToken(token)) as okta:

        async def one(i: int) -> None:
            nonlocal failed
            async with sem:
                try:
                    await okta.connections.get(ids[i % len(ids)])
                except OktaError:
                    failed += 1

        await one(0)  # the first call binds the session and learns the bucket
        cpu, wall = _cpu(), time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return {"cpu": _cpu() - cpu, "wall": time.perf_counter() - wall, "failed": failed}


def main() -> None:
    mode, url, token, n, ids = sys.argv[1:6]
    exporter = _setup(mode)
    out = asyncio.run(_run(url, token, int(n), ids.split(",")))
    import okta_connections

    out["spans"] = len(exporter.get_finished_spans()) if exporter is not None else 0  # type: ignore[attr-defined]
    out["otel_imported"] = any(
        m.split(".")[0] == "opentelemetry" and v is not None for m, v in sys.modules.items()
    )
    out["package"] = okta_connections.__file__ or ""
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
