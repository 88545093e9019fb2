"""``python -m okta_connections.testing``: serve a FakeOkta org in the foreground.

It prints the org URL and the SSWS token (the fake's own credential, printed on purpose:
that is how you use it) as ``OKTA_CLIENT_*`` lines the SDK's config reads, then serves
until SIGINT or SIGTERM and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import json
import signal
import sys
from collections.abc import Sequence

from .._validation import is_loopback
from ..cli._fake_server import add_arguments
from ._fake import FakeOkta
from ._model import RemoteHostError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m okta_connections.testing",
        description="Serve a fake Okta org (Application Connections API) until Ctrl-C.",
    )
    add_arguments(parser)
    return parser


async def serve(args: argparse.Namespace) -> int:
    """Run the fake until SIGINT/SIGTERM; returns the exit code."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Not available on Windows' event loop; there, Ctrl-C raises KeyboardInterrupt.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    fake = build(args)
    async with fake:
        limits = fake.limits
        print(f"FakeOkta: {len(fake.apps)} apps (seed {args.seed}); Ctrl-C to stop", flush=True)
        print(
            f"FakeOkta: {limits.limit:,} requests per {limits.window} s per bucket, enforced; "
            f"principal share {limits.share:g}; concurrency "
            f"{limits.concurrency if limits.concurrency is not None else 'unlimited'}; "
            f"headers show the {limits.headers}'s ceiling",
            flush=True,
        )
        print(f"OKTA_CLIENT_ORGURL={fake.org_url}", flush=True)
        print(f"OKTA_CLIENT_TOKEN={fake.token}", flush=True)
        await stop.wait()
        if args.requests_log:
            write_requests_log(fake, args.requests_log)
    print("FakeOkta: stopped", file=sys.stderr, flush=True)
    return 0


def write_requests_log(fake: FakeOkta, path: str) -> None:
    """The request log as JSON lines: what a test in another process asserts on.

    Only what identifies a call and its answer: no headers (credentials), no bodies
    (target tokens), no query (consent codes).
    """
    with open(path, "w", encoding="utf-8") as out:
        for r in list(fake.requests):
            row = {
                "method": r.method,
                "path": r.path,
                "operation": r.operation,
                "app_id": r.app_id,
                "status": r.status,
                "principal": r.principal,
                "received_at": r.received_at,
            }
            out.write(json.dumps(row) + "\n")


def build(args: argparse.Namespace) -> FakeOkta:
    """The org the parsed arguments describe (not started).

    Raises:
        ValueError: A bad limit, window or share.
    """
    default_share = 0.5 if args.preset == "okta" else 1.0
    for who, share in args.principal_share:
        if who is None:
            default_share = share
    fake = FakeOkta(
        apps=args.apps,
        seed=args.seed,
        token=args.token,
        host=args.host,
        port=args.port,
        preset=args.preset,
        rate_limit=args.rate_limit,
        rate_window=args.rate_window,
        principal_share=default_share,
        concurrency_limit=args.concurrency_limit,
        rate_limit_headers=args.rate_limit_headers,
        record_requests=args.record or bool(args.requests_log),
        fail_rate=args.fail_rate,
        allow_remote=getattr(args, "allow_remote", False) is True,
    )
    for who, share in args.principal_share:
        if who is not None:
            fake.set_principal_share(who, share)
    return fake


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and serve. Returns the process exit code."""
    return run(_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Serve with parsed arguments (see :func:`add_arguments`); returns the exit code."""
    if not 0.0 <= args.fail_rate <= 1.0:
        print("FakeOkta: --fail-rate must be between 0 and 1", file=sys.stderr)
        return 2
    try:
        build(args)  # check the arguments before serving
    except RemoteHostError:
        print(
            f"FakeOkta: --host {args.host!r} is not a loopback address: the fake org and its "
            "token would be served, without TLS, to anyone who can reach this machine. "
            "Use --host 127.0.0.1, or add --allow-remote to do it anyway.",
            file=sys.stderr,
        )
        return 2
    except ValueError as exc:
        print(f"FakeOkta: {exc}", file=sys.stderr)
        return 2
    if not is_loopback(args.host):
        where = "every interface" if args.host in ("", "0.0.0.0", "::") else args.host
        print(
            f"FakeOkta: WARNING: --allow-remote: serving on {where} (--host {args.host!r}, "
            f"port {args.port}): anyone who can reach it gets the fake org, its apps and "
            "the SSWS token printed below, over plain HTTP (no TLS). Stop it when done.",
            file=sys.stderr,
            flush=True,
        )
    try:
        return asyncio.run(serve(args))
    except KeyboardInterrupt:  # platforms without loop signal handlers
        return 0
    except OSError as exc:  # e.g. the port is taken
        hint = ""
        if exc.errno == errno.EADDRINUSE or "address already in use" in str(exc):
            hint = (
                f"; port {args.port} is in use (another fake-server?): pick another --port, "
                "or --port 0 for a free one (the URL it prints names it)"
            )
        print(f"FakeOkta: cannot serve on {args.host}:{args.port}: {exc}{hint}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
