"""Every row of docs/testing.md's table of inventions, checked against the fake.

Each row of the table ("What the fake invents") starts with an id in backticks, e.g.
`` `activate-unconfigured` ``: lower-case words joined by ``-``, the first word naming the
area (``activate``, ``lifecycle``, ``verify``, ``update``, ``list``, ``apps``, ``auth``,
``limits``, ``faults``, ``http``, ``token``...). Ids are names, not numbers, so rows
added later (anywhere in the table, usually at its end) never renumber others. Here, one
check per id (``@check("the-id")``): the test fails when a row has no check, a check
has no row, a row has no id or an id appears twice.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from yarl import URL

from okta_connections.auth import _jose
from okta_connections.auth._keys import SigningKey, load_signing_key
from okta_connections.testing import FakeOkta
from tests.support.fake_http import Api, FakeClock, Reply
from tests.support.keys import ec_key, pem, rsa_key

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
HEADING = "## What the fake invents"
ID = re.compile(r"^`([a-z0-9]+(?:-[a-z0-9]+)*)`$")

Check = Callable[[FakeOkta, Api, FakeClock], Awaitable[None]]
CHECKS: dict[str, Check] = {}


def check(row_id: str) -> Callable[[Check], Check]:
    def register(function: Check) -> Check:
        assert row_id not in CHECKS, f"two checks for {row_id}"
        CHECKS[row_id] = function
        return function

    return register


def table_rows() -> list[list[str]]:
    """The cells of each body row of the table of inventions."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split(HEADING, 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert len(rows) > 2, "the table of inventions is missing"
    body = rows[2:]  # the header and the |---| line
    return [[cell.strip() for cell in row.strip().strip("|").split(" | ")] for row in body]


def row_ids() -> list[str]:
    ids = []
    for cells in table_rows():
        match = ID.match(cells[0])
        assert match, f"a row of the table of inventions has no id: {' | '.join(cells)[:120]}"
        ids.append(match.group(1))
    return ids


def test_every_row_has_one_check_and_every_check_a_row() -> None:
    ids = row_ids()
    assert len(ids) == len(set(ids)), f"ids used twice: {[i for i in ids if ids.count(i) > 1]}"
    assert not set(ids) - set(CHECKS), f"rows without a check: {sorted(set(ids) - set(CHECKS))}"
    assert not set(CHECKS) - set(ids), f"checks without a row: {sorted(set(CHECKS) - set(ids))}"


def _conn(app_id: str) -> str:
    return f"/api/v1/apps/{app_id}/connections/default"


def _assert_error(reply: Reply, status: int, code: str, summary: str | None = None) -> None:
    assert reply.status == status, reply.body
    assert reply.error_code == code
    if summary is not None:
        assert reply.json()["errorSummary"] == summary


# ---------------------------------------------------------------------- refusals


@check("activate-unconfigured")
async def _activate_unconfigured(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    app = fake.add_app("zscalerbyz")
    _assert_error(await api.activate(app.id), 400, "E0000001", "Api validation failed: connection")
    assert fake.app(app.id).connection_status == "UNKNOWN"
    fake.set_refusal("activate_unconfigured", 403)
    assert (await api.activate(app.id)).status == 403


@check("activate-pending-consent")
async def _activate_pending(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    app = fake.add_app("slack", connection="oauth", consented=False)
    _assert_error(await api.activate(app.id), 400, "E0000001", "Api validation failed: connection")
    assert fake.app(app.id).connection_status == "DISABLED"


@check("lifecycle-without-provisioning")
async def _without_provisioning(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    app = fake.add_app("bookmark")
    for call in (api.activate, api.deactivate):
        summary = "Api validation failed: provisioning"
        _assert_error(await call(app.id), 400, "E0000001", summary)


@check("verify-bad-code")
async def _verify_bad_code(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    app = fake.add_app("slack", connection="oauth", consented=False)
    reply = await api.verify("slack", app.id, "nope", "nope")
    _assert_error(reply, 400, "E0000001", "Api validation failed: code")
    reply = await api.verify("slack", app.id, "nope", None)
    _assert_error(reply, 400, "E0000001", "Api validation failed: state")


@check("refusal-204")
async def _refusal_204(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    fake.set_refusal("activate_pending_consent", 204)
    app = fake.add_app("slack", connection="oauth", consented=False)
    assert (await api.activate(app.id)).status == 204
    assert fake.app(app.id).connection_status == "DISABLED"
    assert fake.app(app.id).consent_pending


@check("deactivate-not-enabled")
async def _deactivate_not_enabled(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    disabled = fake.add_app("zscalerbyz", connection="token", status="DISABLED")
    unconfigured = fake.add_app("zscalerbyz")
    for app in (disabled, unconfigured):
        before = fake.app(app.id).connection_status
        assert (await api.deactivate(app.id)).status == 204
        assert fake.app(app.id).connection_status == before


@check("token-body-undecodable")
async def _token_body(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for data, headers in ((b"grant_type=%zz", form), (b"\xff\xfe", form), (b"{}", {})):
        reply = await api.call("POST", "/oauth2/v1/token", data=data, auth=None, headers=headers)
        assert reply.status == 400 and reply.json()["error"] == "invalid_request"


# ---------------------------------------------------------------------- connections


@check("lifecycle-links")
async def _lifecycle_links(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    cases = {
        fake.add_app("zscalerbyz", connection="token", status="DISABLED").id: {"activate"},
        fake.add_app("zscalerbyz", connection="token", status="ENABLED").id: {"deactivate"},
        fake.add_app("zscalerbyz").id: set(),
    }
    for app_id, expected in cases.items():
        links = set((await api.get(app_id)).json()["_links"]) - {"self"}
        assert links == expected


@check("consent-pending-link")
async def _consent_link(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    app = fake.add_app("slack", connection="oauth", consented=False)
    body = (await api.get(app.id)).json()
    assert body["status"] == "DISABLED"
    assert URL(body["_links"]["authorize"]["href"]).path == f"/fake-consent/{app.id}"


# ---------------------------------------------------------------------- rate limits


@check("limits-default")
async def _limits_default(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    reply = await api.get(fake.apps[0].id)
    assert reply.headers["X-Rate-Limit-Limit"] == "1000000"
    assert int(reply.headers["X-Rate-Limit-Reset"]) == int(clock()) + 60
    assert fake.limits.enforce


@check("limits-windows")
async def _limits_windows(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    clock.advance(0.7)
    first = await api.get(fake.apps[0].id)
    assert first.headers["X-Rate-Limit-Reset"] == str(int(clock()) + 60)
    clock.advance(60 - 0.7)  # the window's end: a new window
    assert int((await api.get(fake.apps[0].id)).headers["X-Rate-Limit-Reset"]) == int(clock()) + 60


@check("limits-buckets")
async def _limits_buckets(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    fake.set_rate_limit(1, 60)
    assert (await api.get(fake.apps[0].id)).status == 200
    assert (await api.call("GET", "/api/v1/apps")).status == 429  # the same bucket
    token = await api.call("POST", "/oauth2/v1/token", data=b"x=1", auth=None)
    assert token.status != 429  # the default bucket
    assert token.headers["X-Rate-Limit-Remaining"] == "0"
    assert (await api.call("POST", "/oauth2/v1/token", data=b"x=1", auth=None)).status == 429
    assert fake.requests[-1].principal is None


@check("limits-principal-windows")
async def _principal_windows(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    fake.add_bearer_token("bearer-one")
    org = await api.get(fake.apps[0].id)
    clock.advance(5)
    mine = await api.get(fake.apps[0].id, auth="Bearer bearer-one")
    assert mine.headers["X-Rate-Limit-Reset"] == org.headers["X-Rate-Limit-Reset"]


@check("limits-principal-ceiling")
async def _principal_ceiling(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    fake.set_rate_limit(5, 60, principal_share=0.5)
    assert (await api.get(fake.apps[0].id)).headers["X-Rate-Limit-Limit"] == "2"
    fake.set_rate_limit(5, 60, principal_share=0.01)
    assert (await api.get(fake.apps[0].id)).headers["X-Rate-Limit-Limit"] == "1"


@check("limits-principals")
async def _principals(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    fake.add_token("00second-token")
    fake.add_bearer_token("bearer-one")
    for auth in (f"SSWS {fake.token}", "SSWS 00second-token", "Bearer bearer-one"):
        await api.get(fake.apps[0].id, auth=auth)
    principals = [r.principal for r in fake.requests]
    assert len(set(principals)) == 3
    assert principals[0] is not None and principals[0].startswith("ssws-")
    assert principals[2] is not None and principals[2].startswith("bearer-")


@check("limits-headers-shares")
async def _headers_shares(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    fake.set_rate_limit(10, 60, principal_share=0.5)
    assert (await api.get(fake.apps[0].id)).headers["X-Rate-Limit-Limit"] == "5"
    fake.set_rate_limit(10, 60, headers="org")
    assert (await api.get(fake.apps[0].id)).headers["X-Rate-Limit-Limit"] == "10"


@check("auth-no-credential-counted")
async def _no_credential(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    fake.set_rate_limit(2, 60, principal_share=0.5)
    assert (await api.get(fake.apps[0].id, auth=None)).status == 401
    assert (await api.get(fake.apps[0].id, auth=None)).status == 401
    assert (await api.get(fake.apps[0].id, auth=None)).status == 429  # the org's bucket
    assert fake.requests[0].principal is None


@check("http-check-order")
async def _check_order(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    # 411 before the credential; the credential before the route; the route before scope.
    status = await _raw_status(fake, f"POST {_conn(fake.apps[0].id)}/lifecycle/activate")
    assert status == 411
    assert (await api.call("GET", "/api/v1/nowhere", auth=None)).status == 401
    fake.add_bearer_token("read-only", scopes=["okta.apps.read"])
    assert (await api.call("POST", "/api/v1/nowhere", auth="Bearer read-only")).status == 404
    app = fake.apps[0]
    fake.fail(app.id, "activate", status=503)
    assert (await api.activate(app.id, auth="Bearer read-only")).status == 403  # scope first
    assert (await api.activate(app.id)).status == 503


@check("limits-principal-429")
async def _principal_429(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    fake.set_rate_limit(4, 60, principal_share=0.25, headers="org")
    fake.add_bearer_token("bearer-one")
    assert (await api.get(fake.apps[0].id)).status == 200
    assert (await api.get(fake.apps[0].id)).status == 429  # the token's ceiling: 1
    other = await api.get(fake.apps[0].id, auth="Bearer bearer-one")
    assert other.status == 200
    assert other.headers["X-Rate-Limit-Remaining"] == "2"  # 4 - 2: the 429 spent none


@check("limits-concurrency-429")
async def _concurrency(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    fake.set_concurrency_limit(1)
    fake.latency = 0.3
    replies = await asyncio.gather(*(api.get(fake.apps[0].id) for _ in range(2)))
    refused = [r for r in replies if r.status == 429]
    assert len(refused) == 1
    headers = refused[0].headers
    assert (headers["X-Rate-Limit-Limit"], headers["X-Rate-Limit-Remaining"]) == ("0", "0")
    assert headers["X-Rate-Limit-Reset"] == str(int(clock()) + 1)
    assert fake.limits.peek("apps", None, clock()).remaining == 1_000_000 - 1


@check("auth-jwks-scope-401")
async def _jwks_scope(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    hub = fake.add_app("okta_org2org", connection="oauth", client_id="0oahub")
    fake.add_bearer_token("no-apps-scope", scopes=["okta.users.read"])
    _assert_error(await api.jwks(hub.id, auth="Bearer no-apps-scope"), 401, "E0000011")
    _assert_error(await api.get(hub.id, auth="Bearer no-apps-scope"), 403, "E0000006")


@check("limits-event-name")
async def _event_name(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    fake.set_rate_limit(4, 60, principal_share=0.25)
    await api.get(fake.apps[0].id)
    assert (await api.get(fake.apps[0].id)).status == 429
    assert "system.operation.rate_limit.violation" in fake.requests[-1].events
    assert not fake.requests(event="system.client.rate_limit.violation")


@check("faults-error-bodies")
async def _fault_bodies(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    app = fake.apps[0]
    for status, code in ((429, "E0000047"), (503, "E0000009"), (404, "E0000007")):
        fake.fail_next(status)
        _assert_error(await api.get(app.id), status, code)
    fake.fail_next(500, error_code="E0000099", error_summary="mine")
    _assert_error(await api.get(app.id), 500, "E0000099", "mine")


@check("list-cursor-deleted")
async def _cursor_deleted(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    first = (await api.call("GET", "/api/v1/apps", params={"limit": "1"})).json()[0]
    fake.remove_app(first["id"])
    reply = await api.call("GET", "/api/v1/apps", params={"after": first["id"]})
    assert reply.json() == [] and 'rel="next"' not in reply.headers["Link"]


@check("http-post-without-length")
async def _post_without_length(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    app = fake.add_app("zscalerbyz", connection="token")
    status = await _raw_status(fake, f"POST {_conn(app.id)}/lifecycle/activate", auth=True)
    assert status == 411
    assert fake.requests[-1].status == 411
    assert fake.app(app.id).connection_status == "DISABLED"


async def _raw_status(fake: FakeOkta, request_line: str, *, auth: bool = False) -> int:
    """The status of a hand-written request without Content-Length (no client adds one)."""
    host, port = fake.org_url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    head = f"{request_line} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
    if auth:
        head += f"Authorization: SSWS {fake.token}\r\n"
    try:
        writer.write(head.encode() + b"\r\n")
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()
        await writer.wait_closed()
    return int(raw.split(b" ", 2)[1])


# ---------------------------------------------------------------------- update


@check("update-token-required")
async def _token_required(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    app = fake.add_app("zscalerbyz")
    for profile in ({"authScheme": "TOKEN"}, {"authScheme": "TOKEN", "token": " "}):
        reply = await api.update(app.id, {"profile": profile})
        _assert_error(reply, 400, "E0000001", "Api validation failed: profile.token")
    assert fake.app(app.id).auth_scheme == "UNKNOWN"


@check("update-clientid-required")
async def _client_id_required(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    app = fake.add_app("okta_org2org")
    reply = await api.update(app.id, {"profile": {"authScheme": "OAUTH2"}})
    _assert_error(reply, 400, "E0000001", "Api validation failed: profile.clientId")


@check("update-office365-settings")
async def _office365_settings(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    app = fake.add_app("office365")
    reply = await api.update(app.id, {"profile": {"authScheme": "OAUTH2"}})
    _assert_error(reply, 400, "E0000001", "Api validation failed: profile.settings")
    settings = {"adminUsername": "admin@contoso.com"}
    reply = await api.update(app.id, {"profile": {"authScheme": "OAUTH2", "settings": settings}})
    _assert_error(reply, 400, "E0000001", "Api validation failed: profile.settings.adminPassword")


@check("update-scheme-per-app")
async def _scheme_per_app(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    summary = "Api validation failed: profile.authScheme"
    zscaler, slack = fake.add_app("zscalerbyz"), fake.add_app("slack")
    reply = await api.update(zscaler.id, {"profile": {"authScheme": "OAUTH2"}})
    _assert_error(reply, 400, "E0000001", summary)
    reply = await api.update(slack.id, {"profile": {"authScheme": "TOKEN", "token": "t"}})
    _assert_error(reply, 400, "E0000001", summary)
    bookmark = fake.add_app("bookmark")
    reply = await api.update(bookmark.id, {"profile": {"authScheme": "TOKEN", "token": "t"}})
    _assert_error(reply, 400, "E0000001", "Api validation failed: provisioning")


@check("update-activate-param")
async def _activate_param(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    body = {"profile": {"authScheme": "TOKEN", "token": "t"}}
    for value, status in (("TRUE", "ENABLED"), ("", "DISABLED"), ("False", "DISABLED")):
        app = fake.add_app("zscalerbyz")
        assert (await api.update(app.id, body, activate=value)).json()["status"] == status
    app = fake.add_app("zscalerbyz")
    reply = await api.update(app.id, body, activate="yes")
    _assert_error(reply, 400, "E0000001", "Api validation failed: activate")
    pending = fake.add_app("slack")
    reply = await api.update(pending.id, {"profile": {"authScheme": "OAUTH2"}}, activate="true")
    assert reply.json()["status"] == "DISABLED"  # consent first, whatever activate says


@check("update-status-code")
async def _update_status(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    app = fake.add_app("zscalerbyz")
    body = {"profile": {"authScheme": "TOKEN", "token": "t"}}
    assert (await api.update(app.id, body)).status == 200
    fake.update_status = 201
    assert (await api.update(app.id, body)).status == 201
    with pytest.raises(ValueError, match="200 or 201"):
        fake.update_status = 204


@check("update-status-transition")
async def _status_transition(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    enabled = fake.add_app("okta_org2org", connection="token", status="ENABLED")
    body = {"profile": {"authScheme": "TOKEN", "token": "new"}}
    assert (await api.update(enabled.id, body)).json()["status"] == "ENABLED"  # same scheme
    oauth = {"profile": {"authScheme": "OAUTH2", "clientId": "0oahub"}}
    assert (await api.update(enabled.id, oauth)).json()["status"] == "DISABLED"  # new scheme


# ---------------------------------------------------------------------- list and apps


@check("list-page-size")
async def _page_size(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    for limit, count in ((None, 20), ("-1", 20), ("", 20), ("500", 40)):
        params = {} if limit is None else {"limit": limit}
        assert len((await api.call("GET", "/api/v1/apps", params=params)).json()) == count
    for bad in ("0", "-2", "ten"):
        reply = await api.call("GET", "/api/v1/apps", params={"limit": bad})
        _assert_error(reply, 400, "E0000001", "Api validation failed: limit")


@check("list-filter")
async def _list_filter(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    async def listed(expression: str) -> Reply:
        return await api.call("GET", "/api/v1/apps", params={"filter": expression, "limit": "200"})

    for bad in ('label eq "Slack"', 'name sw "okta"', 'name eq "slack" or name eq "zoomus"'):
        _assert_error(await listed(bad), 400, "E0000001", "Api validation failed: filter")
    assert (await listed('user.id eq "00u1"')).json() == []
    assert (await listed('group.id eq "00g1"')).json() == []
    assert (await listed("settings.slo.enabled eq true")).json() == []
    assert len((await listed('settings.slo.enabled eq "false"')).json()) == 40
    slack = (await listed('name eq "slack" and status eq "ACTIVE"')).json()
    assert slack and {a["name"] for a in slack} == {"slack"}


@check("apps-object")
async def _apps_object(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    saml = fake.add_app("okta_org2org")
    bookmark = fake.add_app("bookmark", sign_on_mode="BOOKMARK")
    body = (await api.call("GET", f"/api/v1/apps/{saml.id}")).json()
    kid = body["credentials"]["signing"]["kid"]
    assert len(kid) == 43 and body["features"] == []
    assert body["settings"]["app"]["baseUrl"] == saml.base_url
    again = (await api.call("GET", f"/api/v1/apps/{saml.id}")).json()
    assert again["credentials"]["signing"]["kid"] == kid
    mark = (await api.call("GET", f"/api/v1/apps/{bookmark.id}")).json()
    assert mark["credentials"]["signing"] == {}


@check("apps-out-of-scope")
async def _out_of_scope(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    _assert_error(await api.call("POST", "/api/v1/apps", json_body={}), 501, "E0000060")
    app_path = f"/api/v1/apps/{fake.apps[0].id}"
    _assert_error(await api.call("DELETE", app_path), 501, "E0000060")
    fake.add_bearer_token("read-only", scopes=["okta.apps.read"])
    reply = await api.call("POST", "/api/v1/apps", json_body={}, auth="Bearer read-only")
    _assert_error(reply, 403, "E0000006")  # the scope is checked first


@check("http-content-type")
async def _content_type(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    app = fake.add_app("zscalerbyz")
    data = b'{"profile": {"authScheme": "TOKEN", "token": "t"}}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        reply = await api.call(
            "POST", _conn(app.id), data=data, headers={"Content-Type": content_type}
        )
        assert reply.status == 200


@check("http-head-405")
async def _head_405(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    for path in (_conn(fake.apps[0].id), "/api/v1/apps"):
        reply = await api.call("HEAD", path)
        assert reply.status == 405
        assert "GET" in reply.headers["Allow"]


@check("faults-429-reset")
async def _scripted_429_reset(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    fake.fail_next(429)
    reply = await api.get(fake.apps[0].id)
    assert reply.status == 429
    assert reply.headers["X-Rate-Limit-Reset"] == str(int(clock()) + 1)
    fake.fail_next(429, reset_in=60)
    assert (await api.get(fake.apps[0].id)).headers["X-Rate-Limit-Reset"] == str(int(clock()) + 60)


# ---------------------------------------------------------------------- auth (#25 1, 3-6)

DPOP_ALGS = 'DPoP algs="RS256 RS384 RS512 ES256 ES384 ES512"'


def _links(body: Any) -> set[str]:
    return set(body["_links"])


@check("auth-scope-403")
async def _scope_403(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    app = fake.add_app("zscalerbyz", connection="token")
    fake.add_bearer_token("read-only", scopes=["okta.apps.read"])
    reply = await api.activate(app.id, auth="Bearer read-only")
    _assert_error(reply, 403, "E0000006")
    assert reply.headers["WWW-Authenticate"] == (
        'Bearer error="insufficient_scope", scope="okta.apps.manage", '
        f'resource="{_conn(app.id)}/lifecycle/activate"'
    )


@check("consent-authorize-enabled")
async def _authorize_enabled(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    app = fake.add_app("slack")
    assert (await api.update(app.id, {"profile": {"authScheme": "OAUTH2"}})).status == 200
    href = URL(fake.consent(app.id))
    assert (
        await api.verify("slack", app.id, href.query["code"], href.query["state"])
    ).status == 204
    assert _links((await api.get(app.id)).json()) == {"self", "activate"}
    assert (await api.activate(app.id)).status == 204
    assert _links((await api.get(app.id)).json()) == {"self", "deactivate", "authorize"}
    hub = fake.add_app("okta_org2org", connection="oauth", status="ENABLED")
    assert "authorize" not in _links((await api.get(hub.id)).json())


@check("auth-401-www-authenticate")
async def _www_authenticate_401(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    for auth in ("SSWS not-a-token", "Bearer not-a-token", "DPoP not-a-token"):
        reply = await api.get(fake.apps[0].id, auth=auth)
        _assert_error(reply, 401, "E0000011")
        assert reply.headers["WWW-Authenticate"] == DPOP_ALGS


def _proof(key: SigningKey, url: str, nonce: str | None, now: float) -> str:
    return _jose.dpop_proof(
        key, method="POST", url=url, issued_at=now, jti=_jose.new_jti(), nonce=nonce
    )


@check("auth-dpop-429-nonce")
async def _dpop_429_nonce(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    key = load_signing_key(pem(ec_key()))
    token_url = fake.org_url + "/oauth2/v1/token"
    old = fake.oauth.nonce
    new = fake.oauth.rotate_nonce()
    fake.oauth.fail_next(429)
    async with api.session.post(
        token_url,
        data={"grant_type": "client_credentials"},
        headers={"DPoP": _proof(key, token_url, old, clock.now)},
    ) as resp:
        assert resp.status == 429
        assert resp.headers["DPoP-Nonce"] == new


@check("auth-dpop-two-headers")
async def _dpop_two_headers(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    key = load_signing_key(pem(ec_key()))
    token_url = fake.org_url + "/oauth2/v1/token"
    fake.register_service_app("0oaTWOPROOFS", rsa_key().public_key(), dpop_required=True)
    assertion = _jose.client_assertion(
        load_signing_key(pem(rsa_key())),
        client_id="0oaTWOPROOFS",
        audience=token_url,
        issued_at=clock.now,
        lifetime=300,
        jti=_jose.new_jti(),
    )
    form = _jose.client_credentials_form(["okta.apps.read"], assertion)
    nonce = fake.oauth.nonce
    headers = [
        ("DPoP", _proof(key, token_url, nonce, clock.now)),
        ("DPoP", _proof(key, token_url, nonce, clock.now)),
    ]
    async with api.session.post(token_url, data=form, headers=headers) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"] == "invalid_dpop_proof"


@check("limits-event-frequency")
async def _event_frequency(fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    fake.set_rate_limit(4, 60, principal_share=0.5)
    app_id = fake.apps[0].id
    statuses = [(await api.get(app_id)).status for _ in range(5)]
    assert statuses == [200, 200, 429, 429, 429]
    assert [r.events for r in fake.requests(status=429)] == [
        ["system.operation.rate_limit.violation"],
        [],
        [],
    ]


@pytest.mark.parametrize("row_id", sorted(CHECKS))
async def test_row(row_id: str, fake: FakeOkta, api: Api, clock: FakeClock) -> None:
    await CHECKS[row_id](fake, api, clock)
