"""``okta-connections connect``: an OAuth consent flow from set-up to an active connection."""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
from typing import Any

from .._validation import check_app_name
from ..errors import InvalidArgumentError
from ..models.connections import OAuthConnection
from ._helpers import consent_values, make_client, parse_continue_url, read_text
from ._output import Output

__all__ = ["cmd_connect", "parse_consent_answer"]


def parse_consent_answer(answer: str, app_id: str, app_name: str) -> tuple[str, str]:
    """Code and state from what the admin pasted: the continue URL, Okta's JSON answer
    (``{"continue_oauth_flow_url": {"href": ...}}``), or ``CODE STATE``."""
    answer = answer.strip()
    if "://" in answer or answer.startswith(("/", "{")):
        return parse_continue_url(answer, app_id, app_name)
    words = answer.split()
    if len(words) != 2:
        raise InvalidArgumentError(
            "consent", "paste the continue_oauth_flow_url, or the code and the state"
        )
    return words[0], words[1]


async def _read_line(prompt: str | None) -> str:
    """A line from stdin without blocking the loop (a daemon thread: Ctrl-C never waits)."""
    if prompt:
        sys.stderr.write(prompt)
        sys.stderr.flush()
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str] = loop.create_future()

    def deliver(line: str) -> None:
        if not future.done():
            future.set_result(line)

    def reader() -> None:
        try:
            # A closed stdin (None) gives no answer: the command says what to run next.
            line = sys.stdin.readline() if sys.stdin is not None else ""
        except (OSError, ValueError):
            line = ""
        loop.call_soon_threadsafe(deliver, line)

    threading.Thread(target=reader, name="okta-connections-stdin", daemon=True).start()
    return await future


class _Steps:
    def __init__(self, out: Output, app_id: str, total: int) -> None:
        self.out = out
        self.app_id = app_id
        self.total = total
        self.n = 0

    def report(self, step: str, human: str, **fields: Any) -> None:
        self.n += 1
        self.out.emit(
            {"step": step, "appId": self.app_id, **fields},
            f"[{self.n}/{self.total}] {human}",
        )


async def cmd_connect(args: argparse.Namespace, out: Output) -> int:
    """Set the OAuth connection, show where to consent, then verify and activate."""
    name = check_app_name(args.app_name).value
    given = consent_values(args)
    password = (
        read_text(args.admin_password_file, "--admin-password-file")
        if args.admin_password_file
        else None
    )
    if (args.admin_username is None) != (password is None):
        raise InvalidArgumentError(
            "--admin-username", "--admin-username and --admin-password-file go together"
        )
    if given is not None and (args.admin_username is not None):
        raise InvalidArgumentError(
            "--admin-username", "is for setting the connection, not for resuming with a code"
        )
    total = (2 if given is not None else 4) - (1 if args.no_activate else 0)
    steps = _Steps(out, args.app_id, total)
    async with make_client(args) as okta:
        if given is None:
            conn = await okta.connections.update(
                args.app_id,
                OAuthConnection(admin_username=args.admin_username, admin_password=password),
            )
            authorize = conn.links.authorize.href if conn.links.authorize is not None else None
            steps.report(
                "update",
                f"OAuth connection set on {args.app_id} ({name}): {conn.status.value}",
                status=conn.status.value,
                authorizeUrl=authorize,
            )
            if authorize is None:
                out.info("no consent needed (Okta gave no authorize link)")
                steps.total -= 2
            else:
                steps.report(
                    "authorize",
                    f"an admin of {name} opens this URL and grants consent:\n      {authorize}",
                    url=authorize,
                )
                prompt = (
                    "Paste the continue_oauth_flow_url Okta returned (or CODE STATE): "
                    if sys.stdin is not None and sys.stdin.isatty()
                    else None
                )
                answer = await _read_line(prompt)
                if not answer.strip():
                    out.info(
                        "okta-connections: no continue URL given; once consent is granted, run: "
                        f"okta-connections connect {args.app_id} --app-name {name} "
                        "--continue-url URL"
                    )
                    return 1
                given = parse_consent_answer(answer, args.app_id, name)
        if given is not None:
            await okta.connections.verify(name, args.app_id, code=given[0], state=given[1])
            steps.report("verify", "consent verified", ok=True)
        if not args.no_activate:
            await okta.connections.activate(args.app_id)
            conn = await okta.connections.get(args.app_id)
            steps.report(
                "activate",
                f"connection activated: {conn.auth_scheme.value} {conn.status.value}",
                status=conn.status.value,
            )
    return 0
