"""The subcommands that talk to an org: one async function each."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import InvalidArgumentError
from ..operations import TABLE, Operation
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


async def _lifecycle(args: argparse.Namespace, out: Output, op: Operation) -> int:
    async with make_client(args) as okta:
        await getattr(okta.connections, op.name)(args.app_id)
    out.emit(
        {"appId": args.app_id, "operation": op.name, "ok": True},
        f"{args.app_id}: connection {op.name}d",
    )
    return 0


async def cmd_activate(args: argparse.Namespace, out: Output) -> int:
    return await _lifecycle(args, out, TABLE["activate"])


async def cmd_deactivate(args: argparse.Namespace, out: Output) -> int:
    return await _lifecycle(args, out, TABLE["deactivate"])


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
        {"appId": args.app_id, "operation": TABLE["verify"].name, "ok": True},
        f"{args.app_id}: consent verified; activate the connection next",
    )
    return 0


async def cmd_apps_list(args: argparse.Namespace, out: Output) -> int:
    """``--limit N``: at most N apps (as ``gh ... --limit``); ``--page-size``: Okta's ``limit=``,
    which defaults to N when N fits in one page, so that ``--limit 3`` sends one small request."""
    rows: list[tuple[Any, ...]] = []
    most: int | None = args.limit
    page_size = args.page_size
    if page_size is None and most is not None and most <= 200:
        page_size = most
    count = 0
    async with make_client(args) as okta:
        apps = okta.apps.list(q=args.q, filter=args.filter, limit=page_size)
        async with contextlib.aclosing(apps):  # type: ignore[type-var]
            async for app in apps:
                count += 1
                if out.json:
                    out.data(app_to_json(app))  # JSON lines, streamed page by page
                else:
                    rows.append((app.id, app.name, app.label, app.status, app.sign_on_mode))
                if most is not None and count >= most:
                    break  # before the next page is asked for
    if not out.json:
        out.text(render_table(("id", "name", "label", "status", "sign-on"), rows))
        out.info(f"{len(rows)} apps")
    return 0


async def run(args: argparse.Namespace, out: Output) -> int:
    """Run the parsed subcommand; returns the exit code."""
    from ._bulk import cmd_bulk
    from ._connect import cmd_connect

    # The commands of one operation each are named by the table (operations.TABLE).
    commands: dict[str, Command] = {
        TABLE["get"].command: cmd_get,
        TABLE["update"].command: cmd_update,
        TABLE["activate"].command: cmd_activate,
        TABLE["deactivate"].command: cmd_deactivate,
        TABLE["get_jwks"].command: cmd_jwks,
        TABLE["verify"].command: cmd_verify,
        "connect": cmd_connect,
        "bulk": cmd_bulk,
    }
    if args.command == TABLE["list_apps"].command.split()[0]:
        return await cmd_apps_list(args, out)
    if args.command == "config":
        from ._config import cmd_config_show

        return await cmd_config_show(args, out)
    return await commands[args.command](args, out)
