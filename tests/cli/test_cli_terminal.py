"""The progress bar as a person sees it: a real terminal (tmux), stdout redirected to a file.

The job is the one people run: ``apps list --json | jq -r .id | bulk deactivate --journal
j.jsonl > out``. The bar must be on screen while the job runs, not only at its end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shlex
import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from okta_connections.testing import FakeOkta
from tests.support.cli import TOKEN, cli_env

pytestmark = [pytest.mark.real_components, pytest.mark.slow]

TMUX = shutil.which("tmux")
BAR = re.compile(r"deactivate \[[#.]+\] (\d+)/(\d+) +\d+%  \d+/s  ETA \S+")


SOCKET = f"okc-test-{uuid.uuid4().hex[:8]}"  # a tmux server of our own, not the user's


async def _tmux(*args: str) -> str:
    assert TMUX is not None
    proc = await asyncio.create_subprocess_exec(
        TMUX, "-L", SOCKET, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()


@pytest.fixture
async def slow_fake() -> AsyncIterator[FakeOkta]:
    # 15 calls a second against ~70 Org2Org apps: a job of a few seconds, long enough to look.
    async with FakeOkta(
        apps=200, seed=5, token=TOKEN, rate_limit=15, rate_window=1, enforce_rate_limit=True
    ) as org:
        yield org


async def test_bar_stays_on_screen_while_stdout_goes_to_a_file(
    slow_fake: FakeOkta, tmp_path: Path
) -> None:
    if TMUX is None:
        pytest.skip("tmux is not installed (.ci/run installs it): no real terminal to look at")
    (tmp_path / "home").mkdir()
    ids = [a.id for a in slow_fake.apps if a.name == "okta_org2org"]
    (tmp_path / "apps.jsonl").write_text("".join(json.dumps({"id": i}) + "\n" for i in ids))
    env = cli_env(tmp_path, slow_fake, COLUMNS="150", NO_COLOR="1")
    exe = shlex.quote(sys.executable)
    # cat stands in for `apps list --json | jq -r .id` (jq may be missing): a pipe on stdin.
    job = (
        f"cat apps.jsonl | {exe} -m okta_connections bulk deactivate --journal j.jsonl > out;"
        " echo EXIT=$? > rc; sleep 30"
    )
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items() if k.isidentifier())
    session = f"okc-{uuid.uuid4().hex[:8]}"
    await _tmux(
        "new-session", "-d", "-s", session, "-x", "150", "-y", "20", "-c", str(tmp_path),
        f"env -i {exports} sh -c {shlex.quote(job)}",
    )  # fmt: skip
    socket_path = Path((await _tmux("display-message", "-p", "#{socket_path}")).strip())
    seen: set[int] = set()
    try:
        for _ in range(300):  # up to 30 s
            screen = await _tmux("capture-pane", "-p", "-t", session)
            for match in BAR.finditer(screen):
                done, total = int(match[1]), int(match[2])
                assert total == len(ids)
                if done < total:
                    seen.add(done)
            if (tmp_path / "rc").exists():
                break
            await asyncio.sleep(0.1)
        final = await _tmux("capture-pane", "-p", "-t", session)
    finally:
        await _tmux("kill-server")
        with contextlib.suppress(OSError):  # the server is gone; so goes its socket
            os.remove(socket_path)
    assert (tmp_path / "rc").read_text().strip() == "EXIT=0", final
    # Seen mid-job, at several counts: the bar lives on screen, it is not wiped per line.
    assert len(seen) >= 3, (sorted(seen), final)
    # The last state stays on screen when the job ends.
    assert f"{len(ids)}/{len(ids)} 100%" in final, final
    # The file got clean JSON lines: one per app and the summary, no terminal codes.
    out = (tmp_path / "out").read_text()
    assert "\x1b" not in out and "\r" not in out
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[-1]["summary"]["succeeded"] == len(ids)
    assert sorted(line["appId"] for line in lines[:-1]) == sorted(ids)
