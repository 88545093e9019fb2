"""A real redis-server (the Debian package) on a free loopback port, for the tests.

Tests that need one skip, with the reason in pytest's summary, when the binary is missing;
``.ci/run`` installs it, so nothing skips there.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time

import pytest

BINARY = shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """One redis-server process: ``start()``, ``stop()`` (SIGKILL), ``restart()``."""

    def __init__(self, password: str | None = None) -> None:
        if BINARY is None:
            pytest.skip("redis-server is not installed (apt-get install redis-server)")
        self.password = password
        self.port = free_port()
        self._dir = tempfile.mkdtemp(prefix="okc-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert BINARY is not None
        args = [
            BINARY,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", self._dir,
        ]  # fmt: skip
        if self.password:
            args += ["--requirepass", self.password]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64):
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)


def redis_server(password: str | None = None) -> RedisServer:
    server = RedisServer(password)
    server.start()
    return server


__all__ = ["BINARY", "RedisServer", "free_port", "redis_server"]
