"""``okta-connections demo`` and ``fake-server`` in subprocesses, and the CLI's pure helpers."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import math
import os
import re
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from okta_connections.bulk import Progress
from okta_connections.cli import _attach_opaque_values, _option_strings, build_parser
from okta_connections.cli._bulk import parse_ids
from okta_connections.cli._commands import connection_from_args, parse_continue_url
from okta_connections.cli._connect import parse_consent_answer
from okta_connections.cli._progress import ProgressBar, format_duration, render_progress
from okta_connections.errors import InvalidArgumentError
from okta_connections.models import OAuthConnection, TokenConnection
from okta_connections.ratelimit import RateLimitInfo
from tests.support.cli import cli_env, run_cli, start_cli

APP = "0oafxqCAJWWGELFTYASJ"


@pytest.mark.slow
async def test_demo_runs_a_rate_limited_job_and_leaves_nothing_running(tmp_path: Path) -> None:
    # A smaller estate than the default (3000), with the same enforced rate limit.
    env = cli_env(tmp_path, None)
    result = await run_cli(
        "demo", "--apps", "400", "--rate-limit", "200", cwd=tmp_path, env=env, timeout=60
    )
    assert result.rc == 0, result.err
    assert result.err == ""  # no ResourceWarning, no "Task was destroyed", no traceback
    assert "1. select      140 Org2Org apps" in result.out
    assert "140/140 Org2Org apps now have an active token connection" in result.out
    match = re.search(r"(\d+) requests \((\d+) answered 429\) took ([\d.]+) s", result.out)
    assert match is not None, result.out
    requests = int(match.group(1))
    assert requests >= 2 * 140
    # The exact minimum: the windows before the last, less what of the first had gone.
    match = re.search(
        rf"minimum is \(ceil\({requests} / 200\) - 1\) x 1 s - (0\.\d\d) s of the first "
        r"window gone before the first request = ([\d.]+) s",
        result.out,
    )
    assert match is not None, result.out
    gone, minimum = float(match.group(1)), float(match.group(2))
    assert minimum == pytest.approx((math.ceil(requests / 200) - 1) - gone, abs=0.006)
    # No bound on the time it took: a lower bound on a subprocess's wall clock says more
    # about where the windows' whole seconds fell than about the pacing, which the
    # pacing tests check on a virtual clock.
    assert "the fake org is stopped" in result.out
    # Every step the demo prints is one that docs/cli.md describes, in the same order.
    printed = re.findall(r"^(\d)\. +(\w+)", result.out, re.M)
    assert [n for n, _ in printed] == ["1", "2", "3", "4", "5"]
    docs = (Path(__file__).parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
    section = docs[docs.index("### `demo") :]
    documented = re.findall(r"^(\d)\. ", section, re.M)
    assert documented == [n for n, _ in printed]
    assert "4. OAuth and JWKS" in section and "5. Consent" in section


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_fake_server_prints_its_url_and_token_and_serves(tmp_path: Path) -> None:
    proc = await start_cli(
        "fake-server", "--port", "0", "--apps", "5", "--rate-limit", "50", "--window", "2",
        "--fail-rate", "0", cwd=tmp_path, env=cli_env(tmp_path, None),
    )  # fmt: skip
    assert proc.stdout is not None
    printed: dict[str, str] = {}
    try:
        while "OKTA_CLIENT_TOKEN" not in printed:
            line = await asyncio.wait_for(proc.stdout.readline(), 15)
            assert line, "fake-server exited early"
            key, sep, value = line.decode().strip().partition("=")
            if sep:
                printed[key] = value
        headers = {"Authorization": f"SSWS {printed['OKTA_CLIENT_TOKEN']}"}
        async with (
            aiohttp.ClientSession() as http,
            http.get(printed["OKTA_CLIENT_ORGURL"] + "/api/v1/apps", headers=headers) as resp,
        ):
            assert resp.status == 200
            assert len(await resp.json()) == 5
            assert resp.headers["X-Rate-Limit-Limit"] == "50"
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 15) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_fake_server_principal_share_and_requests_log(tmp_path: Path) -> None:
    # What tests/scale_out/test_scale_out.py relies on: a token may use half of each window, and
    # the log of what was served reaches a test in another process when the fake stops.
    log = tmp_path / "requests.jsonl"
    proc = await start_cli(
        "fake-server", "--port", "0", "--apps", "3", "--rate-limit", "4", "--window", "60",
        "--principal-share", "0.5", "--requests-log", str(log),
        cwd=tmp_path, env=cli_env(tmp_path, None),
    )  # fmt: skip
    assert proc.stdout is not None
    printed: dict[str, str] = {}
    statuses = []
    try:
        while "OKTA_CLIENT_TOKEN" not in printed:
            line = await asyncio.wait_for(proc.stdout.readline(), 15)
            assert line, "fake-server exited early"
            key, sep, value = line.decode().strip().partition("=")
            if sep:
                printed[key] = value
        token = printed["OKTA_CLIENT_TOKEN"]
        async with aiohttp.ClientSession() as http:
            for _ in range(3):
                async with http.get(
                    printed["OKTA_CLIENT_ORGURL"] + "/api/v1/apps",
                    headers={"Authorization": f"SSWS {token}"},
                ) as resp:
                    statuses.append(resp.status)
                    limit = resp.headers["X-Rate-Limit-Limit"]
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 15) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    # Half of 4: the third request in the window is refused.
    assert statuses == [200, 200, 429]
    assert limit == "2"
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["operation"], r["status"]) for r in rows] == [("list_apps", 200)] * 2 + [
        ("list_apps", 429)
    ]
    assert all(r["principal"] == "ssws-1" for r in rows)
    assert token not in log.read_text()


@pytest.mark.slow
async def test_fake_server_refuses_a_bad_fail_rate(tmp_path: Path) -> None:
    result = await run_cli(
        "fake-server", "--port", "0", "--fail-rate", "2", cwd=tmp_path, env=cli_env(tmp_path, None)
    )
    assert result.rc == 2
    assert "--fail-rate" in result.err


# ---------------------------------------------------------------------------- helpers


def test_parse_ids_accepts_plain_lines_json_lines_and_tables() -> None:
    lines = [
        "# a comment",
        "",
        "0oaA",
        '{"id": "0oaB", "name": "slack"}',
        '{"appId": "0oaC", "status": "failed"}',
        "0oaA",
        "0oaD  slack  Slack  ACTIVE",
        '{"summary": {"succeeded": 3}}',
    ]
    assert parse_ids(lines) == ["0oaA", "0oaB", "0oaC", "0oaD"]
    with pytest.raises(InvalidArgumentError, match="line 1 has no id"):
        parse_ids(['{"name": "x"}'])
    with pytest.raises(InvalidArgumentError, match="line 2 is not valid JSON"):
        parse_ids(["0oaA", "{nope"])


def test_continue_url_and_pasted_answers() -> None:
    url = f"https://acme.okta.com/api/v1/apps/slack/{APP}/oauth2/callback?code=c1&state=s1"
    assert parse_continue_url(url, APP, "slack") == ("c1", "s1")
    assert parse_consent_answer(f"  {url}\n", APP, "slack") == ("c1", "s1")
    assert parse_consent_answer("c2 s2", APP, "slack") == ("c2", "s2")
    with pytest.raises(InvalidArgumentError, match="is for app"):
        parse_continue_url(url, APP, "google")
    with pytest.raises(InvalidArgumentError, match="no code and state"):
        parse_continue_url(url.split("?")[0], APP, "slack")
    with pytest.raises(InvalidArgumentError, match="paste"):
        parse_consent_answer("just-one-word", APP, "slack")


def _update_args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["update", APP, *argv])


def test_connection_flags(tmp_path: Path) -> None:
    conn = connection_from_args(_update_args("--token", "t0k", "--base-url", "https://x/scim"))
    assert conn == TokenConnection(token="t0k", base_url="https://x/scim")
    conn = connection_from_args(_update_args("--oauth", "--client-id", "0oa1", "--rotation-mode", "AUTO"))  # fmt: skip
    assert isinstance(conn, OAuthConnection)
    assert (conn.client_id, str(conn.rotation_mode)) == ("0oa1", "AUTO")
    (tmp_path / "pw").write_text("hunter2\n")
    conn = connection_from_args(
        _update_args("--oauth", "--admin-username", "admin@x", "--admin-password-file", str(tmp_path / "pw"))
    )  # fmt: skip
    assert isinstance(conn, OAuthConnection) and conn.admin_password == "hunter2"
    for bad, message in [
        ((), "exactly one"),
        (("--client-id", "x"), "exactly one"),
        (("--token", "t", "--client-id", "x"), "go with --oauth"),
        (("--oauth", "--base-url", "https://x"), "goes with --token"),
    ]:
        with pytest.raises(InvalidArgumentError, match=message):
            connection_from_args(_update_args(*bad))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "not valid JSON"),
        ("[]", '"profile" object'),
        ('{"profile": {"authScheme": "BASIC"}}', "must be .TOKEN. or .OAUTH2."),
        ('{"profile": {"authScheme": "TOKEN", "token": 5}}', "token must be a string"),
        ('{"profile": {"authScheme": "OAUTH2", "clientId": 5}}', "must be strings"),
    ],
)
def test_bad_bodies_are_refused_without_echoing_them(
    tmp_path: Path, body: str, message: str
) -> None:
    path = tmp_path / "body.json"
    path.write_text(body)
    with pytest.raises(InvalidArgumentError, match=message) as info:
        connection_from_args(_update_args("--body", str(path)))
    assert body not in str(info.value) or len(body) < 3


def _progress(done: int, total: int | None, **kw: object) -> Progress:
    values: dict[str, object] = dict(
        done=done, total=total, succeeded=done, failed=0, elapsed=2.0, rate=50.0,
        eta=(total - done) / 50.0 if total else None, rate_limit=None,
    )  # fmt: skip
    values.update(kw)
    return Progress(**values)  # type: ignore[arg-type]


def test_render_progress() -> None:
    window = RateLimitInfo(limit=600, remaining=42, reset_after=3.0, reset_at=0, observed_at=100.0)
    line = render_progress(_progress(250, 1000, failed=3, rate_limit=window), 100, now=101.0)
    assert line.startswith("[#####....")  # a quarter of the bar
    assert "250/1000  25%" in line and "50/s" in line and "ETA 15s" in line
    assert "3 failed" in line and "rate limit 42/600 left, resets 2.0s" in line
    assert len(line) <= 100
    assert render_progress(_progress(7, None), 100) == "7/?  50/s"
    assert (format_duration(75), format_duration(None), format_duration(7300)) == (
        "1m15s",
        "?",
        "2h01m",
    )


def test_progress_bar_throttles_and_ends_the_line() -> None:
    stream = io.StringIO()
    now = [0.0]
    bar = ProgressBar(stream, "activate", hz=10, clock=lambda: now[0])
    for i in range(1, 50):
        bar(_progress(i, 100))
    assert stream.getvalue().count("\r") == 1  # one redraw in the same 100 ms
    now[0] = 0.2
    bar(_progress(60, 100))
    bar(_progress(100, 100))  # the last one is always drawn
    bar.close()
    text = stream.getvalue()
    assert text.count("\r") == 4 and text.endswith("\n")
    assert "activate [" in text and "100/100 100%" in text


def test_progress_bar_comes_back_after_a_line_of_output() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, "get", hz=10, clock=lambda: 0.0)
    bar(_progress(3, 10))
    bar.clear()
    assert stream.getvalue().endswith("\r\x1b[2K")  # blank, for the line of output
    bar.redraw()  # straight back, without waiting for the next update
    assert stream.getvalue().endswith("3/10  30%  50/s  ETA 0s")
    bar.redraw()  # drawn already: nothing more
    assert stream.getvalue().count("3/10") == 2


def test_the_bar_keeps_its_width_from_frame_to_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    # Fields come and go (failures, skipped on a resume, the rate-limit window): the bar's
    # width follows the terminal only, and it stays on a narrow one.
    monkeypatch.setenv("COLUMNS", "100")
    window = RateLimitInfo(limit=600, remaining=42, reset_after=3.0, reset_at=0, observed_at=1.0)
    stream = io.StringIO()
    bar = ProgressBar(stream, "activate", hz=1e9, clock=iter(range(1000)).__next__)
    frames = [
        _progress(1, 1000),
        _progress(250, 1000, failed=3, rate_limit=window),
        _progress(400, 1000, failed=30, skipped=500, rate_limit=window),
        _progress(999, 1000, eta=None),
    ]
    for frame in frames:
        bar(frame)
    lines = [line for line in stream.getvalue().split("\r\x1b[2K") if line]
    assert len(lines) == len(frames)
    widths = {len(re.match(r"activate (\[[#.]*\])", line)[1]) for line in lines}  # type: ignore[index]
    assert widths == {(99 - len("activate ")) // 3 + 2}, lines
    assert all(len(line) <= 99 for line in lines)
    assert "500 skipped" in lines[2] or "rate limit" not in lines[2]  # left off from the end


def test_the_bar_takes_its_width_from_its_own_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)

    class Terminal(io.StringIO):
        def fileno(self) -> int:
            return 2

    monkeypatch.setattr(
        os, "get_terminal_size", lambda fd: os.terminal_size((150 if fd == 2 else 60, 20))
    )
    stream = Terminal()
    bar = ProgressBar(stream, "get", hz=10, clock=lambda: 0.0)
    bar(_progress(3, 10))
    assert "[" + "." * 40 + "]" not in stream.getvalue()  # 3/10 done: some are filled
    assert re.search(r"get \[#{12}\.{28}\] 3/10", stream.getvalue()), stream.getvalue()


def test_failed_outcome_lines_keep_their_ids() -> None:
    failed = '{"appId": "0oaF", "status": "failed", "error": {"errorCode": "E0000001"}}'
    assert parse_ids([failed, '{"error": {"errorCode": "E0000011"}}']) == ["0oaF"]


def test_bad_continue_urls_are_usage_errors_not_crashes() -> None:
    with pytest.raises(InvalidArgumentError, match="continue-url"):
        parse_continue_url("http://[::1?code=a&state=b", APP, "slack")
    # A short callback path is not an app's callback: nothing to compare, no IndexError.
    assert parse_continue_url("https://acme.okta.com/x/callback?code=a&state=b", APP, "slack") == (
        "a",
        "b",
    )


def test_files_that_are_not_utf8_are_refused_without_echoing_them(tmp_path: Path) -> None:
    from okta_connections.cli._commands import read_text

    # Latin-1 keeps readable ASCII runs in the bytes (UTF-16 would interleave NULs, and no
    # echo of them could ever contain "s3cr"), and is still not valid UTF-8.
    secret = "s3cr\u00e9t-token".encode("latin-1")
    (tmp_path / "token").write_bytes(secret)
    with pytest.raises(InvalidArgumentError, match="not UTF-8") as excinfo:
        read_text(str(tmp_path / "token"), "--token-file")
    assert "s3cr" not in str(excinfo.value)
    assert "t-token" not in str(excinfo.value)
    assert excinfo.value.__cause__ is None  # the UnicodeDecodeError holds the raw bytes


@pytest.mark.slow
async def test_demo_refuses_too_small_an_estate(tmp_path: Path) -> None:
    result = await run_cli("demo", "--apps", "1", cwd=tmp_path, env=cli_env(tmp_path, None))
    assert result.rc == 2
    assert "at least 100" in result.err


def test_codes_and_states_that_begin_with_a_dash_are_values_not_options() -> None:
    parser = build_parser()
    known = _option_strings(parser)
    assert {"--code", "--state", "--json", "--app-name"} <= known
    words = ["connect", APP, "--app-name", "zoomus", "--code", "-ab_c", "--state", "--x-y"]
    fixed = _attach_opaque_values(words, known)
    assert fixed == ["connect", APP, "--app-name", "zoomus", "--code=-ab_c", "--state=--x-y"]
    args = parser.parse_args(fixed)
    assert (args.code, args.state) == ("-ab_c", "--x-y")
    url = "-not-a-url"
    assert (
        parser.parse_args(
            _attach_opaque_values(
                ["verify", APP, "--app-name", "zoomus", "--continue-url", url], known
            )
        ).continue_url
        == url
    )
    # A missing value is still a usage error: the next word is one of our options.
    missing = ["verify", APP, "--app-name", "zoomus", "--code", "--state", "s"]
    assert _attach_opaque_values(missing, known) == missing
    assert _attach_opaque_values(["--code", "--json=1"], known) == ["--code", "--json=1"]
    # Words after a bare "--" and other flags are untouched.
    assert _attach_opaque_values(["--code", "x", "--", "--code", "-y"], known) == [
        "--code",
        "x",
        "--",
        "--code",
        "-y",
    ]
    assert _attach_opaque_values(["--app-name", "-z"], known) == ["--app-name", "-z"]
    update = ["update", APP, "--token", "-tok"]
    assert parser.parse_args(_attach_opaque_values(update, known)).token == "-tok"


def test_the_demos_minimum_is_the_windows_before_the_last_less_the_first_ones_gone_part() -> None:
    from okta_connections.cli._demo import minimum_seconds

    # 2,106 requests at 150 a window of 1 s: 15 windows, the last at the 14th second after
    # the first window opened, which was 0.25 s before the first request.
    assert minimum_seconds(2106, 150, 1.0, gone=0.25) == pytest.approx(13.75)
    assert minimum_seconds(2106, 150, 1.0) == 14  # a first request on the whole second
    assert minimum_seconds(300, 150, 60.0, gone=0.5) == pytest.approx(59.5)
    assert minimum_seconds(150, 150, 1.0, gone=0.9) == 0  # one window: no wait at all
    assert minimum_seconds(0, 150, 1.0) == 0
