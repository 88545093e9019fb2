"""FakeOkta fed what it cannot decode, and asked to serve beyond loopback.

A token request whose body does not decode (bad percent-encoding, bytes that are not
UTF-8, another content type) is a 400 ``invalid_request``, as Okta answers, never a 500
nor a logged traceback. ``FakeOkta(host=)`` refuses a host that is not loopback unless
``allow_remote=True``; these tests never bind beyond loopback.
"""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import pytest

from okta_connections.testing import FakeOkta
from tests.support.cli import cli_env, run_cli

FORM = "application/x-www-form-urlencoded"

BAD_BODIES = [
    (FORM, b"grant_type=client_credentials&scope=%zz"),
    (FORM, b"grant_type=client_credentials&scope=%"),
    (FORM, b"grant_type=client_credentials&scope=%f"),
    (FORM, b"grant_type=client_credentials&scope=%ff%fe"),
    (FORM, b"grant_type=client_credentials&scope=\xff\xfe"),
    (f"{FORM}; charset=utf-16", "grant_type=client_credentials".encode("utf-16")),
    (f"{FORM}; charset=no-such-charset", b"grant_type=client_credentials"),
    ("text/plain", b"grant_type=client_credentials"),
    ("application/json", b'{"grant_type": "client_credentials"}'),
    ("multipart/form-data; boundary=x", b"--x\r\nbroken"),
    ("multipart/form-data", b"no boundary"),
    (None, b"grant_type=client_credentials"),
    (FORM, b"\x00\x01\x02"),
]


@pytest.mark.parametrize(
    ("content_type", "body"), BAD_BODIES, ids=[f"{i}" for i in range(len(BAD_BODIES))]
)
async def test_an_undecodable_token_request_is_400_invalid_request(
    fake: FakeOkta,
    http: aiohttp.ClientSession,
    content_type: str | None,
    body: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    headers = {"Accept": "application/json"}
    skip = ()
    if content_type is None:
        skip = ("Content-Type",)
    else:
        headers["Content-Type"] = content_type
    async with http.post(
        f"{fake.org_url}/oauth2/v1/token", data=body, headers=headers, skip_auto_headers=skip
    ) as resp:
        status, answer = resp.status, await resp.json(content_type=None)
    assert status == 400, answer
    assert answer["error"] == "invalid_request"
    assert answer["error_description"]
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_good_form_still_reaches_the_grant_check(
    fake: FakeOkta, http: aiohttp.ClientSession
) -> None:
    async with http.post(
        f"{fake.org_url}/oauth2/v1/token",
        data={"grant_type": "password", "scope": "a b"},
    ) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"] == "unsupported_grant_type"


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe{}", "{}".encode("utf-16"), b"[" * 100_000 + b"]" * 100_000, b'{"a": "\\ud800"}'],
    ids=["not-utf8", "utf16", "deeply-nested", "lone-surrogate"],
)
async def test_an_undecodable_api_body_is_a_400_not_a_500(
    fake: FakeOkta, http: aiohttp.ClientSession, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = fake.apps[0]
    async with http.post(
        f"{fake.org_url}/api/v1/apps/{app.id}/connections/default",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"SSWS {fake.token}"},
    ) as resp:
        status = resp.status
    assert status == 400
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# ----------------------------------------------------------- serving beyond loopback

REMOTE_HOSTS = ["0.0.0.0", "::", "", "192.0.2.10", "fake.example.test", "localhost.example.test"]


@pytest.mark.parametrize("host", REMOTE_HOSTS)
def test_fake_okta_refuses_a_host_beyond_loopback(host: str) -> None:
    from okta_connections.testing import RemoteHostError

    with pytest.raises(RemoteHostError, match="allow_remote=True") as info:
        FakeOkta(apps=0, host=host)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_fake_okta_accepts_loopback_hosts(host: str) -> None:
    FakeOkta(apps=0, host=host)


def _record_binds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace aiohttp's TCPSite: record the host asked for, never bind."""
    from okta_connections.testing import _fake

    hosts: list[str] = []

    class Site:
        def __init__(self, runner: object, host: str, port: int) -> None:
            hosts.append(host)

        async def start(self) -> None:
            raise OSError(99, "not bound: a test")

    monkeypatch.setattr(_fake.web, "TCPSite", Site)
    return hosts


async def test_allow_remote_reaches_the_bind_step(monkeypatch: pytest.MonkeyPatch) -> None:
    hosts = _record_binds(monkeypatch)
    fake = FakeOkta(apps=0, host="0.0.0.0", allow_remote=True)
    with pytest.raises(OSError, match="not bound"):
        await fake.start()
    assert hosts == ["0.0.0.0"]


def test_fake_server_refuses_a_remote_host_with_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from okta_connections.testing.__main__ import main

    hosts = _record_binds(monkeypatch)
    assert main(["--host", "0.0.0.0", "--port", "0", "--apps", "0"]) == 2
    err = capsys.readouterr().err
    assert "--allow-remote" in err and "0.0.0.0" in err and "loopback" in err
    assert hosts == []


def test_fake_server_allow_remote_says_what_it_exposes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from okta_connections.testing.__main__ import main

    hosts = _record_binds(monkeypatch)
    code = main(["--host", "0.0.0.0", "--port", "0", "--apps", "0", "--allow-remote"])
    err = capsys.readouterr().err
    assert code == 1  # the recorded bind fails: nothing was served
    assert hosts == ["0.0.0.0"]
    assert "every interface" in err and "token" in err and "no TLS" in err


@pytest.mark.slow
async def test_the_fake_server_command_refuses_0_0_0_0(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    result = await run_cli(
        "fake-server", "--host", "0.0.0.0", "--port", "0", cwd=tmp_path,
        env=cli_env(tmp_path, None), timeout=30,
    )  # fmt: skip
    assert result.rc == 2, result.err
    assert "--allow-remote" in result.err and "Traceback" not in result.err
    assert "OKTA_CLIENT_TOKEN" not in result.out
