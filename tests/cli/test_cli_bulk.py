"""``okta-connections bulk``: sources of ids, JSON lines, journal, exit codes, progress, Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections import Counter
from pathlib import Path

import pytest

from okta_connections.testing import FakeOkta
from tests.support.cli import TARGET_TOKEN, Cli, assert_no_secret, start_cli

# slow: every test here runs the command in a subprocess.
pytestmark = [pytest.mark.filterwarnings("error::ResourceWarning"), pytest.mark.slow]


def provisioned(fake: FakeOkta, name: str) -> list[str]:
    return [a.id for a in fake.apps if a.name == name]


async def test_bulk_get_from_a_file_streams_one_json_line_per_app(cli: Cli) -> None:
    ids = provisioned(cli.fake, "zscalerbyz")
    (cli.tmp / "ids.txt").write_text("# zscaler apps\n" + "\n".join(ids + ids[:1]) + "\n\n")
    result = await cli("bulk", "get", "ids.txt")
    assert result.rc == 0, result.err
    *lines, last = result.json_lines()
    assert sorted(line["appId"] for line in lines) == sorted(ids)  # the repeat ran once
    for line in lines:
        assert line["status"] == "succeeded"
        assert line["connection"]["authScheme"] == "TOKEN"
    summary = last["summary"]
    assert (summary["operation"], summary["succeeded"], summary["failed"]) == ("get", len(ids), 0)
    assert summary["interrupted"] is False
    assert "ETA" not in result.err  # stderr is not a terminal: no progress bar


async def test_apps_list_pipes_into_bulk_activate_on_stdin(cli: Cli) -> None:
    listing = await cli("apps", "list", "--filter", 'name eq "zscalerbyz"')
    ids = provisioned(cli.fake, "zscalerbyz")
    for app_id in ids:
        cli.fake.app(app_id).connection_status = "DISABLED"
    result = await cli("bulk", "activate", input=listing.out)
    assert result.rc == 0, result.err
    assert result.json_lines()[-1]["summary"]["succeeded"] == len(ids)
    assert all(cli.fake.app(i).connection_status == "ENABLED" for i in ids)
    assert cli.fake.count(operation="activate") == len(ids)


async def test_bulk_deactivate_by_filter(cli: Cli) -> None:
    ids = provisioned(cli.fake, "zscalerbyz")
    result = await cli(
        "bulk", "deactivate", "--filter", 'name eq "zscalerbyz"', "--concurrency", "2"
    )
    assert result.rc == 0, result.err
    assert {line["appId"] for line in result.json_lines()[:-1]} == set(ids)
    assert all(cli.fake.app(i).connection_status == "DISABLED" for i in ids)


async def test_bulk_update_sets_one_token_and_never_prints_it(cli: Cli) -> None:
    ids = provisioned(cli.fake, "okta_org2org")
    (cli.tmp / "token").write_text(TARGET_TOKEN)
    result = await cli(
        "-v", "bulk", "update", "--q", "Org2Org", "--token-file", "token", "--activate",
        "--max-capacity", "0.5",
    )  # fmt: skip
    assert result.rc == 0, result.err
    assert result.json_lines()[-1]["summary"]["succeeded"] == len(ids)
    assert all(cli.fake.app(i).auth_scheme == "TOKEN" for i in ids)
    assert all(cli.fake.app(i).connection_status == "ENABLED" for i in ids)
    sent = [r for r in cli.fake.requests if r.operation == "update"]
    assert len(sent) == len(ids) and all(TARGET_TOKEN.encode() in r.body for r in sent)
    assert_no_secret(result)


async def test_dry_run_sends_nothing_but_the_listing(cli: Cli) -> None:
    result = await cli("bulk", "deactivate", "--filter", 'name eq "slack"', "--dry-run")
    assert result.rc == 0, result.err
    *lines, last = result.json_lines()
    assert {line["status"] for line in lines} == {"planned"}
    assert lines[0]["calls"] == [
        f"POST /api/v1/apps/{lines[0]['appId']}/connections/default/lifecycle/deactivate"
    ]
    assert last["summary"]["planned"] == len(provisioned(cli.fake, "slack"))
    assert cli.fake.count(operation="deactivate") == 0


async def test_some_failures_exit_1_and_the_journal_resumes(cli: Cli) -> None:
    # Unconfigured Org2Org connections cannot be activated: Okta says E0000001.
    ids = [*provisioned(cli.fake, "okta_org2org"), "0oaDOESNOTEXIST0000000"]
    (cli.tmp / "ids").write_text("\n".join(ids))
    result = await cli("bulk", "activate", "ids", "--journal", "job.jsonl")
    assert result.rc == 1
    summary = result.json_lines()[-1]["summary"]
    assert summary["failed"] >= 1 and summary["failedByCode"]["E0000007"] == 1
    assert summary["succeeded"] + summary["failed"] == len(ids)
    failed = [line for line in result.json_lines()[:-1] if line["status"] == "failed"]
    assert all(line["error"]["requestId"].startswith("req") for line in failed)
    header, *journal = [json.loads(x) for x in (cli.tmp / "job.jsonl").read_text().splitlines()]
    assert header["op"] == "activate"
    assert len(journal) == len(ids)
    # rerun with the journal: everything recorded is skipped, nothing is sent
    before = cli.fake.count(operation="activate")
    again = await cli("bulk", "activate", "ids", "--journal", "job.jsonl")
    assert again.rc == 1, again.err  # earlier failures were skipped, not fixed
    assert again.json_lines()[-1]["summary"]["skipped"] == len(ids)
    assert again.json_lines()[-1]["summary"]["skippedFailed"] == summary["failed"]
    assert "--retry-failed" in again.err
    assert cli.fake.count(operation="activate") == before
    # --retry-failed sends the failures again, and only those
    retry = await cli("bulk", "activate", "ids", "--journal", "job.jsonl", "--retry-failed")
    assert retry.rc == 1
    assert cli.fake.count(operation="activate") == before + summary["failed"]


async def test_progress_bar_on_a_terminal_stderr(cli: Cli) -> None:
    pty = pytest.importorskip("pty")
    ids = provisioned(cli.fake, "zscalerbyz")
    (cli.tmp / "ids").write_text("\n".join(ids))
    leader, follower = pty.openpty()
    chunks: list[bytes] = []
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "okta_connections", "bulk", "get", "ids",
            cwd=cli.tmp, env=cli.env(COLUMNS="120"), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=follower,
        )  # fmt: skip
        os.close(follower)
        follower = -1
        out, _ = await asyncio.wait_for(proc.communicate(), 20)
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
        if follower != -1:
            os.close(follower)
    assert proc.returncode == 0
    bar = b"".join(chunks).decode()
    assert f"{len(ids)}/{len(ids)} 100%" in bar
    assert "/s" in bar and "ETA" in bar and "rate limit" in bar and "left" in bar
    assert "\r" in bar
    # stdout (a pipe) still gets clean JSON lines
    assert json.loads(out.decode().splitlines()[-1])["summary"]["succeeded"] == len(ids)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_ctrl_c_exits_130_with_a_consistent_journal(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    async with FakeOkta(apps=300, seed=5, rate_limit=1_000_000) as fake:
        fake.latency = 0.05  # a slow org, so that the job is mid-way when Ctrl-C comes
        cli = Cli(fake, tmp_path)
        ids = [a.id for a in fake.apps]
        (tmp_path / "ids").write_text("\n".join(ids))
        journal = tmp_path / "job.jsonl"
        proc = await start_cli(
            "bulk", "deactivate", "ids", "--journal", str(journal), "--concurrency", "4",
            cwd=tmp_path, env=cli.env(),
        )  # fmt: skip
        try:
            for _ in range(400):
                await asyncio.sleep(0.025)
                if journal.exists() and journal.read_text().count("\n") >= 11:
                    break
            assert proc.returncode is None
            proc.send_signal(signal.SIGINT)
            out, err = await asyncio.wait_for(proc.communicate(), 20)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert proc.returncode == 130, err.decode()
        records = [json.loads(line) for line in journal.read_text().splitlines()][1:]
        statuses = Counter(r["status"] for r in records)
        succeeded = Counter(r["key"] for r in records if r["status"] == "succeeded")
        assert all(n == 1 for n in succeeded.values())
        assert len({r["key"] for r in records}) == len(records)  # each app once
        assert 10 <= len(records) < len(ids)
        lines = [json.loads(line) for line in out.decode().splitlines()]
        summary = lines[-1]["summary"]
        assert summary["interrupted"] is True
        assert summary["succeeded"] == statuses["succeeded"]
        assert summary["cancelled"] == statuses["cancelled"]
        assert summary["notStarted"] == len(ids) - len(records)
        # every succeeded record matches a real deactivation in the org
        for key in succeeded:
            assert fake.app(key).connection_status in ("DISABLED", "UNKNOWN")
        # resuming with the journal finishes the job and never redoes a recorded success
        fake.latency = 0.0
        sent_before = fake.count(operation="deactivate")
        result = await cli("bulk", "deactivate", "ids", "--journal", str(journal))
        assert result.rc in (0, 1), result.err
        summary = result.json_lines()[-1]["summary"]
        redone = len(ids) - statuses["succeeded"] - statuses["failed"]
        assert summary["skipped"] == statuses["succeeded"] + statuses["failed"]
        assert fake.count(operation="deactivate") == sent_before + redone
        records = [json.loads(line) for line in journal.read_text().splitlines()][1:]
        succeeded = Counter(r["key"] for r in records if r["status"] == "succeeded")
        assert all(n == 1 for n in succeeded.values())


async def test_bulk_update_reads_the_token_from_stdin_once(cli: Cli) -> None:
    # Regression: the token was read twice (validation, then the job), so stdin was empty
    # the second time and the command exited 2.
    ids = provisioned(cli.fake, "okta_org2org")
    (cli.tmp / "ids.txt").write_text("\n".join(ids) + "\n")
    result = await cli("bulk", "update", "ids.txt", "--token-file", "-", input=TARGET_TOKEN)
    assert result.rc == 0, result.err
    assert result.json_lines()[-1]["summary"]["succeeded"] == len(ids)
    sent = [r for r in cli.fake.requests if r.operation == "update"]
    assert len(sent) == len(ids) and all(TARGET_TOKEN.encode() in r.body for r in sent)
    assert_no_secret(result)


async def test_bulk_update_refuses_ids_and_token_both_on_stdin(cli: Cli) -> None:
    result = await cli("bulk", "update", "-", "--token-file", "-", input=TARGET_TOKEN)
    assert result.rc == 2
    assert "stdin carries the connection" in result.err
    assert cli.fake.count(operation="update") == 0
    assert_no_secret(result)


async def test_failed_outcomes_piped_back_in_are_retried(cli: Cli) -> None:
    # Regression: every line with an "error" key was skipped as a trailer, so piping the
    # failures of one run into the next retried nothing.
    ids = provisioned(cli.fake, "zscalerbyz")[:2]
    cli.fake.fail(ids[0], "activate", status=400, times=1)
    (cli.tmp / "ids.txt").write_text("\n".join(ids) + "\n")
    first = await cli("bulk", "activate", "ids.txt")
    assert first.rc == 1
    failed = [line for line in first.out.splitlines() if '"failed"' in line and "appId" in line]
    assert len(failed) == 1
    second = await cli("bulk", "activate", input="\n".join(failed) + "\n")
    assert second.rc == 0, second.err
    assert [line["appId"] for line in second.json_lines()[:-1]] == [ids[0]]


async def test_a_get_journal_is_refused_by_bulk_activate(cli: Cli) -> None:
    ids = provisioned(cli.fake, "zscalerbyz")
    for app_id in ids:
        cli.fake.app(app_id).connection_status = "DISABLED"
    (cli.tmp / "ids").write_text("\n".join(ids))
    first = await cli("bulk", "get", "ids", "--journal", "job.jsonl")
    assert first.rc == 0, first.err
    again = await cli("bulk", "activate", "ids", "--journal", "job.jsonl")
    assert again.rc == 2
    assert "holds a 'get' job" in again.err and "start fresh" in again.err
    assert cli.fake.count(operation="activate") == 0
    assert all(cli.fake.app(i).connection_status == "DISABLED" for i in ids)


async def test_the_ids_file_given_as_the_journal_is_refused_untouched(cli: Cli) -> None:
    ids = provisioned(cli.fake, "zscalerbyz")
    (cli.tmp / "ids").write_text("\n".join(ids) + "\n")
    before = (cli.tmp / "ids").read_bytes()
    result = await cli("bulk", "activate", "ids", "--journal", "ids")
    assert result.rc == 2
    assert "not an okta_connections journal" in result.err
    assert (cli.tmp / "ids").read_bytes() == before
    assert cli.fake.count(operation="activate") == 0


async def test_a_journal_in_a_missing_directory_is_refused_before_listing(cli: Cli) -> None:
    listed = cli.fake.count(operation="list_apps")
    result = await cli(
        "bulk", "activate", "--filter", 'name eq "slack"', "--journal", "nope/job.jsonl"
    )
    assert result.rc == 2
    assert "does not exist" in result.err
    assert not (cli.tmp / "nope").exists()
    assert cli.fake.count(operation="list_apps") == listed  # failed before any request


async def test_a_rerun_that_skips_earlier_failures_says_so_and_exits_1(cli: Cli) -> None:
    ids = provisioned(cli.fake, "zscalerbyz")[:3]
    cli.fake.fail(ids[0], "activate", status=400, times=1)
    (cli.tmp / "ids").write_text("\n".join(ids))
    first = await cli("bulk", "activate", "ids", "--journal", "job.jsonl")
    assert first.rc == 1
    again = await cli("bulk", "activate", "ids", "--journal", "job.jsonl")
    assert again.rc == 1, again.err
    summary = again.json_lines()[-1]["summary"]
    assert (summary["skipped"], summary["skippedDone"], summary["skippedFailed"]) == (3, 2, 1)
    assert summary["failed"] == 0
    assert "1 app(s) failed in an earlier run" in again.err and "--retry-failed" in again.err
    retry = await cli("bulk", "activate", "ids", "--journal", "job.jsonl", "--retry-failed")
    assert retry.rc == 0, retry.err


async def test_a_token_echoed_by_okta_is_redacted_from_output_and_journal(cli: Cli) -> None:
    ids = provisioned(cli.fake, "okta_org2org")[:1]
    (cli.tmp / "ids").write_text("\n".join(ids))
    (cli.tmp / "token").write_text(TARGET_TOKEN)
    cli.fake.fail_next(
        400, operation="update", error_code="E0000001", error_summary=f"bad token {TARGET_TOKEN}"
    )
    result = await cli("bulk", "update", "ids", "--token-file", "token", "--journal", "job.jsonl")
    assert result.rc == 1
    (line,) = result.json_lines()[:-1]
    assert line["status"] == "failed" and "bad token ***" in line["error"]["message"]
    assert_no_secret(result)
    assert TARGET_TOKEN not in (cli.tmp / "job.jsonl").read_text()
    assert "bad token ***" in (cli.tmp / "job.jsonl").read_text()


async def test_bulk_update_reads_back_by_default_and_says_a_token_cannot_be(cli: Cli) -> None:
    ids = provisioned(cli.fake, "okta_org2org")[:2]
    (cli.tmp / "ids").write_text("\n".join(ids))
    (cli.tmp / "token").write_text(TARGET_TOKEN)
    result = await cli("bulk", "update", "ids", "--token-file", "token")
    assert result.rc == 0, result.err
    assert "a token cannot be read back" in result.err
    off = await cli("bulk", "update", "ids", "--token-file", "token", "--no-read-back")
    assert off.rc == 0, off.err
    assert "read back" not in off.err
