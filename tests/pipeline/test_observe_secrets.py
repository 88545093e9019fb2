"""No secret and no query string in any span, span event, metric attribute, hook event or
log record, with every auth strategy (issue #16)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from okta_connections import (
    BearerToken,
    OktaClient,
    PrivateKeyJWT,
    RefreshTokenAuth,
    RequestEvent,
    ResponseEvent,
    SSWSToken,
)
from tests.support.constants import APP_ID, CONNECTION_BODY, SECRET
from tests.support.keys import rsa_key
from tests.support.oauth_secrets import CLIENT_SECRET, KEY_PEM, known_secrets
from tests.support.oauth_server import CLIENT_ID, OAuthServer
from tests.support.otel import Otel
from tests.support.proxy import PROXY_PASSWORD, ForwardProxy
from tests.support.retry import fast_retry
from tests.support.scripted import ScriptedServer

VERIFY_CODE = "vc-KNOWN-one-time-code-55555"
VERIFY_STATE = "st-KNOWN-state-value-66666"


def _telemetry_texts(otel: Otel) -> list[str]:
    texts: list[str] = []
    for span in otel.finished():
        texts.append(span.name)
        texts += [f"{k}={v}" for k, v in (span.attributes or {}).items()]
        texts.append(str(span.status.description))
        for event in span.events:
            texts.append(event.name)
            texts += [f"{k}={v}" for k, v in (event.attributes or {}).items()]
    for name, metric in otel.metrics().items():
        texts.append(name)
        for point in metric.data.data_points:
            texts += [f"{k}={v}" for k, v in point.attributes.items()]
    return texts


def _url_attributes(otel: Otel) -> list[str]:
    return [
        str(v)
        for span in otel.finished()
        for k, v in (span.attributes or {}).items()
        if k.startswith("url.")
    ]


async def _calls(okta: OktaClient, *, verify: bool) -> None:
    await okta.connections.get(APP_ID)
    await okta.connections.activate(APP_ID)
    if verify:
        await okta.connections.verify("google", APP_ID, code=VERIFY_CODE, state=VERIFY_STATE)


@pytest.mark.parametrize("strategy", ["ssws", "bearer"])
async def test_static_tokens(
    server: ScriptedServer,
    otel: Otel,
    caplog: pytest.LogCaptureFixture,
    strategy: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    events: list[RequestEvent | ResponseEvent] = []
    auth = SSWSToken(SECRET) if strategy == "ssws" else BearerToken(SECRET)
    server.add(503, headers={"X-Echo": f"SSWS {SECRET}", "Set-Cookie": f"sid={SECRET}"})
    server.add(200, json_body=CONNECTION_BODY)
    server.add(204)
    server.add(204)
    async with OktaClient(
        server.url,
        auth=auth,
        retry=fast_retry(),
        on_request=events.append,
        on_response=events.append,
        **otel.options(),
    ) as okta:
        await _calls(okta, verify=True)
    assert server.seen[0].headers["Authorization"].endswith(SECRET)  # it was really sent
    assert server.seen[-1].query["code"] == VERIFY_CODE
    assert len(events) == 8
    _assert_clean(otel, events, caplog, [SECRET, VERIFY_CODE, VERIFY_STATE])


@pytest.mark.parametrize("strategy", ["private_key_jwt", "private_key_jwt+dpop", "refresh_token"])
async def test_oauth_strategies(
    oauth_server: OAuthServer,
    otel: Otel,
    caplog: pytest.LogCaptureFixture,
    strategy: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    server = oauth_server
    events: list[RequestEvent | ResponseEvent] = []
    auth: Any
    if strategy == "refresh_token":
        server.register("0oaCONN", rsa_key().public_key(), client_secret=CLIENT_SECRET)
        auth = RefreshTokenAuth(
            server.token_url,
            server.issue_refresh_token("0oaCONN"),
            client_id="0oaCONN",
            client_secret=CLIENT_SECRET,
        )
    else:
        dpop = strategy.endswith("dpop")
        server.register(public_key=rsa_key().public_key(), dpop_required=dpop)
        if dpop:
            server.api_nonce = "api-nonce-1"  # the API asks for a nonce: one replay
        auth = PrivateKeyJWT(CLIENT_ID, KEY_PEM, dpop=dpop)
    async with OktaClient(
        server.url,
        auth=auth,
        retry=fast_retry(),
        on_request=events.append,
        on_response=events.append,
        **otel.options(),
    ) as okta:
        await _calls(okta, verify=False)
        server.revoke_tokens()  # a 401, a new token, a replay
        await okta.connections.get(APP_ID)
    assert server.issued_access, "a token was really issued"
    token_events = [e for e in events if e.token_request]
    assert token_events and all(e.operation == "token" for e in token_events)
    token_spans = otel.named("okta.connections.token")
    assert len(token_spans) == len(server.issued_access)
    http_token = [s for s in otel.finished() if s.name == "POST /oauth2/v1/token"]
    assert len(http_token) >= len(token_spans)
    # The token request nests in the operation that needed it.
    ops = {s.context.span_id for s in otel.finished() if s.name == "okta.connections.get"}  # type: ignore[union-attr]
    assert all(s.parent is not None and s.parent.span_id in ops for s in token_spans)
    tokens = otel.points("okta.connections.token_requests")
    assert sum(p.value for p in tokens) == len(http_token)
    if strategy.endswith("dpop"):
        assert server.seen_proofs
        replays = [e for e in events if isinstance(e, RequestEvent) and e.attempt > 1]
        assert replays, "the nonce challenge was answered by a second attempt"
        assert all(e.headers.get("DPoP") == "***" for e in events if isinstance(e, RequestEvent))
        # The nonce challenges are replays: resent, but not retries.
        [first_get, *_] = otel.named("okta.connections.get")
        assert first_get.context is not None
        attempts = sorted(
            (
                x
                for x in otel.finished()
                if x.parent is not None
                and x.parent.span_id == first_get.context.span_id
                and x.kind.name == "CLIENT"
            ),
            key=lambda x: x.start_time or 0,
        )
        statuses = [(a.attributes or {}).get("http.response.status_code") for a in attempts]
        assert statuses == [401, 200]
        assert (attempts[1].attributes or {}).get("http.request.resend_count") == 1
        assert (attempts[1].attributes or {}).get("okta.retry_count") == 0
        token_statuses = [(s.attributes or {}).get("http.response.status_code") for s in http_token]
        assert token_statuses[:2] == [400, 200]  # use_dpop_nonce, then the token
        assert otel.points("okta.connections.retries") == []
    _assert_clean(otel, events, caplog, [*known_secrets(server), CLIENT_SECRET])


def _assert_clean(
    otel: Otel,
    events: list[RequestEvent | ResponseEvent],
    caplog: pytest.LogCaptureFixture,
    secrets: list[str],
) -> None:
    texts = _telemetry_texts(otel)
    assert texts, "telemetry was recorded"
    texts += [repr(e) for e in events]
    ours = [r for r in caplog.records if r.name.startswith("okta_connections")]
    assert ours, "the SDK logged"
    for record in caplog.records:
        if record.name == "aiohttp.access":
            continue  # the loopback test server's own access log, which shows what it got
        texts.append(record.getMessage())
        texts.append(repr(vars(record)))
    blob = "\n".join(texts)
    leaked = [s[:12] + "..." for s in secrets if s and s in blob]
    assert leaked == []
    urls = _url_attributes(otel)
    assert urls and all("?" not in u for u in urls)
    request_headers = [e.headers for e in events if isinstance(e, RequestEvent)]
    assert all(h.get("Authorization") == "***" for h in request_headers if "Authorization" in h)


async def test_proxy_password(otel: Otel, caplog: pytest.LogCaptureFixture) -> None:
    import base64

    import yarl

    from okta_connections.testing import FakeOkta

    caplog.set_level(logging.DEBUG)
    events: list[RequestEvent | ResponseEvent] = []
    proxy = ForwardProxy(credentials=("svc-okta", PROXY_PASSWORD))
    await proxy.start()
    try:
        async with FakeOkta(apps=2, seed=1) as fake:
            proxy_url = str(yarl.URL(proxy.url).with_user("svc-okta").with_password(PROXY_PASSWORD))
            async with OktaClient(
                fake.org_url,
                auth=SSWSToken(fake.token),
                proxy=proxy_url,
                on_request=events.append,
                on_response=events.append,
                **otel.options(),
            ) as okta:
                await okta.connections.get(fake.apps[0].id)
            token = fake.token
    finally:
        await proxy.stop()
    assert proxy.carried and proxy.carried[0].headers["proxy-authorization"].startswith("Basic ")
    basic = base64.b64encode(f"svc-okta:{PROXY_PASSWORD}".encode()).decode()
    _assert_clean(otel, events, caplog, [PROXY_PASSWORD, basic, token])
