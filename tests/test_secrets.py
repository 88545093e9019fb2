"""A known secret must appear in no log record, repr or exception message."""

from __future__ import annotations

import logging

import pytest

from okta_connections import (
    BearerToken,
    ConfigurationError,
    OAuthConnection,
    OktaClient,
    OktaError,
    SSWSToken,
    TokenConnection,
)
from tests.support.chains import exception_chain
from tests.support.constants import APP_ID, SECRET
from tests.support.retry import fast_retry
from tests.support.scripted import ScriptedServer

TARGET_TOKEN = "zscalerTARGETtoken-0123456789"
ADMIN_PASSWORD = "O365-admin-Pa55word!"
SECRETS = (SECRET, TARGET_TOKEN, ADMIN_PASSWORD)


def _assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


async def test_no_secret_in_logs_reprs_or_errors(
    server: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, aiohttp's included
    texts: list[str] = []
    server.add(200, json_body={"status": "DISABLED", "profile": {"authScheme": "TOKEN"}})
    server.add(401, json_body={"errorCode": "E0000011", "errorSummary": "Invalid token provided"})
    server.add(
        400, json_body={"errorCode": "E0000001", "errorSummary": "Api validation failed: token"}
    )
    server.add(503, body=b"oops")
    server.add(200, body=b"not json")
    auth = SSWSToken(SECRET)
    async with OktaClient(server.url, auth=auth, retry=fast_retry(max_attempts=1)) as okta:
        token_req = TokenConnection(token=TARGET_TOKEN)
        oauth_req = OAuthConnection(admin_username="admin@acme", admin_password=ADMIN_PASSWORD)
        texts += [
            repr(okta),
            str(okta),
            repr(auth),
            repr(token_req),
            repr(oauth_req),
            str(token_req),
        ]
        texts.append(repr(await okta.connections.update(APP_ID, token_req, activate=True)))
        for call in (
            okta.connections.get(APP_ID),
            okta.connections.update(APP_ID, oauth_req),
            okta.connections.activate(APP_ID),
            okta.connections.get(APP_ID),
        ):
            with pytest.raises(OktaError) as info:
                await call
            for exc in exception_chain(info.value):
                texts += [str(exc), repr(exc), repr(vars(exc))]
    texts += [r.getMessage() for r in caplog.records]
    texts.append(caplog.text)
    assert any("request id" in r.getMessage() for r in caplog.records)  # DEBUG logging is on
    assert len(server.seen) == 5
    assert server.seen[0].headers["Authorization"] == f"SSWS {SECRET}"  # it was really sent
    for text in texts:
        _assert_clean(text)


def test_no_secret_in_config_errors() -> None:
    for bad in (f"https://user:{SECRET}@acme.okta.com", f"https://acme.okta.com/?token={SECRET}"):
        with pytest.raises(ConfigurationError) as info:
            OktaClient(bad, auth=SSWSToken(SECRET))
        _assert_clean(str(info.value))
    with pytest.raises(ConfigurationError) as info2:
        SSWSToken(SECRET + "\n")
    _assert_clean(str(info2.value))
    with pytest.raises(ConfigurationError) as info3:
        BearerToken(" " + SECRET)
    _assert_clean(str(info3.value))
    _assert_clean(repr(BearerToken(SECRET)))
