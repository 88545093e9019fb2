"""The options of ``okta-connections fake-server`` and ``python -m okta_connections.testing``.

They live here, not beside the server, so that building the command's parser does not
import the fake org (aiohttp.web, the seeded estate, the OAuth server) on every run.
"""

from __future__ import annotations

import argparse

__all__ = ["add_arguments", "parse_share"]

#: The fake's default limit (FakeOkta's too): enforced, and generous.
_DEFAULT_LIMIT = 1_000_000


def parse_share(value: str) -> tuple[str | None, float]:
    """``0.5`` (every principal) or ``PRINCIPAL=0.5`` (one API token or client id)."""
    who, sep, share = value.rpartition("=")
    try:
        fraction = float(share)
    except ValueError:
        raise argparse.ArgumentTypeError(
            "expected a fraction (0.5) or PRINCIPAL=FRACTION (a token or client id)"
        ) from None
    if not 0 < fraction <= 1:
        raise argparse.ArgumentTypeError("a share is a fraction in (0, 1]")
    if sep and not who:
        raise argparse.ArgumentTypeError("PRINCIPAL=FRACTION needs a principal before '='")
    return (who if sep else None), fraction


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The fake server's options (shared with ``okta-connections fake-server``)."""
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface (default 127.0.0.1); one that is not loopback needs --allow-remote",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="serve on a --host that is not loopback (0.0.0.0, a LAN address): anyone who "
        "can reach the port gets the org and its token, over plain HTTP",
    )
    parser.add_argument(
        "--port", type=int, default=8080, help="TCP port, 0 for a free one (default 8080)"
    )
    parser.add_argument("--apps", type=int, default=60, help="apps to seed (default 60)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the estate (default 0)")
    parser.add_argument("--token", default=None, help="SSWS token to accept (default: random)")
    parser.add_argument(
        "--preset",
        choices=["okta"],
        default=None,
        help="okta: Okta's documented defaults (100 a minute for /api/v1/apps*, a 0.5 "
        "share per token or service app, 75 in flight with a 0.5 share); the flags below "
        "override it",
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=None,
        help=f"requests per window per bucket, enforced (default {_DEFAULT_LIMIT:,})",
    )
    parser.add_argument(
        "--window",
        "--rate-window",
        dest="rate_window",
        type=int,
        default=None,
        help="rate-limit window in whole seconds (default 60)",
    )
    parser.add_argument(
        "--enforce-rate-limit",
        action="store_true",
        help="kept for old scripts: the limit is always enforced now",
    )
    parser.add_argument(
        "--principal-share",
        type=parse_share,
        action="append",
        default=[],
        metavar="[PRINCIPAL=]FRACTION",
        help="share of each bucket one API token or OAuth service app may use (default "
        "1.0); PRINCIPAL=FRACTION sets one token's or client id's; repeatable",
    )
    parser.add_argument(
        "--concurrency-limit",
        type=int,
        default=None,
        help="requests in flight at once for the org (default: no limit)",
    )
    parser.add_argument(
        "--rate-limit-headers",
        choices=["principal", "org"],
        default="principal",
        help="X-Rate-Limit-* show the principal's ceiling (default) or the org's bucket",
    )
    parser.add_argument(
        "--record",
        action="store_true",
        help="keep a log of every request in memory (off: a long run would only grow it)",
    )
    parser.add_argument(
        "--requests-log",
        default=None,
        metavar="PATH",
        help="on stop, write the request log to PATH as JSON lines (method, path, operation, "
        "app id, status, principal; never headers or bodies); implies --record",
    )
    parser.add_argument(
        "--fail-rate",
        type=float,
        default=0.0,
        help="fraction of API requests answered with a random 5xx (default 0)",
    )
