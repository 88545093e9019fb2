"""``python -m okta_connections.testing``: serve a FakeOkta org in the foreground.

It prints the org URL and the SSWS token (the fake's own credential, printed on purpose:
that is how you use it) as ``OKTA_CLIENT_*`` lines the SDK's config reads, then serves
until SIGINT or SIGTERM and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence

from ..cli._fake_server import add_arguments
from ._fake import FakeOkta


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
    fake = FakeOkta(
        apps=args.apps,
        seed=args.seed,
        token=args.token,
        host=args.host,
        port=args.port,
        rate_limit=args.rate_limit,
        rate_window=args.rate_window,
        enforce_rate_limit=args.enforce_rate_limit,
        record_requests=args.record,
        fail_rate=args.fail_rate,
    )
    async with fake:
        print(f"FakeOkta: {len(fake.apps)} apps (seed {args.seed}); Ctrl-C to stop", flush=True)
        print(f"OKTA_CLIENT_ORGURL={fake.org_url}", flush=True)
        print(f"OKTA_CLIENT_TOKEN={fake.token}", flush=True)
        await stop.wait()
    print("FakeOkta: stopped", file=sys.stderr, flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and serve. Returns the process exit code."""
    return run(_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Serve with parsed arguments (see :func:`add_arguments`); returns the exit code."""
    if not 0.0 <= args.fail_rate <= 1.0:
        print("FakeOkta: --fail-rate must be between 0 and 1", file=sys.stderr)
        return 2
    try:
        return asyncio.run(serve(args))
    except KeyboardInterrupt:  # platforms without loop signal handlers
        return 0
    except OSError as exc:  # e.g. the port is taken
        print(f"FakeOkta: cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
