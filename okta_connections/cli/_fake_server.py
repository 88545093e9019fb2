"""The options of ``okta-connections fake-server`` and ``python -m okta_connections.testing``.

They live here, not beside the server, so that building the command's parser does not
import the fake org (aiohttp.web, the seeded estate, the OAuth server) on every run.
"""

from __future__ import annotations

import argparse

__all__ = ["add_arguments"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The fake server's options (shared with ``okta-connections fake-server``)."""
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8080, help="TCP port, 0 for a free one (default 8080)"
    )
    parser.add_argument("--apps", type=int, default=60, help="apps to seed (default 60)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the estate (default 0)")
    parser.add_argument("--token", default=None, help="SSWS token to accept (default: random)")
    parser.add_argument(
        "--rate-limit", type=int, default=100, help="requests per window per bucket (default 100)"
    )
    parser.add_argument(
        "--window",
        "--rate-window",
        dest="rate_window",
        type=float,
        default=60.0,
        help="rate-limit window in seconds (default 60)",
    )
    parser.add_argument(
        "--enforce-rate-limit",
        action="store_true",
        help="answer 429 past the limit (default: headers only)",
    )
    parser.add_argument(
        "--record",
        action="store_true",
        help="keep a log of every request in memory (off: a long run would only grow it)",
    )
    parser.add_argument(
        "--fail-rate",
        type=float,
        default=0.0,
        help="fraction of API requests answered with a random 5xx (default 0)",
    )
