"""A bulk job killed with SIGKILL mid-way, then rerun with the same journal (issue: bulk jobs).

The job runs in a real subprocess against a FakeOkta served by this test's event loop, so
the kill lands wherever the job happens to be: between requests, mid-request, or in the
middle of a journal write.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import pytest

from okta_connections.testing import FakeOkta

# slow: the job runs in a subprocess, killed and run again.
pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX"),
    pytest.mark.slow,
]

N = 240
CONCURRENCY = 8

CHILD = f"""
import asyncio, sys
from okta_connections import OktaClient, SSWSToken

async def main(url, token, journal, ids):
    async with OktaClient(url, auth=SSWSToken(token)) as okta:
        report = await okta.bulk.activate(ids, journal=journal, concurrency={CONCURRENCY}).run()
    print(report.summary(), flush=True)
    return 0 if report.failed == 0 else 1

url, token, journal = sys.argv[1], sys.argv[2], sys.argv[3]
sys.exit(asyncio.run(main(url, token, journal, sys.stdin.read().split())))
"""


async def _start(fake: FakeOkta, journal: Path, ids: list[str]) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        fake.org_url,
        fake.token,
        str(journal),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None
    proc.stdin.write("\n".join(ids).encode())
    await proc.stdin.drain()
    proc.stdin.close()
    return proc


def _lines(journal: Path) -> list[str]:
    return journal.read_text().splitlines() if journal.exists() else []


async def test_sigkilled_job_resumes_with_every_app_done_once(tmp_path: Path) -> None:
    journal = tmp_path / "activate.jsonl"
    async with FakeOkta(apps=0, rate_limit=1_000_000) as fake:
        apps = [
            fake.add_app("okta_org2org", connection="token", status="DISABLED") for _ in range(N)
        ]
        ids = [a.id for a in apps]
        # Slow enough that the kill lands mid-job with requests in flight.
        fake.latency = 0.02

        first = await _start(fake, journal, ids)
        for _ in range(1000):
            # Complete records past the header line (the last line may be half-written).
            if sum(x.endswith("}") for x in _lines(journal)[1:]) >= N // 4:
                break
            await asyncio.sleep(0.01)
        first.send_signal(signal.SIGKILL)
        await first.communicate()
        assert first.returncode == -signal.SIGKILL

        before = [json.loads(x) for x in _lines(journal)[1:] if x.endswith("}")]
        done_before = {r["key"] for r in before if r["status"] == "succeeded"}
        assert N // 4 <= len(done_before) < N  # the kill really was mid-job
        activations_before = {i: fake.count(operation="activate", app_id=i) for i in ids}

        fake.latency = 0.0
        second = await _start(fake, journal, ids)
        out, err = await second.communicate()
        assert second.returncode == 0, err.decode()

        # Every app ended in the right state.
        assert all(fake.app(i).connection_status == "ENABLED" for i in ids)

        # The journal: one success per app, across both runs, and nothing unparsable but
        # (at most) the line the kill tore.
        lines = _lines(journal)
        records = []
        torn = 0
        assert json.loads(lines[0])["op"] == "activate"  # the header, written once
        for line in lines[1:]:
            try:
                records.append(json.loads(line))
            except ValueError:
                torn += 1
        assert torn <= 1
        successes = [r["key"] for r in records if r["status"] == "succeeded"]
        assert sorted(successes) == sorted(ids)  # each app exactly once: no duplicates

        # The rerun skipped everything the first run had recorded...
        for i in done_before:
            assert fake.count(operation="activate", app_id=i) == activations_before[i] == 1
        # ...and did the rest once more. Only the items in flight at the kill (sent, but
        # not yet recorded) can have been activated twice.
        twice = [i for i in ids if fake.count(operation="activate", app_id=i) > 1]
        assert len(twice) <= CONCURRENCY
        assert all(fake.count(operation="activate", app_id=i) == 2 for i in twice)
        summary = out.decode()
        assert summary.startswith(f"{N - len(done_before)} succeeded, 0 failed")
        assert f"{len(done_before)} skipped" in summary
