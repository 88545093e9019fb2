"""What the SDK puts on the wire for each operation: method, path, query, headers, body."""

from __future__ import annotations

import json
import sys

import aiohttp
import pytest

from okta_connections import (
    AuthScheme,
    BearerToken,
    ConnectionStatus,
    OAuthApp,
    OAuthConnection,
    OktaClient,
    SSWSToken,
    TokenConnection,
    __version__,
)
from tests.support.constants import APP_ID, CONNECTION_BODY, SECRET
from tests.support.retry import fast_retry
from tests.support.scripted import ScriptedServer

BASE = f"/api/v1/apps/{APP_ID}/connections/default"


async def test_get_sends_accept_ua_ssws_and_no_content_type(
    server: ScriptedServer, client: OktaClient
) -> None:
    conn = await client.connections.get(APP_ID)
    (seen,) = server.seen
    assert (seen.method, seen.path, seen.query) == ("GET", BASE, {})
    assert seen.headers["Accept"] == "application/json"
    assert seen.headers["Authorization"] == f"SSWS {SECRET}"
    assert "Content-Type" not in seen.headers
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    aio = ".".join(aiohttp.__version__.split(".")[:2])
    assert seen.headers["User-Agent"] == f"okta-connections/{__version__} python/{py} aiohttp/{aio}"
    assert conn.status is ConnectionStatus.ENABLED
    assert conn.auth_scheme is AuthScheme.TOKEN
    assert conn.links.deactivate is not None
    assert conn.links.deactivate.allow == ("POST",)
    assert conn.links.activate is None


async def test_user_agent_suffix(server: ScriptedServer) -> None:
    async with OktaClient(
        server.url, auth=SSWSToken(SECRET), user_agent_suffix="provisioner/2.1"
    ) as okta:
        await okta.connections.get(APP_ID)
    assert server.seen[0].headers["User-Agent"].endswith(" provisioner/2.1")


@pytest.mark.parametrize(
    ("request_model", "activate", "query", "body"),
    [
        (
            TokenConnection(token="tok", base_url="https://scim.example/1/scim"),
            True,
            {"activate": "true"},
            {
                "baseUrl": "https://scim.example/1/scim",
                "profile": {"authScheme": "TOKEN", "token": "tok"},
            },
        ),
        (
            TokenConnection(token="tok"),
            None,
            {},
            {"profile": {"authScheme": "TOKEN", "token": "tok"}},
        ),
        (
            OAuthConnection(client_id="0oahub", rotation_mode="AUTO"),
            False,
            {"activate": "false"},
            {
                "profile": {
                    "authScheme": "OAUTH2",
                    "clientId": "0oahub",
                    "signing": {"rotationMode": "AUTO"},
                }
            },
        ),
        (OAuthConnection(), None, {}, {"profile": {"authScheme": "OAUTH2"}}),
        (
            OAuthConnection(admin_username="admin@acme", admin_password="pw"),
            None,
            {},
            {
                "profile": {
                    "authScheme": "OAUTH2",
                    "settings": {"adminUsername": "admin@acme", "adminPassword": "pw"},
                }
            },
        ),
    ],
)
async def test_update_body_and_query(
    server: ScriptedServer,
    client: OktaClient,
    request_model: TokenConnection | OAuthConnection,
    activate: bool | None,
    query: dict[str, str],
    body: dict[str, object],
) -> None:
    await client.connections.update(APP_ID, request_model, activate=activate)
    (seen,) = server.seen
    assert (seen.method, seen.path, seen.query) == ("POST", BASE, query)
    assert seen.headers["Content-Type"] == "application/json"
    assert json.loads(seen.body) == body


@pytest.mark.parametrize("status", [200, 201])
async def test_update_accepts_200_and_201(
    server: ScriptedServer, client: OktaClient, status: int
) -> None:
    server.add(status, json_body=CONNECTION_BODY)
    conn = await client.connections.update(APP_ID, TokenConnection(token="t"))
    assert conn.status == "ENABLED"


@pytest.mark.parametrize(
    ("method_name", "suffix"),
    [("activate", "/lifecycle/activate"), ("deactivate", "/lifecycle/deactivate")],
)
async def test_lifecycle_posts_have_content_length_zero(
    server: ScriptedServer, client: OktaClient, method_name: str, suffix: str
) -> None:
    server.add(204)
    result = await getattr(client.connections, method_name)(APP_ID)
    assert result is None
    (seen,) = server.seen
    assert (seen.method, seen.path) == ("POST", BASE + suffix)
    assert seen.headers["Content-Length"] == "0"
    assert "Content-Type" not in seen.headers
    assert seen.body == b""


async def test_get_jwks(server: ScriptedServer, client: OktaClient) -> None:
    key = {
        "kid": "k1",
        "kty": "RSA",
        "alg": "RSA",
        "use": "sig",
        "e": "AQAB",
        "n": "xyz",
        "status": "ACTIVE",
    }
    server.add(200, json_body={"jwks": {"keys": [key]}})
    jwks = await client.connections.get_jwks(APP_ID)
    assert server.seen[0].path == BASE + "/jwks"
    assert jwks.keys[0].kid == "k1"
    assert jwks.find("k1") is jwks.keys[0]
    assert jwks.to_dict() == {"keys": [key]}  # unknown fields kept in the raw key


@pytest.mark.parametrize("app_name", [OAuthApp.SLACK, "slack"])
async def test_verify_path_and_encoded_query(
    server: ScriptedServer, client: OktaClient, app_name: OAuthApp | str
) -> None:
    server.add(204)
    await client.connections.verify(app_name, APP_ID, code="a/b+c=d&e", state="st#1")
    (seen,) = server.seen
    assert (seen.method, seen.path) == ("POST", f"/api/v1/apps/slack/{APP_ID}/oauth2/callback")
    assert seen.query == {"code": "a/b+c=d&e", "state": "st#1"}
    assert seen.headers["Content-Length"] == "0"


async def test_bearer_static_and_provider(server: ScriptedServer) -> None:
    async with OktaClient(server.url, auth=BearerToken("at-1")) as okta:
        await okta.connections.get(APP_ID)
    tokens = iter(["at-2", "at-3"])

    async def provider() -> str:
        return next(tokens)

    async with OktaClient(server.url, auth=BearerToken(provider)) as okta:
        await okta.connections.get(APP_ID)
    assert [s.headers["Authorization"] for s in server.seen] == ["Bearer at-1", "Bearer at-2"]


async def test_bearer_provider_replays_once_after_401_with_fresh_token(
    server: ScriptedServer,
) -> None:
    tokens = iter(["old", "new", "new", "newer"])

    async def provider() -> str:
        return next(tokens)

    server.add(401, json_body={"errorCode": "E0000011", "errorSummary": "Invalid token provided"})
    async with OktaClient(server.url, auth=BearerToken(provider), retry=fast_retry()) as okta:
        await okta.connections.get(APP_ID)
    assert [s.headers["Authorization"] for s in server.seen] == ["Bearer old", "Bearer new"]
    assert "X-Okta-Retry-Count" not in server.seen[1].headers  # a replay is not a retry


async def test_auth_replay_happens_at_most_once(server: ScriptedServer) -> None:
    from okta_connections import UnauthorizedError

    counter = iter(range(100))

    async def provider() -> str:
        return f"tok{next(counter)}"  # always "fresh": a naive strategy would loop

    for _ in range(5):
        server.add(401, json_body={"errorCode": "E0000011"})
    async with OktaClient(server.url, auth=BearerToken(provider), retry=fast_retry()) as okta:
        with pytest.raises(UnauthorizedError) as info:
            await okta.connections.get(APP_ID)
    assert len(server.seen) == 2
    assert info.value.attempts == 2


async def test_retry_carries_okta_retry_headers(server: ScriptedServer, client: OktaClient) -> None:
    server.add(503, json_body={"errorCode": "E0000009"}, headers={"X-Okta-Request-Id": "reqFIRST"})
    server.add(503, json_body={"errorCode": "E0000009"})
    await client.connections.get(APP_ID)
    assert len(server.seen) == 3
    assert "X-Okta-Retry-For" not in server.seen[0].headers
    assert server.seen[1].headers["X-Okta-Retry-For"] == "reqFIRST"
    assert server.seen[1].headers["X-Okta-Retry-Count"] == "1"
    assert server.seen[2].headers["X-Okta-Retry-For"] == "reqFIRST"
    assert server.seen[2].headers["X-Okta-Retry-Count"] == "2"
