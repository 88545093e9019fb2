"""The subcommands that talk to an org: one async function each."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import InvalidArgumentError
from ._helpers import (
    connection_from_args,
    consent_values,
    make_client,
    parse_continue_url,
    read_text,
)
from ._output import (
    Output,
    app_to_json,
    connection_to_json,
    describe_connection,
    jwks_to_json,
    render_table,
)

# The helpers from _helpers are kept importable from here, where they were.
__all__ = ["connection_from_args", "make_client", "parse_continue_url", "read_text", "run"]

Command = Callable[[argparse.Namespace, Output], Awaitable[int]]


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
