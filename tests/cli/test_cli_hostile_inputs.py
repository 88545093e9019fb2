"""The command fed hostile inputs: closed standard streams, okta.yaml that is not UTF-8
(UTF-16 from Notepad too), deeply nested YAML and JSON, out-of-range ports, endless
device files and FIFOs as file arguments, and OS errors in JSON mode. Each is the
documented exit 2 with a clear message (and, in JSON mode, an ``{"error": ...}``
document), never a traceback, and never a read until memory runs out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from okta_connections.cli import main

DEEP = 100_000


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean directory and home, no OKTA_CLIENT_* from the developer's environment."""
    (tmp_path / "home").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for key in list(os.environ):
        if key.startswith("OKTA_CLIENT_"):
            monkeypatch.delenv(key)
    return tmp_path


@pytest.fixture
def org(here: Path, fake_okta: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("OKTA_CLIENT_ORGURL", fake_okta.org_url)
    monkeypatch.setenv("OKTA_CLIENT_TOKEN", fake_okta.token)
    return fake_okta


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def _yaml(here: Path, data: bytes) -> None:
    (here / "okta.yaml").write_bytes(data)


GOOD_YAML = "okta:\n  client:\n    orgUrl: https://acme.okta.com\n    token: t0k\n"


# ------------------------------------------------------------------------- okta.yaml


def test_okta_yaml_not_utf8_is_exit_2(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _yaml(here, GOOD_YAML.replace("acme", "acm\xe9").encode("latin-1"))
    code, _, err = _run(capsys, "config", "show")
    assert code == 2 and "UTF-8" in err and "okta.yaml" in err


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig"])
def test_okta_yaml_with_a_bom_is_read(
    here: Path, capsys: pytest.CaptureFixture[str], encoding: str
) -> None:
    data = GOOD_YAML.encode(encoding)
    if encoding in ("utf-16-le", "utf-16-be"):  # Notepad writes the BOM
        data = ("\ufeff" + GOOD_YAML).encode(encoding)
    _yaml(here, data)
    code, out, err = _run(capsys, "--json", "config", "show")
    assert code == 0, err
    assert json.loads(out)["settings"]["orgUrl"]["value"] == "https://acme.okta.com"


def test_okta_yaml_utf16_without_a_bom_is_refused_clearly(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _yaml(here, GOOD_YAML.encode("utf-16-le"))
    code, _, err = _run(capsys, "config", "show")
    assert code == 2 and "okta.yaml" in err


@pytest.mark.parametrize(
    "text",
    ["[" * DEEP + "]" * DEEP, "okta:\n  client:\n    x: " + "[" * DEEP, "a: " + "{a: " * 5000],
    ids=["flow-list", "unclosed", "flow-map"],
)
def test_deeply_nested_okta_yaml_is_exit_2(
    here: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    _yaml(here, text.encode())
    code, _, err = _run(capsys, "config", "show")
    assert code == 2 and "okta.yaml" in err


def test_deeply_nested_okta_yaml_in_profiles_listing(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _yaml(here, ("[" * DEEP + "]" * DEEP).encode())
    code, _, _ = _run(capsys, "--profile", "nope", "config", "show")
    assert code == 2


def test_an_okta_yaml_over_the_cap_is_refused(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _yaml(here, GOOD_YAML.encode() + b"#" * (2 * 1024 * 1024))
    code, _, err = _run(capsys, "config", "show")
    assert code == 2 and "okta.yaml" in err and "MiB" in err


# ------------------------------------------------------------------- nested JSON input


def test_deeply_nested_body_json_is_exit_2(
    org: Any, here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (here / "body.json").write_text("[" * DEEP + "]" * DEEP)
    code, _, err = _run(capsys, "update", org.apps[0].id, "--body", "body.json")
    assert code == 2 and "--body" in err
    assert org.requests(operation="update") == []


def test_deeply_nested_json_lines_of_ids_are_exit_2(
    org: Any, here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (here / "ids.jsonl").write_text('{"id": ' + "[" * DEEP + "]" * DEEP + "}\n")
    code, _, err = _run(capsys, "bulk", "get", "ids.jsonl")
    assert code == 2 and "ids" in err


# -------------------------------------------------------------------------- ports


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999", "https://acme.okta.com:70000"])
def test_an_out_of_range_port_in_the_org_url_is_exit_2(
    here: Path, capsys: pytest.CaptureFixture[str], url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKTA_CLIENT_TOKEN", "t0k")
    code, _, err = _run(capsys, "--org", url, "get", "0oa1")
    assert code == 2 and "port" in err.lower()


@pytest.mark.parametrize("port", ["70000", "-1", "65536"])
def test_fake_server_out_of_range_port_is_exit_2(
    here: Path, capsys: pytest.CaptureFixture[str], port: str
) -> None:
    code, _, err = _run(capsys, "fake-server", "--apps", "0", "--port", port)
    assert code == 2 and "port" in err.lower()


def test_an_out_of_range_proxy_port_is_exit_2(
    here: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKTA_CLIENT_PROXY_HOST", "proxy.corp")
    monkeypatch.setenv("OKTA_CLIENT_PROXY_PORT", "99999")
    code, _, err = _run(capsys, "--org", "https://acme.okta.com", "config", "show")
    assert code == 2 and "port" in err.lower()


# ------------------------------------------------------------------ endless files


@pytest.fixture
def endless_fifo(here: Path) -> Iterator[Path]:
    """A FIFO a thread writes to for ever (until the reader goes away)."""
    path = here / "endless.fifo"
    os.mkfifo(path)
    stop = threading.Event()

    def writer() -> None:
        try:
            fd = os.open(path, os.O_WRONLY)
        except OSError:
            return
        try:
            while not stop.is_set():
                os.write(fd, b"A" * 65536)
        except OSError:
            pass
        finally:
            os.close(fd)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    yield path
    stop.set()
    # Unblock a writer still waiting for a reader.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        os.close(fd)
    except OSError:
        pass
    thread.join(5)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "fifo"])
def test_an_endless_token_file_is_refused(
    org: Any, capsys: pytest.CaptureFixture[str], device: str, request: pytest.FixtureRequest
) -> None:
    if device == "fifo":
        device = str(request.getfixturevalue("endless_fifo"))
    code, _, err = _run(capsys, "update", org.apps[0].id, "--token-file", device)
    assert code == 2 and "--token-file" in err and "MiB" in err
    assert org.requests(operation="update") == []


@pytest.mark.parametrize("option", ["--body", "--admin-password-file"])
def test_an_endless_file_for_other_options_is_refused(
    org: Any, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    argv = ["update", org.apps[0].id, option, "/dev/zero"]
    if option == "--admin-password-file":
        argv = ["connect", org.apps[0].id, "--app-name", "office365"]
        argv += ["--admin-username", "a", option, "/dev/zero"]
    code, _, err = _run(capsys, *argv)
    assert code == 2 and "MiB" in err


def test_an_endless_ids_file_is_refused(org: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "bulk", "get", "/dev/zero")
    assert code == 2 and "MiB" in err


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_an_endless_private_key_path_is_refused(
    here: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, device: str
) -> None:
    monkeypatch.setenv("OKTA_CLIENT_ORGURL", "https://acme.okta.com")
    monkeypatch.setenv("OKTA_CLIENT_AUTHORIZATIONMODE", "PrivateKey")
    monkeypatch.setenv("OKTA_CLIENT_CLIENTID", "0oaclient")
    monkeypatch.setenv("OKTA_CLIENT_SCOPES", "okta.apps.manage")
    monkeypatch.setenv("OKTA_CLIENT_PRIVATEKEY", device)
    code, _, err = _run(capsys, "get", "0oa1")
    assert code == 2 and "MiB" in err


def test_the_key_loader_refuses_an_endless_file() -> None:
    from okta_connections import ConfigurationError
    from okta_connections.auth._keys import load_signing_key

    with pytest.raises(ConfigurationError, match="MiB"):
        load_signing_key(Path("/dev/zero"))


# --------------------------------------------------------- OS errors in JSON mode


def test_an_os_error_in_json_mode_prints_an_error_document(
    org: Any, here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(
        capsys, "--json", "update", org.apps[0].id, "--token-file", "no-such-file"
    )
    assert code == 2
    body = json.loads(out)["error"]
    assert body["type"] in ("FileNotFoundError", "InvalidArgumentError")
    assert "no-such-file" in body["message"]
    assert "no-such-file" in err


def test_a_directory_as_ids_file_in_json_mode_prints_an_error_document(
    org: Any, here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (here / "adir").mkdir()
    code, out, _ = _run(capsys, "--json", "bulk", "get", "adir")
    assert code == 2
    assert "error" in json.loads(out)


def test_an_unreadable_journal_in_json_mode_prints_an_error_document(
    org: Any, here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (here / "ids.txt").write_text(org.apps[0].id + "\n")
    code, out, _ = _run(
        capsys, "--json", "bulk", "get", "ids.txt", "--journal", str(here / "nodir" / "j.jsonl")
    )
    if code != 0:
        assert "error" in json.loads(out.splitlines()[-1])


# ------------------------------------------------------------ absent std streams


def _closed(*argv: str, stdout: bool = False, env: dict[str, str]) -> Any:
    """Run the command with stdin (and, with ``stdout``, stdout) closed, not redirected."""
    close = [0, 1] if stdout else [0]
    script = (
        "import os, sys\n"
        f"for fd in {close!r}:\n"
        "    os.close(fd)\n"
        "os.execv(sys.executable, [sys.executable, '-m', 'okta_connections', *sys.argv[1:]])\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script, *argv],
        stdout=subprocess.DEVNULL if stdout else subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        timeout=60,
        text=True,
    )


def _env(here: Path, org: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKTA_CLIENT_")}
    env.update(HOME=str(here / "home"), OKTA_CLIENT_ORGURL=org.org_url)
    env["OKTA_CLIENT_TOKEN"] = org.token
    return env


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv",
    [
        ("update", "APP", "--token-file", "-"),
        ("update", "APP", "--body", "-"),
        ("bulk", "get", "-"),
        ("bulk", "get"),
    ],
    ids=["token-file", "body", "bulk-dash", "bulk-default"],
)
def test_closed_stdin_is_exit_2(org: Any, here: Path, argv: tuple[str, ...]) -> None:
    argv = tuple(org.apps[0].id if a == "APP" else a for a in argv)
    result = _closed(*argv, env=_env(here, org))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "stdin" in result.stderr


@pytest.mark.slow
def test_closed_stdout_is_not_a_traceback(org: Any, here: Path) -> None:
    result = _closed("get", org.apps[0].id, stdout=True, env=_env(here, org))
    assert "Traceback" not in result.stderr
    assert result.returncode in (1, 2), result.stderr
