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
        """Start on this server's port; a first start moves to another free port if the one
        picked was taken meanwhile (by another xdist worker's server, say)."""
        for _ in range(20):
            if self._start_once():
                return
            if self._started_once:
                raise RuntimeError(f"port {self.port} was taken while redis-server was down")
            self.port = free_port()
        raise RuntimeError("redis-server did not start")

    _started_once = False

    def _start_once(self) -> bool:
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
            if self.proc.poll() is not None:  # it could not bind: the port is someone else's
                self.proc = None
                return False
            try:
                if self._answering_pid() == self.proc.pid:
                    self._started_once = True
                    return True
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def _answering_pid(self) -> int | None:
        """The process id of the redis-server answering on the port (ours, or another's)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
            if self.password:
                s.sendall(f"AUTH {self.password}\r\n".encode())
                s.recv(64)
            s.sendall(b"INFO server\r\n")
            data = b""
            while b"process_id:" not in data or not data.endswith(b"\r\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        for line in data.decode(errors="replace").splitlines():
            if line.startswith("process_id:"):
                return int(line.partition(":")[2])
        return None

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
