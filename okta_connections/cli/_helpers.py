"""What the CLI's commands share: the client from the settings, files, connections, consent."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, BinaryIO, cast

from .._files import InputTooLargeError, decode_text, read_capped
from ..client import OktaClient
from ..errors import InvalidArgumentError
from ..models.connections import OAuthConnection, TokenConnection

__all__ = [
    "connection_from_args",
    "consent_values",
    "make_client",
    "parse_continue_url",
    "read_text",
    "stdin_binary",
]


def stdin_binary(what: str) -> BinaryIO:
    """The process's stdin as bytes, or a usage error when it is closed (``<&-``)."""
    stream = sys.stdin
    buffer = getattr(stream, "buffer", None) if stream is not None else None
    if buffer is None:
        raise InvalidArgumentError(what, "stdin is closed; give a file, or redirect stdin")
    return cast(BinaryIO, buffer)


def read_text(name: str, what: str) -> str:
    """The content of a file named on the command line ('-' is stdin), stripped.

    At most 1 MiB is read: a device that never ends (``/dev/zero``) or an endless FIFO is
    refused, not read until memory runs out.
    """
    where = "stdin" if name == "-" else name
    try:
        data = read_capped(stdin_binary(what) if name == "-" else name)
        text = decode_text(data)
    except InputTooLargeError as exc:
        raise InvalidArgumentError(what, f"{where} {exc}") from None
    except UnicodeDecodeError:
        # Never echo the content: it may be a secret in the wrong encoding.
        raise InvalidArgumentError(what, f"{where} is not UTF-8 text") from None
    text = text.strip()
    if not text:
        raise InvalidArgumentError(what, f"{'stdin' if name == '-' else name} is empty")
    return text


def make_client(args: argparse.Namespace, **options: Any) -> OktaClient:
    """A client from --org/--profile, OKTA_CLIENT_* and okta.yaml (errors exit 2)."""
    from .._version import __version__
    from ..errors import ConfigurationError
    from ._config import resolve_settings, source_of

    settings = resolve_settings(args)
    try:
        return OktaClient._from_settings(
            settings, user_agent_suffix=f"okta-connections-cli/{__version__}", **options
        )
    except ConfigurationError as exc:
        if exc.argument != "org_url":
            raise
        # Say which setting holds the bad URL: --org, a variable or an okta.yaml line.
        message = str(exc).removeprefix("org_url: ")
        raise ConfigurationError(
            "org_url", f"{message} (set by {source_of(settings, 'org_url')})"
        ) from None


def _body_connection(text: str) -> TokenConnection | OAuthConnection:
    # Never echo the body: it holds the connection's secret.
    try:
        body = json.loads(text)
    except ValueError:
        raise InvalidArgumentError("--body", "is not valid JSON") from None
    except RecursionError:
        raise InvalidArgumentError("--body", "is nested too deeply") from None
    profile = body.get("profile") if isinstance(body, dict) else None
    if not isinstance(profile, dict):
        raise InvalidArgumentError("--body", 'must be a JSON object with a "profile" object')
    scheme = profile.get("authScheme")
    if scheme == "TOKEN":
        token = profile.get("token")
        base_url = body.get("baseUrl")
        if not isinstance(token, str) or not isinstance(base_url, str | None):
            raise InvalidArgumentError(
                "--body", "profile.token must be a string (and baseUrl a string if given)"
            )
        return TokenConnection(token=token, base_url=base_url)
    if scheme == "OAUTH2":
        signing = profile.get("signing") or {}
        settings = profile.get("settings") or {}
        if not isinstance(signing, dict) or not isinstance(settings, dict):
            raise InvalidArgumentError("--body", "profile.signing and settings must be objects")
        values = {
            "client_id": profile.get("clientId"),
            "rotation_mode": signing.get("rotationMode"),
            "admin_username": settings.get("adminUsername"),
            "admin_password": settings.get("adminPassword"),
        }
        if not all(isinstance(v, str | None) for v in values.values()):
            raise InvalidArgumentError("--body", "OAuth fields must be strings")
        return OAuthConnection(**values)
    raise InvalidArgumentError("--body", 'profile.authScheme must be "TOKEN" or "OAUTH2"')


def connection_from_args(args: argparse.Namespace) -> TokenConnection | OAuthConnection:
    """The connection that update's flags describe; exactly one kind must be given."""
    kinds = [
        name
        for name, given in (
            ("--token/--token-file", args.token is not None or args.token_file is not None),
            ("--oauth", args.oauth),
            ("--body", args.body is not None),
        )
        if given
    ]
    if len(kinds) != 1:
        raise InvalidArgumentError(
            "connection",
            "give exactly one of --token (or --token-file), --oauth, --body"
            + (f"; got {' and '.join(kinds)}" if kinds else ""),
        )
    oauth_flags = (args.client_id, args.rotation_mode, args.admin_username)
    if not args.oauth and any(v is not None for v in (*oauth_flags, args.admin_password_file)):
        raise InvalidArgumentError(
            "connection",
            "--client-id, --rotation-mode and --admin-* go with --oauth",
        )
    if args.base_url is not None and kinds[0] != "--token/--token-file":
        raise InvalidArgumentError("--base-url", "goes with --token (Zscaler's SCIM base URL)")
    if args.body is not None:
        return _body_connection(read_text(args.body, "--body"))
    if kinds[0] == "--oauth":
        password = (
            read_text(args.admin_password_file, "--admin-password-file")
            if args.admin_password_file
            else None
        )
        return OAuthConnection(
            client_id=args.client_id,
            rotation_mode=args.rotation_mode,
            admin_username=args.admin_username,
            admin_password=password,
        )
    if args.token is not None and args.token_file is not None:
        raise InvalidArgumentError("--token", "give --token or --token-file, not both")
    token = args.token if args.token is not None else read_text(args.token_file, "--token-file")
    return TokenConnection(token=token, base_url=args.base_url)


def parse_continue_url(url: str, app_id: str, app_name: str) -> tuple[str, str]:
    """Code and state from Okta's ``continue_oauth_flow_url`` for this app."""
    from ..consent import parse_continue_url as parse

    found = parse(url, app_id=app_id, app_name=app_name, argument="--continue-url")
    return found.code, found.state


def consent_values(args: argparse.Namespace) -> tuple[str, str] | None:
    """Code and state from --continue-url or --code/--state; None when neither was given."""
    if args.continue_url is not None:
        if args.code is not None or args.state is not None:
            raise InvalidArgumentError("--continue-url", "give it or --code/--state, not both")
        return parse_continue_url(args.continue_url, args.app_id, args.app_name)
    if args.code is not None or args.state is not None:
        if not args.code or not args.state:
            raise InvalidArgumentError("--code", "--code and --state go together")
        return args.code, args.state
    return None
