"""Client lifecycle: one session, async with or close(), unclosed warning, closed errors."""

from __future__ import annotations

import gc
import warnings

import pytest

from okta_connections import ClientClosedError, OktaClient, SSWSToken, Timeouts
from tests.support.constants import APP_ID, SECRET
from tests.support.scripted import ScriptedServer


async def test_one_session_for_the_clients_life(server: ScriptedServer) -> None:
    async with OktaClient(server.url, auth=SSWSToken(SECRET)) as okta:
        await okta.connections.get(APP_ID)
        http = okta.transport.session  # type: ignore[attr-defined]
        for _ in range(3):
            await okta.connections.get(APP_ID)
        assert okta.transport.session is http  # type: ignore[attr-defined]
        assert not okta.closed
    assert okta.closed
    assert http is not None and http.closed


async def test_works_without_async_with_when_closed(server: ScriptedServer) -> None:
    okta = OktaClient(server.url, auth=SSWSToken(SECRET))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        await okta.connections.get(APP_ID)
        await okta.close()
        await okta.close()  # idempotent
        assert okta.closed
        # Called directly: a warning raised by __del__ under gc would be swallowed as an
        # "unraisable" exception and could not fail the test.
        okta.__del__()
        del okta
        gc.collect()
    assert len(server.seen) == 1


async def test_warns_about_a_client_that_was_never_closed(server: ScriptedServer) -> None:
    okta = OktaClient(server.url, auth=SSWSToken(SECRET))
    await okta.connections.get(APP_ID)
    http = okta.transport.session  # type: ignore[attr-defined]
    with pytest.warns(ResourceWarning, match="never closed"):
        okta.__del__()
    assert http is not None
    await http.close()  # tidy up for the test run itself
    okta._session._closed = True  # type: ignore[union-attr]


async def test_use_after_close_raises(server: ScriptedServer) -> None:
    okta = OktaClient(server.url, auth=SSWSToken(SECRET))
    await okta.close()
    with pytest.raises(ClientClosedError, match="closed"):
        await okta.connections.get(APP_ID)
    assert server.seen == []


def test_repr_and_defaults() -> None:
    okta = OktaClient("acme.okta.com", auth=SSWSToken(SECRET))
    assert repr(okta) == "OktaClient('https://acme.okta.com', auth=SSWSToken(token='***'), open)"
    assert okta.timeouts == Timeouts(connect=10.0, total=60.0, deadline=180.0)
    assert okta.rate_limits == {}


async def test_rate_limits_are_readable(server: ScriptedServer) -> None:
    server.add(
        200,
        json_body={"status": "ENABLED", "profile": {"authScheme": "TOKEN"}},
        headers={
            "X-Rate-Limit-Limit": "100",
            "X-Rate-Limit-Remaining": "97",
            "X-Rate-Limit-Reset": "1700000060",
            "Date": "Tue, 14 Nov 2023 22:13:20 GMT",  # epoch 1700000000
        },
    )
    async with OktaClient(server.url, auth=SSWSToken(SECRET)) as okta:
        await okta.connections.get(APP_ID)
        info = okta.rate_limits["apps"]
    assert (info.limit, info.remaining) == (100, 97)
    assert info.reset_after == pytest.approx(60.0)
