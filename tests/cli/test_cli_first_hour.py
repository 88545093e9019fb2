"""Issue 26, the first hour of a new user: the paper cuts of the command line, each seen
as a user sees it (a subprocess, real pipes, a clean home)."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.cli import Cli, cli_env, run_cli, start_cli

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


# ---------------------------------------------------------------- the consent answer as JSON


async def _consent_answer(cli: Cli, app_id: str) -> str:
    """What the fake's consent link answers, as text: Okta's JSON, pasted as it came."""
    from okta_connections import OAuthConnection, OktaClient, SSWSToken

    async with OktaClient(cli.fake.org_url, auth=SSWSToken(cli.fake.token)) as okta:
        await okta.connections.deactivate(app_id)
        conn = await okta.connections.update(app_id, OAuthConnection())
    assert conn.links.authorize is not None
    async with aiohttp.ClientSession() as http, http.get(conn.links.authorize.href) as resp:
        assert resp.status == 200
        text = await resp.text()
    assert text.startswith('{"continue_oauth_flow_url"')
    return text


async def test_verify_takes_okta_s_json_answer_as_the_continue_url(cli: Cli) -> None:
    app = cli.first("slack")
    answer = await _consent_answer(cli, app.id)
    result = await cli("verify", app.id, "--app-name", "slack", "--continue-url", answer)
    assert result.rc == 0, result.err
    assert cli.fake.count(operation="verify", status=204) == 1


async def test_connect_takes_okta_s_json_answer_on_stdin(cli: Cli) -> None:
    app = cli.first("zoomus")
    proc = await start_cli(
        "connect", app.id, "--app-name", "zoomus", cwd=cli.tmp, env=cli.env(),
        stdin=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stdin is not None
    try:
        step: dict[str, Any] = {}
        while step.get("step") != "authorize":
            line = await asyncio.wait_for(proc.stdout.readline(), 20)
            assert line
            step = json.loads(line)
        # The admin opens the link and pastes the whole answer, JSON and all.
        async with aiohttp.ClientSession() as http, http.get(step["url"]) as resp:
            answer = await resp.text()
        assert answer.startswith('{"continue_oauth_flow_url"')
        proc.stdin.write(answer.encode() + b"\n")
        await proc.stdin.drain()
        out, err = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    assert [json.loads(line)["step"] for line in out.decode().splitlines()] == [
        "verify",
        "activate",
    ]
    assert app.connection_status == "ENABLED"


async def test_bad_json_text_is_a_usage_error_without_the_code(cli: Cli) -> None:
    app = cli.first("slack")
    answer = await _consent_answer(cli, app.id)
    code = answer.split("code=")[1].split("&")[0]
    result = await cli("verify", app.id, "--app-name", "slack", "--continue-url", answer[:-3])
    assert result.rc == 2
    assert "--continue-url: looks like JSON but is not valid JSON" in result.err
    assert code not in result.err + result.out
    assert cli.fake.count(operation="verify") == 0


# ---------------------------------------------------------------- item 8: the smaller ones


async def test_apps_list_limit_is_the_most_apps_and_page_size_the_page(cli: Cli) -> None:
    result = await cli("apps", "list", "--limit", "3")
    assert result.rc == 0, result.err
    assert [a["id"] for a in result.json_lines()] == [a.id for a in cli.fake.apps[:3]]
    [request] = cli.fake.requests  # one page of 3, not every app
    assert request.query.get("limit") == "3"
    # --limit larger than a page: pages of --page-size, stopping at the limit
    result = await cli("apps", "list", "--limit", "5", "--page-size", "2")
    assert [a["id"] for a in result.json_lines()] == [a.id for a in cli.fake.apps[:5]]
    assert [r.query.get("limit") for r in cli.fake.requests[1:]] == ["2", "2", "2"]
    result = await cli("apps", "list", "--limit", "0")
    assert result.rc == 2 and "at least 1" in result.err
    result = await cli("apps", "list", "--page-size", "500")
    assert result.rc == 2 and "--page-size: must be at most 200, not 500" in result.err


async def test_a_profile_with_no_okta_yaml_anywhere_says_neither_file_exists(
    tmp_path: Path,
) -> None:
    (tmp_path / "home").mkdir()
    env = cli_env(tmp_path, None)
    result = await run_cli("--profile", "staging", "get", "0oa1", cwd=tmp_path, env=env)
    assert result.rc == 2
    [line] = result.err.splitlines()
    assert "no profile named 'staging': neither " in line and " exists" in line, line
    assert str(tmp_path / "home" / ".okta" / "okta.yaml") in line


async def test_nothing_listening_at_the_org_url_gives_a_hint(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    env = cli_env(tmp_path, None, OKTA_CLIENT_TOKEN="00tok")
    result = await run_cli("--org", "http://127.0.0.1:9", "get", "0oa1", cwd=tmp_path, env=env)
    assert result.rc == 1
    [line] = result.err.splitlines()
    assert "cannot connect to 127.0.0.1:9" in line
    assert "nothing answered at http://127.0.0.1:9: is the server running" in line, line
    assert "is the org URL right? It came from --org" in line
    assert "is the server running" in result.json()["error"]["hint"]
    # A bulk job of which not one app connected says it once, after its summary.
    (tmp_path / "ids.txt").write_text("0oa1\n0oa2\n")
    result = await run_cli(
        "--org", "http://127.0.0.1:9", "bulk", "get", "ids.txt", cwd=tmp_path, env=env
    )
    assert result.rc == 1
    assert result.err.count("is the server running") == 1, result.err
    assert "2 app(s) failed to connect: nothing answered at http://127.0.0.1:9" in result.err


async def test_fake_server_on_a_busy_port_suggests_port_0(tmp_path: Path) -> None:
    busy = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    try:
        port = busy.sockets[0].getsockname()[1]
        result = await run_cli(
            "fake-server", "--port", str(port), cwd=tmp_path, env=cli_env(tmp_path, None)
        )
    finally:
        busy.close()
        await busy.wait_closed()
    assert result.rc == 1
    [line] = result.err.splitlines()
    assert f"cannot serve on 127.0.0.1:{port}" in line
    assert f"port {port} is in use" in line and "--port 0 for a free one" in line, line


async def test_a_misspelt_flag_gets_a_suggestion_and_the_subcommand_s_usage(
    tmp_path: Path,
) -> None:
    (tmp_path / "home").mkdir()
    (tmp_path / "ids.txt").write_text("0oa1\n")
    env = cli_env(tmp_path, None)
    result = await run_cli(
        "bulk", "activate", "--concurency", "5", "ids.txt", cwd=tmp_path, env=env
    )
    assert result.rc == 2
    assert result.err.startswith("usage: okta-connections bulk activate ")
    error = result.err.splitlines()[-1]
    assert error == (
        "okta-connections bulk activate: error: unrecognized option: --concurency "
        "(did you mean --concurrency?)"
    )
    assert "ids.txt" not in result.err  # the file is not called unrecognized too
    result = await run_cli("get", "0oa1", "extra", cwd=tmp_path, env=env)
    assert result.rc == 2
    assert result.err.splitlines()[-1] == (
        "okta-connections get: error: unrecognized arguments: extra"
    )


async def test_demo_json_into_a_file_is_one_json_document(tmp_path: Path) -> None:
    # `demo --json > file`: stdout is a file, and it gets JSON; the walk-through goes to
    # stderr. (Without --json the demo prints its walk-through, even into a file.)
    env = cli_env(tmp_path, None)
    result = await run_cli(
        "demo", "--json", "--apps", "200", "--rate-limit", "400", cwd=tmp_path, env=env, timeout=60
    )
    assert result.rc == 0, result.err
    [document] = result.json_lines()
    demo = document["demo"]
    assert demo["ok"] is True and demo["selected"] == demo["active"] > 0
    assert demo["activate"]["succeeded"] == demo["selected"]
    assert demo["requests"] >= 2 * demo["selected"] and demo["minimum"] >= 0
    assert "1. select" in result.err and "the fake org is stopped" in result.err
