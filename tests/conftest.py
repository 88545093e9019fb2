"""Shared fixtures. Helpers live in tests/support (see tests/README.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
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
