"""The okta-connections command, run in real subprocesses against a FakeOkta in this loop."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.support.cli import (
    TARGET_TOKEN,
    TOKEN,
    Cli,
    assert_no_secret,
    cli_env,
    start_cli,
)

# slow: every test here runs the command in a subprocess.
pytestmark = pytest.mark.slow

# ---------------------------------------------------------------------------- single ops


async def test_get_prints_the_connection_as_json_when_stdout_is_not_a_tty(cli: Cli) -> None:
    app = cli.first("zscalerbyz")
    result = await cli("get", app.id)
    assert result.rc == 0, result.err
    body = result.json()
    assert body["appId"] == app.id
    assert body["authScheme"] == app.auth_scheme
    assert body["status"] == app.connection_status
    assert body["baseUrl"] == app.base_url
    assert "self" in body["_links"]
    # --json gives the same document
    assert (await cli("--json", "get", app.id)).json() == body
    assert (await cli("get", app.id, "--json")).json() == body


async def test_update_with_a_token_file_and_activate(cli: Cli) -> None:
    app = cli.first("okta_org2org")
    (cli.tmp / "token.txt").write_text(TARGET_TOKEN + "\n")
    result = await cli("-v", "update", app.id, "--token-file", "token.txt", "--activate")
    assert result.rc == 0, result.err
    body = result.json()
    assert (body["authScheme"], body["status"]) == ("TOKEN", "ENABLED")
    assert (app.auth_scheme, app.connection_status) == ("TOKEN", "ENABLED")
    assert "POST /api/v1/apps/" in result.err  # -v logged the request ...
    assert_no_secret(result)  # ... and neither the SSWS token nor the target token


async def test_update_with_a_body_file(cli: Cli) -> None:
    app = cli.first("okta_org2org")
    body = {"profile": {"authScheme": "OAUTH2", "clientId": "0oaclient1", "signing": {}}}
    body["profile"]["signing"] = {"rotationMode": "AUTO"}
    (cli.tmp / "body.json").write_text(json.dumps(body))
    result = await cli("update", app.id, "--body", "body.json", "--no-activate")
    assert result.rc == 0, result.err
    out = result.json()
    assert out["authScheme"] == "OAUTH2"
    assert out["profile"]["clientId"] == "0oaclient1"
    assert out["profile"]["signing"]["rotationMode"] == "AUTO"
    assert (app.auth_scheme, app.client_id, app.rotation_mode) == ("OAUTH2", "0oaclient1", "AUTO")
    sent = [r for r in cli.fake.requests if r.operation == "update"]
    assert sent[-1].query == {"activate": "false"}


async def test_update_from_stdin_body_with_the_token_never_echoed(cli: Cli) -> None:
    app = cli.first("zscalerbyz")
    body = {"baseUrl": "https://scim.example.com/1/scim", "profile": {"authScheme": "TOKEN"}}
    body["profile"]["token"] = TARGET_TOKEN
    result = await cli("-v", "update", app.id, "--body", "-", input=json.dumps(body))
    assert result.rc == 0, result.err
    assert app.base_url == "https://scim.example.com/1/scim"
    assert_no_secret(result)


async def test_activate_and_deactivate(cli: Cli) -> None:
    app = cli.first("zscalerbyz", connection_status="ENABLED")
    result = await cli("deactivate", app.id)
    assert (result.rc, result.json()) == (
        0,
        {"appId": app.id, "operation": "deactivate", "ok": True},
    )
    assert app.connection_status == "DISABLED"
    result = await cli("activate", app.id)
    assert result.rc == 0
    assert result.json()["operation"] == "activate"
    assert app.connection_status == "ENABLED"


async def test_jwks_lists_the_keys_of_an_org2org_oauth_connection(cli: Cli) -> None:
    app = next(a for a in cli.fake.apps if a.name == "okta_org2org" and a.jwks)
    result = await cli("jwks", app.id)
    assert result.rc == 0, result.err
    doc = result.json()
    assert [k["kid"] for k in doc["keys"]] == [k["kid"] for k in app.jwks]
    assert all(k["kty"] == "RSA" for k in doc["keys"])


async def test_verify_with_the_continue_url(cli: Cli) -> None:
    app = cli.first("slack")
    assert (await cli("update", app.id, "--oauth")).rc == 0
    assert app.consent_pending
    url = cli.fake.consent(app.id)
    result = await cli("verify", app.id, "--app-name", "slack", "--continue-url", url)
    assert result.rc == 0, result.err
    assert result.json() == {"appId": app.id, "operation": "verify", "ok": True}
    assert app.consent_state == "verified"
    # the code is single-use: Okta's error comes back with its code and request id, exit 1
    again = await cli("verify", app.id, "--app-name", "slack", "--continue-url", url)
    assert again.rc == 1
    error = again.json()["error"]
    assert (error["errorCode"], error["status"]) == ("E0000001", 400)
    assert error["requestId"].startswith("req")
    assert "E0000001" in again.err and error["requestId"] in again.err


async def test_apps_list_streams_json_lines_with_q_and_filter(cli: Cli) -> None:
    result = await cli("apps", "list", "--filter", 'name eq "slack"', "--page-size", "2")
    assert result.rc == 0, result.err
    apps = result.json_lines()
    expected = [a.id for a in cli.fake.apps if a.name == "slack"]
    assert [a["id"] for a in apps] == expected and len(expected) > 2
    assert {a["name"] for a in apps} == {"slack"}
    result = await cli("apps", "list", "--q", "Zscaler")
    assert {a["name"] for a in result.json_lines()} == {"zscalerbyz"}


# ---------------------------------------------------------------------------- connect


async def test_connect_walks_the_consent_flow_end_to_end(cli: Cli) -> None:
    """Set OAuth, print the authorize URL, take the continue URL on stdin, verify, activate."""
    app = cli.first("slack")
    proc = await start_cli(
        "-v", "connect", app.id, "--app-name", "slack", cwd=cli.tmp, env=cli.env(),
        stdin=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stdin is not None and proc.stderr is not None
    try:
        steps = []
        while not steps or steps[-1]["step"] != "authorize":
            line = await asyncio.wait_for(proc.stdout.readline(), 20)
            assert line, (await proc.stderr.read()).decode()
            steps.append(json.loads(line))
        assert steps[0]["step"] == "update" and steps[0]["status"] == "DISABLED"
        authorize = steps[-1]["url"]
        assert authorize == steps[0]["authorizeUrl"]
        # The admin opens the authorize URL; the fake's stand-in consent page answers with
        # the continue_oauth_flow_url that Okta would hand back.
        async with aiohttp.ClientSession() as http, http.get(authorize) as resp:
            assert resp.status == 200
            continue_url = (await resp.json())["continue_oauth_flow_url"]["href"]
        proc.stdin.write(continue_url.encode() + b"\n")
        await proc.stdin.drain()
        out, err = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    rest = [json.loads(line) for line in out.decode().splitlines()]
    assert [s["step"] for s in rest] == ["verify", "activate"]
    assert rest[-1]["status"] == "ENABLED"
    assert (app.consent_state, app.connection_status) == ("verified", "ENABLED")
    code = continue_url.split("code=")[1].split("&")[0]
    assert code not in out.decode() + err.decode()  # the one-time code is not logged
    assert TOKEN not in out.decode() + err.decode()


async def test_connect_resumes_with_code_and_state(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Okta's codes are base64url, so about one in 32 begins with "-"; CI once drew one and
    # argparse read it as an option. Make every code and state the fake issues begin with "-".
    real = secrets.token_urlsafe
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n=None: "-" + real(n))
    app = cli.first("zoomus")
    first = await cli("connect", app.id, "--app-name", "zoomus")  # stdin is empty
    assert first.rc == 1
    assert "--continue-url" in first.err  # says how to resume
    assert [s["step"] for s in first.json_lines()] == ["update", "authorize"]
    url = cli.fake.consent(app.id)
    code, state = url.split("code=")[1].split("&state=")
    assert code.startswith("-") and state.startswith("-")
    result = await cli("connect", app.id, "--app-name", "zoomus", "--code", code, "--state", state)
    assert result.rc == 0, result.err
    assert [s["step"] for s in result.json_lines()] == ["verify", "activate"]
    assert app.connection_status == "ENABLED"


async def test_connect_refuses_a_continue_url_of_another_app(cli: Cli) -> None:
    app = cli.first("slack")
    other = next(a for a in cli.fake.apps if a.name == "slack" and a.id != app.id)
    url = f"{cli.fake.org_url}/api/v1/apps/slack/{other.id}/oauth2/callback?code=a&state=b"
    result = await cli("connect", app.id, "--app-name", "slack", "--continue-url", url)
    assert result.rc == 2
    assert "is for app" in result.err
    assert cli.fake.count(operation="verify") == 0


# ---------------------------------------------------------------------------- exit codes


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("frobnicate",),
        ("get",),
        ("get", "not/an/id"),
        ("update", "0oa0000000000000000a"),  # no connection flags
        ("update", "0oa0000000000000000a", "--token", "x", "--oauth"),
        ("verify", "0oa0000000000000000a", "--app-name", "slack"),  # no code
        (
            "verify",
            "0oa0000000000000000a",
            "--app-name",
            "okta_org2org",
            "--code",
            "a",
            "--state",
            "b",
        ),
        ("bulk", "activate", "--concurrency", "0", "--filter", "x"),
        ("bulk", "activate", "--retry-failed", "--filter", "x"),
        ("update", "0oa0000000000000000a", "--body", "missing.json"),
    ],
)
async def test_usage_errors_exit_2_before_any_request(cli: Cli, args: tuple[str, ...]) -> None:
    result = await cli(*args)
    assert result.rc == 2, (result.out, result.err)
    assert result.err.strip()
    assert cli.fake.count() == 0


async def test_help_exits_0(cli: Cli) -> None:
    result = await cli("--help")
    assert result.rc == 0
    for command in ("get", "update", "activate", "deactivate", "jwks", "verify", "connect"):
        assert command in result.out
    assert "bulk" in result.out and "apps" in result.out and "demo" in result.out


async def test_api_errors_exit_1_with_code_summary_and_request_id(cli: Cli) -> None:
    missing = "0oaDOESNOTEXIST0000000"
    result = await cli("get", missing)
    assert result.rc == 1
    error = result.json()["error"]
    assert error["errorCode"] == "E0000007"
    assert missing in error["errorSummary"]
    assert error["requestId"] == cli.fake.requests[-1].request_id
    assert f"E0000007 {error['errorSummary']}" in result.err
    assert error["requestId"] in result.err


async def test_a_wrong_token_is_never_printed(cli: Cli, tmp_path: Path) -> None:
    wrong = "00wrong-token-value-that-must-stay-hidden"
    app = cli.first("slack")
    result = await cli("-v", "get", app.id, env=cli.env(OKTA_CLIENT_TOKEN=wrong))
    assert result.rc == 1
    assert result.json()["error"]["errorCode"] == "E0000011"
    assert_no_secret(result, wrong)


async def test_verbose_logs_every_request_and_never_a_secret(cli: Cli) -> None:
    org2org = next(a for a in cli.fake.apps if a.name == "okta_org2org" and a.jwks)
    zscaler = cli.first("zscalerbyz")
    (cli.tmp / "ids").write_text(zscaler.id)
    for args in [
        ("get", zscaler.id),
        ("deactivate", zscaler.id),
        ("activate", zscaler.id),
        ("jwks", org2org.id),
        ("apps", "list", "--q", "Slack"),
        ("bulk", "get", "ids"),
        ("update", zscaler.id, "--token", TARGET_TOKEN),
        ("bulk", "update", "ids", "--token", TARGET_TOKEN, "--dry-run"),
    ]:
        result = await cli("-v", *args)
        assert result.rc == 0, (args, result.err)
        if "--dry-run" not in args:
            assert "okta_connections" in result.err and "request id req" in result.err, args
        assert_no_secret(result)
    assert zscaler.token == TARGET_TOKEN  # the update did send it


async def test_missing_configuration_exits_2_and_says_where_to_set_it(cli: Cli) -> None:
    env = cli_env(cli.tmp, None)
    result = await cli("get", "0oa0000000000000000a", env=env)
    assert result.rc == 2
    assert "OKTA_CLIENT_ORGURL" in result.err
    result = await cli(
        "get", "0oa0000000000000000a", env={**env, "OKTA_CLIENT_ORGURL": "http://127.0.0.1:9"}
    )
    assert result.rc == 2
    assert "OKTA_CLIENT_TOKEN" in result.err


async def test_transport_errors_exit_1(cli: Cli) -> None:
    env = cli.env(OKTA_CLIENT_ORGURL="http://127.0.0.1:9")  # nothing listens on port 9
    result = await cli("get", "0oa0000000000000000a", env=env)
    assert result.rc == 1
    assert result.json()["error"]["type"] == "OktaConnectionError"


# ---------------------------------------------------------------------------- config


PROFILES_YAML = """
okta:
  client:
    orgUrl: http://127.0.0.1:9
    token: {token}
  profiles:
    staging:
      orgUrl: {url}
      token: {token}
    prod-admin:
      orgUrl: http://127.0.0.1:9
      token: {token}
"""


async def test_profiles_and_precedence(cli: Cli) -> None:
    """--profile picks a connection nickname; arguments beat env beat ./okta.yaml beat home."""
    yaml_path = cli.tmp / "okta.yaml"
    yaml_path.write_text(PROFILES_YAML.format(url=cli.fake.org_url, token=TOKEN))
    os.chmod(yaml_path, 0o600)
    app = cli.first("zscalerbyz")
    bare = cli_env(cli.tmp, None)
    # okta.client points nowhere: a transport error
    assert (await cli("get", app.id, env=bare)).rc == 1
    # the named profile points at the fake
    result = await cli("--profile", "staging", "get", app.id, env=bare)
    assert result.rc == 0, result.err
    assert result.json()["appId"] == app.id
    result = await cli("get", app.id, env={**bare, "OKTA_CLIENT_PROFILE": "staging"})
    assert result.rc == 0, result.err
    # env beats the file; --org beats env
    assert (await cli("get", app.id, env={**bare, "OKTA_CLIENT_ORGURL": cli.fake.org_url})).rc == 0
    env = {**bare, "OKTA_CLIENT_ORGURL": "http://127.0.0.1:9"}
    assert (await cli("--org", cli.fake.org_url, "get", app.id, env=env)).rc == 0
    assert (await cli("get", app.id, env=env)).rc == 1
    # an unknown profile is a configuration error that lists the known ones
    result = await cli("--profile", "prod", "get", app.id, env=bare)
    assert result.rc == 2
    assert "known profiles: staging, prod-admin" in result.err
    assert_no_secret(result)


async def test_home_okta_yaml_is_read_and_loose_permissions_warn(cli: Cli) -> None:
    home_yaml = cli.tmp / "home" / ".okta" / "okta.yaml"
    home_yaml.parent.mkdir()
    home_yaml.write_text(f"okta:\n  client:\n    orgUrl: {cli.fake.org_url}\n    token: {TOKEN}\n")
    os.chmod(home_yaml, 0o644)
    app = cli.first("zscalerbyz")
    result = await cli("get", app.id, env=cli_env(cli.tmp, None))
    assert result.rc == 0, result.err
    assert "warning" in result.err and "chmod 600" in result.err
    assert_no_secret(result)
    os.chmod(home_yaml, 0o600)
    result = await cli("get", app.id, env=cli_env(cli.tmp, None))
    assert result.rc == 0 and "warning" not in result.err


# ---------------------------------------------------------------------------- human output


async def test_humans_get_a_table_on_a_terminal(cli: Cli) -> None:
    """With stdout a pseudo-terminal, get prints aligned fields, not JSON."""
    pty = pytest.importorskip("pty")
    app = cli.first("zscalerbyz")
    leader, follower = pty.openpty()
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "okta_connections", "get", app.id,
            cwd=cli.tmp, env=cli.env(), stdin=asyncio.subprocess.DEVNULL,
            stdout=follower, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        os.close(follower)
        follower = -1
        assert await asyncio.wait_for(proc.wait(), 20) == 0
        text = os.read(leader, 65536).decode()
    finally:
        os.close(leader)
        if follower != -1:
            os.close(follower)
    assert "auth scheme:" in text and "status:" in text
    assert app.id in text
    assert not text.lstrip().startswith("{")
