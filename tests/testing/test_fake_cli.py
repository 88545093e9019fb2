"""``python -m okta_connections.testing``: the standalone fake org."""

from __future__ import annotations

import asyncio
import signal
import sys

import aiohttp
import pytest

from okta_connections.testing import FakeOkta

# slow: every test here runs the fake server in a subprocess.
pytestmark = pytest.mark.slow


async def _start(*args: str) -> tuple[asyncio.subprocess.Process, dict[str, str]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "okta_connections.testing",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    printed: dict[str, str] = {}
    while "OKTA_CLIENT_TOKEN" not in printed:
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=15)
        if not line:
            assert proc.stderr is not None
            err = await proc.stderr.read()
            pytest.fail(f"the fake exited early: {err.decode(errors='replace')}")
        key, sep, value = line.decode().strip().partition("=")
        if sep:
            printed[key] = value
    return proc, printed


async def _stop(proc: asyncio.subprocess.Process, sig: int) -> int:
    proc.send_signal(sig)
    try:
        return await asyncio.wait_for(proc.wait(), timeout=15)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_standalone_serves_and_exits_cleanly(sig: int) -> None:
    proc, printed = await _start("--port", "0", "--apps", "5", "--seed", "4")
    try:
        url = printed["OKTA_CLIENT_ORGURL"]
        token = printed["OKTA_CLIENT_TOKEN"]
        assert url.startswith("http://127.0.0.1:")
        assert not url.endswith(":0")
        assert len(token) >= 20
        # The estate is the same as an in-process FakeOkta with the same seed.
        expected = FakeOkta(apps=5, seed=4).apps
        headers = {"Authorization": f"SSWS {token}", "Accept": "application/json"}
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/api/v1/apps", headers=headers) as resp:
                assert resp.status == 200
                assert [a["id"] for a in await resp.json()] == [a.id for a in expected]
            app = expected[0]
            async with http.get(
                f"{url}/api/v1/apps/{app.id}/connections/default", headers=headers
            ) as resp:
                assert resp.status == 200
                assert resp.headers["X-Okta-Request-Id"].startswith("req")
                assert (await resp.json())["status"] == app.connection_status
            async with http.get(
                f"{url}/api/v1/apps/{app.id}/connections/default",
                headers={"Authorization": "SSWS wrong"},
            ) as resp:
                assert resp.status == 401
    finally:
        code = await _stop(proc, sig)
    assert code == 0
    assert proc.stderr is not None
    err = (await proc.stderr.read()).decode()
    assert "Traceback" not in err


async def test_standalone_reports_a_taken_port() -> None:
    async with FakeOkta(apps=0) as fake:
        port = fake.org_url.rsplit(":", 1)[1]
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "okta_connections.testing",
            "--port",
            port,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _out, err = await asyncio.wait_for(proc.communicate(), timeout=15)
    assert proc.returncode == 1
    assert b"cannot serve" in err
    assert b"Traceback" not in err


async def test_fake_server_enforces_the_limit_it_advertises() -> None:
    """Issue #12: the headers never lie, in fake-server too, without any flag."""
    proc, printed = await _start("--port", "0", "--apps", "2", "--rate-limit", "2")
    try:
        url = printed["OKTA_CLIENT_ORGURL"]
        headers = {"Authorization": f"SSWS {printed['OKTA_CLIENT_TOKEN']}"}
        app_id = FakeOkta(apps=2).apps[0].id
        seen = []
        async with aiohttp.ClientSession() as http:
            for _ in range(3):
                async with http.get(
                    f"{url}/api/v1/apps/{app_id}/connections/default", headers=headers
                ) as resp:
                    body = await resp.json()
                    seen.append((resp.status, resp.headers["X-Rate-Limit-Remaining"]))
        assert seen == [(200, "1"), (200, "0"), (429, "0")]
        assert body["errorCode"] == "E0000047"
    finally:
        await _stop(proc, signal.SIGTERM)


@pytest.mark.parametrize(
    "argv", [["--window", "0"], ["--rate-limit", "-1"], ["--concurrency-limit", "0"]]
)
async def test_fake_server_refuses_bad_limits_without_a_traceback(argv: list[str]) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "okta_connections.testing",
        "--port",
        "0",
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await asyncio.wait_for(proc.communicate(), timeout=15)
    assert proc.returncode == 2
    assert b"FakeOkta:" in err
    assert b"Traceback" not in err
