"""A scripted loopback HTTP server for exact wire-level assertions, and
``serve_on_loopback``, which serves any aiohttp app on 127.0.0.1 at a free port."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any

import attrs
from aiohttp import web

from tests.support.constants import CONNECTION_BODY


@attrs.define
class Scripted:
    status: int = 200
    body: bytes | None = None
    headers: dict[str, str] = attrs.field(factory=dict)
    delay: float = 0.0
    drop: bool = False


@attrs.define
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


async def serve_on_loopback(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve ``app`` on 127.0.0.1 at a free port; returns the runner and the base URL."""
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


class ScriptedServer:
    """A loopback server answering from a queue of scripted responses."""

    def __init__(self) -> None:
        self.queue: deque[Scripted] = deque()
        self.seen: list[Seen] = []
        self.default = Scripted(status=200, body=json.dumps(CONNECTION_BODY).encode())
        self.url = ""
        self._runner: web.AppRunner | None = None

    def add(
        self,
        status: int = 200,
        *,
        json_body: Any = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        drop: bool = False,
    ) -> None:
        if json_body is not None:
            body = json.dumps(json_body).encode()
        self.queue.append(
            Scripted(status=status, body=body, headers=headers or {}, delay=delay, drop=drop)
        )

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(
            Seen(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=dict(request.headers),
                body=await request.read(),
            )
        )
        script = self.queue.popleft() if self.queue else self.default
        if script.delay:
            await asyncio.sleep(script.delay)
        if script.drop:
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=500)
        headers = {"X-Okta-Request-Id": f"req{len(self.seen)}", **script.headers}
        if script.body is not None and "Content-Type" not in headers:
            headers["Content-Type"] = "application/json"
        return web.Response(status=script.status, body=script.body, headers=headers)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner, self.url = await serve_on_loopback(app)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
