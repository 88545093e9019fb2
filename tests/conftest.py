"""Shared fixtures. Helpers live in tests/support (see tests/README.md)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# The support modules' asserts report like the tests' own: registered before they load.
pytest.register_assert_rewrite("tests.support")

from okta_connections import OktaClient, SSWSToken  # noqa: E402
from okta_connections.testing import FakeOkta  # noqa: E402
from tests.support.cli import TOKEN, Cli  # noqa: E402
from tests.support.constants import SECRET  # noqa: E402
from tests.support.oauth_server import OAuthServer  # noqa: E402
from tests.support.retry import fast_retry  # noqa: E402
from tests.support.scripted import ScriptedServer  # noqa: E402

if TYPE_CHECKING:
    from tests.support.otel import Otel


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    srv = ScriptedServer()
    await srv.start()
    yield srv
    await srv.close()


@pytest.fixture
async def client(server: ScriptedServer) -> AsyncIterator[OktaClient]:
    async with OktaClient(server.url, auth=SSWSToken(SECRET), retry=fast_retry()) as okta:
        yield okta


@pytest.fixture
async def oauth_server() -> AsyncIterator[OAuthServer]:
    srv = OAuthServer()
    await srv.start()
    yield srv
    await srv.close()


@pytest.fixture
async def cli_fake() -> AsyncIterator[FakeOkta]:
    """The CLI tests' org: 40 apps, seed 3, the token ``TOKEN``, no rate limit to speak of."""
    async with FakeOkta(apps=40, seed=3, token=TOKEN, rate_limit=1_000_000) as org:
        yield org


@pytest.fixture
def cli(cli_fake: FakeOkta, tmp_path: Path) -> Cli:
    """Runs the command in a subprocess against ``cli_fake``, from a clean ``tmp_path``."""
    (tmp_path / "home").mkdir()
    return Cli(cli_fake, tmp_path)


@pytest.fixture
def otel() -> Iterator[Otel]:
    """In-memory OpenTelemetry providers to hand to a client, and what they recorded."""
    from tests.support.otel import capture  # opentelemetry-sdk: only for the tests that use it

    with capture() as otel:
        yield otel


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
    import okta_connections.client
    import okta_connections.pipeline.session
    from okta_connections.ratelimit import RateLimiter, parse_rate_limit

    monkeypatch.setattr(
        okta_connections.client, "RateLimiter", functools.partial(RateLimiter, clock=loop_clock)
    )
    monkeypatch.setattr(
        okta_connections.pipeline.session,
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
