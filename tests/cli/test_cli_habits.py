"""The command as a new user meets it: --version, errors in flags and variables, config show,
a 401 that names its credential's source, TLS against a plain-HTTP loopback, NO_COLOR."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from okta_connections import __version__
from okta_connections.cli._config import cmd_config_show
from okta_connections.cli._output import Output
from tests.support.cli import TOKEN, Cli, assert_no_secret, cli_env, run_cli


@pytest.mark.slow
async def test_version(cli: Cli) -> None:
    result = await cli("--version")
    assert (result.rc, result.out.strip()) == (0, f"okta-connections {__version__}")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("env", "wanted"),
    [
        ({}, ["no org URL", "--org URL", "$OKTA_CLIENT_ORGURL", "orgUrl under okta.client"]),
        (
            {"OKTA_CLIENT_ORGURL": "http://127.0.0.1:9"},
            ["no API token", "$OKTA_CLIENT_TOKEN", "token under okta.client"],
        ),
        (
            {
                "OKTA_CLIENT_ORGURL": "http://127.0.0.1:9",
                "OKTA_CLIENT_AUTHORIZATIONMODE": "PrivateKey",
            },
            ["no client id", "$OKTA_CLIENT_CLIENTID", "clientId under okta.client"],
        ),
    ],
)
async def test_missing_settings_are_worded_in_flags_and_variables(
    tmp_path: Path, env: dict[str, str], wanted: list[str]
) -> None:
    (tmp_path / "home").mkdir()
    result = await run_cli("get", "0oa1", cwd=tmp_path, env=cli_env(tmp_path, None, **env))
    assert result.rc == 2
    [line] = result.err.splitlines()  # one clean line
    for text in wanted:
        assert text in line
    for python in ("pass org_url=", "token=", "error: org_url:", "error: token:", "client_id"):
        assert python not in line


@pytest.mark.slow
async def test_config_show_names_every_source_and_hides_secrets(cli: Cli) -> None:
    home = cli.tmp / "home" / ".okta"
    home.mkdir()
    (home / "okta.yaml").write_text(
        "okta:\n  client:\n    orgUrl: https://acme.okta.com\n    token: 00yaml-SECRET-token\n"
        "  profiles:\n    staging:\n      orgUrl: https://staging.okta.com\n"
        "      token: 00staging-SECRET\n      requestTimeout: 30\n"
    )
    home.joinpath("okta.yaml").chmod(0o600)
    env = cli_env(cli.tmp, None, OKTA_CLIENT_TOKEN="00env-SECRET-token")
    result = await cli("config", "show", env=env)
    assert result.rc == 0, result.err
    shown = result.json()
    settings = shown["settings"]
    assert settings["orgUrl"] == {
        "value": "https://acme.okta.com",
        "source": f"{home / 'okta.yaml'} (okta.client) orgUrl",
    }
    assert settings["token"] == {"value": "*** (hidden)", "source": "$OKTA_CLIENT_TOKEN"}
    assert settings["authorizationMode"] == {"value": "SSWS", "source": "default"}
    assert shown["files"] == [
        {"path": str(cli.tmp / "okta.yaml"), "exists": False},
        {"path": str(home / "okta.yaml"), "exists": True},
    ]
    assert_no_secret(result, "00yaml-SECRET-token", "00env-SECRET-token")

    staged = await cli("config", "show", "--profile", "staging", "--org", "https://x.okta.com",
                       env=cli_env(cli.tmp, None))  # fmt: skip
    assert staged.rc == 0, staged.err
    body = staged.json()
    assert body["profile"] == {"value": "staging", "source": "--profile"}
    assert body["settings"]["orgUrl"] == {"value": "https://x.okta.com", "source": "--org"}
    assert body["settings"]["token"]["source"].endswith("(okta.profiles.staging) token")
    assert body["timeouts"]["deadline"] == 30
    assert_no_secret(staged, "00staging-SECRET")


async def test_config_show_as_text(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("OKTA_CLIENT_ORGURL", "https://acme.okta.com")
    monkeypatch.setenv("OKTA_CLIENT_TOKEN", "00text-SECRET")
    stdout = io.StringIO()
    assert await cmd_config_show(argparse.Namespace(), Output(json=False, stdout=stdout)) == 0
    text = stdout.getvalue()
    assert "orgUrl:" in text and "https://acme.okta.com  ($OKTA_CLIENT_ORGURL)" in text
    assert "*** (hidden)  ($OKTA_CLIENT_TOKEN)" in text
    assert "00text-SECRET" not in text
    assert f"{tmp_path / 'okta.yaml'}  (not found)" in text


@pytest.mark.slow
async def test_a_401_names_where_the_token_came_from(cli: Cli) -> None:
    app = cli.first("zscalerbyz")
    result = await cli("get", app.id, env=cli.env(OKTA_CLIENT_TOKEN="00revoked-SECRET"))
    assert result.rc == 1
    [line] = result.err.splitlines()
    assert "E0000011" in line and "the SSWS token came from $OKTA_CLIENT_TOKEN" in line
    assert "config show" in line
    assert result.json()["error"]["hint"].startswith("the SSWS token came from")
    assert_no_secret(result, "00revoked-SECRET")

    # From a profile in ./okta.yaml: the file, the section and the profile are named.
    (cli.tmp / "okta.yaml").write_text(
        f"okta:\n  profiles:\n    prod:\n      orgUrl: {cli.fake.org_url}\n"
        "      token: 00old-SECRET\n"
    )
    (cli.tmp / "okta.yaml").chmod(0o600)
    result = await cli("get", app.id, "--profile", "prod", env=cli_env(cli.tmp, None))
    assert result.rc == 1
    assert f"came from {cli.tmp / 'okta.yaml'} (okta.profiles.prod) token (profile prod)" in (
        result.err
    )
    assert_no_secret(result, "00old-SECRET")


@pytest.mark.slow
async def test_tls_to_a_plain_http_loopback_says_use_http(cli: Cli) -> None:
    https = cli.fake.org_url.replace("http://", "https://")
    for org in (https, https.removeprefix("https://")):  # typed without a scheme too
        result = await cli("get", cli.first("zscalerbyz").id, env=cli.env(OKTA_CLIENT_ORGURL=org))
        assert result.rc == 1
        [line] = result.err.splitlines()
        assert f"use {cli.fake.org_url}" in line, line


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("env", "color"),
    [({}, True), ({"NO_COLOR": "1"}, False), ({"TERM": "dumb"}, False), ({"NO_COLOR": ""}, True)],
)
def test_no_color(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], color: bool) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    err = _Terminal()
    Output(json=False, stderr=err).error(ValueError("boom"))
    assert ("\x1b[" in err.getvalue()) is color
    assert "error:" in err.getvalue() and "boom" in err.getvalue()
    piped = io.StringIO()  # not a terminal: never colour
    Output(json=False, stderr=piped).error(ValueError("boom"))
    assert "\x1b[" not in piped.getvalue()


def test_help_lists_the_new_commands() -> None:
    from okta_connections.cli import build_parser

    text = build_parser().format_help()
    assert "config" in text and "--version" in text
    assert json.dumps(TOKEN) not in text


@pytest.mark.slow
async def test_a_bulk_job_refused_with_401_names_the_source_once(cli: Cli) -> None:
    ids = [a.id for a in cli.fake.apps if a.name == "zscalerbyz"]
    (cli.tmp / "ids").write_text("\n".join(ids))
    result = await cli("bulk", "get", "ids", env=cli.env(OKTA_CLIENT_TOKEN="00revoked-SECRET"))
    assert result.rc == 1
    hints = [line for line in result.err.splitlines() if "$OKTA_CLIENT_TOKEN" in line]
    assert hints == [
        "stopped: the credentials were refused (401 E0000011), so the apps left are not "
        "started; the SSWS token came from $OKTA_CLIENT_TOKEN; check that it is valid for "
        f"{cli.fake.org_url} and not revoked (okta-connections config show)"
    ]
    assert_no_secret(result, "00revoked-SECRET")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "env", "wanted"),
    [
        (
            ["--org", "acme-admin.okta.com", "get", "0oa1"],
            {},
            "error: org URL: points at the admin console domain acme-admin.okta.com; the API "
            "lives on acme.okta.com, use https://acme.okta.com (set by --org)",
        ),
        (
            ["get", "0oa1"],
            {"OKTA_CLIENT_ORGURL": "http://acme.okta.com"},
            "(set by $OKTA_CLIENT_ORGURL)",
        ),
        (["get", "bad/id"], {}, "error: APP_ID: 'bad/id' is not an Okta app id"),
        (
            ["get", "0oa1"],
            {"OKTA_CLIENT_AUTHORIZATIONMODE": "foo"},
            "error: authorization mode: $OKTA_CLIENT_AUTHORIZATIONMODE: 'foo' is not one of",
        ),
        (["get", "0oa1", "--profile", "nope"], {}, "error: --profile: no profile named 'nope'"),
    ],
)
async def test_refusals_name_flags_not_python_arguments(
    tmp_path: Path, args: list[str], env: dict[str, str], wanted: str
) -> None:
    (tmp_path / "home").mkdir()
    base = {"OKTA_CLIENT_ORGURL": "https://acme.okta.com", "OKTA_CLIENT_TOKEN": "00x"}
    result = await run_cli(*args, cwd=tmp_path, env=cli_env(tmp_path, None, **{**base, **env}))
    assert result.rc == 2
    [line] = result.err.splitlines()
    assert wanted in line, line
    assert not any(f"{name}:" in line for name in ("org_url", "app_id", "authorization_mode"))
