"""A request id that holds the credential never reaches a DecodeError (issue #24, 7):
a server (or a proxy) may echo the token as ``X-Okta-Request-Id``; the observability paths
drop such an id, and so do the errors the services build from a response."""

from __future__ import annotations

import base64

import pytest

from okta_connections import DecodeError, MockTransport, OktaClient, SSWSToken
from okta_connections.transport import TransportRequest, TransportResponse
from tests.support.constants import APP_ID

TOKEN = "00decodeTOKEN0123456789abcdefghijklmnopqr"
ORG = "https://acme.okta.com"


def _forms() -> list[str]:
    return [
        TOKEN,
        base64.urlsafe_b64encode(TOKEN.encode()).decode().rstrip("="),
        "x" + TOKEN + "y",
    ]


@pytest.mark.parametrize("request_id", _forms())
@pytest.mark.parametrize("body", [b"not json", b'{"authScheme": 5}'])
async def test_a_decode_error_never_shows_a_request_id_holding_the_token(
    request_id: str, body: bytes
) -> None:
    def handler(request: TransportRequest) -> TransportResponse:
        headers = {"Content-Type": "application/json", "X-Okta-Request-Id": request_id}
        return TransportResponse(200, headers, body)

    async with OktaClient(ORG, auth=SSWSToken(TOKEN), transport=MockTransport(handler)) as okta:
        with pytest.raises(DecodeError) as caught:
            await okta.connections.get(APP_ID)
    err = caught.value
    assert err.request_id is None
    text = f"{err!s} {err!r} {err.args!r}"
    assert TOKEN not in text
    assert base64.urlsafe_b64encode(TOKEN.encode()).decode().rstrip("=")[:40] not in text


async def test_a_plain_request_id_is_kept() -> None:
    def handler(request: TransportRequest) -> TransportResponse:
        headers = {"Content-Type": "application/json", "X-Okta-Request-Id": "XkzJb3L8X0HoHbY1vFa5b"}
        return TransportResponse(200, headers, b"not json")

    async with OktaClient(ORG, auth=SSWSToken(TOKEN), transport=MockTransport(handler)) as okta:
        with pytest.raises(DecodeError) as caught:
            await okta.connections.get(APP_ID)
    assert caught.value.request_id == "XkzJb3L8X0HoHbY1vFa5b"
    assert "XkzJb3L8X0HoHbY1vFa5b" in str(caught.value)


async def test_a_refused_next_page_link_never_shows_a_request_id_holding_the_token() -> None:
    def handler(request: TransportRequest) -> TransportResponse:
        headers = {
            "Content-Type": "application/json",
            "X-Okta-Request-Id": TOKEN,
            "Link": '<https://evil.example.com/api/v1/apps?after=x>; rel="next"',
        }
        return TransportResponse(200, headers, b"[]")

    async with OktaClient(ORG, auth=SSWSToken(TOKEN), transport=MockTransport(handler)) as okta:
        with pytest.raises(DecodeError) as caught:
            async for _ in okta.apps.list():
                pass
    assert caught.value.request_id is None
    assert TOKEN not in f"{caught.value!s} {caught.value!r}"
