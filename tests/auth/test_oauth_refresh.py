"""RefreshTokenAuth against the loopback server: rotation, invalid_grant, single flight."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from okta_connections import (
    AuthError,
    OAuthError,
    OktaClient,
    ReauthorizationRequired,
    RefreshTokenAuth,
)
from tests.support.clock import Clock
from tests.support.constants import APP_ID
from tests.support.keys import pem, rsa_key
from tests.support.oauth_server import OAuthServer
from tests.support.retry import fast_retry

CONNECTOR = "0oa1workflowsCONN"
SECRET = "client-SECRET-value-0123456789"


@pytest.fixture
def server(oauth_server: OAuthServer) -> OAuthServer:
    oauth_server.register(
        CONNECTOR, rsa_key().public_key(), client_secret=SECRET, token_lifetime=3600
    )
    return oauth_server


async def _run(server: OAuthServer, auth: RefreshTokenAuth, calls: int = 1) -> list[Any]:
    async with OktaClient(server.url, auth=auth, retry=fast_retry(), max_in_flight=1000) as okta:
        return await asyncio.gather(*(okta.connections.get(APP_ID) for _ in range(calls)))


async def test_rotation_hands_each_new_token_to_the_callback(server: OAuthServer) -> None:
    first = server.issue_refresh_token(CONNECTOR)
    rotated: list[str] = []

    async def save(token: str) -> None:
        await asyncio.sleep(0)
        rotated.append(token)

    clock = Clock()
    server.clock = clock
    auth = RefreshTokenAuth(
        server.token_url,
        first,
        client_id=CONNECTOR,
        client_secret=SECRET,
        on_rotate=save,
        clock=clock,
    )
    async with OktaClient(server.url, auth=auth, retry=fast_retry()) as okta:
        await okta.connections.get(APP_ID)
        assert rotated == [server.issued_refresh[1]]
        # The old refresh token is dead on the server; the next refresh must use the new one.
        assert first not in server.refresh_tokens
        clock.now += 3400
        await okta.connections.get(APP_ID)
        assert rotated == server.issued_refresh[1:3]
        # A 401 also refreshes, and rotates again.
        server.revoke_tokens()
        await okta.connections.get(APP_ID)
    assert rotated == server.issued_refresh[1:4]
    assert server.token_requests == 3
    assert server.seen_basic  # client_secret_basic was used
    assert server.rejections == []


async def test_sync_callback_and_no_rotation(server: OAuthServer) -> None:
    server.clients[CONNECTOR].rotate_refresh = False
    rotated: list[str] = []
    token = server.issue_refresh_token(CONNECTOR)
    auth = RefreshTokenAuth(
        server.token_url, token, client_id=CONNECTOR, client_secret=SECRET, on_rotate=rotated.append
    )
    await _run(server, auth)
    assert rotated == []  # the same token came back: nothing rotated
    server.clients[CONNECTOR].rotate_refresh = True
    auth = RefreshTokenAuth(
        server.token_url, token, client_id=CONNECTOR, client_secret=SECRET, on_rotate=rotated.append
    )
    await _run(server, auth)
    assert rotated == [server.issued_refresh[-1]]


async def test_concurrent_calls_make_one_refresh(server: OAuthServer) -> None:
    rotated: list[str] = []
    auth = RefreshTokenAuth(
        server.token_url,
        server.issue_refresh_token(CONNECTOR),
        client_id=CONNECTOR,
        client_secret=SECRET,
        on_rotate=rotated.append,
    )
    server.revoke_after = 50
    server.api_delay = 0.002
    results = await _run(server, auth, calls=300)
    assert len(results) == 300
    assert server.token_requests == 2  # the first token, and one after the revocation
    assert len(rotated) == 2
    assert server.rejections == []


async def test_invalid_grant_means_reauthorization(server: OAuthServer) -> None:
    auth = RefreshTokenAuth(
        server.token_url, "rt-never-issued", client_id=CONNECTOR, client_secret=SECRET
    )
    async with OktaClient(server.url, auth=auth, retry=fast_retry()) as okta:
        with pytest.raises(ReauthorizationRequired) as info:
            await okta.connections.get(APP_ID)
        error = info.value
        assert isinstance(error, OAuthError)
        assert (error.error, error.status) == ("invalid_grant", 400)
        assert "connection is lost" in str(error) and "authorise the app again" in str(error)
        assert "rt-never-issued" not in str(error)
        assert auth.reauthorization_required
        # Later calls fail at once, without another doomed token request.
        with pytest.raises(ReauthorizationRequired):
            await okta.connections.get(APP_ID)
    assert server.token_requests == 1
    assert server.api_requests == 0


async def test_expired_refresh_token_after_working(server: OAuthServer) -> None:
    token = server.issue_refresh_token(CONNECTOR)
    auth = RefreshTokenAuth(server.token_url, token, client_id=CONNECTOR, client_secret=SECRET)
    async with OktaClient(server.url, auth=auth, retry=fast_retry()) as okta:
        await okta.connections.get(APP_ID)
        server.refresh_tokens.clear()  # the admin revoked the grant
        server.revoke_tokens()
        with pytest.raises(ReauthorizationRequired):
            await okta.connections.get(APP_ID)


async def test_private_key_jwt_and_public_client(server: OAuthServer) -> None:
    auth = RefreshTokenAuth(
        "/oauth2/v1/token",
        server.issue_refresh_token(CONNECTOR),
        client_id=CONNECTOR,
        private_key=pem(rsa_key()),
        scopes=["okta.apps.read"],
    )
    await _run(server, auth)
    assert len(server.seen_assertions) == 1 and server.seen_basic == []
    server.register("0oaPUBLIC", scopes=("okta.apps.read",))
    public = RefreshTokenAuth(
        server.token_url, server.issue_refresh_token("0oaPUBLIC"), client_id="0oaPUBLIC"
    )
    await _run(server, public)
    assert server.rejections == []


async def test_wrong_client_secret_is_an_oauth_error_not_reauthorization(
    server: OAuthServer,
) -> None:
    auth = RefreshTokenAuth(
        server.token_url,
        server.issue_refresh_token(CONNECTOR),
        client_id=CONNECTOR,
        client_secret="wrong-secret",
    )
    with pytest.raises(OAuthError) as info:
        await _run(server, auth)
    assert not isinstance(info.value, ReauthorizationRequired)
    assert info.value.error == "invalid_client"
    assert not auth.reauthorization_required


async def test_a_failing_callback_raises_auth_error_but_the_new_token_is_kept(
    server: OAuthServer,
) -> None:
    delivered: list[str] = []

    def broken(token: str) -> None:
        if not delivered:
            delivered.append("failed")
            raise RuntimeError("vault unavailable")
        delivered.append(token)

    auth = RefreshTokenAuth(
        server.token_url,
        server.issue_refresh_token(CONNECTOR),
        client_id=CONNECTOR,
        client_secret=SECRET,
        on_rotate=broken,
    )
    async with OktaClient(server.url, auth=auth, retry=fast_retry()) as okta:
        with pytest.raises(AuthError, match="on_rotate raised RuntimeError") as info:
            await okta.connections.get(APP_ID)
        # The callback's exception may hold the token: named, never chained.
        assert info.value.__cause__ is None and info.value.__context__ is None
        assert "vault unavailable" not in str(info.value)
        await okta.connections.get(APP_ID)  # the token fetched before the callback is used
        server.revoke_tokens()
        await okta.connections.get(APP_ID)  # and the rotated refresh token works
    assert server.rejections == []
    assert server.token_requests == 2
    assert delivered == ["failed", server.issued_refresh[-1]]


def test_repr_shows_no_secret() -> None:
    auth = RefreshTokenAuth(
        "https://acme.okta.com/oauth2/v1/token",
        "rt-SECRET-123",
        client_id="0oaC",
        client_secret=SECRET,
    )
    assert repr(auth) == (
        "RefreshTokenAuth(token_url='https://acme.okta.com/oauth2/v1/token', "
        "client_id='0oaC', client_auth='client_secret_basic', scopes=None)"
    )
