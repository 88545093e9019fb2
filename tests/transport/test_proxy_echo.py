"""A proxy that echoes the client's credentials back, in any encoding and any place of its
answer: nothing of them reaches an error, its chain, its headers or its summary."""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import AsyncIterator

import pytest
import yarl

from okta_connections import OktaClient, OktaError, SSWSToken
from okta_connections._redact import secret_forms
from tests.support.chains import chain_text
from tests.support.echo_proxy import ENCODINGS, PLACES, EchoProxy
from tests.support.retry import fast_retry

USER = "svc-okta"
#: Characters that URL-encode differently with quote and quote_plus.
PASSWORD = "p@ss w/rd+Pr0xy-s3cr3t:7f"
TOKEN = "00ssws-TOKEN-echo-test-abcdef"


def _forms() -> list[str]:
    raw = f"{USER}:{PASSWORD}".encode()
    token = base64.b64encode(raw).decode()
    return [
        PASSWORD,
        f"Basic {token}",
        token,
        urllib.parse.quote(PASSWORD, safe=""),
        urllib.parse.quote_plus(PASSWORD),
    ]


@pytest.fixture
async def echo(request: pytest.FixtureRequest) -> AsyncIterator[EchoProxy]:
    place, encoding = request.param
    server = EchoProxy(place, encoding)
    await server.start()
    yield server
    await server.stop()


def _everything(error: BaseException) -> str:
    parts = [chain_text(error)]
    for name in ("cause_message", "error_summary", "headers", "error_causes", "request_id"):
        parts.append(repr(getattr(error, name, None)))
    return "\n".join(parts)


@pytest.mark.parametrize(
    "echo",
    [(place, encoding) for place in PLACES for encoding in ENCODINGS],
    indirect=True,
    ids=lambda p: "-".join(p),
)
@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_a_proxy_echoing_its_credentials_leaks_nothing(echo: EchoProxy, scheme: str) -> None:
    proxy_url = str(yarl.URL(echo.url).with_user(USER).with_password(PASSWORD))
    # http (an explicit proxy carries loopback too): absolute form, the 407 is an HTTP
    # answer; https: CONNECT, which aiohttp refuses with ClientHttpProxyError.
    org = "https://acme.okta.test" if scheme == "https" else "http://127.0.0.1:9"
    async with OktaClient(org, auth=SSWSToken(TOKEN), proxy=proxy_url, retry=fast_retry()) as okta:
        with pytest.raises(OktaError) as info:
            await okta.connections.get("0oa1234567890abcdef")
    assert echo.seen and echo.seen[0].startswith("Basic ")
    text = _everything(info.value)
    for form in _forms():
        assert form not in text, f"{form!r} leaked through {type(info.value).__name__}"


def test_secret_forms_cover_the_encodings() -> None:
    forms = secret_forms(PASSWORD)
    assert PASSWORD in forms
    assert urllib.parse.quote(PASSWORD, safe="") in forms
    assert urllib.parse.quote_plus(PASSWORD) in forms
    assert secret_forms("") == ()
