"""No key, assertion, access token, refresh token, client secret or DPoP proof may appear in
a repr, an exception (or its chain), or any log record, even at DEBUG on every logger."""

from __future__ import annotations

import base64
import logging

import pytest

from okta_connections import (
    ConfigurationError,
    OAuthError,
    OktaClient,
    OktaError,
    PrivateKeyJWT,
    ReauthorizationRequired,
    RefreshTokenAuth,
)
from tests.support.chains import exception_chain
from tests.support.clock import Clock
from tests.support.constants import APP_ID
from tests.support.keys import rsa_key
from tests.support.oauth_secrets import CLIENT_SECRET, KEY_PEM, known_secrets
from tests.support.oauth_server import CLIENT_ID, OAuthServer
from tests.support.retry import fast_retry


def _describe(exc: BaseException) -> list[str]:
    return [t for e in exception_chain(exc) for t in (str(e), repr(e), repr(vars(e)))]


async def test_no_secret_leaks_anywhere(
    oauth_server: OAuthServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, aiohttp's included
    server = oauth_server
    clock = Clock()
    server.clock = clock
    server.register(public_key=rsa_key().public_key(), dpop_required=True)
    server.register("0oaCONN", rsa_key().public_key(), client_secret=CLIENT_SECRET)
    texts: list[str] = []

    # --- PrivateKeyJWT with DPoP: success, revocation, an echoing refusal, early refresh.
    auth = PrivateKeyJWT(CLIENT_ID, KEY_PEM, dpop=True, clock=clock, key_id=None)
    async with OktaClient(server.url, auth=auth, retry=fast_retry()) as okta:
        texts += [repr(auth), str(auth), repr(okta)]
        await okta.connections.get(APP_ID)
        server.revoke_tokens()
        await okta.connections.get(APP_ID)
        server.revoke_tokens()
        server.echo_secrets = True
        with pytest.raises(OAuthError) as info:
            await okta.connections.get(APP_ID)
        texts += _describe(info.value)
        assert "***" in (info.value.error_description or "")  # the echo was scrubbed
        await okta.connections.get(APP_ID)
        clock.now += 3400  # early refresh that fails: a WARNING with the error text
        for _ in range(4):
            server.script_token(503, {"error": "server_error", "error_description": "down"})
        await okta.connections.get(APP_ID)
    assert server.issued_access and server.seen_proofs
    assert any("early token refresh failed" in r.getMessage() for r in caplog.records)

    # --- Bearer when DPoP was asked for.
    server.clients[CLIENT_ID].dpop_required = False
    server.clients[CLIENT_ID].token_type = "Bearer"
    bearer = PrivateKeyJWT(CLIENT_ID, KEY_PEM, dpop=True, clock=clock)
    async with OktaClient(server.url, auth=bearer, retry=fast_retry()) as okta:
        with pytest.raises(OAuthError) as info:
            await okta.connections.get(APP_ID)
        texts += _describe(info.value)

    # --- RefreshTokenAuth: rotation, an echoing refusal, then a dead refresh token.
    rotated: list[str] = []
    refresh = RefreshTokenAuth(
        server.token_url,
        server.issue_refresh_token("0oaCONN"),
        client_id="0oaCONN",
        client_secret=CLIENT_SECRET,
        on_rotate=rotated.append,
        clock=clock,
    )
    async with OktaClient(server.url, auth=refresh, retry=fast_retry()) as okta:
        texts += [repr(refresh), str(refresh), repr(okta)]
        await okta.connections.get(APP_ID)
        server.revoke_tokens()
        server.echo_secrets = True
        with pytest.raises(OAuthError) as info:
            await okta.connections.get(APP_ID)
        texts += _describe(info.value)
        server.refresh_tokens.clear()
        with pytest.raises(ReauthorizationRequired) as reauth:
            await okta.connections.get(APP_ID)
        texts += _describe(reauth.value)
        with pytest.raises(OktaError) as again:
            await okta.connections.get(APP_ID)
        texts += _describe(again.value)
    assert rotated  # a refresh token was really rotated (and is in the secret list)

    # --- Construction errors.
    encrypted = rsa_key().private_bytes(
        *_pkcs8_encrypted(b"pw-KNOWN-passphrase"),
    )
    for source, kwargs in (
        (encrypted, {}),
        (encrypted, {"password": "wrong"}),
        (KEY_PEM, {"password": "pw-KNOWN-passphrase"}),
    ):
        with pytest.raises(ConfigurationError) as bad:
            PrivateKeyJWT(CLIENT_ID, source, **kwargs)  # type: ignore[arg-type]
        texts += _describe(bad.value)

    texts += [r.getMessage() for r in caplog.records]
    texts.append(caplog.text)
    secrets = [*known_secrets(server), "pw-KNOWN-passphrase"]
    assert len(server.seen_assertions) >= 5 and len(server.issued_refresh) >= 2
    assert server.auth_headers[0].startswith("DPoP ")  # it was really sent
    blob = "\n".join(texts)
    leaked = [s[:12] + "..." for s in secrets if s in blob]
    assert leaked == []
    assert any("token endpoint answered" in r.getMessage() for r in caplog.records)


def _pkcs8_encrypted(password: bytes) -> tuple[object, object, object]:
    from cryptography.hazmat.primitives import serialization

    return (
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password),
    )


def test_basic_header_is_really_what_we_check() -> None:
    # Guard for the list above: the Basic value is base64 of the urlencoded pair.
    from okta_connections.auth._jose import basic_authorization

    value = basic_authorization("0oaCONN", CLIENT_SECRET)
    assert base64.b64decode(value[6:]).decode() == f"0oaCONN:{CLIENT_SECRET}"
