"""The transport seam: MockTransport, a real forward proxy, env proxies, TLS, own sessions."""

from __future__ import annotations

import logging
import re
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import yarl

from okta_connections import (
    ConfigurationError,
    MockTransport,
    OktaClient,
    OktaConnectionError,
    OktaError,
    ResponseTooLargeError,
    SSWSToken,
    TransportRequest,
    TransportResponse,
)
from okta_connections.testing import FakeOkta
from okta_connections.transport import _bypassed, _env_proxy
from tests.support.chains import assert_chain_clean
from tests.support.constants import APP_ID, SECRET
from tests.support.proxy import PROXY_PASSWORD, ForwardProxy
from tests.support.retry import fast_retry


@pytest.fixture
async def proxy() -> AsyncIterator[ForwardProxy]:
    server = ForwardProxy(credentials=("svc-okta", PROXY_PASSWORD))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def fake() -> AsyncIterator[FakeOkta]:
    async with FakeOkta(apps=3, seed=1) as org:
        yield org


def _with_auth(url: str, user: str, password: str) -> str:
    return str(yarl.URL(url).with_user(user).with_password(password))


def test_docs_mock_transport_example_runs() -> None:
    text = (Path(__file__).parents[2] / "docs" / "transport.md").read_text()
    block = re.search(r"```python\n(.*?)```", text, re.S)
    assert block is not None
    exec(compile(block.group(1), "docs/transport.md", "exec"), {"__name__": "docs"})


async def test_explicit_proxy_carries_every_request_loopback_included(
    proxy: ForwardProxy, fake: FakeOkta, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="okta_connections")
    app = fake.apps[0].id
    proxy_url = _with_auth(proxy.url, "svc-okta", PROXY_PASSWORD)
    async with OktaClient(fake.org_url, auth=SSWSToken(fake.token), proxy=proxy_url) as okta:
        conn = await okta.connections.get(app)
        await okta.connections.get(app)
        shown = repr(okta) + repr(okta.transport)
    assert conn.auth_scheme is not None
    targets = [c.target for c in proxy.carried]
    assert targets == [f"{fake.org_url}/api/v1/apps/{app}/connections/default"] * 2
    assert all(c.headers["proxy-authorization"].startswith("Basic ") for c in proxy.carried)
    assert all(c.headers["authorization"] == f"SSWS {fake.token}" for c in proxy.carried)
    assert proxy.refused == []
    assert len(fake.requests()) == 2
    for text in (shown, caplog.text):
        assert PROXY_PASSWORD not in text
    assert "***:***@" in shown


async def test_wrong_proxy_password_is_a_typed_error_without_the_password(
    proxy: ForwardProxy, fake: FakeOkta
) -> None:
    proxy_url = _with_auth(proxy.url, "svc-okta", "wrong-" + PROXY_PASSWORD)
    async with OktaClient(
        fake.org_url, auth=SSWSToken(fake.token), proxy=proxy_url, retry=fast_retry()
    ) as okta:
        with pytest.raises(OktaError) as info:
            await okta.connections.get(fake.apps[0].id)
    error = info.value
    # A plain-http target goes to the proxy in absolute form: its 407 is an HTTP answer.
    assert type(error).__name__ == "ApiError" and getattr(error, "status", None) == 407
    assert proxy.refused == [f"{fake.org_url}/api/v1/apps/{fake.apps[0].id}/connections/default"]
    assert_chain_clean(error, PROXY_PASSWORD, "wrong-" + PROXY_PASSWORD, fake.token)
    assert fake.requests() == []


async def test_environment_proxies_never_apply_to_loopback(
    proxy: ForwardProxy, fake: FakeOkta, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, proxy.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with OktaClient(fake.org_url, auth=SSWSToken(fake.token)) as okta:
        await okta.connections.get(fake.apps[0].id)
    assert proxy.carried == []
    assert len(fake.requests()) == 1


async def test_environment_proxy_applies_to_a_real_host_and_tunnels_with_connect(
    proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", _with_auth(proxy.url, "svc-okta", PROXY_PASSWORD))
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    # The proxy refuses to leave loopback (502), so nothing reaches any network.
    async with OktaClient(
        "https://acme.okta.test", auth=SSWSToken(SECRET), retry=fast_retry(max_attempts=1)
    ) as okta:
        with pytest.raises(OktaConnectionError) as info:
            await okta.connections.get(APP_ID)
    assert [(c.method, c.target) for c in proxy.carried] == [("CONNECT", "acme.okta.test:443")]
    assert proxy.refused == ["acme.okta.test:443"]
    # The API token rides inside the tunnel, never in the CONNECT request.
    assert all(SECRET not in repr(c.headers) for c in proxy.carried)
    assert "refused" in str(info.value) and "502" in str(info.value)
    assert_chain_clean(info.value, SECRET, PROXY_PASSWORD)


@pytest.mark.parametrize(
    ("host", "no_proxy", "expected"),
    [
        ("acme.okta.com", "", "http://p:1"),
        ("acme.okta.com", "okta.com", None),
        ("acme.okta.com", ".okta.com", None),
        ("acme.okta.com", "*.okta.com", None),
        ("acme.okta.com", "other.com, okta.com", None),
        ("acme.okta.com", "*", None),
        ("acme.okta.com", "kta.com", "http://p:1"),
        ("acme.okta.com", "acme.okta.com:443", None),
        ("127.0.0.1", "", None),
        ("localhost", "", None),
        ("::1", "", None),
        ("127.8.9.1", "", None),
        ("2001:db8::1", "[2001:db8::1]", None),
        ("2001:db8::1", "2001:db8::/32", None),
        ("10.2.3.4", "10.0.0.0/8", None),
        ("11.2.3.4", "10.0.0.0/8", "http://p:1"),
        ("acme.okta.com", "acme.okta.com:8443", "http://p:1"),  # another port: proxied
    ],
)
def test_environment_proxy_rules(host: str, no_proxy: str, expected: str | None) -> None:
    env = {"HTTPS_PROXY": "http://p:1", "NO_PROXY": no_proxy}
    assert _env_proxy("https", host, env, 443) == expected
    assert _bypassed("a.b", "b") and not _bypassed("ab", "b")


async def test_a_session_you_pass_is_used_and_not_closed(fake: FakeOkta) -> None:
    seen: list[str] = []

    async def on_request_start(
        _: object, __: object, params: aiohttp.TraceRequestStartParams
    ) -> None:
        seen.append(params.url.path)

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    async with aiohttp.ClientSession(trace_configs=[trace]) as mine:
        async with OktaClient(fake.org_url, auth=SSWSToken(fake.token), session=mine) as okta:
            await okta.connections.get(fake.apps[0].id)
        assert not mine.closed
        assert seen == [f"/api/v1/apps/{fake.apps[0].id}/connections/default"]


async def test_a_transport_that_breaks_its_contract_gives_a_typed_error() -> None:
    class Leaky(Exception):
        pass

    def handler(request: TransportRequest) -> TransportResponse:
        raise Leaky(f"boom with {request.headers['Authorization']}")

    async with OktaClient(
        "https://acme.okta.com",
        auth=SSWSToken(SECRET),
        transport=MockTransport(handler),
        retry=fast_retry(max_attempts=2),
    ) as okta:
        with pytest.raises(OktaConnectionError) as info:
            await okta.connections.get(APP_ID)
    assert info.value.cause_type is not None and info.value.cause_type.endswith("Leaky")
    assert info.value.attempts == 2
    assert_chain_clean(info.value, SECRET)


async def test_mock_transport_caps_bodies_like_the_real_one() -> None:
    def handler(_: TransportRequest) -> TransportResponse:
        return TransportResponse(200, {}, b" " * 5000)

    async with OktaClient(
        "https://acme.okta.com",
        auth=SSWSToken(SECRET),
        transport=MockTransport(handler),
        max_response_bytes=4096,
    ) as okta:
        with pytest.raises(ResponseTooLargeError):
            await okta.connections.get(APP_ID)


def test_transport_request_repr_hides_headers_and_query() -> None:
    request = TransportRequest(
        "POST",
        yarl.URL("https://acme.okta.com/api/v1/apps/slack/0oa1/oauth2/callback?code=C0DE"),
        {"Authorization": f"SSWS {SECRET}"},
        secrets=("C0DE",),
    )
    assert SECRET not in repr(request) and "C0DE" not in repr(request)


@pytest.mark.parametrize(
    ("options", "argument"),
    [
        ({"proxy": "ftp://proxy:21"}, "proxy"),
        ({"proxy": "http://proxy:3128\n"}, "proxy"),
        ({"proxy": ""}, "proxy"),
        ({"ssl": "/nonexistent/ca.pem"}, "ssl"),
        ({"ssl": 5}, "ssl"),
        (
            {
                "transport": MockTransport(lambda r: TransportResponse(200, {})),
                "proxy": "http://p:1",
            },
            "transport",
        ),
        ({"transport": object()}, "transport"),
        ({"max_response_bytes": 10}, "max_response_bytes"),
        ({"trust_env": "yes"}, "trust_env"),
    ],
)
def test_bad_transport_options_are_refused_before_sending(
    options: dict[str, object], argument: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        OktaClient("https://acme.okta.com", auth=SSWSToken(SECRET), **options)  # type: ignore[arg-type]
    assert info.value.argument == argument


def test_a_ca_bundle_or_context_is_accepted(tmp_path: Path) -> None:
    context = ssl.create_default_context()
    OktaClient("https://acme.okta.com", auth=SSWSToken(SECRET), ssl=context)
    system = ssl.get_default_verify_paths().cafile
    if system:  # a real CA bundle loads
        OktaClient("https://acme.okta.com", auth=SSWSToken(SECRET), ssl=system)
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not a certificate")
    with pytest.raises(ConfigurationError, match="CA bundle"):
        OktaClient("https://acme.okta.com", auth=SSWSToken(SECRET), ssl=bundle)


def test_lower_case_proxy_variables_win_and_http_uses_http_proxy() -> None:
    env = {
        "HTTPS_PROXY": "http://upper:1",
        "https_proxy": "http://lower:1",
        "HTTP_PROXY": "http://plain:1",
    }
    assert _env_proxy("https", "acme.okta.com", env) == "http://lower:1"
    assert _env_proxy("http", "acme.okta.com", env) == "http://plain:1"


async def test_a_proxy_variable_without_a_scheme_is_used_not_ignored(
    proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url.removeprefix("http://"))
    for name in ("https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    async with OktaClient(
        "https://acme.okta.test", auth=SSWSToken(SECRET), retry=fast_retry(max_attempts=1)
    ) as okta:
        with pytest.raises(OktaConnectionError):
            await okta.connections.get(APP_ID)
    assert [c.method for c in proxy.carried] == ["CONNECT"]  # through the proxy, as asked


async def test_an_unusable_proxy_variable_refuses_the_call_instead_of_going_direct(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "ftp://proxy.corp:21")
    monkeypatch.delenv("https_proxy", raising=False)
    transport_calls: list[str] = []
    async with OktaClient("https://acme.okta.test", auth=SSWSToken(SECRET)) as okta:
        with pytest.raises(ConfigurationError) as info:
            await okta.connections.get(APP_ID)
        transport_calls.append(repr(okta.transport))
    assert info.value.argument == "HTTPS_PROXY"
    assert info.value.attempts == 1


async def test_explicit_proxy_credentials_ride_the_connect_request_only(
    proxy: ForwardProxy,
) -> None:
    proxy_url = _with_auth(proxy.url, "svc-okta", PROXY_PASSWORD)
    async with OktaClient(
        "https://acme.okta.test",
        auth=SSWSToken(SECRET),
        proxy=proxy_url,
        retry=fast_retry(max_attempts=1),
    ) as okta:
        with pytest.raises(OktaConnectionError) as info:
            await okta.connections.get(APP_ID)
    (connect,) = proxy.carried
    assert connect.method == "CONNECT" and connect.headers["proxy-authorization"].startswith(
        "Basic "
    )
    assert "authorization" not in connect.headers  # the API token stays inside the tunnel
    assert_chain_clean(info.value, SECRET, PROXY_PASSWORD)


def test_ssl_with_your_own_session_is_refused() -> None:
    async def make() -> None:
        async with aiohttp.ClientSession() as mine:
            OktaClient(
                "https://acme.okta.com",
                auth=SSWSToken(SECRET),
                session=mine,
                ssl=ssl.create_default_context(),
            )

    import asyncio

    with pytest.raises(ConfigurationError) as info:
        asyncio.run(make())
    assert info.value.argument == "ssl"


async def test_tls_to_a_plain_loopback_server_hints_at_http(fake: FakeOkta) -> None:
    https_url = fake.org_url.replace("http://", "https://")
    async with OktaClient(
        https_url, auth=SSWSToken(fake.token), retry=fast_retry(max_attempts=1)
    ) as okta:
        with pytest.raises(OktaConnectionError) as info:
            await okta.connections.get(fake.apps[0].id)
    assert f"use {fake.org_url}" in str(info.value)
