"""Issue 26, the first hour of a new user: the paper cuts of the command line, each seen
as a user sees it (a subprocess, real pipes, a clean home)."""

from __future__ import annotations

import asyncio
import os
import shlex
import sys
from pathlib import Path

import pytest

from tests.support.cli import Cli, cli_env

pytestmark = pytest.mark.slow


async def _run_into_closed_pipe(*args: str, cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run the command with stdout a pipe whose reader has already left."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "okta_connections", *args,
            cwd=cwd, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=write_end,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
    finally:
        os.close(write_end)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, err.decode()


async def test_a_reader_that_left_ends_the_command_quietly_with_141(cli: Cli) -> None:
    rc, err = await _run_into_closed_pipe("apps", "list", "--json", cwd=cli.tmp, env=cli.env())
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert err == ""
    assert rc == 141  # 128 + SIGPIPE, as a shell reports `yes | head`


async def test_a_config_error_into_a_closed_pipe_keeps_its_exit_code(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    env = cli_env(tmp_path, None)  # no org URL anywhere
    rc, err = await _run_into_closed_pipe("apps", "list", "--json", cwd=tmp_path, env=env)
    assert "Traceback" not in err, err
    [line] = err.splitlines()  # the real problem, once
    assert "no org URL" in line
    assert rc == 2


async def test_the_pipeline_of_the_issue_prints_no_traceback(tmp_path: Path) -> None:
    # `apps list --json | bulk activate --dry-run` with no OKTA_CLIENT_ORGURL: both sides fail
    # on the missing URL. The left side starts once the right one has left, so that it
    # writes its error into a closed pipe (the order that printed the traceback).
    (tmp_path / "home").mkdir()
    exe = f"{shlex.quote(sys.executable)} -m okta_connections"
    left = f"while [ ! -e gone ]; do sleep 0.05; done; {exe} apps list --json"
    right = f"{exe} bulk activate --dry-run; rc=$?; touch gone; exit $rc"
    proc = await asyncio.create_subprocess_exec(
        "bash", "-c", f"set -o pipefail; ({left}) | ({right})",
        cwd=tmp_path, env=cli_env(tmp_path, None), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    text = err.decode()
    assert "Traceback" not in text, text
    assert text.count("no org URL") == 2 and len(text.splitlines()) == 2, text
    assert proc.returncode == 2
