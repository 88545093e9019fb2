"""The apps routes of FakeOkta: Okta-shaped app objects, the list's filters and page
size, ``GET /api/v1/apps/{id}`` and the routes outside the fake's scope (issue #25,
items 2, 7 and 8)."""

from __future__ import annotations

import pytest

from okta_connections.testing import FakeOkta
from tests.support.fake_http import Api


async def _list(api: Api, **params: str) -> list[dict[str, object]]:
    reply = await api.call("GET", "/api/v1/apps", params=params)
    assert reply.status == 200, reply.body
    body = reply.json()
    assert isinstance(body, list)
    return body


async def test_every_app_carries_settings_and_credentials(api: Api, fake: FakeOkta) -> None:
    listed = await _list(api, limit="200")
    assert len(listed) == len(fake.apps)
    for app in listed:
        assert isinstance(app["settings"], dict) and "app" in app["settings"]
        assert isinstance(app["credentials"], dict)
        assert {"accessibility", "visibility", "features", "_links"} <= app.keys()
    oidc = [a for a in listed if a["signOnMode"] == "OPENID_CONNECT"]
    assert oidc and all("oauthClient" in a["credentials"] for a in oidc)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("id", 1),
        ("credentials.signing.kid", 1),
        ("settings.slo.enabled eq true", 0),
        ("settings.slo.enabled eq false", 40),
        ('user.id eq "00u1ab2CD3ef4GH5ij6"', 0),
        ('group.id eq "00g1ab2CD3ef4GH5ij6"', 0),
    ],
)
async def test_list_takes_the_spec_filters(
    api: Api, fake: FakeOkta, expression: str, expected: int
) -> None:
    first = (await _list(api, limit="1"))[0]
    if expression == "id":
        expression = f'id eq "{first["id"]}"'
    elif expression == "credentials.signing.kid":
        kid = first["credentials"]["signing"]["kid"]  # type: ignore[index]
        expression = f'credentials.signing.kid eq "{kid}" and status eq "{first["status"]}"'
    found = await _list(api, filter=expression, limit="200")
    assert len(found) == expected
    if expected == 1:
        assert found[0]["id"] == first["id"]


async def test_list_takes_the_spec_default_limit(api: Api) -> None:
    assert len(await _list(api, limit="-1")) == 20
    for bad in ("0", "-2", "x"):
        reply = await api.call("GET", "/api/v1/apps", params={"limit": bad})
        assert (reply.status, reply.error_code) == (400, "E0000001")


async def test_get_app_serves_the_app_object(api: Api, fake: FakeOkta) -> None:
    app = fake.apps[3]
    reply = await api.call("GET", f"/api/v1/apps/{app.id}")
    assert reply.status == 200
    listed = [a for a in await _list(api, limit="200") if a["id"] == app.id]
    assert reply.json() == listed[0]
    fake.assert_called("get_app", app_id=app.id, status=200, times=1)
    missing = await api.call("GET", "/api/v1/apps/0oaDOESNOTEXIST1234")
    assert (missing.status, missing.error_code) == (404, "E0000007")


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/v1/apps"), ("PUT", "/api/v1/apps/{id}"), ("DELETE", "/api/v1/apps/{id}")],
)
async def test_routes_outside_the_scope_answer_501(
    api: Api, fake: FakeOkta, method: str, path: str
) -> None:
    reply = await api.call(method, path.format(id=fake.apps[0].id), json_body={"label": "x"})
    assert reply.status == 501
    assert reply.error_code == "E0000060"
    assert "outside FakeOkta's scope" in reply.json()["errorSummary"]
    assert fake.app(fake.apps[0].id).label != "x"
