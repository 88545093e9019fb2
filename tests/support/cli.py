"""Runs the okta-connections command in a subprocess, from a clean directory and a clean
environment (no okta.yaml from the developer's home), and reads what it printed.

The ``cli`` fixture (tests/conftest.py) gives a ``Cli`` bound to a FakeOkta org.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from okta_connections.testing import FakeApp, FakeOkta

TOKEN = "00fakeSSWStoken-for-the-cli-tests-0123456789"
TARGET_TOKEN = "target-org-token-SHOULD-NEVER-BE-PRINTED-42"


@attrs.frozen
class Result:
    rc: int
    out: str
    err: str

    def json_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]

    def json(self) -> Any:
        return json.loads(self.out)


def cli_env(tmp: Path, fake: FakeOkta | None, **extra: str) -> dict[str, str]:
    """A clean environment: no okta.yaml from the developer's home, the fake's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKTA_CLIENT_")}
    env["HOME"] = str(tmp / "home")
    env["PYTHONWARNINGS"] = "error::ResourceWarning"
    if fake is not None:
        env["OKTA_CLIENT_ORGURL"] = fake.org_url
        env["OKTA_CLIENT_TOKEN"] = fake.token
    env.update(extra)
    return env


async def start_cli(
    *args: str,
    cwd: Path,
    env: Mapping[str, str],
    stdin: int | None = asyncio.subprocess.DEVNULL,
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "okta_connections",
        *args,
        cwd=cwd,
        env=dict(env),
        stdin=stdin,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def run_cli(
    *args: str,
    cwd: Path,
    env: Mapping[str, str],
    input: str | None = None,
    timeout: float = 30,
) -> Result:
    proc = await start_cli(
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.PIPE if input is not None else asyncio.subprocess.DEVNULL,
    )
    try:
        out, err = await asyncio.wait_for(
            proc.communicate(input.encode() if input is not None else None), timeout
        )
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())


@attrs.define
class Cli:
    """Runs the command in a subprocess with the fake's settings, from a clean directory."""

    fake: FakeOkta
    tmp: Path

    def env(self, **extra: str) -> dict[str, str]:
        return cli_env(self.tmp, self.fake, **extra)

    async def __call__(
        self, *args: str, input: str | None = None, env: Mapping[str, str] | None = None
    ) -> Result:
        return await run_cli(*args, cwd=self.tmp, env=env or self.env(), input=input)

    def first(self, name: str, **state: Any) -> FakeApp:
        return next(
            a
            for a in self.fake.apps
            if a.name == name and all(getattr(a, k) == v for k, v in state.items())
        )


def assert_no_secret(result: Result, *secrets: str) -> None:
    for secret in (TOKEN, TARGET_TOKEN, *secrets):
        assert secret not in result.out
        assert secret not in result.err
