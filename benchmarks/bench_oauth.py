"""OAuth cost: SSWS vs PrivateKeyJWT vs PrivateKeyJWT+DPoP, side by side in one run.

    python -m benchmarks.bench_oauth                      # 10,000 calls, 100 at a time
    python -m benchmarks.bench_oauth --calls 2000 --time-scale 1

Each mode makes ``--calls`` GETs with ``--concurrency`` calls in flight against a FakeOkta
in a child process (so the CPU measured is the client's alone) that answers after
``--latency`` seconds and issues 60-second access tokens.

Token lifetimes are only interesting if several elapse during a run, and a real minute per
lifetime would make the benchmark slow. So the fake and the strategies share a clock that
runs ``--time-scale`` times faster than real time (default 200: a 60-second token lives
0.3 s of real time). Everything that reads a clock (token expiry, assertion and proof
``iat``/``exp``, the fake's checks) uses it; latency and the measured times are real.

Reported per mode: wall and CPU time per call, token requests made, access tokens
issued, and token lifetimes elapsed on the shared clock. With the default
``refresh_margin`` (300 s, capped at a tenth of the lifetime) a 60-second token is renewed
every 54 s, so the expected count is ``floor(elapsed / 54 s) + 1`` (plus one nonce
challenge with DPoP), which is within one of the lifetimes elapsed for runs of a few
lifetimes. Anything far above that would mean refreshes are not single-flight.

The modes run ``--rounds`` times, interleaved (SSWS, PrivateKeyJWT, DPoP, SSWS, ...), so
that a noisy neighbour slows every mode alike; the summary compares the medians. Where
the OS allows it, the client and the fake are pinned to different CPUs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from okta_connections import Auth, OktaClient, PrivateKeyJWT, SSWSToken
from okta_connections.auth._jose import DPoPProver

from ._harness import measured, table

LIFETIME = 60
JWT_CLIENT = "0oaBENCHjwtCLIENT"
DPOP_CLIENT = "0oaBENCHdpopCLIENT"


def scaled_clock(start: float, scale: float) -> Callable[[], float]:
    """Epoch seconds that run ``scale`` times faster than real time from ``start``."""
    return lambda: start + (time.time() - start) * scale


def _pin(which: int) -> None:
    """Pin this process to one CPU (the first or the last), where the OS supports it."""
    if hasattr(os, "sched_getaffinity") and hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) > 1:
            os.sched_setaffinity(0, {cpus[which]})


# ---------------------------------------------------------------------- the child: a fake org


async def serve(config: dict[str, Any]) -> None:
    from okta_connections.testing import FakeOkta

    clock = scaled_clock(config["start"], config["scale"])
    _pin(-1)
    async with FakeOkta(apps=100, rate_limit=10**9, clock=clock, record_requests=False) as fake:
        fake.latency = config["latency"]
        fake.latency_jitter = config["jitter"]
        public = config["public_pem"]
        fake.register_service_app(JWT_CLIENT, public, token_lifetime=LIFETIME)
        fake.register_service_app(DPOP_CLIENT, public, token_lifetime=LIFETIME, dpop_required=True)
        apps = [a.id for a in fake.apps]
        print(json.dumps({"url": fake.org_url, "token": fake.token, "apps": apps}), flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            oauth = fake.oauth
            stats = {
                "token_requests": oauth.token_requests,
                "tokens_issued": oauth.tokens_issued,
                "nonce_challenges": oauth.nonce_challenges,
                "rejections": len(oauth.rejections),
                "cpu": time.process_time(),
            }
            print(json.dumps(stats), flush=True)


# ---------------------------------------------------------------------- the parent: the clients


class ProofTimer:
    """Adds up the time spent making DPoP proofs, inside the running benchmark.

    A proof measured in a tight loop is far cheaper than the same proof made between
    requests, when the signing code and tables are no longer in the CPU cache; this shows
    the second figure. The timer costs well under a microsecond per proof.
    """

    def __init__(self) -> None:
        self.seconds = 0.0
        self.proofs = 0
        original = DPoPProver.proof

        def proof(prover: DPoPProver, **kwargs: Any) -> str:
            started = time.perf_counter()
            try:
                return original(prover, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
                self.proofs += 1

        DPoPProver.proof = proof  # type: ignore[method-assign,assignment]

    def take(self) -> tuple[float, int]:
        taken = self.seconds, self.proofs
        self.seconds, self.proofs = 0.0, 0
        return taken


class Child:
    def __init__(self, config: dict[str, Any]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.bench_oauth", "--serve", json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if self.proc.stdout is None or self.proc.stdin is None:
            raise RuntimeError("the child's pipes are missing")
        self.stdin, self.stdout = self.proc.stdin, self.proc.stdout
        self.info = json.loads(self.stdout.readline())

    def stats(self) -> dict[str, Any]:
        self.stdin.write("stats\n")
        self.stdin.flush()
        result: dict[str, Any] = json.loads(self.stdout.readline())
        return result

    def close(self) -> None:
        self.stdin.close()
        self.proc.wait(timeout=30)


async def drive(url: str, auth: Auth, apps: list[str], calls: int, concurrency: int) -> int:
    """``calls`` GETs with ``concurrency`` workers; returns how many failed."""
    failed = 0
    next_call = 0
    async with OktaClient(
        url, auth=auth, max_in_flight=concurrency, connector_limit=concurrency
    ) as okta:

        async def worker() -> None:
            nonlocal failed, next_call
            while next_call < calls:
                n = next_call
                next_call += 1
                try:
                    await okta.connections.get(apps[n % len(apps)])
                except Exception:
                    failed += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return failed


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    start = time.time()
    clock = scaled_clock(start, args.time_scale)
    child = Child(
        {
            "start": start,
            "scale": args.time_scale,
            "latency": args.latency,
            "jitter": args.jitter,
            "public_pem": public_pem,
        }
    )
    url, ssws, apps = child.info["url"], child.info["token"], child.info["apps"]
    modes: list[tuple[str, Callable[[], Auth]]] = [
        ("SSWS", lambda: SSWSToken(ssws)),
        ("PrivateKeyJWT", lambda: PrivateKeyJWT(JWT_CLIENT, private_pem, clock=clock)),
        (
            "PrivateKeyJWT+DPoP",
            lambda: PrivateKeyJWT(DPOP_CLIENT, private_pem, clock=clock, dpop=True),
        ),
    ]
    rows = []
    proofs = ProofTimer()
    _pin(0)
    try:
        for name, make in [mode for _ in range(args.rounds) for mode in modes]:
            before = child.stats()
            auth = make()
            fake_start = clock()
            proofs.take()
            with measured() as m:
                failed = asyncio.run(drive(url, auth, apps, args.calls, args.concurrency))
            proof_seconds, proof_count = proofs.take()
            elapsed_fake = clock() - fake_start
            after = child.stats()
            oauth = name != "SSWS"
            rows.append(
                {
                    "mode": name,
                    "calls": args.calls,
                    "failed": failed,
                    "wall s": m["wall"],
                    "ms/call": 1000 * m["wall"] / args.calls,
                    "CPU ms/call": 1000 * m["cpu"] / args.calls,
                    "token requests": after["token_requests"] - before["token_requests"]
                    if oauth
                    else "-",
                    "tokens issued": after["tokens_issued"] - before["tokens_issued"]
                    if oauth
                    else "-",
                    "lifetimes elapsed": elapsed_fake / LIFETIME if oauth else "-",
                    # The first token, one renewal per 0.9 lifetime elapsed (the margin is
                    # a tenth of it), and one nonce challenge with DPoP.
                    "expected": math.floor(elapsed_fake / (0.9 * LIFETIME))
                    + 1
                    + name.endswith("DPoP")
                    if oauth
                    else "-",
                    "rejected": after["rejections"] - before["rejections"],
                    "µs/proof": 1e6 * proof_seconds / proof_count if proof_count else "-",
                    # How busy the fake was: near 100% means the fake, not the client,
                    # set the pace, which a real org never does.
                    "fake CPU %": 100 * (after["cpu"] - before["cpu"]) / m["wall"],
                }
            )
    finally:
        child.close()
    return rows


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.002, help="fake's seconds per call")
    parser.add_argument(
        "--jitter",
        type=float,
        default=0.0,
        help="spread of the fake's latency, 0 to 1 (FakeOkta.latency_jitter)",
    )
    parser.add_argument("--time-scale", type=float, default=200.0)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved runs of each mode")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(serve(json.loads(args.serve)))
        return
    rows = run(args)
    print(
        f"{args.calls} GETs, {args.concurrency} in flight, fake latency {args.latency * 1000:g} ms "
        f"(jitter {args.jitter:g}), "
        f"{LIFETIME}-s tokens, clock x{args.time_scale:g}"
    )
    print(
        table(
            rows,
            [
                "mode",
                "calls",
                "failed",
                "wall s",
                "ms/call",
                "CPU ms/call",
                "token requests",
                "expected",
                "tokens issued",
                "lifetimes elapsed",
                "rejected",
                "µs/proof",
                "fake CPU %",
            ],
        )
    )
    medians = {
        mode: statistics.median(r["CPU ms/call"] for r in rows if r["mode"] == mode)
        for mode in dict.fromkeys(r["mode"] for r in rows)
    }
    base = medians["SSWS"]
    print()
    for mode, cpu in medians.items():
        print(f"median CPU/call {mode:<20} {cpu:.3f} ms  ({100 * (cpu / base - 1):+.0f}% vs SSWS)")


if __name__ == "__main__":
    main(sys.argv[1:])
