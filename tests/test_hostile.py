"""A hostile server on 127.0.0.1: every answer ends in our typed error, in time, in bounded
memory, with no pacing slot leaked and no secret anywhere in the exception chain."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from okta_connections import (
    DecodeError,
    OktaClient,
    OktaConnectionError,
    OktaError,
    ResponseTooLargeError,
    SSWSToken,
    Timeouts,
)
from tests.support.chains import assert_chain_clean
from tests.support.constants import APP_ID, CONNECTION_BODY, SECRET
from tests.support.retry import fast_retry
from tests.support.strategies import STRATEGIES
from tests.support.tcp import LoopbackServer

# The loop's virtual time: the hostile server is in the test's loop, so a call that stalls
# (a Retry-After of a year, a deadline ignored) shows as loop time past DEADLINE, measured
# exactly, never as a machine too loaded to answer in time.
pytestmark = [pytest.mark.looptime, pytest.mark.usefixtures("client_on_loop_clock")]

CODE = "one-time-code-SECRET-4f1c9a"
STATE = "state-SECRET-77aa01"
DEADLINE = 5.0

Writer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawServer(LoopbackServer):
    """Answers every connection with whatever bytes the scenario writes."""

    def __init__(self) -> None:
        self.scenario: Writer | None = None
        self.requests = 0
        self.captured: list[bytes] = []

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            self.captured.append(head + (await reader.readexactly(length) if length else b""))
            self.requests += 1
            assert self.scenario is not None
            await self.scenario(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def raw() -> AsyncIterator[RawServer]:
    server = RawServer()
    await server.start()
    yield server
    await server.stop()


def reply(head: bytes, body: bytes = b"") -> Writer:
    async def write(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(head + body)
        await writer.drain()

    return write


def ok_headers(extra: str = "", length: int | None = None) -> bytes:
    lines = ["HTTP/1.1 200 OK", "Content-Type: application/json"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if extra:
        lines.append(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def run(
    raw: RawServer, call: Callable[[OktaClient], Awaitable[Any]], **options: Any
) -> tuple[OktaError | None, Any, OktaClient]:
    """Run ``call`` against the hostile server; return the error (or result) and client."""
    options.setdefault("retry", fast_retry())
    okta = OktaClient(
        raw.url, auth=SSWSToken(SECRET), timeouts=Timeouts(deadline=DEADLINE), **options
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    error: OktaError | None = None
    result: Any = None
    try:
        async with okta:
            result = await call(okta)
    except OktaError as exc:
        error = exc
    elapsed = loop.time() - started
    assert elapsed < DEADLINE + 1.0, f"took {elapsed:.1f}s, past the {DEADLINE}s deadline"
    assert okta.rate_limiter.in_flight("apps") == 0, "a pacing slot leaked"
    return error, result, okta


def get(okta: OktaClient) -> Awaitable[Any]:
    return okta.connections.get(APP_ID)


def verify(okta: OktaClient) -> Awaitable[Any]:
    return okta.connections.verify("slack", APP_ID, code=CODE, state=STATE)


@pytest.mark.parametrize("call", [get, verify], ids=["get", "verify"])
@pytest.mark.parametrize(
    "scenario",
    [
        reply(b"HELLO THERE\r\n\r\n"),
        reply(b"HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n"),
        reply(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n{}"),
        reply(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}"),  # cut short
    ],
    ids=["bad status line", "non-numeric status", "70 KB header", "truncated body"],
)
async def test_malformed_http_is_a_connection_error(
    raw: RawServer, scenario: Writer, call: Callable[[OktaClient], Awaitable[Any]]
) -> None:
    raw.scenario = scenario
    error, _, _ = await run(raw, call)
    assert isinstance(error, OktaConnectionError)
    assert error.cause_type is not None and error.cause_type.startswith("aiohttp.")
    # aiohttp's exception (it holds the request's headers and full URL) is not chained.
    assert error.__cause__ is None and error.__context__ is None
    assert_chain_clean(error, SECRET, CODE, STATE)


async def _stream_forever(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(ok_headers(length=300 * 1024 * 1024))
    chunk = b" " * 65536
    for _ in range(300 * 16):
        writer.write(chunk)
        await writer.drain()


async def _chunked_forever(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(ok_headers("Transfer-Encoding: chunked"))
    chunk = b" " * 65536
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    for _ in range(300 * 16):
        writer.write(frame)
        await writer.drain()


def _gzip_bomb(size: int) -> bytes:
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip container
    zeros = b"\0" * (1024 * 1024)
    parts = [squeeze.compress(zeros) for _ in range(size // len(zeros))]
    return b"".join(parts) + squeeze.flush()


BOMB = _gzip_bomb(512 * 1024 * 1024)  # 512 MiB of zeros in about half a megabyte


@pytest.mark.parametrize(
    "scenario",
    [
        _stream_forever,
        _chunked_forever,
        reply(
            ok_headers(f"Content-Encoding: gzip\r\nContent-Length: {len(BOMB)}"),
            BOMB,
        ),
        reply(ok_headers("Content-Encoding: gzip\r\nTransfer-Encoding: identity"), BOMB),
    ],
    ids=["300 MB body", "endless chunked body", "gzip bomb", "gzip bomb, no length"],
)
async def test_huge_bodies_stop_at_the_cap_in_bounded_memory(
    raw: RawServer, scenario: Writer
) -> None:
    raw.scenario = scenario
    tracemalloc.start()
    try:
        error, _, _ = await run(raw, get, max_response_bytes=1024 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(error, ResponseTooLargeError)
    assert error.limit == 1024 * 1024
    assert error.attempts == 1, "a body over the cap is not retried"
    assert peak < 24 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB while reading"
    assert_chain_clean(error, SECRET)


async def test_a_declared_length_over_the_cap_is_refused_without_reading(
    raw: RawServer,
) -> None:
    sent: list[int] = []

    async def scenario(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(ok_headers(length=300 * 1024 * 1024))
        await writer.drain()
        for _ in range(200):
            writer.write(b" " * 65536)
            await writer.drain()
            sent.append(1)

    raw.scenario = scenario
    error, _, _ = await run(raw, get)
    assert isinstance(error, ResponseTooLargeError)
    assert "314572800 bytes" in str(error)
    assert len(sent) < 200  # we hung up instead of reading on


async def test_deeply_nested_json_is_a_decode_error(raw: RawServer) -> None:
    depth = 200_000
    body = b"[" * depth + b"]" * depth
    raw.scenario = reply(ok_headers(length=len(body)), body)
    error, _, _ = await run(raw, get)
    assert isinstance(error, DecodeError)
    assert "nested too deeply" in str(error)
    assert error.__context__ is None
    assert_chain_clean(error, SECRET)


async def test_deeply_nested_json_in_an_error_body_is_still_our_error(raw: RawServer) -> None:
    depth = 200_000
    body = b'{"a":' * depth + b"1" + b"}" * depth
    raw.scenario = reply(
        f"HTTP/1.1 404 Not Found\r\nContent-Length: {len(body)}\r\n\r\n".encode(), body
    )
    error, _, _ = await run(raw, get)
    assert error is not None and type(error).__name__ == "NotFoundError"


@pytest.mark.parametrize(
    "headers",
    [
        "X-Rate-Limit-Limit: {n}\r\nX-Rate-Limit-Remaining: {n}\r\nX-Rate-Limit-Reset: {n}",
        "X-Rate-Limit-Limit: -5\r\nX-Rate-Limit-Remaining: -1\r\nX-Rate-Limit-Reset: -9",
        "X-Rate-Limit-Limit: lots\r\nX-Rate-Limit-Remaining: 1e9\r\nX-Rate-Limit-Reset: soon",
        "X-Rate-Limit-Limit: 100\r\nX-Rate-Limit-Remaining: 5\r\nX-Rate-Limit-Reset: 99999999999",
        "Retry-After: {n}\r\nDate: Tue, 01 Dec 99999 00:00:00 GMT",
    ],
    ids=["400 digits", "negative", "garbage", "reset in the year 5138", "absurd dates"],
)
async def test_absurd_rate_limit_headers_are_ignored(raw: RawServer, headers: str) -> None:
    body = json.dumps(CONNECTION_BODY).encode()
    extra = headers.format(n="9" * 400)
    raw.scenario = reply(ok_headers(extra, length=len(body)), body)
    error, result, okta = await run(raw, get)
    assert error is None
    assert result.status.value == "ENABLED"
    assert okta.rate_limits == {}  # nothing believed


async def test_absurd_headers_on_a_429_do_not_stall_or_raise_raw(raw: RawServer) -> None:
    extra = "X-Rate-Limit-Limit: {n}\r\nX-Rate-Limit-Remaining: 0\r\nX-Rate-Limit-Reset: {n}"
    body = b'{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit"}'
    raw.scenario = reply(
        (
            "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra.format(n='9' * 400)}\r\n\r\n"
        ).encode(),
        body,
    )
    error, _, _ = await run(raw, get)
    assert error is not None and type(error).__name__ == "RateLimitError"
    assert error.attempts == 4  # retried with backoff, as a 429 without usable headers


@pytest.mark.parametrize(
    "link",
    [
        "<//evil.example/api/v1/apps?after=x>",
        "<https://evil.example/api/v1/apps?after=x>",
        "<http://127.0.0.1:1/api/v1/apps?after=x>",
        "</api/v1/users?after=x>",
        "<javascript:alert(1)>",
        "</api/v1/apps?after=x\t.evil.example>",
        "<http://user:pw@{host}/api/v1/apps?after=x>",
    ],
    ids=[
        "protocol-relative",
        "other host",
        "other port",
        "other path",
        "odd scheme",
        "control char",
        "credentials",
    ],
)
async def test_odd_next_links_are_refused_and_nothing_is_sent(raw: RawServer, link: str) -> None:
    body = b'[{"id":"0oa1","name":"x","label":"x","status":"ACTIVE","signOnMode":"BOOKMARK"}]'
    raw.scenario = reply(
        ok_headers(f'Link: {link.format(host=raw.url[7:])}; rel="next"', length=len(body)), body
    )

    async def listing(okta: OktaClient) -> list[Any]:
        return [app async for app in okta.apps.list()]

    error, _, _ = await run(raw, listing)
    assert isinstance(error, DecodeError)
    assert "refusing to follow" in str(error)
    assert raw.requests == 1


async def test_a_same_origin_next_link_is_followed(raw: RawServer) -> None:
    pages = iter(
        [
            ('<{url}/api/v1/apps?after=0oa1&limit=1>; rel="next"', "0oa1"),
            ('</api/v1/apps?after=0oa2&limit=1>; rel="next"', "0oa2"),
            ("", "0oa3"),
        ]
    )

    async def scenario(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link, app_id = next(pages)
        body = (
            f'[{{"id":"{app_id}","name":"x","label":"x","status":"ACTIVE",'
            '"signOnMode":"BOOKMARK"}]'
        ).encode()
        extra = f'Link: {link.format(url=raw.url)}; rel="next"' if link else ""
        writer.write(ok_headers(extra, length=len(body)) + body)
        await writer.drain()

    raw.scenario = scenario

    async def listing(okta: OktaClient) -> list[str]:
        return [app.id async for app in okta.apps.list(limit=1)]

    error, ids, _ = await run(raw, listing)
    assert error is None and ids == ["0oa1", "0oa2", "0oa3"]


async def test_gzip_within_the_cap_is_decoded(raw: RawServer) -> None:
    body = gzip.compress(json.dumps(CONNECTION_BODY).encode())
    raw.scenario = reply(ok_headers(f"Content-Encoding: gzip\r\nContent-Length: {len(body)}"), body)
    error, result, _ = await run(raw, get)
    assert error is None and result.auth_scheme.value == "TOKEN"


def _carried_secrets(captured: list[bytes]) -> list[str]:
    """Every credential the client sent the hostile server: header values, form fields."""
    import urllib.parse

    found: list[str] = []
    for raw_request in captured:
        head, _, body = raw_request.partition(b"\r\n\r\n")
        for line in head.decode("latin-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() in ("authorization", "dpop"):
                found += [value.strip(), value.strip().split()[-1]]
        form = urllib.parse.parse_qs(body.decode("latin-1"))
        for field in ("client_assertion", "refresh_token"):
            found += form.get(field, [])
    return found


@pytest.mark.parametrize(
    "name", ["ssws", "private_key_jwt", "private_key_jwt dpop", "refresh token"]
)
async def test_garbage_from_the_token_endpoint_leaks_nothing(raw: RawServer, name: str) -> None:
    raw.scenario = reply(b"HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n")
    okta = OktaClient(
        raw.url,
        auth=STRATEGIES[name](),
        timeouts=Timeouts(deadline=DEADLINE),
        retry=fast_retry(),
        token_retry=fast_retry(max_attempts=2),
    )
    with pytest.raises(OktaError) as info:
        async with okta:
            await okta.connections.verify("slack", APP_ID, code=CODE, state=STATE)
    carried = _carried_secrets(raw.captured)
    assert carried, "the client sent no credential: the check would prove nothing"
    assert_chain_clean(info.value, *carried, SECRET, CODE, STATE)
    assert okta.rate_limiter.in_flight("apps") == 0
    assert okta.rate_limiter.in_flight("oauth2-token") == 0


def _header_of(raw_request: bytes, name: str) -> str:
    for line in raw_request.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name:
            return value.strip()
    return ""


def echoing(raw: RawServer, where: str) -> Writer:
    """Answers token requests properly and API requests with a malformed response that
    quotes the request's credential: aiohttp's parser error then holds it."""

    async def write(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = raw.captured[-1]
        if request.split(b" ", 2)[1].endswith(b"/token"):
            dpop = bool(_header_of(request, "dpop"))
            body = json.dumps(
                {
                    "access_token": "at-HOSTILE-access-token-1234",
                    "expires_in": 3600,
                    "token_type": "DPoP" if dpop else "Bearer",
                }
            ).encode()
            writer.write(ok_headers(length=len(body)) + body)
        else:
            names = ("authorization", "x-vault-token", "dpop")
            echo = " ".join(v for v in (_header_of(request, h) for h in names) if v)
            if where == "header line":
                writer.write(b"HTTP/1.1 200 OK\r\n" + echo.encode() + b"\r\n\r\n")
            elif where == "content-length":
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: " + echo.encode() + b"\r\n\r\n")
            else:
                writer.write(b"HTTP/1.1 " + echo.encode() + b"\r\n\r\n")
        await writer.drain()

    return write


@pytest.mark.parametrize("where", ["header line", "content-length", "status line"])
@pytest.mark.parametrize(
    "name", ["ssws", "bearer", "private_key_jwt", "private_key_jwt dpop", "custom"]
)
async def test_a_credential_echoed_into_malformed_http_is_redacted(
    raw: RawServer, name: str, where: str
) -> None:
    raw.scenario = echoing(raw, where)
    okta = OktaClient(
        raw.url, auth=STRATEGIES[name](), timeouts=Timeouts(deadline=DEADLINE), retry=fast_retry()
    )
    with pytest.raises(OktaConnectionError) as info:
        async with okta:
            await okta.connections.get(APP_ID)
    carried = _carried_secrets(raw.captured) + [
        _header_of(r, "x-vault-token") for r in raw.captured if _header_of(r, "x-vault-token")
    ]
    assert carried, "the client sent no credential: the check would prove nothing"
    assert_chain_clean(info.value, *carried, "at-HOSTILE-access-token-1234")
    assert "***" in str(info.value) or "***" in (info.value.cause_message or "")


async def test_an_echoing_request_id_is_dropped_not_repeated(raw: RawServer) -> None:
    """A request id that is not Okta's is neither shown nor sent back as X-Okta-Retry-For."""
    calls = iter(range(10))

    async def scenario(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        echo = _header_of(raw.captured[-1], "authorization")
        status = "503 Service Unavailable" if next(calls) == 0 else "200 OK"
        body = b"not json"
        writer.write(
            f"HTTP/1.1 {status}\r\nX-Okta-Request-Id: {echo}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()

    raw.scenario = scenario
    error, _, _ = await run(raw, get)
    assert isinstance(error, DecodeError)
    assert error.request_id is None
    assert_chain_clean(error, SECRET)
    assert all(SECRET not in _header_of(r, "x-okta-retry-for") for r in raw.captured)
    assert len(raw.captured) == 2


async def test_an_absurd_date_next_to_valid_limits_is_ignored(raw: RawServer) -> None:
    body = json.dumps(CONNECTION_BODY).encode()
    reset = int(time.time()) + 30
    extra = (
        "X-Rate-Limit-Limit: 100\r\nX-Rate-Limit-Remaining: 99\r\n"
        f"X-Rate-Limit-Reset: {reset}\r\nDate: Tue, 01 Dec 99999 00:00:00 GMT"
    )
    raw.scenario = reply(ok_headers(extra, length=len(body)), body)
    error, result, okta = await run(raw, get)
    assert error is None and result.status.value == "ENABLED"
    info = okta.rate_limits["apps"]  # the local clock stood in for the unusable Date
    assert info.limit == 100 and 25 <= info.reset_after <= 31


async def test_an_absurd_retry_after_on_a_503_is_ignored(raw: RawServer) -> None:
    raw.scenario = reply(
        f"HTTP/1.1 503 Service Unavailable\r\nRetry-After: {'9' * 400}\r\n"
        "Content-Length: 0\r\n\r\n".encode()
    )
    error, _, _ = await run(raw, get)
    assert error is not None and type(error).__name__ == "ServerError"
    assert error.attempts == 4  # backed off normally instead of raising OverflowError


async def test_a_204_with_a_huge_content_length_is_still_a_success(raw: RawServer) -> None:
    raw.scenario = reply(b"HTTP/1.1 204 No Content\r\nContent-Length: 99999999\r\n\r\n")
    error, _, _ = await run(raw, verify, max_response_bytes=1024 * 1024)
    assert error is None


@pytest.mark.parametrize(
    ("encoding", "body"),
    [("gzip", b"\x1f\x8b\x08\x00garbage-not-deflate"), ("br", b"\x0b\x02\x80{}\x03")],
    ids=["corrupt gzip", "unoffered brotli"],
)
async def test_undecodable_bodies_are_connection_errors(
    raw: RawServer, encoding: str, body: bytes
) -> None:
    raw.scenario = reply(
        ok_headers(f"Content-Encoding: {encoding}\r\nContent-Length: {len(body)}"), body
    )
    error, _, _ = await run(raw, get)
    assert isinstance(error, OktaConnectionError)
    assert error.cause_type is not None
    accept = _header_of(raw.captured[0], "accept-encoding")
    assert accept == "gzip, deflate"  # we offer only what we inflate ourselves
