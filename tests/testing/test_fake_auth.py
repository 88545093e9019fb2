"""FakeOkta: SSWS and Bearer auth, scopes, and the 411 for a POST without Content-Length."""

from __future__ import annotations

import asyncio
import json

import pytest

from okta_connections.testing import FakeOkta
from tests.support.fake_http import Api, FakeClock, Reply, first


def assert_401(reply: Reply) -> None:
    assert reply.status == 401
    body = reply.json()
    assert body["errorCode"] == "E0000011"
    assert body["errorSummary"] == "Invalid token provided"
    assert body["errorLink"] == "E0000011"
    assert body["errorCauses"] == []


@pytest.mark.parametrize(
    "auth",
    [
        None,
        "",
        "SSWS",
        "SSWS not-a-registered-token",
        "Bearer not-a-registered-token",
        "Basic dXNlcjpwYXNz",
        "DPoP something",
    ],
)
async def test_missing_or_invalid_credentials_get_401(
    api: Api, fake: FakeOkta, auth: str | None
) -> None:
    app = fake.apps[0]
    assert_401(await api.get(app.id, auth=auth))
    assert_401(await api.activate(app.id, auth=auth))
    assert fake.requests[-1].status == 401


async def test_every_route_requires_auth(api: Api, fake: FakeOkta) -> None:
    app = first(fake, "slack")
    before = (app.auth_scheme, app.connection_status, app.consent_state)
    for reply in (
        await api.get(app.id, auth=None),
        await api.update(app.id, {"profile": {"authScheme": "OAUTH2"}}, auth=None),
        await api.activate(app.id, auth=None),
        await api.deactivate(app.id, auth=None),
        await api.jwks(app.id, auth=None),
        await api.verify("slack", app.id, "c", "s", auth=None),
        await api.call("GET", "/api/v1/apps", auth=None),
        await api.call("GET", "/api/v1/unknown", auth=None),
    ):
        assert_401(reply)
    assert (app.auth_scheme, app.connection_status, app.consent_state) == before
    assert fake.count(status=401) == 8


async def test_ssws_scheme_is_case_insensitive_and_extra_tokens_work(
    api: Api, fake: FakeOkta
) -> None:
    app = fake.apps[0]
    assert (await api.get(app.id, auth=f"ssws {fake.token}")).status == 200
    fake.add_token("00second-token")
    assert (await api.get(app.id, auth="SSWS 00second-token")).status == 200
    # Auth schemes are not interchangeable: an SSWS token is not a bearer token.
    assert_401(await api.get(app.id, auth=f"Bearer {fake.token}"))


async def test_revoked_tokens_get_401(api: Api, fake: FakeOkta) -> None:
    app = fake.apps[0]
    fake.add_token("00other")
    fake.add_bearer_token("at-1")
    assert (await api.get(app.id, auth="SSWS 00other")).status == 200
    assert (await api.get(app.id, auth="Bearer at-1")).status == 200
    fake.revoke_token("00other")
    fake.revoke_token("at-1")
    assert_401(await api.get(app.id, auth="SSWS 00other"))
    assert_401(await api.get(app.id, auth="Bearer at-1"))
    fake.revoke_token(fake.token)
    assert_401(await api.get(app.id))
    with pytest.raises(KeyError):
        fake.revoke_token("never-registered")


async def test_bearer_scopes(api: Api, fake: FakeOkta) -> None:
    app = fake.add_app("zscalerbyz", connection="token")
    fake.add_bearer_token("read-only", ["okta.apps.read"])
    fake.add_bearer_token("manage", ["okta.apps.manage"])
    fake.add_bearer_token("other", ["okta.users.read"])
    fake.add_bearer_token("space-separated", "okta.apps.read okta.apps.manage")

    # GETs: read or manage
    assert (await api.get(app.id, auth="Bearer read-only")).status == 200
    assert (await api.get(app.id, auth="Bearer manage")).status == 200
    # POSTs: manage only
    for reply in (
        await api.activate(app.id, auth="Bearer read-only"),
        await api.update(
            app.id, {"profile": {"authScheme": "TOKEN", "token": "x"}}, auth="Bearer read-only"
        ),
        await api.get(app.id, auth="Bearer other"),
    ):
        assert reply.status == 403
        body = reply.json()
        assert body["errorCode"] == "E0000006"
        assert body["errorSummary"] == "You do not have permission to perform the requested action"
    # JWKS lists 401, not 403, for a credential without the scope (reference §3.5).
    hub = fake.add_app("okta_org2org", connection="oauth")
    for token in ("other", "manage-less"):
        fake.add_bearer_token("manage-less", ["okta.users.manage"])
        reply = await api.jwks(hub.id, auth=f"Bearer {token}")
        assert reply.status == 401
        assert reply.error_code == "E0000011"
    assert (await api.jwks(hub.id, auth="Bearer read-only")).status == 200
    assert app.connection_status == "DISABLED"
    assert app.token != "x"
    assert (await api.activate(app.id, auth="Bearer manage")).status == 204
    assert (await api.deactivate(app.id, auth="Bearer space-separated")).status == 204


async def test_bearer_token_expires_on_the_fake_clock(
    api: Api, fake: FakeOkta, clock: FakeClock
) -> None:
    fake.add_bearer_token("short-lived", expires_at=clock.now + 3600)
    app = fake.apps[0]
    assert (await api.get(app.id, auth="Bearer short-lived")).status == 200
    clock.advance(3600)
    assert_401(await api.get(app.id, auth="Bearer short-lived"))


async def raw_request(fake: FakeOkta, head: str) -> tuple[int, dict[str, str], bytes]:
    """Send a hand-written HTTP/1.1 request (so no client library adds headers)."""
    host, port = fake.org_url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(head.replace("\n", "\r\n").encode() + b"\r\n")
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout=10)  # generous: fails, never hangs
    finally:
        writer.close()
        await writer.wait_closed()
    header_blob, _, body = raw.partition(b"\r\n\r\n")
    lines = header_blob.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


async def test_post_without_body_or_content_length_is_411(fake: FakeOkta) -> None:
    app = fake.add_app("zscalerbyz", connection="token")
    path = f"/api/v1/apps/{app.id}/connections/default/lifecycle/activate"
    head = (
        f"POST {path} HTTP/1.1\nHost: 127.0.0.1\nAuthorization: SSWS {fake.token}\n"
        "Accept: application/json\nConnection: close\n"
    )
    status, headers, body = await raw_request(fake, head)
    assert status == 411
    error = json.loads(body)
    assert error["errorCode"] == "E0000001"
    assert "Content-Length" in error["errorSummary"]
    assert headers["content-type"].startswith("application/json")
    assert headers["x-okta-request-id"].startswith("req")
    assert app.connection_status == "DISABLED"
    assert fake.requests[-1].status == 411
    assert fake.requests[-1].operation == "activate"

    # The same request with Content-Length: 0 is fine.
    status, _, body = await raw_request(fake, head + "Content-Length: 0\n")
    assert status == 204
    assert body == b""
    assert fake.app(app.id).connection_status == "ENABLED"


async def test_chunked_empty_post_is_not_411(fake: FakeOkta) -> None:
    app = fake.add_app("zscalerbyz", connection="token")
    path = f"/api/v1/apps/{app.id}/connections/default/lifecycle/activate"
    head = (
        f"POST {path} HTTP/1.1\nHost: 127.0.0.1\nAuthorization: SSWS {fake.token}\n"
        "Transfer-Encoding: chunked\nConnection: close\n\n0\n"
    )
    status, _, _ = await raw_request(fake, head)
    assert status == 204


async def test_get_without_content_length_is_fine(fake: FakeOkta) -> None:
    app = fake.apps[0]
    head = (
        f"GET /api/v1/apps/{app.id}/connections/default HTTP/1.1\nHost: 127.0.0.1\n"
        f"Authorization: SSWS {fake.token}\nConnection: close\n"
    )
    status, _, _ = await raw_request(fake, head)
    assert status == 200
