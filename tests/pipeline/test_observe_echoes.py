"""A server that echoes the credential it was sent (SSWS token, bearer token, DPoP proof
and access token, proxy password), as sent, URL-encoded or base64-encoded, in headers
shown to observers (WWW-Authenticate, Location, Link, DPoP-Nonce, Server) and in the
request id: no hook event, span, log record or session event shows it (issue #24, 7)."""

from __future__ import annotations

import base64
import json
import logging
import re
import urllib.parse
from typing import Any

import pytest

from okta_connections import (
    BearerToken,
    MockTransport,
    OktaClient,
    OktaError,
    PrivateKeyJWT,
    RequestEvent,
    ResponseEvent,
    SSWSToken,
)
from okta_connections.pipeline.events import AttemptEnded, AttemptStarted
from okta_connections.transport import TransportRequest, TransportResponse
from tests.support.constants import APP_ID, CONNECTION_BODY
from tests.support.oauth_secrets import KEY_PEM
from tests.support.oauth_server import CLIENT_ID
from tests.support.otel import Otel
from tests.support.proxy import PROXY_PASSWORD, ForwardProxy
from tests.support.retry import fast_retry
from tests.support.scripted import ScriptedServer

#: A token whose URL-encoded form differs from it.
TOKEN = "00echo+TOKEN/with=signs-0123456789abcdefgh"
ACCESS = "at-ECHOED-access-token-0123456789abcdef"
ORG = "https://acme.okta.com"
SHOWN = ("WWW-Authenticate", "Location", "Link", "DPoP-Nonce", "Server")


def _forms(secret: str) -> dict[str, str]:
    return {
        "plain": secret,
        "url": urllib.parse.quote(secret, safe=""),
        "basic": "Basic " + base64.b64encode(f"x:{secret}".encode()).decode(),
        "b64": base64.b64encode(secret.encode()).decode(),
    }


def _echo_headers(secret: str, form: str) -> dict[str, str]:
    echo = _forms(secret)[form]
    headers = {
        "Content-Type": "application/json",
        "WWW-Authenticate": f'Bearer realm="{echo}"',
        "Location": f"https://acme.okta.com/p/{echo}",
        "Link": f'<https://acme.okta.com/n/{echo}>; rel="next"',
        "DPoP-Nonce": echo,
        "Server": f"echo/{echo}",
    }
    # A request id that holds the credential (of Okta's characters when it can).
    rid = echo.replace("Basic ", "")
    if not re.fullmatch(r"[A-Za-z0-9_.:@+=-]+", rid):
        rid = base64.urlsafe_b64encode(secret.encode()).decode()
    headers["X-Okta-Request-Id"] = rid
    return headers


class Recorder:
    """Every hook event (sync and async hooks) and every session event, as text."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def sync(self, event: RequestEvent | ResponseEvent) -> None:
        self.texts.append(repr(event))

    async def async_(self, event: RequestEvent | ResponseEvent) -> None:
        self.texts.append(repr(event))

    def session_event(self, event: Any) -> None:
        self.texts.append(repr(event))
        if isinstance(event, AttemptEnded):
            self.texts.append(repr(event.error))


def _spans(otel: Otel) -> list[str]:
    texts = []
    for span in otel.finished():
        texts.append(span.name)
        texts += [f"{k}={v}" for k, v in (span.attributes or {}).items()]
        texts.append(str(span.status.description))
        texts += [f"{e.name} {e.attributes}" for e in span.events]
    return texts


def _logs(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.getMessage()} {vars(r)!r}" for r in caplog.records if r.name != "aiohttp.access"]


def _leaks(blob: str, secrets: list[str]) -> list[str]:
    every = {f for s in secrets for f in _forms(s).values()}
    every |= {f.replace("Basic ", "") for f in every}
    every |= {base64.urlsafe_b64encode(s.encode()).decode() for s in secrets}
    return sorted(f[:16] + "..." for f in every if f in blob)


def _client(url: str, auth: Any, rec: Recorder, otel: Otel, **more: Any) -> OktaClient:
    okta = OktaClient(
        url,
        auth=auth,
        retry=fast_retry(max_attempts=2),
        on_request=rec.sync,
        on_response=rec.async_,
        **otel.options(),
        **more,
    )
    for kind in (AttemptStarted, AttemptEnded):
        okta.events.subscribe(kind, rec.session_event)
    return okta


async def _run(okta: OktaClient) -> None:
    async with okta:
        await okta.connections.get(APP_ID)
        # The 401 echo: its error is checked by tests/test_echo_encodings.py.
        with pytest.raises(OktaError):
            await okta.connections.activate(APP_ID)


def _check(rec: Recorder, otel: Otel, caplog: pytest.LogCaptureFixture, secrets: list[str]):
    assert rec.texts and _spans(otel) and _logs(caplog), "everything was observed"
    blob = "\n".join([*rec.texts, *_spans(otel), *_logs(caplog)])
    assert _leaks(blob, secrets) == []


@pytest.mark.parametrize("form", ["plain", "url", "basic", "b64"])
@pytest.mark.parametrize("strategy", ["ssws", "bearer", "dpop"])
async def test_an_echoed_credential_reaches_no_observer(
    otel: Otel, caplog: pytest.LogCaptureFixture, strategy: str, form: str
) -> None:
    caplog.set_level(logging.DEBUG)
    rec = Recorder()
    sent: list[str] = []

    def org(request: TransportRequest) -> TransportResponse:
        if request.url.path.endswith("/token"):
            body = {"access_token": ACCESS, "token_type": "DPoP", "expires_in": 3600}
            return TransportResponse(
                200, {"Content-Type": "application/json"}, json.dumps(body).encode()
            )
        # Echo what the request carries: the token, the DPoP proof (new every attempt).
        secret = request.headers.get("DPoP") or request.headers["Authorization"].split(" ")[-1]
        sent.append(secret)
        headers = _echo_headers(secret, form)
        if request.method == "POST":
            return TransportResponse(401, headers, b'{"errorCode":"E0000011"}')
        return TransportResponse(200, headers, json.dumps(CONNECTION_BODY).encode())

    auth: Any
    if strategy == "ssws":
        auth = SSWSToken(TOKEN)
    elif strategy == "bearer":
        auth = BearerToken(TOKEN)
    else:
        auth = PrivateKeyJWT(CLIENT_ID, KEY_PEM, dpop=True)
    await _run(_client(ORG, auth, rec, otel, transport=MockTransport(org)))
    assert sent, "the server echoed"
    secrets = [*sent, TOKEN] if strategy != "dpop" else [*sent, ACCESS]
    _check(rec, otel, caplog, secrets)


@pytest.mark.parametrize("form", ["plain", "url", "basic"])
async def test_an_echoed_proxy_password_reaches_no_observer(
    server: ScriptedServer, otel: Otel, caplog: pytest.LogCaptureFixture, form: str
) -> None:
    import yarl

    caplog.set_level(logging.DEBUG)
    rec = Recorder()
    for _ in range(2):
        server.add(200, json_body=CONNECTION_BODY, headers=_echo_headers(PROXY_PASSWORD, form))
    server.add(401, headers=_echo_headers(PROXY_PASSWORD, form))
    proxy = ForwardProxy(credentials=("svc-okta", PROXY_PASSWORD))
    await proxy.start()
    try:
        url = yarl.URL(proxy.url).with_user("svc-okta").with_password(PROXY_PASSWORD)
        await _run(_client(server.url, SSWSToken(TOKEN), rec, otel, proxy=str(url)))
    finally:
        await proxy.stop()
    assert proxy.carried, "the calls went through the proxy"
    _check(rec, otel, caplog, [PROXY_PASSWORD, TOKEN])
