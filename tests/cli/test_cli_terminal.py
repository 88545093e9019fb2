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
from typing import Any

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


async def _watch_in_tmux(
    tmp_path: Path, env: dict[str, str], job: str, *, on_screen: Any = None
) -> tuple[list[str], str]:
    """Run ``job`` (sh) in a 150x20 tmux window; return every screen seen while it ran and the
    final one. ``on_screen(screen, session)`` may act on each screen (send keys)."""
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items() if k.isidentifier())
    session = f"okc-{uuid.uuid4().hex[:8]}"
    # The shell outlives a Ctrl-C (a trap, which its children do not inherit), to record $?.
    script = f"trap : INT; {job}; echo EXIT=$? > rc; sleep 30"
    await _tmux(
        "new-session", "-d", "-s", session, "-x", "150", "-y", "20", "-c", str(tmp_path),
        f"env -i {exports} sh -c {shlex.quote(script)}",
    )  # fmt: skip
    socket_path = Path((await _tmux("display-message", "-p", "#{socket_path}")).strip())
    screens: list[str] = []
    try:
        for _ in range(300):  # up to 30 s
            screens.append(await _tmux("capture-pane", "-p", "-t", session))
            if (tmp_path / "rc").exists():
                break
            if on_screen is not None:
                await on_screen(screens[-1], session)
            await asyncio.sleep(0.1)
        final = await _tmux("capture-pane", "-p", "-t", session)
    finally:
        await _tmux("kill-server")
        with contextlib.suppress(OSError):
            os.remove(socket_path)
    return screens, final


def _job_env(fake: FakeOkta, tmp_path: Path) -> dict[str, str]:
    (tmp_path / "home").mkdir()
    ids = [a.id for a in fake.apps if a.name == "okta_org2org"]
    (tmp_path / "apps.jsonl").write_text("".join(json.dumps({"id": i}) + "\n" for i in ids))
    env = cli_env(tmp_path, fake, NO_COLOR="1")
    env.pop("COLUMNS", None)  # the width comes from the terminal, as for a person
    return env


async def test_the_bar_takes_the_terminal_s_width_with_stdout_redirected(
    slow_fake: FakeOkta, tmp_path: Path
) -> None:
    # stdout goes to a file: the bar, on stderr, still spans stderr's terminal (150 columns,
    # not a 100-column fallback), and its width does not change from frame to frame.
    if TMUX is None:
        pytest.skip("tmux is not installed (.ci/run installs it): no real terminal to look at")
    env = _job_env(slow_fake, tmp_path)
    exe = shlex.quote(sys.executable)
    job = f"cat apps.jsonl | {exe} -m okta_connections bulk deactivate --journal j.jsonl > out"
    screens, final = await _watch_in_tmux(tmp_path, env, job)
    assert (tmp_path / "rc").read_text().strip() == "EXIT=0", final
    bars = [line for screen in (*screens, final) for line in screen.splitlines() if BAR.match(line)]
    assert len(bars) >= 3, final
    widths = {len(line.split("]")[0]) + 1 - len("deactivate ") for line in bars}
    assert widths == {40 + 2}, (widths, bars[:5])  # "[" + 40 + "]", every frame
    assert max(len(line) for line in bars) > 100, bars[:5]  # wider than the fallback


async def test_ctrl_c_with_stdout_redirected_says_how_to_resume_on_the_terminal(
    slow_fake: FakeOkta, tmp_path: Path
) -> None:
    if TMUX is None:
        pytest.skip("tmux is not installed (.ci/run installs it): no real terminal to look at")
    env = _job_env(slow_fake, tmp_path)
    exe = shlex.quote(sys.executable)
    job = f"cat apps.jsonl | {exe} -m okta_connections bulk deactivate --journal j.jsonl > out"
    sent: list[bool] = []

    async def interrupt_midway(screen: str, session: str) -> None:
        match = BAR.search(screen)
        if match and not sent and 3 <= int(match[1]) < int(match[2]):
            sent.append(True)
            await _tmux("send-keys", "-t", session, "C-c")

    _, final = await _watch_in_tmux(tmp_path, env, job, on_screen=interrupt_midway)
    assert sent, final
    assert (tmp_path / "rc").read_text().strip() == "EXIT=130", final
    assert "rerun the same command with --journal j.jsonl to resume" in final, final
    assert json.loads((tmp_path / "out").read_text().splitlines()[-1])["summary"]["interrupted"]
