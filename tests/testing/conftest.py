"""Fixtures for the FakeOkta tests: a running fake and a raw aiohttp client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from okta_connections.testing import FakeOkta
from tests.support.fake_http import Api, FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeOkta]:
    async with FakeOkta(apps=40, seed=7, clock=clock) as org:
        yield org


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def api(fake: FakeOkta, http: aiohttp.ClientSession) -> Api:
    return Api(fake, http)
