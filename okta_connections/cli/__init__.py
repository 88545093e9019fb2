"""The ``okta-connections`` command: every connection operation, bulk jobs, consent, a demo.

Exit codes: 0 everything succeeded, 1 an operation (or some items of a bulk job) failed,
2 a usage or configuration error, 130 interrupted (Ctrl-C), 141 stdout was a pipe whose
reader left (128 + SIGPIPE, as a shell reports ``yes | head``).
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import logging
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from ..errors import InvalidArgumentError, OktaError
from ._output import Output, silence

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "build_parser",
    "main",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
#: stdout was a pipe and its reader left (``apps list | head``): 128 + SIGPIPE, what a shell
#: reports for a command that a closed pipe stopped; 1 already means "an operation failed".
EXIT_BROKEN_PIPE = 141

PROG = "okta-connections"


class UsageError(Exception):
    """A usage mistake found after parsing (exit 2)."""


def _common() -> argparse.ArgumentParser:
    # SUPPRESS defaults let the global options go before or after the subcommand.
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("global options")
    group.add_argument(
        "--org", default=argparse.SUPPRESS, metavar="URL", help="org URL (beats env and okta.yaml)"
    )
    group.add_argument(
        "--profile",
        default=argparse.SUPPRESS,
        metavar="NAME",
        help="named profile from okta.yaml (okta.profiles.NAME), e.g. prod-admin",
    )
    group.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="JSON output (the default when stdout is not a terminal)",
    )
    group.add_argument(
        "--shared-budget",
        default=argparse.SUPPRESS,
        metavar="URL",
        help="share one rate budget with other processes on Redis, e.g. "
        "redis://host:6379/0 (needs the redis extra)",
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS,
        help="log each HTTP attempt and retry decision to stderr (never a secret)",
    )
    return common


def _add_connection_flags(parser: argparse.ArgumentParser, *, activate_help: str) -> None:
    group = parser.add_argument_group("the connection to set (token, OAuth, or --body)")
    group.add_argument(
        "--token",
        metavar="TOKEN",
        help="token connection (Org2Org, Zscaler); prefer --token-file, argv is visible in ps",
    )
    group.add_argument(
        "--token-file", metavar="FILE", help="read the connection's token from FILE ('-': stdin)"
    )
    group.add_argument("--base-url", metavar="URL", help="Zscaler's SCIM base URL")
    group.add_argument(
        "--oauth",
        action="store_true",
        help="OAuth 2.0 connection (Google, Office 365, Org2Org, Slack, Zoom)",
    )
    group.add_argument("--client-id", metavar="ID", help="Org2Org OAuth: the service app")
    group.add_argument(
        "--rotation-mode", choices=("AUTO", "MANUAL"), help="Org2Org OAuth: key rotation"
    )
    group.add_argument("--admin-username", metavar="USER", help="Office 365 OAuth: admin user")
    group.add_argument(
        "--admin-password-file", metavar="FILE", help="Office 365 OAuth: admin password file"
    )
    group.add_argument(
        "--body",
        metavar="FILE",
        help="the request body as JSON, in Okta's shape ('-': stdin)",
    )
    group.add_argument(
        "--activate",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=activate_help,
    )


def _add_bulk_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "ids",
        nargs="?",
        metavar="IDS_FILE",
        help="file of app ids, one a line (or JSON lines with 'id'); '-' or omitted: stdin",
    )
    parser.add_argument("--filter", metavar="EXPR", help='pick apps by filter: name eq "slack"')
    parser.add_argument("--q", metavar="PREFIX", help="pick apps by name or label prefix")
    parser.add_argument(
        "--concurrency",
        type=int,
        metavar="N",
        help="most items in flight (default: adaptive, follows the rate limit)",
    )
    parser.add_argument("--journal", metavar="FILE", help="JSONL journal; rerun with it to resume")
    parser.add_argument(
        "--retry-failed", action="store_true", help="with --journal: retry recorded failures"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the calls each app would make; send none"
    )
    parser.add_argument(
        "--max-capacity",
        type=float,
        default=1.0,
        metavar="FRACTION",
        help="share of the rate limit this job may use, (0, 1] (default 1)",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar, even on a terminal"
    )


_AddCommand = Callable[..., argparse.ArgumentParser]


def build_parser() -> argparse.ArgumentParser:
    """The whole command line."""
    common = _common()
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Okta Application Connections from the command line. Settings come from "
        "--org/--profile, OKTA_CLIENT_* variables, ./okta.yaml, then ~/.okta/okta.yaml.",
        epilog="exit codes: 0 ok, 1 failed (or some bulk items failed), 2 usage or "
        "configuration error, 130 interrupted, 141 the reader of stdout left",
        parents=[common],
    )
    from .._version import __version__

    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help: str, **kw: Any) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, parents=[common], **kw)

    # The order of the calls is the order of the commands in --help.
    _add_connection_commands(add)
    _add_consent_commands(add)
    _add_apps_commands(add, common)
    _add_config_commands(add, common)
    _add_bulk_commands(add, common)
    _add_tool_commands(add)
    return parser


def _add_connection_commands(add: _AddCommand) -> None:
    """get, update, activate, deactivate, jwks: one app's connection."""
    p = add("get", "show an app's provisioning connection")
    p.add_argument("app_id", metavar="APP_ID")

    p = add("update", "set an app's provisioning connection")
    p.add_argument("app_id", metavar="APP_ID")
    _add_connection_flags(p, activate_help="activate (or not) in the same call")

    for name, text in (
        ("activate", "activate an app's provisioning connection"),
        ("deactivate", "deactivate an app's provisioning connection"),
        ("jwks", "show the JSON Web Key Set of an Org2Org OAuth connection"),
    ):
        p = add(name, text)
        p.add_argument("app_id", metavar="APP_ID")


def _add_consent_commands(add: _AddCommand) -> None:
    """verify and connect: the OAuth consent."""
    p = add("verify", "finish an OAuth consent with Okta's continue URL, or code and state")
    p.add_argument("app_id", metavar="APP_ID")
    p.add_argument(
        "--app-name", required=True, help="google, office365, slack or zoomus", metavar="NAME"
    )
    _add_consent_flags(p)

    p = add(
        "connect",
        "set an OAuth connection, show the consent URL, verify and activate",
    )
    p.add_argument("app_id", metavar="APP_ID")
    p.add_argument(
        "--app-name", required=True, help="google, office365, slack or zoomus", metavar="NAME"
    )
    p.add_argument("--admin-username", metavar="USER", help="Office 365: admin user")
    p.add_argument("--admin-password-file", metavar="FILE", help="Office 365: admin password file")
    _add_consent_flags(p, resume=True)
    p.add_argument(
        "--no-activate", action="store_true", help="verify only; leave the connection disabled"
    )


def _add_apps_commands(add: _AddCommand, common: argparse.ArgumentParser) -> None:
    apps = add("apps", "the org's apps")
    apps_sub = apps.add_subparsers(dest="apps_command", required=True, metavar="COMMAND")
    p = apps_sub.add_parser("list", help="list apps", description="list apps", parents=[common])
    p.add_argument("--q", metavar="PREFIX", help="name or label prefix")
    p.add_argument("--filter", metavar="EXPR", help='Okta filter, e.g. name eq "okta_org2org"')
    p.add_argument("--limit", type=_at_least(1), metavar="N", help="at most N apps (default: all)")
    p.add_argument(
        "--page-size", type=_at_least(1, 200), metavar="N", help="apps per request, 1-200"
    )


def _add_config_commands(add: _AddCommand, common: argparse.ArgumentParser) -> None:
    config = add("config", "the settings this command would use")
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="COMMAND")
    text = "print the resolved settings and where each came from (secrets hidden)"
    config_sub.add_parser("show", help=text, description=text, parents=[common])


def _add_bulk_commands(add: _AddCommand, common: argparse.ArgumentParser) -> None:
    bulk = add("bulk", "one operation over many apps: paced, journaled, resumable")
    bulk_sub = bulk.add_subparsers(dest="bulk_command", required=True, metavar="COMMAND")
    for name, text in (
        ("get", "read the connection of many apps"),
        ("activate", "activate the connection of many apps"),
        ("deactivate", "deactivate the connection of many apps"),
        ("update", "set the same connection on many apps"),
    ):
        p = bulk_sub.add_parser(name, help=text, description=text, parents=[common])
        _add_bulk_options(p)
        if name == "update":
            _add_connection_flags(p, activate_help="activate (or not) in the same call")
            p.add_argument(
                "--read-back",
                action=argparse.BooleanOptionalAction,
                default=True,
                help="check that Okta kept what was set (scheme, base URL, client id, "
                "rotation mode, status); a mismatch fails that app (default: on)",
            )


def _add_tool_commands(add: _AddCommand) -> None:
    """completion, fake-server, demo."""
    p = add("completion", "print the shell completion script for bash, zsh or fish")
    p.add_argument("shell", choices=("bash", "zsh", "fish"))

    p = add("fake-server", "serve the embedded fake Okta org in the foreground")
    from ._fake_server import add_arguments

    add_arguments(p)

    p = add("demo", "a bulk job against an embedded fake org of a few thousand apps")
    p.add_argument(
        "--apps",
        type=_at_least(100),
        default=3000,
        help="apps in the fake org, at least 100 (default 3000)",
    )
    p.add_argument("--rate-limit", type=int, default=150, help="requests per window (default 150)")
    p.add_argument("--window", type=int, default=1, help="window in whole seconds (default 1)")


def _at_least(minimum: int, maximum: int | None = None) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, not {value}")
        return value

    return parse


# Opaque values (Okta's authorization codes and states are base64url; third-party tokens
# are anything) may begin with "-", which argparse would read as an option. These flags
# take their next word as the value.
_OPAQUE_VALUE_FLAGS = frozenset({"--continue-url", "--code", "--state", "--token"})


def _option_strings(parser: argparse.ArgumentParser) -> set[str]:
    found: set[str] = set()
    for action in parser._actions:
        found.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found |= _option_strings(child)
    return found


def _attach_opaque_values(argv: Sequence[str], known: set[str]) -> list[str]:
    """Rewrite ``--code -abc`` to ``--code=-abc`` so argparse keeps a value that starts with "-".

    The next word is left alone when it is itself one of our options (``--code --state x`` is
    still a usage error) or after a bare ``--``.
    """
    out: list[str] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            out.extend(argv[i:])
            break
        nxt = argv[i + 1] if i + 1 < len(argv) else None
        if (
            word in _OPAQUE_VALUE_FLAGS
            and nxt is not None
            and nxt.startswith("-")
            and nxt.split("=", 1)[0] not in known
        ):
            out.append(f"{word}={nxt}")
            i += 2
            continue
        out.append(word)
        i += 1
    return out


def _parse(parser: argparse.ArgumentParser, words: list[str]) -> argparse.Namespace:
    """``parser.parse_args``, but words it does not know are reported by the subcommand that
    got them, with its own usage: an unknown option alone (``--concurency 5 ids.txt`` made
    argparse take ``5`` for IDS_FILE and call ``ids.txt`` unrecognized too), with the
    options it may be a misspelling of."""
    args, extras = parser.parse_known_args(words)
    if not extras:
        return args
    chosen = _chosen_parser(parser, args)
    known = sorted(_own_options(chosen))
    unknown = [w.split("=", 1)[0] for w in extras if w.startswith("-") and w != "-"]
    if not unknown:
        chosen.error(f"unrecognized arguments: {' '.join(extras)}")
    parts = []
    for word in unknown:
        close = difflib.get_close_matches(word, known, n=2, cutoff=0.75)
        parts.append(word + (f" (did you mean {' or '.join(close)}?)" if close else ""))
    plural = "s" if len(parts) > 1 else ""
    chosen.error(f"unrecognized option{plural}: {', '.join(parts)}")
    raise AssertionError("unreachable")  # pragma: no cover - error() exits


def _chosen_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Any:
    """The innermost (sub)parser the words chose: ``bulk activate``'s for ``bulk activate``."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            name = getattr(args, action.dest or "", None)
            child = action.choices.get(name) if name is not None else None
            if child is not None:
                return _chosen_parser(child, args)
    return parser


def _own_options(parser: argparse.ArgumentParser) -> set[str]:
    return {o for action in parser._actions for o in action.option_strings if o.startswith("--")}


def _add_consent_flags(parser: argparse.ArgumentParser, *, resume: bool = False) -> None:
    extra = " (skips setting the connection: resume after consent)" if resume else ""
    parser.add_argument(
        "--continue-url",
        metavar="URL",
        help="the continue_oauth_flow_url Okta returned after consent" + extra,
    )
    parser.add_argument("--code", help="the authorization code" + extra)
    parser.add_argument("--state", help="the state Okta generated")


class _Handler(logging.Handler):
    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream
        self.setFormatter(logging.Formatter(f"{PROG}: %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + "\n")
            self.stream.flush()
        except Exception:  # pragma: no cover - logging must never break the command
            self.handleError(record)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0, 1, 2, 130 or 141)."""
    parser = build_parser()
    if "_ARGCOMPLETE" in os.environ:  # a shell asks for completions (see `completion`)
        import argcomplete

        argcomplete.autocomplete(parser)  # prints them and exits
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        args = _parse(parser, _attach_opaque_values(words, _option_strings(parser)))
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if sys.stdout is None:  # started with stdout closed (>&-): nowhere to answer
        if sys.stderr is not None:
            sys.stderr.write(f"{PROG}: error: stdout is closed; redirect it (>/dev/null)\n")
        return EXIT_USAGE
    json_mode = bool(getattr(args, "json", False)) or not sys.stdout.isatty()
    out = Output(json=json_mode)
    verbose = int(getattr(args, "verbose", 0) or 0)
    logger = logging.getLogger("okta_connections")
    handler: logging.Handler | None = None
    if verbose:
        handler = _Handler(sys.stderr)
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)

    def show_warning(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        out.info(f"{PROG}: warning: {message}")

    saved = warnings.showwarning
    warnings.showwarning = show_warning
    try:
        return _dispatch(parser, args, out)
    except KeyboardInterrupt:
        out.info(f"{PROG}: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of our stdout left (`apps list | head`, or a pipeline whose next command
        # failed first), whichever line was being written, an error report's included: the
        # command ends quietly, without a traceback.
        silence(sys.stdout)
        return EXIT_BROKEN_PIPE
    finally:
        warnings.showwarning = saved
        if handler is not None:
            logger.removeHandler(handler)


def _demo(args: argparse.Namespace, out: Output) -> int:
    """The demo: a walk-through for people, so its text goes to stdout even into a file;
    with ``--json`` stdout gets one JSON document, ``{"demo": {...}}``, and the text stderr."""
    from ._demo import run_demo

    asked_json = bool(getattr(args, "json", False))
    return asyncio.run(
        run_demo(
            out.info if asked_json else out.text,
            apps=args.apps,
            rate_limit=args.rate_limit,
            window=args.window,
            progress=sys.stderr if sys.stderr.isatty() else None,
            report=(lambda figures: out.data({"demo": figures})) if asked_json else None,
        )
    )


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace, out: Output) -> int:
    from . import _commands

    try:
        if args.command == "completion":
            from argcomplete.shell_integration import shellcode

            out.text(shellcode([PROG], shell=args.shell).rstrip("\n"))
            return EXIT_OK
        if args.command == "fake-server":
            from ..testing.__main__ import run

            return run(args)
        if args.command == "demo":
            return _demo(args, out)
        return asyncio.run(_commands.run(args, out))
    except UsageError as exc:
        parser_for = parser
        out.info(f"{parser_for.prog} {args.command}: error: {exc}")
        return EXIT_USAGE
    except InvalidArgumentError as exc:  # includes ConfigurationError
        out.error(exc)
        return EXIT_USAGE
    except OktaError as exc:
        from ._config import error_hint

        out.error(exc, hint=error_hint(exc, args))
        return EXIT_FAILED
    except BrokenPipeError:
        raise  # main() ends the command quietly (not "cannot read" below)
    except OSError as exc:  # a file named on the command line
        name = f" {exc.filename}" if exc.filename else ""
        message = f"cannot read{name}: {exc.strerror or exc}"
        out.info(f"{PROG}: error: {message}")
        if out.json:  # scripts read the error from stdout, as for every other failure
            body = {"type": type(exc).__name__, "message": message, "errno": exc.errno}
            out.data({"error": {k: v for k, v in body.items() if v is not None}})
        return EXIT_USAGE
