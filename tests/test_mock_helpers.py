"""mock_okta: Okta-shaped responses on an aioresponses mock, in one call.

The helpers give aioresponses a response class that fits aiohttp 3.14 (aioresponses 0.7.9
alone cannot build one: pnuckowski/aioresponses#289), so these use aioresponses as users
import it, on the patched aiohttp that the package requires.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("aioresponses", reason="aioresponses is not installed: it is in the test extra")

from aioresponses import aioresponses
from yarl import URL

from okta_connections import (
    BadRequestError,
    NotFoundError,
    OAuthConnection,
    OktaClient,
    RateLimitError,
    RetryPolicy,
    ServerError,
    SSWSToken,
    TokenConnection,
)
from okta_connections.testing import mock_okta, mock_okta_not_found
from tests.support.retry import fast_retry

pytestmark = pytest.mark.aioresponses

ORG = "https://acme.okta.com"
APP = "0oafxqCAJWWGELFTYASJ"


async def test_all_six_operations_with_state() -> None:
    with aioresponses() as m:
        mocked = mock_okta(m, ORG, APP, name="okta_org2org", connection=None, status="DISABLED")
        slack = mock_okta(m, ORG, name="slack", connection="oauth", consented=False)
        async with OktaClient(ORG, auth=SSWSToken("t0ken")) as okta:
            before = await okta.connections.get(APP)
            updated = await okta.connections.update(APP, TokenConnection(token="x"), activate=True)
            await okta.connections.deactivate(APP)
            after_deactivate = await okta.connections.get(APP)
            await okta.connections.activate(APP)
            enabled = await okta.connections.get(APP)
            hub = await okta.connections.update(
                APP, OAuthConnection(client_id="0oa2h6su6bVFyJzIf1d7", rotation_mode="AUTO")
            )
            jwks = await okta.connections.get_jwks(APP)
            pending = await okta.connections.get(slack.app.id)
            await okta.connections.verify("slack", slack.app.id, code="c0de", state="st4te")
    # An UNKNOWN scheme yields UNKNOWN status (reference §4.10), as in FakeOkta.
    assert str(before.profile.auth_scheme) == "UNKNOWN" and str(before.status) == "UNKNOWN"
    assert str(updated.status) == "ENABLED" and str(updated.profile.auth_scheme) == "TOKEN"
    assert str(after_deactivate.status) == "DISABLED" and str(enabled.status) == "ENABLED"
    assert str(hub.profile.auth_scheme) == "OAUTH2"
    assert jwks.keys and jwks.keys[0].kid == mocked.app.jwks[0]["kid"]
    assert pending.links.authorize is not None
    assert slack.app.consent_state == "verified"
    assert mocked.calls == {"get": 3, "update": 2, "activate": 1, "deactivate": 1, "get_jwks": 1}
    assert mocked.app.token is None  # the OAuth update replaced the token connection


async def test_headers_are_okta_shaped() -> None:
    with aioresponses() as m:
        mock_okta(m, ORG, APP, rate_limit=50)
        async with OktaClient(ORG, auth=SSWSToken("t0ken")) as okta:
            await okta.connections.get(APP)
            await okta.connections.get(APP)
            # The client read the rate-limit headers: 50 per window, counting down.
            (info,) = okta.rate_limits.values()
        ((_, url), calls) = next(iter(m.requests.items()))
        assert url == URL(f"{ORG}/api/v1/apps/{APP}/connections/default")
        assert len(calls) == 2
    assert info.limit == 50 and info.remaining == 48


async def test_scripted_failures_and_errors() -> None:
    with aioresponses() as m:
        mocked = mock_okta(m, ORG, APP, status="DISABLED", fail={"activate": (503, 2), "get": 429})
        mock_okta_not_found(m, ORG, "0oaGONE")
        none = mock_okta(m, ORG, name="bookmark", connection=None)
        async with OktaClient(ORG, auth=SSWSToken("t0ken"), retry=fast_retry()) as okta:
            await okta.connections.activate(APP)  # two 503s, retried, then 204
            assert mocked.app.connection_status == "ENABLED"
            mocked.fail("deactivate", 500, times=5)
            with pytest.raises(ServerError) as server_error:
                await okta.connections.deactivate(APP)
            with pytest.raises(NotFoundError) as missing:
                await okta.connections.get("0oaGONE")
            with pytest.raises(NotFoundError):
                await okta.connections.activate("0oaGONE")
            with pytest.raises(BadRequestError) as bad:
                await okta.connections.update(none.app.id, TokenConnection(token="x"))
        async with OktaClient(ORG, auth=SSWSToken("t0ken"), retry=RetryPolicy.never()) as okta:
            with pytest.raises(RateLimitError) as limited:
                await okta.connections.get(APP)
    assert mocked.calls["activate"] == 3
    assert server_error.value.error_code == "E0000009"
    assert server_error.value.request_id.startswith("req")
    assert missing.value.error_code == "E0000007"
    assert bad.value.error_code == "E0000001"
    assert limited.value.error_code == "E0000047"


def test_bad_failure_scripts_are_refused() -> None:
    with aioresponses() as m:
        with pytest.raises(ValueError, match="operation must be one of"):
            mock_okta(m, ORG, APP, fail={"delete": 500})
        with pytest.raises(ValueError, match="400-599"):
            mock_okta(m, ORG, APP + "x", fail={"get": 200})


async def test_error_body_is_okta_shaped() -> None:
    import aiohttp

    with aioresponses() as m:
        mock_okta(m, "acme.okta.com", APP, fail={"get": 403})
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{ORG}/api/v1/apps/{APP}/connections/default") as resp,
        ):
            body = json.loads(await resp.read())
            headers = resp.headers
    assert resp.status == 403
    assert set(body) == {"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"}
    assert body["errorCode"] == body["errorLink"] == "E0000006"
    assert headers["X-Rate-Limit-Remaining"] == "99"
    assert headers["X-Okta-Request-Id"].startswith("req")
    assert headers["Content-Type"] == "application/json"
