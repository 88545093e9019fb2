"""Shared fixtures: a scripted loopback HTTP server for exact wire-level assertions."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import attrs
import pytest
from aiohttp import web

from okta_connections import OktaClient, RetryPolicy, SSWSToken

SECRET = "00SECRETtokenValue-abcdefghijklmnopqrstu"
APP_ID = "0oafxqCAJWWGELFTYASJ"

CONNECTION_BODY: dict[str, Any] = {
    "authScheme": "TOKEN",
    "status": "ENABLED",
    "baseUrl": "https://scim.zscalerbeta.net/1234567/890/scim",
    "profile": {"authScheme": "TOKEN"},
    "_links": {
        "self": {
            "href": f"https://acme.okta.com/api/v1/apps/{APP_ID}/connections/default",
            "hints": {"allow": ["GET", "POST"]},
        },
        "deactivate": {
            "href": f"https://acme.okta.com/api/v1/apps/{APP_ID}/connections/default/lifecycle/deactivate",
            "hints": {"allow": ["POST"]},
        },
    },
}


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
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
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


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    srv = ScriptedServer()
    await srv.start()
    yield srv
    await srv.close()


async def _no_sleep(_: float) -> None:
    return None


def fast_retry(**kwargs: Any) -> RetryPolicy:
    """A retry policy that never sleeps and has no jitter."""
    kwargs.setdefault("sleep", _no_sleep)
    kwargs.setdefault("random", lambda: 0.0)
    return RetryPolicy(**kwargs)


@pytest.fixture
async def client(server: ScriptedServer) -> AsyncIterator[OktaClient]:
    async with OktaClient(server.url, auth=SSWSToken(SECRET), retry=fast_retry()) as okta:
        yield okta


_AIOHTTP = tuple(int(p) for p in aiohttp.__version__.split(".")[:2])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """aioresponses 0.7.9 cannot build responses on aiohttp >= 3.14 (aioresponses#289)."""
    if _AIOHTTP < (3, 14):
        return
    skip = pytest.mark.skip(reason="aioresponses 0.7.9 breaks on aiohttp >= 3.14 (#289)")
    for item in items:
        if item.get_closest_marker("aioresponses") is not None:
            item.add_marker(skip)


def chain_text(exc: BaseException) -> str:
    """Everything an exception and its whole chain show: str, repr, args, traceback text."""
    import traceback

    parts: list[str] = ["".join(traceback.format_exception(exc))]
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        parts += [str(item), repr(item), repr(item.args)]
        parts += [repr(v) for v in vars(item).values()] if hasattr(item, "__dict__") else []
        stack += [item.__cause__, item.__context__]
    return "\n".join(parts)


def assert_chain_clean(exc: BaseException, *secrets: str) -> None:
    """No secret, no Authorization value and no URL query string anywhere in the chain."""
    text = chain_text(exc)
    for secret in secrets:
        assert secret not in text, f"a secret leaked through {type(exc).__name__}'s chain"
    for marker in ("?code=", "&state=", "?state="):
        assert marker not in text, f"a query string leaked: {marker}"


def bulk_ids(n: int) -> list[str]:
    """``n`` distinct, valid app ids."""
    return [f"0oa{i:017d}" for i in range(n)]


@pytest.fixture
async def okta(server: ScriptedServer) -> AsyncIterator[OktaClient]:
    """A client of the scripted server with the default retry policy."""
    async with OktaClient(server.url, auth=SSWSToken(SECRET)) as client:
        yield client


@pytest.fixture
def loop_clock() -> Callable[[], float]:
    """The running loop's clock (virtual under looptime), never the same value twice.

    A real clock always moves between two reads. looptime's stands still between two
    timers, and a timer due within asyncio's clock resolution runs at once: a rate limiter
    whose window ends a float's rounding error after "now" would re-arm its timer forever.
    """
    last = [-math.inf]

    def clock() -> float:
        now = asyncio.get_running_loop().time()
        last[0] = now if now > last[0] else last[0] + 1e-9
        return last[0]

    return clock


@pytest.fixture
def client_on_loop_clock(
    loop_clock: Callable[[], float], monkeypatch: pytest.MonkeyPatch
) -> Callable[[], float]:
    """OktaClient's pacing on the running loop's clock, for tests under ``looptime``.

    The session compares the rate limiter's clock (``RateLimiter(clock=)``, and the
    ``observed_at`` of ``parse_rate_limit(now=)``: ``time.monotonic`` by default) with its
    deadlines on ``loop.time()``: one clock on a plain event loop. looptime makes only
    ``loop.time()`` virtual, and OktaClient takes no clock, so the limiter it makes and
    the session's header parsing are given this one. Returns the clock; a FakeOkta of
    the same test takes ``clock=loop_wall_clock``.
    """
    import okta_connections._session
    import okta_connections.client
    from okta_connections.ratelimit import RateLimiter, parse_rate_limit

    monkeypatch.setattr(
        okta_connections.client, "RateLimiter", functools.partial(RateLimiter, clock=loop_clock)
    )
    monkeypatch.setattr(
        okta_connections._session,
        "parse_rate_limit",
        functools.partial(parse_rate_limit, now=loop_clock),
    )
    return loop_clock


@pytest.fixture
def loop_wall_clock(loop_clock: Callable[[], float]) -> Callable[[], float]:
    """Epoch seconds that run on ``loop_clock``, from the real time of the first read.

    For a FakeOkta in the test's own loop under ``looptime`` (``clock=``): its ``Date``,
    rate-limit windows and ``received_at`` follow the virtual time the client waits on,
    in a random phase against whole seconds as on a real clock.
    """
    offset: list[float] = []

    def clock() -> float:
        now = loop_clock()
        if not offset:
            offset.append(time.time() - now)
        return offset[0] + now

    return clock


def _import_the_whole_package() -> None:
    """Import every module of okta_connections now, with the stack still shallow.

    pytest rewrites the asserts of a plugin's package (okta_connections is one, by its
    pytest11 entry point) as each module is first imported. CPython 3.11.7's AST check
    then fails ("AST constructor recursion depth mismatch") when that happens deep in
    the stack: the SDK's lazy ``import .otel`` inside a client fixture, under the hook
    wrappers that looptime adds, did. Which test imports a module first depends on the
    order, and pytest-xdist changes it, so all of them go here.
    """
    import importlib
    import pkgutil

    import okta_connections

    for module in pkgutil.walk_packages(okta_connections.__path__, "okta_connections."):
        if module.name.endswith("__main__"):
            continue
        with contextlib.suppress(ImportError):  # an extra that is not installed
            importlib.import_module(module.name)


_import_the_whole_package()


def pytest_configure(config: pytest.Config) -> None:
    # looptime 0.9 asks the event loop policy for the current loop before every test. Until
    # some loop was set, the default policy makes one for the main thread then, which
    # nobody closes: an unclosed-loop ResourceWarning later, in whichever test the garbage
    # collector happens to run. Saying "no current loop" up front makes it answer that.
    asyncio.set_event_loop(None)
