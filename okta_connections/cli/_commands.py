"""The subcommands that talk to an org: one async function each."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ..client import OktaClient
from ..errors import InvalidArgumentError
from ..models import OAuthConnection, TokenConnection
from ._output import (
    Output,
    app_to_json,
    connection_to_json,
    describe_connection,
    jwks_to_json,
    render_table,
)

__all__ = ["connection_from_args", "make_client", "parse_continue_url", "read_text", "run"]

Command = Callable[[argparse.Namespace, Output], Awaitable[int]]


def read_text(name: str, what: str) -> str:
    """The content of a file named on the command line ('-' is stdin), stripped."""
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        # Never echo the content: it may be a secret in the wrong encoding.
        where = "stdin" if name == "-" else name
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


# ---------------------------------------------------------------------------- commands


async def cmd_get(args: argparse.Namespace, out: Output) -> int:
    async with make_client(args) as okta:
        conn = await okta.connections.get(args.app_id)
    out.emit(connection_to_json(args.app_id, conn), describe_connection(args.app_id, conn))
    return 0


async def cmd_update(args: argparse.Namespace, out: Output) -> int:
    connection = connection_from_args(args)
    async with make_client(args) as okta:
        conn = await okta.connections.update(args.app_id, connection, activate=args.activate)
    out.emit(connection_to_json(args.app_id, conn), describe_connection(args.app_id, conn))
    return 0


async def _lifecycle(args: argparse.Namespace, out: Output, verb: str) -> int:
    async with make_client(args) as okta:
        await getattr(okta.connections, verb)(args.app_id)
    out.emit(
        {"appId": args.app_id, "operation": verb, "ok": True},
        f"{args.app_id}: connection {verb}d",
    )
    return 0


async def cmd_activate(args: argparse.Namespace, out: Output) -> int:
    return await _lifecycle(args, out, "activate")


async def cmd_deactivate(args: argparse.Namespace, out: Output) -> int:
    return await _lifecycle(args, out, "deactivate")


async def cmd_jwks(args: argparse.Namespace, out: Output) -> int:
    async with make_client(args) as okta:
        jwks = await okta.connections.get_jwks(args.app_id)
    rows = [(k.kid, k.kty, k.use, k.alg, k.created, k.expires_at) for k in jwks.keys]
    out.emit(
        jwks_to_json(args.app_id, jwks),
        render_table(("kid", "kty", "use", "alg", "created", "expires"), rows)
        if rows
        else f"{args.app_id}: no keys",
    )
    return 0


async def cmd_verify(args: argparse.Namespace, out: Output) -> int:
    values = consent_values(args)
    if values is None:
        raise InvalidArgumentError("--continue-url", "give --continue-url, or --code and --state")
    from .._validation import check_app_name

    check_app_name(args.app_name)
    async with make_client(args) as okta:
        await okta.connections.verify(args.app_name, args.app_id, code=values[0], state=values[1])
    out.emit(
        {"appId": args.app_id, "operation": "verify", "ok": True},
        f"{args.app_id}: consent verified; activate the connection next",
    )
    return 0


async def cmd_apps_list(args: argparse.Namespace, out: Output) -> int:
    rows: list[tuple[Any, ...]] = []
    async with make_client(args) as okta:
        async for app in okta.apps.list(q=args.q, filter=args.filter, limit=args.limit):
            if out.json:
                out.data(app_to_json(app))  # JSON lines, streamed page by page
            else:
                rows.append((app.id, app.name, app.label, app.status, app.sign_on_mode))
    if not out.json:
        out.text(render_table(("id", "name", "label", "status", "sign-on"), rows))
        out.info(f"{len(rows)} apps")
    return 0


async def run(args: argparse.Namespace, out: Output) -> int:
    """Run the parsed subcommand; returns the exit code."""
    from ._bulk import cmd_bulk
    from ._connect import cmd_connect

    commands: dict[str, Command] = {
        "get": cmd_get,
        "update": cmd_update,
        "activate": cmd_activate,
        "deactivate": cmd_deactivate,
        "jwks": cmd_jwks,
        "verify": cmd_verify,
        "connect": cmd_connect,
        "bulk": cmd_bulk,
    }
    if args.command == "apps":
        return await cmd_apps_list(args, out)
    if args.command == "config":
        from ._config import cmd_config_show

        return await cmd_config_show(args, out)
    return await commands[args.command](args, out)
