"""The journal knows its job: header and fingerprint, one job per journal, no secret on disk."""

from __future__ import annotations

import asyncio
import json
import sys
import warnings
from pathlib import Path

import pytest

from okta_connections import OAuthConnection, OktaClient
from okta_connections.bulk import (
    Journal,
    JournalError,
    JournalLockedError,
    JournalMismatchError,
    JournalWarning,
    OutcomeStatus,
)
from tests.support.constants import bulk_ids as ids
from tests.support.scripted import ScriptedServer

TARGET = "tgtTOKEN-0123456789abcdefghijklmnop"


async def test_a_journal_of_another_operation_is_refused(
    okta: OktaClient, server: ScriptedServer, tmp_path: Path
) -> None:
    path = tmp_path / "job.jsonl"
    report = await okta.bulk.get(ids(3), journal=path).run()
    assert report.succeeded == 3
    sent = len(server.seen)
    before = path.read_bytes()
    with pytest.raises(JournalMismatchError) as caught:
        await okta.bulk.activate(ids(3), journal=path).run()
    message = str(caught.value)
    assert "'get'" in message and "'activate'" in message and "start fresh" in message
    assert caught.value.journal_operation == "get"
    assert len(server.seen) == sent  # nothing was activated, nothing was sent
    assert path.read_bytes() == before  # nor appended


async def test_a_journal_of_another_token_is_refused_and_holds_no_token(
    okta: OktaClient, server: ScriptedServer, tmp_path: Path
) -> None:
    path = tmp_path / "rotate.jsonl"
    await okta.bulk.set_token(ids(2), TARGET, journal=path).run()
    text = path.read_text()
    assert TARGET not in text
    header = json.loads(text.splitlines()[0])
    assert header["op"] == "set_token" and len(header["salt"]) == 32
    # the same job resumes (a rerun over more apps is a normal resume) ...
    again = await okta.bulk.set_token(ids(3), TARGET, journal=path).run()
    assert (again.skipped_done, again.succeeded) == (2, 1)
    # ... another token, or other options, do not
    sent = len(server.seen)
    with pytest.raises(JournalMismatchError, match="other parameters"):
        await okta.bulk.set_token(ids(3), TARGET + "x", journal=path).run()
    with pytest.raises(JournalMismatchError, match="other parameters"):
        await okta.bulk.set_token(ids(3), TARGET, activate=True, journal=path).run()
    assert len(server.seen) == sent


async def test_a_file_that_is_not_a_journal_is_refused_not_appended_to(
    okta: OktaClient, server: ScriptedServer, tmp_path: Path
) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(ids(3)) + "\n")
    before = ids_file.read_bytes()
    with pytest.raises(JournalError, match="not an okta_connections journal"):
        await okta.bulk.activate(ids(3), journal=ids_file).run()
    assert ids_file.read_bytes() == before
    assert server.seen == []


async def test_a_missing_directory_is_an_error_not_created(
    okta: OktaClient, server: ScriptedServer, tmp_path: Path
) -> None:
    path = tmp_path / "no" / "such" / "dir" / "job.jsonl"
    with pytest.raises(JournalError, match="does not exist"):
        await okta.bulk.activate(ids(2), journal=path).run()
    assert not (tmp_path / "no").exists()
    assert server.seen == []


async def test_non_utf8_and_garbage_lines_are_skipped_counted_and_warned_once(
    okta: OktaClient, tmp_path: Path
) -> None:
    path = tmp_path / "job.jsonl"
    journal = Journal(path)
    journal.open("work")
    journal.close()
    done, other = ids(2)
    with path.open("ab") as f:
        f.write(b"\xff\xfe\x80 not utf-8\n")
        f.write(json.dumps({"key": done, "status": "succeeded"}).encode() + b"\n")
        f.write(b"{not json\n")
        f.write(b'["a list"]\n')
    calls: list[str] = []

    async def work(_: OktaClient, key: str) -> None:
        calls.append(key)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = await okta.bulk.run(work, ids(2), journal=path).run()
    ours = [w for w in caught if issubclass(w.category, JournalWarning)]
    assert len(ours) == 1 and "skipped 3 unreadable line(s)" in str(ours[0].message)
    assert calls == [other]
    assert (report.skipped_done, report.succeeded) == (1, 1)


async def test_a_second_job_on_a_locked_journal_fails_at_once(
    okta: OktaClient, server: ScriptedServer, tmp_path: Path
) -> None:
    path = tmp_path / "job.jsonl"
    gate = asyncio.Event()

    async def work(_: OktaClient, key: str) -> None:
        await gate.wait()

    async with okta.bulk.run(work, ids(5), journal=path) as first:
        with pytest.raises(JournalLockedError, match="in use by another job"):
            await okta.bulk.run(work, ids(5), journal=path).run()
        gate.set()
        await first.run()
    assert first.report.succeeded == 5
    # the lock went with the first job: a third one runs (and skips everything)
    third = await okta.bulk.run(work, ids(5), journal=path).run()
    assert third.skipped_done == 5


HOLDER = """
import sys, time
from okta_connections.bulk import Journal
j = Journal(sys.argv[1])
j.open("activate")
print("locked", flush=True)
time.sleep(120)
"""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
async def test_the_lock_holds_across_processes_and_dies_with_its_holder(
    okta: OktaClient, server: ScriptedServer, tmp_path: Path
) -> None:
    path = tmp_path / "job.jsonl"
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, str(path), stdout=asyncio.subprocess.PIPE
    )
    try:
        assert holder.stdout is not None
        assert (await holder.stdout.readline()).strip() == b"locked"
        with pytest.raises(JournalLockedError):
            await okta.bulk.activate(ids(2), journal=path).run()
        assert server.seen == []
    finally:
        holder.kill()  # SIGKILL: the OS releases the lock
        await holder.communicate()
    server.add(204)
    server.add(204)
    report = await okta.bulk.activate(ids(2), journal=path).run()
    assert report.succeeded == 2


async def test_a_token_echoed_by_okta_never_reaches_the_journal(
    okta: OktaClient, server: ScriptedServer, tmp_path: Path
) -> None:
    echo = {
        "errorCode": "E0000001",
        "errorSummary": f"Api validation failed: token {TARGET} is not valid",
        "errorCauses": [{"errorSummary": f"profile.token: {TARGET}"}],
    }
    server.add(400, json_body=echo)
    path = tmp_path / "rotate.jsonl"
    (outcome,) = [o async for o in okta.bulk.set_token(ids(1), TARGET, journal=path)]
    assert outcome.status is OutcomeStatus.FAILED
    text = path.read_text()
    record = json.loads(text.splitlines()[-1])
    assert record["status"] == "failed" and "***" in record["error"]
    assert TARGET not in text


async def test_an_admin_password_echoed_in_an_update_job_is_redacted(
    okta: OktaClient, server: ScriptedServer, tmp_path: Path
) -> None:
    password = "Hunter2-admin-password-xyz"
    conn = OAuthConnection(admin_username="admin@acme.example", admin_password=password)
    server.add(400, json_body={"errorCode": "E0000001", "errorSummary": f"bad pw {password}"})
    path = tmp_path / "update.jsonl"
    report = await okta.bulk.update([(ids(1)[0], conn)], journal=path).run()
    assert report.failed == 1
    assert password not in path.read_text()
    assert "bad pw ***" in path.read_text()
