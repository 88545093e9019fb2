"""aioresponses can mock every call: our auth and retries do not depend on aiohttp middlewares.

aioresponses 0.7.9 alone cannot build a response on aiohttp 3.14 (pnuckowski/aioresponses#289);
``okta_connections.testing.aioresponses`` (a drop-in) and ``MockClientResponse`` make it work
on the patched aiohttp that the package requires.
"""

from __future__ import annotations

import json
import re

import pytest

pytest.importorskip("aioresponses", reason="aioresponses is not installed: it is in the test extra")

import aiohttp
import aioresponses as upstream
from yarl import URL

from okta_connections import (
    NotFoundError,
    OAuthConnection,
    OktaClient,
    SSWSToken,
    TokenConnection,
)
from okta_connections.testing import MockClientResponse, aioresponses
from tests.support.constants import APP_ID, CONNECTION_BODY, SECRET
from tests.support.retry import fast_retry

pytestmark = pytest.mark.aioresponses

ORG = "https://acme.okta.com"
BASE = f"{ORG}/api/v1/apps/{APP_ID}/connections/default"


def _sent(mocked: aioresponses, method: str, url: str) -> list[dict[str, object]]:
    calls = mocked.requests.get((method, URL(url)), [])
    return [dict(c.kwargs) for c in calls]


async def test_all_six_operations_are_mockable() -> None:
    with aioresponses() as mocked:
        mocked.get(BASE, payload=CONNECTION_BODY)
        mocked.post(f"{BASE}?activate=true", payload=CONNECTION_BODY, status=201)
        mocked.post(f"{BASE}/lifecycle/activate", status=204)
        mocked.post(f"{BASE}/lifecycle/deactivate", status=204)
        mocked.get(f"{BASE}/jwks", payload={"jwks": {"keys": [{"kid": "k1", "kty": "RSA"}]}})
        verify_url = f"{ORG}/api/v1/apps/slack/{APP_ID}/oauth2/callback?code=c0de&state=st4te"
        mocked.post(verify_url, status=204)

        async with OktaClient(ORG, auth=SSWSToken(SECRET)) as okta:
            conn = await okta.connections.get(APP_ID)
            updated = await okta.connections.update(
                APP_ID, TokenConnection(token="target-token"), activate=True
            )
            await okta.connections.activate(APP_ID)
            await okta.connections.deactivate(APP_ID)
            jwks = await okta.connections.get_jwks(APP_ID)
            await okta.connections.verify("slack", APP_ID, code="c0de", state="st4te")

        assert conn.status == "ENABLED" and updated.status == "ENABLED"
        assert jwks.keys[0].kid == "k1"

        (get_call,) = _sent(mocked, "GET", BASE)
        headers = get_call["headers"]
        assert headers["Authorization"] == f"SSWS {SECRET}"  # type: ignore[index]
        assert headers["Accept"] == "application/json"  # type: ignore[index]
        assert str(headers["User-Agent"]).startswith("okta-connections/")  # type: ignore[index]
        assert "Content-Type" not in headers  # type: ignore[operator]

        (update_call,) = _sent(mocked, "POST", f"{BASE}?activate=true")
        assert update_call["headers"]["Content-Type"] == "application/json"  # type: ignore[index]
        assert json.loads(update_call["data"]) == {  # type: ignore[arg-type]
            "profile": {"authScheme": "TOKEN", "token": "target-token"}
        }
        for suffix in ("/lifecycle/activate", "/lifecycle/deactivate"):
            (call,) = _sent(mocked, "POST", BASE + suffix)
            assert call["headers"]["Content-Length"] == "0"  # type: ignore[index]
            assert call["data"] is None
        (verify_call,) = _sent(mocked, "POST", verify_url)
        assert verify_call["headers"]["Authorization"] == f"SSWS {SECRET}"  # type: ignore[index]


async def test_errors_and_retries_work_under_aioresponses() -> None:
    with aioresponses() as mocked:
        mocked.post(BASE, status=503, payload={"errorCode": "E0000009"})
        mocked.post(BASE, payload=CONNECTION_BODY)
        mocked.get(
            re.compile(r".*/jwks$"),
            status=404,
            payload={"errorCode": "E0000007", "errorSummary": "Not found: Resource not found"},
            headers={"X-Okta-Request-Id": "reqMOCK"},
        )
        async with OktaClient(ORG, auth=SSWSToken(SECRET), retry=fast_retry()) as okta:
            conn = await okta.connections.update(APP_ID, OAuthConnection())
            with pytest.raises(NotFoundError) as info:
                await okta.connections.get_jwks(APP_ID)
        assert conn.status == "ENABLED"
        calls = _sent(mocked, "POST", BASE)
        assert len(calls) == 2
        assert "X-Okta-Retry-Count" in calls[1]["headers"]  # type: ignore[operator]
        assert info.value.error_code == "E0000007"
        assert info.value.request_id == "reqMOCK"


async def test_the_drop_in_fixes_callback_results_sync_and_async() -> None:
    def sync_callback(url: URL, **kwargs: object) -> upstream.CallbackResult:
        return upstream.CallbackResult(payload=CONNECTION_BODY)

    async def async_callback(url: URL, **kwargs: object) -> upstream.CallbackResult:
        return upstream.CallbackResult(status=204)

    with aioresponses() as mocked:
        mocked.get(BASE, callback=sync_callback)
        mocked.post(f"{BASE}/lifecycle/activate", callback=async_callback)
        async with OktaClient(ORG, auth=SSWSToken(SECRET)) as okta:
            conn = await okta.connections.get(APP_ID)
            await okta.connections.activate(APP_ID)
    assert conn.status == "ENABLED"


async def test_plain_aioresponses_works_with_the_response_class() -> None:
    with upstream.aioresponses() as mocked:
        mocked.get(BASE, payload=CONNECTION_BODY, response_class=MockClientResponse)
        async with OktaClient(ORG, auth=SSWSToken(SECRET)) as okta:
            conn = await okta.connections.get(APP_ID)
    assert conn.status == "ENABLED"


async def test_the_response_class_reads_like_a_real_response() -> None:
    with aioresponses() as mocked:
        mocked.get("http://127.0.0.1:9/x", body=b"hello", content_type="text/plain")
        async with (
            aiohttp.ClientSession() as session,
            session.get("http://127.0.0.1:9/x") as response,
        ):
            assert isinstance(response, MockClientResponse)
            assert response.status == 200
            assert await response.read() == b"hello"
            assert response.headers["Content-Type"] == "text/plain"
