"""FakeOkta: the seeded estate, add_app, the request log, reprs, listing, lifecycle."""

from __future__ import annotations

import asyncio
import collections
import re
import time

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDict

from okta_connections.testing import FakeApp, FakeOkta, RecordedRequest, UnknownAppError
from tests.support.fake_http import Api, first

APP_ID = re.compile(r"^0oa[A-Za-z0-9]{17}$")
NO_PROVISIONING = {"bookmark", "template_saml_2_0", "oidc_client", "template_swa"}


def snapshot(app: FakeApp) -> tuple[object, ...]:
    return (
        app.id,
        app.name,
        app.label,
        app.status,
        app.auth_scheme,
        app.connection_status,
        app.base_url,
        app.token,
        app.client_id,
        app.rotation_mode,
        app.consent_state,
        tuple(k["kid"] for k in app.jwks),
    )


def test_seeded_ids_are_okta_shaped_unique_and_deterministic() -> None:
    a = FakeOkta(apps=300, seed=11)
    b = FakeOkta(apps=300, seed=11)
    c = FakeOkta(apps=300, seed=12)
    assert all(APP_ID.match(app.id) for app in a.apps)
    assert len({app.id for app in a.apps}) == 300
    assert [snapshot(x) for x in a.apps] == [snapshot(x) for x in b.apps]
    assert {x.id for x in a.apps}.isdisjoint({x.id for x in c.apps})
    # add_app continues the seeded stream: deterministic too.
    assert a.add_app("slack").id == b.add_app("slack").id


def test_default_estate_mix() -> None:
    fake = FakeOkta()
    apps = fake.apps
    assert len(apps) == 60
    names = collections.Counter(app.name for app in apps)
    assert names.most_common(1)[0][0] == "okta_org2org"
    assert {"okta_org2org", "zscalerbyz", "google", "office365", "slack", "zoomus"} <= set(names)
    no_prov = [app for app in apps if app.name in NO_PROVISIONING]
    assert len(no_prov) >= 0.15 * len(apps)
    for app in no_prov:
        assert (app.auth_scheme, app.connection_status) == ("UNKNOWN", "UNKNOWN")
    # Every kind of app is among the first eight, so small estates have one of each.
    first_eight = {app.name for app in FakeOkta(apps=8).apps}
    assert {"okta_org2org", "zscalerbyz", "google", "office365", "slack", "zoomus"} <= first_eight
    assert first_eight & NO_PROVISIONING


def test_initial_connection_states_are_varied() -> None:
    fake = FakeOkta(apps=400, seed=5)
    states: dict[str, set[tuple[object, ...]]] = collections.defaultdict(set)
    for app in fake.apps:
        states[app.name].add(
            (app.auth_scheme, app.connection_status, app.rotation_mode, app.consent_state)
        )
    assert {
        ("UNKNOWN", "UNKNOWN", None, None),
        ("TOKEN", "DISABLED", None, None),
        ("TOKEN", "ENABLED", None, None),
        ("OAUTH2", "ENABLED", "AUTO", None),
    } <= states["okta_org2org"]
    assert {
        ("UNKNOWN", "UNKNOWN", None, None),
        ("TOKEN", "DISABLED", None, None),
        ("TOKEN", "ENABLED", None, None),
    } <= states["zscalerbyz"]
    for name in ("google", "slack"):
        assert {
            ("UNKNOWN", "UNKNOWN", None, None),
            ("OAUTH2", "ENABLED", None, "verified"),
            ("OAUTH2", "DISABLED", None, "pending"),
        } <= states[name], name
    for app in fake.apps:
        if app.auth_scheme == "TOKEN":
            assert app.token and app.base_url
        if app.has_jwks:
            assert app.jwks and app.client_id and APP_ID.match(app.client_id)
    labels = [app.label for app in fake.apps if app.name == "okta_org2org"]
    assert all(re.match(r"^Org2Org [a-z]+-[a-z]+ \d+$", label) for label in labels)
    assert len(set(labels)) == len(labels)


def test_app_lookup_and_errors() -> None:
    fake = FakeOkta(apps=5)
    app = fake.apps[2]
    assert fake.app(app.id) is app
    with pytest.raises(UnknownAppError) as info:
        fake.app("0oaNOPE")
    assert isinstance(info.value, KeyError)
    assert str(info.value) == "no app with id '0oaNOPE' in this FakeOkta org"
    listed = fake.apps
    listed.clear()  # a copy: the org is untouched
    assert len(fake.apps) == 5


def test_add_app_validation() -> None:
    fake = FakeOkta(apps=1)
    existing = fake.apps[0].id
    with pytest.raises(ValueError, match="already in use"):
        fake.add_app("slack", app_id=existing)
    with pytest.raises(ValueError, match="token connections"):
        fake.add_app("slack", connection="token")
    with pytest.raises(ValueError, match="OAuth connections"):
        fake.add_app("zscalerbyz", connection="oauth")
    with pytest.raises(ValueError, match="no provisioning"):
        fake.add_app("bookmark", connection="token")
    with pytest.raises(ValueError, match="unconfigured"):
        fake.add_app("slack", status="ENABLED")
    with pytest.raises(ValueError, match="pending consent"):
        fake.add_app("slack", connection="oauth", consented=False, status="ENABLED")
    app = fake.add_app("google", app_id="0oaCUSTOMid000000001", label="Google (EU)")
    assert fake.app("0oaCUSTOMid000000001") is app
    assert app.label == "Google (EU)"
    assert fake.apps[-1] is app
    assert len(fake.apps) == 2


def test_reprs_hide_secrets() -> None:
    fake = FakeOkta(apps=40, token="00SUPERsecretTOKENvalue")
    assert "00SUPERsecretTOKENvalue" not in repr(fake)
    zs = fake.add_app("zscalerbyz", connection="token", token="zs-SECRET")
    o365 = fake.add_app("office365", connection="oauth", admin_password="o365-SECRET")
    assert "zs-SECRET" not in repr(zs) and "o365-SECRET" not in repr(o365)
    assert "zscalerbyz" in repr(zs)
    for app in fake.apps:
        for secret in (app.token, app.admin_password):
            if secret:
                assert secret not in repr(app)
    record = RecordedRequest(
        method="GET",
        path="/x",
        query={},
        headers=CIMultiDict(
            {"Authorization": "SSWS 00SUPERsecretTOKENvalue", "Accept": "application/json"}
        ),
        body=b"",
        status=200,
        operation=None,
        app_id=None,
        request_id="req1",
    )
    assert "00SUPERsecretTOKENvalue" not in repr(record)
    assert "<redacted>" in repr(record)
    assert record.headers["Authorization"] == "SSWS 00SUPERsecretTOKENvalue"  # still usable


async def test_request_log(api: Api, fake: FakeOkta) -> None:
    fake.requests.clear()
    slack = first(fake, "slack")
    zs = fake.add_app("zscalerbyz", connection="token")
    await api.get(zs.id)
    await api.update(zs.id, {"profile": {"authScheme": "TOKEN", "token": "tk"}}, "true")
    await api.deactivate(zs.id)
    await api.activate(zs.id)
    await api.jwks(zs.id)
    await api.verify("slack", slack.id, "c0de", "st4te")
    await api.call("GET", "/api/v1/apps", params={"limit": "2"})
    await api.call("GET", "/elsewhere")
    log = fake.requests
    assert [(r.method, r.operation, r.app_id, r.status) for r in log] == [
        ("GET", "get", zs.id, 200),
        ("POST", "update", zs.id, 200),
        ("POST", "deactivate", zs.id, 204),
        ("POST", "activate", zs.id, 204),
        ("GET", "get_jwks", zs.id, 404),
        ("POST", "verify", slack.id, 400),
        ("GET", "list_apps", None, 200),
        ("GET", None, None, 404),
    ]
    update = log[1]
    assert update.path == f"/api/v1/apps/{zs.id}/connections/default"
    assert update.query == {"activate": "true"}
    assert update.json() == {"profile": {"authScheme": "TOKEN", "token": "tk"}}
    assert update.headers["Content-Type"].startswith("application/json")
    assert update.headers["authorization"] == f"SSWS {fake.token}"  # case-insensitive
    assert log[2].headers["Content-Length"] == "0"
    assert log[5].query == {"code": "c0de", "state": "st4te"}
    assert all(r.request_id.startswith("req") for r in log)
    assert fake.count() == 8
    assert fake.count("activate") == 1
    assert fake.count(status=404) == 2
    assert fake.count(operation="get_jwks", status=404) == 1
    assert fake.count(app_id=zs.id) == 5
    assert fake.count("verify", 204) == 0


async def test_record_requests_off(http: aiohttp.ClientSession) -> None:
    async with FakeOkta(apps=2, record_requests=False) as fake:
        api = Api(fake, http)
        assert (await api.get(fake.apps[0].id)).status == 200
        assert fake.requests == []


async def test_list_apps_pages_and_filters(api: Api, fake: FakeOkta) -> None:
    seen: list[str] = []
    url: str | None = "/api/v1/apps?limit=7"
    pages = 0
    while url:
        reply = await api.call("GET", url)
        assert reply.status == 200
        page = reply.json()
        assert len(page) <= 7
        seen += [app["id"] for app in page]
        links = dict(
            (m.group(2), m.group(1))
            for m in re.finditer(r'<([^>]+)>; rel="(\w+)"', reply.headers["Link"])
        )
        assert "self" in links
        url = links.get("next")
        pages += 1
    assert seen == [app.id for app in fake.apps]
    assert pages == 6  # 40 apps: 5 full pages of 7 and one of 5, no empty page

    body = (await api.call("GET", "/api/v1/apps")).json()
    assert len(body) == 20  # the default page
    app = body[0]
    assert set(app) >= {"id", "name", "label", "status", "created", "lastUpdated", "signOnMode"}
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", app["created"])

    reply = await api.call(
        "GET",
        "/api/v1/apps",
        params={"filter": 'name eq "okta_org2org" and status eq "ACTIVE"', "limit": "200"},
    )
    expected = [a.id for a in fake.apps if a.name == "okta_org2org" and a.status == "ACTIVE"]
    assert [a["id"] for a in reply.json()] == expected
    assert 'rel="next"' not in reply.headers["Link"]

    reply = await api.call("GET", "/api/v1/apps", params={"q": "sla", "limit": "200"})
    assert {a["name"] for a in reply.json()} == {"slack"}

    for params in ({"filter": 'label sw "x"'}, {"limit": "0"}, {"limit": "ten"}):
        reply = await api.call("GET", "/api/v1/apps", params=params)
        assert reply.status == 400, params
        assert reply.error_code == "E0000001"


async def test_lifecycle_errors_and_clean_close(http: aiohttp.ClientSession) -> None:
    fake = FakeOkta(apps=1)
    with pytest.raises(RuntimeError, match="not serving"):
        _ = fake.org_url
    await fake.start()
    with pytest.raises(RuntimeError, match="already started"):
        await fake.start()
    api = Api(fake, http)
    assert (await api.get(fake.apps[0].id)).status == 200
    await fake.close()
    await fake.close()  # idempotent
    with pytest.raises(aiohttp.ClientConnectionError):
        await api.get(fake.apps[0].id)


async def test_embedded_web_app_uses_request_origin(http: aiohttp.ClientSession) -> None:
    fake = FakeOkta(apps=3)
    runner = web.AppRunner(fake.web_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        origin = f"http://127.0.0.1:{port}"
        app = fake.apps[0]
        async with http.get(
            f"{origin}/api/v1/apps/{app.id}/connections/default",
            headers={"Authorization": f"SSWS {fake.token}"},
        ) as resp:
            body = await resp.json()
        assert body["_links"]["self"]["href"].startswith(origin + "/api/v1/apps/")
        fake.org_url = origin + "/"
        assert fake.org_url == origin
    finally:
        await runner.cleanup()


async def test_thousand_requests_under_concurrency(http: aiohttp.ClientSession) -> None:
    async with FakeOkta(apps=1000, seed=1) as fake:
        api = Api(fake, http)
        targets = [a for a in fake.apps if a.supports_provisioning]
        sem = asyncio.Semaphore(50)

        async def one(app: FakeApp) -> int:
            async with sem:
                return (await api.get(app.id)).status

        started = time.perf_counter()
        statuses = await asyncio.gather(*(one(a) for a in targets))
        elapsed = time.perf_counter() - started
        assert set(statuses) == {200}
        assert len(statuses) == 800
        # About 0.5 s on an idle 2-core machine: a loose bound (20x, and the 10 s floor for
        # any wall-clock bound) that only a fake gone quadratic would break.
        assert elapsed < 10, elapsed
        assert fake.count(operation="get") == 800


async def test_no_secret_in_state_or_request_reprs(fake: FakeOkta, api: object) -> None:
    from tests.support.fake_http import Api

    assert isinstance(api, Api)
    fake.add_bearer_token("bearer-SECRET-value")
    slack = fake.add_app("slack", connection="oauth", consented=False)
    url = fake.consent(slack.id)
    code = url.split("code=")[1].split("&")[0]
    await api.call("POST", url)
    text = repr(fake.state) + repr(list(fake.requests)) + repr(fake.snapshot())
    for secret in (fake.token, "bearer-SECRET-value", code):
        assert secret not in text
    with pytest.raises(AssertionError) as info:
        fake.assert_called("activate")
    assert code not in str(info.value)
    assert "code=<redacted>" in str(info.value)
