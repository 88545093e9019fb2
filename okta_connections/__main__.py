"""``python -m okta_connections`` and the ``okta-connections`` command."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the command line. Returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="okta-connections",
        description="Okta Application Connections from the command line.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo", help="run every connection operation against an embedded fake Okta org"
    )
    demo.add_argument("--apps", type=int, default=60, help="apps in the fake org (default 60)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from ._demo import run_demo

        try:
            return asyncio.run(run_demo(apps=args.apps))
        except KeyboardInterrupt:
            return 130
    parser.error(f"unknown command {args.command}")
    return 2  # pragma: no cover - parser.error exits


if __name__ == "__main__":
    sys.exit(main())
