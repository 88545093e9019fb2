"""Every error class, from Okta error bodies, odd bodies and transport failures."""

from __future__ import annotations

import socket

import pytest

from okta_connections import (
    ApiError,
    BadRequestError,
    ConflictError,
    DecodeError,
    ForbiddenError,
    NotFoundError,
    OktaClient,
    OktaConnectionError,
    OktaError,
    OktaTimeoutError,
    RateLimitError,
    ServerError,
    SSWSToken,
    Timeouts,
    TokenConnection,
    UnauthorizedError,
)
from tests.support.constants import APP_ID, SECRET
from tests.support.retry import fast_retry
from tests.support.scripted import ScriptedServer


def okta_error(code: str, summary: str, causes: tuple[str, ...] = ()) -> dict[str, object]:
    return {
        "errorCode": code,
        "errorSummary": summary,
        "errorLink": code,
        "errorId": "oaeSample123",
        "errorCauses": [{"errorSummary": c} for c in causes],
    }


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "E0000001", BadRequestError),
        (401, "E0000011", UnauthorizedError),
        (403, "E0000006", ForbiddenError),
        (404, "E0000007", NotFoundError),
        (409, "E0000999", ConflictError),
        (429, "E0000047", RateLimitError),
        (500, "E0000009", ServerError),
        (502, "E0000009", ServerError),
        (418, "E0000000", ApiError),
    ],
)
async def test_status_maps_to_class_with_all_okta_fields(
    server: ScriptedServer, status: int, code: str, cls: type[ApiError]
) -> None:
    server.add(
        status,
        json_body=okta_error(code, "Something failed", ("field: bad",)),
        headers={"X-Okta-Request-Id": "reqABC"},
    )
    async with OktaClient(
        server.url, auth=SSWSToken(SECRET), retry=fast_retry(max_attempts=1)
    ) as okta:
        with pytest.raises(cls) as info:
            await okta.connections.get(APP_ID)
    err = info.value
    assert type(err) is cls
    assert err.status == status
    assert err.error_code == code
    assert err.error_summary == "Something failed"
    assert err.error_link == code
    assert err.error_id == "oaeSample123"
    assert err.error_causes == ("field: bad",)
    assert err.request_id == "reqABC"
    assert err.operation == "get"
    assert err.attempts == 1
    text = str(err)
    assert code in text and "reqABC" in text and "get failed" in text


@pytest.mark.parametrize("body", [b"", b"<html>Bad Gateway</html>", b"{not json", b"[1,2]"])
async def test_non_json_or_empty_error_body_is_still_typed(
    server: ScriptedServer, body: bytes
) -> None:
    server.add(502, body=body, headers={"Content-Type": "text/html"})
    async with OktaClient(
        server.url, auth=SSWSToken(SECRET), retry=fast_retry(max_attempts=1)
    ) as okta:
        with pytest.raises(ServerError) as info:
            await okta.connections.activate(APP_ID)
    assert info.value.status == 502
    assert info.value.error_code is None
    assert "502" in str(info.value)


@pytest.mark.parametrize(
    "body",
    [b"not json", b"", b"[]", b'{"status": "ENABLED"}', b'{"profile": "x", "status": "ENABLED"}'],
)
async def test_undecodable_success_body_is_a_decode_error(
    server: ScriptedServer, client: OktaClient, body: bytes
) -> None:
    server.add(200, body=body, headers={"X-Okta-Request-Id": "reqDEC"})
    with pytest.raises(DecodeError) as info:
        await client.connections.get(APP_ID)
    assert info.value.status == 200
    assert info.value.request_id == "reqDEC"
    assert "provisioning connection" in str(info.value)
    assert not isinstance(info.value, KeyError | TypeError)


async def test_jwks_without_keys_is_a_decode_error(
    server: ScriptedServer, client: OktaClient
) -> None:
    server.add(200, json_body={"jwks": {}})
    with pytest.raises(DecodeError, match="jwks.keys"):
        await client.connections.get_jwks(APP_ID)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_connection_refused_keeps_the_cause_type_but_never_chains_it() -> None:
    port = _closed_port()
    async with OktaClient(
        f"http://127.0.0.1:{port}", auth=SSWSToken(SECRET), retry=fast_retry(max_attempts=2)
    ) as okta:
        with pytest.raises(OktaConnectionError) as info:
            await okta.connections.get(APP_ID)
    err = info.value
    # aiohttp's exception carries the request's headers: never chained, only named.
    assert err.__cause__ is None and err.__context__ is None
    assert err.cause_type == "aiohttp.client_exceptions.ClientConnectorError"
    assert err.cause_message and "Connect call failed" in err.cause_message
    assert err.request_sent is False
    assert err.attempts == 2
    assert isinstance(err, OktaError)


async def test_dropped_connection_is_wrapped(server: ScriptedServer) -> None:
    server.add(drop=True)
    server.add(drop=True)  # aiohttp itself may repeat an idempotent GET once; use a POST
    async with OktaClient(
        server.url, auth=SSWSToken(SECRET), retry=fast_retry(max_attempts=1)
    ) as okta:
        with pytest.raises(OktaConnectionError) as info:
            await okta.connections.activate(APP_ID)
    assert info.value.request_sent is True


async def test_hung_server_gives_our_timeout_not_a_hang(server: ScriptedServer) -> None:
    server.add(delay=5)
    async with OktaClient(
        server.url,
        auth=SSWSToken(SECRET),
        timeouts=Timeouts(total=0.2),
        retry=fast_retry(max_attempts=1),
    ) as okta:
        with pytest.raises(OktaTimeoutError) as info:
            await okta.connections.get(APP_ID)
    assert info.value.phase == "read"
    assert isinstance(info.value, TimeoutError)
    assert info.value.__cause__ is None and info.value.__context__ is None
    assert info.value.cause_type is not None and "Timeout" in info.value.cause_type


async def test_per_call_timeout_overrides_client_default(server: ScriptedServer) -> None:
    server.add(delay=5)
    async with OktaClient(
        server.url, auth=SSWSToken(SECRET), retry=fast_retry(max_attempts=1)
    ) as okta:
        with pytest.raises(OktaTimeoutError):
            await okta.connections.update(APP_ID, TokenConnection(token="t"), timeout=0.2)


# The loop's time: on the real clock a loaded machine could spend the 0.25 s deadline on
# the first attempt alone, and the second would never be sent.
@pytest.mark.looptime
@pytest.mark.usefixtures("client_on_loop_clock")
async def test_deadline_bounds_the_whole_call(server: ScriptedServer) -> None:
    for _ in range(4):
        server.add(503, delay=0.15)
    async with OktaClient(
        server.url,
        auth=SSWSToken(SECRET),
        timeouts=Timeouts(total=10, deadline=0.25),
        retry=fast_retry(max_attempts=4),
    ) as okta:
        with pytest.raises(OktaTimeoutError) as info:
            await okta.connections.get(APP_ID)
    assert info.value.phase == "deadline"
    assert len(server.seen) == 2  # the second attempt was cut by the deadline


async def test_concurrency_429_is_flagged(server: ScriptedServer) -> None:
    server.add(
        429,
        json_body=okta_error("E0000047", "API call exceeded rate limit due to too many requests."),
        headers={
            "X-Rate-Limit-Limit": "0",
            "X-Rate-Limit-Remaining": "0",
            "X-Rate-Limit-Reset": "1",
        },
    )
    async with OktaClient(
        server.url, auth=SSWSToken(SECRET), retry=fast_retry(max_attempts=1)
    ) as okta:
        with pytest.raises(RateLimitError) as info:
            await okta.connections.get(APP_ID)
    assert info.value.is_concurrency_limit
