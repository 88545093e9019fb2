"""The README's set-up block, run as a new user pastes it: line by line, each in a new
shell, in a fresh copy of the checkout with no venv (issue 26: the lines after the first
said ``command not found``, as the venv was never activated)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from okta_connections import __version__
from tests.support.cli import cli_env

pytestmark = pytest.mark.slow  # a venv, a pip install and the demo: about a minute

ROOT = Path(__file__).resolve().parents[2]
#: pip's words when it cannot reach a package index: the only reason to skip.
OFFLINE = re.compile(
    r"No matching distribution found|Could not find a version that satisfies|"
    r"Failed to establish a new connection|Temporary failure in name resolution|"
    r"Network is unreachable"
)


def setup_block() -> list[str]:
    """The lines of the first ``sh`` block under the README's "## Set up" heading."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("\n## Set up") :]
    block = re.search(r"^```sh\n(.*?)^```$", section, re.M | re.S)
    assert block is not None
    return [line for line in block[1].splitlines() if line.strip()]


def _copy_checkout(to: Path) -> None:
    shutil.copytree(
        ROOT, to,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "__pycache__", ".mypy_cache", ".ruff_cache", "*.egg-info", "build",
        ),
    )  # fmt: skip


def _new_shell_env(tmp_path: Path) -> dict[str, str]:
    """A new shell's environment: no venv active, whatever runs this test (no venv's bin on
    PATH), and ``python3`` this Python (3.11+)."""
    (tmp_path / "home").mkdir()
    env = cli_env(tmp_path, None)
    env.pop("VIRTUAL_ENV", None)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    path = env.get("PATH", "").split(os.pathsep)
    kept = [p for p in path if p and not (Path(p) / "activate").exists()]
    env["PATH"] = os.pathsep.join([str(bin_dir), *kept])
    return env


async def _bash(line: str, cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        "bash", "-c", line, cwd=cwd, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 600)
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace")


def test_the_block_is_the_main_job_then_commands_of_the_venv() -> None:
    lines = setup_block()
    assert lines[0].startswith("python3 -m venv .venv && ") and lines[0].endswith(" demo")
    assert len(lines) == 4, lines


async def test_every_line_of_the_readme_set_up_block_works_as_pasted(tmp_path: Path) -> None:
    checkout = tmp_path / "okta-connections"
    _copy_checkout(checkout)
    env = _new_shell_env(tmp_path)
    outputs = []
    for number, line in enumerate(setup_block(), 1):
        rc, out = await _bash(line, checkout, env)
        if number == 1 and rc != 0 and OFFLINE.search(out):
            reason = f"the set-up block's pip install cannot reach a package index: {out[-300:]}"
            print(reason)
            pytest.skip(reason)
        assert rc == 0, f"line {number} failed ({rc}): {line}\n{out[-3000:]}"
        outputs.append(out)
    demo, config, completion, version = outputs
    assert "now have an active token connection" in demo and "fake org is stopped" in demo
    assert '"orgUrl"' in config and '"files"' in config  # JSON: stdout is not a terminal
    assert "okta-connections" in completion and "complete" in completion
    assert version.strip() == f"okta-connections {__version__}"
