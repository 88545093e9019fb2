"""The pytest plugin's fixtures and markers, used directly (this suite runs asyncio auto mode)."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
import pytest

from okta_connections import OktaClient, OktaError, ServerError, SSWSToken, TokenConnection
from okta_connections.testing import AppFactory, FakeOkta
from okta_connections.testing._closer import ClientCloser as _ClientCloser
from okta_connections.testing.pytest_plugin import DEFAULT_ORG_OPTIONS


async def test_fake_okta_is_a_running_seeded_org(fake_okta: FakeOkta) -> None:
    assert len(fake_okta.apps) == DEFAULT_ORG_OPTIONS["apps"] == 60
    assert all(app.id.startswith("0oa") and app.name for app in fake_okta.apps)
    assert fake_okta.org_url.startswith("http://127.0.0.1:")
    # Same seed, same estate: the fixture's org is reproducible.
    twin = FakeOkta(apps=60, seed=0)
    assert [a.id for a in twin.apps] == [a.id for a in fake_okta.apps]


async def test_okta_client_is_bound_to_the_fake(
    fake_okta: FakeOkta, okta_client: OktaClient
) -> None:
    app = next(a for a in fake_okta.apps if a.name == "zscalerbyz")
    conn = await okta_client.connections.get(app.id)
    assert conn.status == app.connection_status
    fake_okta.assert_called("get", app_id=app.id, times=1)
    # The generous default limit: the client never has to wait for a window.
    record = fake_okta.requests(operation="get")[0]
    assert record.headers["Authorization"] == f"SSWS {fake_okta.token}"


async def test_factories_make_every_kind_of_app(
    fake_okta: FakeOkta, okta_app_factory: AppFactory, okta_client: OktaClient
) -> None:
    made = {
        "token-enabled": okta_app_factory.token("zscalerbyz"),
        "token-disabled": okta_app_factory("okta_org2org", status="DISABLED"),
        "oauth-enabled": okta_app_factory.oauth("okta_org2org", rotation_mode="AUTO"),
        "oauth-disabled": okta_app_factory.oauth("google", status="DISABLED"),
        "pending": okta_app_factory.pending_consent("slack"),
        "unconfigured": okta_app_factory.unconfigured("zoomus"),
        "none": okta_app_factory.without_provisioning(),
    }
    seen = {}
    for kind, app in made.items():
        conn = await okta_client.connections.get(app.id)
        seen[kind] = (str(conn.profile.auth_scheme), str(conn.status))
    assert seen == {
        "token-enabled": ("TOKEN", "ENABLED"),
        "token-disabled": ("TOKEN", "DISABLED"),
        "oauth-enabled": ("OAUTH2", "ENABLED"),
        "oauth-disabled": ("OAUTH2", "DISABLED"),
        "pending": ("OAUTH2", "DISABLED"),
        "unconfigured": ("UNKNOWN", "UNKNOWN"),
        "none": ("UNKNOWN", "UNKNOWN"),
    }
    assert made["pending"].consent_pending
    assert len(okta_app_factory.many(3, "zscalerbyz", status="ENABLED")) == 3
    assert len(fake_okta.apps) == 60 + len(made) + 3


@pytest.mark.okta_org(apps=5, seed=3)
def test_okta_org_marker_sets_the_estate(fake_okta: FakeOkta) -> None:
    assert len(fake_okta.apps) == 5
    assert [a.id for a in fake_okta.apps] == [a.id for a in FakeOkta(apps=5, seed=3).apps]


@pytest.mark.okta_org(apps=2, latency=0.03, latency_jitter=0.25)
def test_okta_org_marker_sets_latency_and_jitter(fake_okta: FakeOkta) -> None:
    assert (len(fake_okta.apps), fake_okta.latency, fake_okta.latency_jitter) == (2, 0.03, 0.25)


@pytest.mark.okta_rate_limit("tight")
async def test_rate_limit_preset_enforces_429s(fake_okta: FakeOkta) -> None:
    url = f"{fake_okta.org_url}/api/v1/apps/{fake_okta.apps[0].id}/connections/default"
    headers = {"Authorization": f"SSWS {fake_okta.token}"}
    statuses = []
    async with aiohttp.ClientSession() as http:
        for _ in range(6):
            async with http.get(url, headers=headers) as resp:
                statuses.append(resp.status)
                limit = resp.headers["X-Rate-Limit-Limit"]
    assert statuses == [200] * 5 + [429]
    assert limit == "5"


@pytest.mark.okta_rate_limit(limit=3, window=30, enforce=False)
async def test_rate_limit_marker_keywords(fake_okta: FakeOkta, okta_client: OktaClient) -> None:
    await okta_client.connections.get(fake_okta.apps[0].id)
    (info,) = okta_client.rate_limits.values()  # what the client read from the headers
    assert (info.limit, info.remaining) == (3, 2)
    assert 29 <= info.reset_after <= 31


@pytest.mark.okta_faults("flaky", seed=5)
async def test_fault_preset_is_applied_and_survived(
    fake_okta: FakeOkta, okta_client: OktaClient
) -> None:
    assert fake_okta.faults.error_rate == 0.2
    apps = [a for a in fake_okta.apps if a.supports_provisioning][:20]
    outcomes = []
    for app in apps:
        try:
            await okta_client.connections.get(app.id)  # 502/503/504 are retried
            outcomes.append("ok")
        except ServerError as exc:
            outcomes.append(str(exc.status))  # 500 is not retried by default
    assert fake_okta.faults.counts["5xx"] > 0
    assert outcomes.count("ok") >= 10 and set(outcomes) <= {"ok", "500"}


async def test_scripted_failure_reaches_the_client(
    fake_okta: FakeOkta, okta_app_factory: AppFactory, okta_client: OktaClient
) -> None:
    app = okta_app_factory.token("okta_org2org", status="DISABLED")
    fake_okta.fail(app.id, "activate", status=503, times=2)
    await okta_client.connections.activate(app.id)  # two 503s, then success
    fake_okta.assert_called("activate", app_id=app.id, times=3)
    assert [r.status for r in fake_okta.requests(app_id=app.id)] == [503, 503, 204]
    fake_okta.fail(app.id, "activate", status=503, times=9)
    with pytest.raises(ServerError):
        await okta_client.connections.activate(app.id)


async def test_revoke_tokens_with_api_tokens_locks_the_client_out(
    fake_okta: FakeOkta, okta_client: OktaClient
) -> None:
    from okta_connections import UnauthorizedError

    app = fake_okta.apps[0]
    await okta_client.connections.get(app.id)
    assert fake_okta.revoke_tokens(api_tokens=True) == 1
    with pytest.raises(UnauthorizedError):
        await okta_client.connections.get(app.id)


async def test_scenario_calls_from_the_test_thread_run_on_the_serving_loop(
    fake_okta: FakeOkta,
) -> None:
    # Many requests in flight while the test thread keeps scripting and reading. 31
    # attempts a call: the 30 scripted 503s can never exhaust one call's retries, however
    # the burst pacer interleaves them.
    from okta_connections import RetryPolicy, SSWSToken

    async def no_wait(_: float) -> None:
        return None

    okta_client = OktaClient(
        fake_okta.org_url,
        auth=SSWSToken(fake_okta.token),
        retry=RetryPolicy(max_attempts=31, sleep=no_wait, random=lambda: 0.0),
    )
    apps = [a for a in fake_okta.apps if a.supports_provisioning]
    fake_okta.latency = 0.005

    async def churn() -> None:
        for i in range(30):
            fake_okta.fail(None, "get", status=503, times=1)
            fake_okta.add_app("zscalerbyz", connection="token", label=f"churn {i}")
            snap = fake_okta.snapshot()
            assert snap.apps >= 60
            await asyncio.sleep(0)

    async with okta_client:
        await asyncio.gather(churn(), *(okta_client.connections.get(a.id) for a in apps))
    assert len(fake_okta.apps) == 60 + 30
    assert fake_okta.count(operation="get", status=503) == 30


def test_fixture_works_from_a_sync_test_with_asyncio_run(fake_okta: FakeOkta) -> None:
    async def job() -> str:
        from okta_connections import SSWSToken

        async with OktaClient(fake_okta.org_url, auth=SSWSToken(fake_okta.token)) as okta:
            conn = await okta.connections.update(
                app.id, TokenConnection(token="s3cret"), activate=True
            )
            return str(conn.status)

    app = fake_okta.add_app("okta_org2org")
    assert asyncio.run(job()) == "ENABLED"
    assert fake_okta.app(app.id).connection_status == "ENABLED"


def test_docs_example_is_the_test_file_verbatim() -> None:
    """docs/testing.md shows tests/test_docs_testing_example.py as it is, so it is proven."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    doc = (root / "docs" / "testing.md").read_text(encoding="utf-8")
    source = (root / "tests" / "test_docs_testing_example.py").read_text(encoding="utf-8")
    marker = "<!-- example: tests/test_docs_testing_example.py -->\n```python\n"
    start = doc.index(marker) + len(marker)
    assert doc[start : doc.index("```\n", start)] == source


def test_client_closer_leaves_a_shared_loop_as_it_found_it(fake_okta: FakeOkta) -> None:
    # With a loop shared by many tests (a session-scoped loop), each okta_client must undo
    # its loop.close wrapper at teardown, or wrappers and closed clients pile up.
    loop = asyncio.new_event_loop()
    try:
        for _ in range(3):
            client = OktaClient(fake_okta.org_url, auth=SSWSToken(fake_okta.token))
            closer = _ClientCloser(client)
            with contextlib.suppress(OktaError):
                loop.run_until_complete(client.connections.get(fake_okta.apps[0].id))
            assert "close" in vars(loop)  # wrapped while the client is in use
            closer.close()
            assert client.closed
            assert "close" not in vars(loop)
    finally:
        loop.close()
    assert loop.is_closed()


async def test_consent_helper_as_docs_show(fake_okta, okta_client, okta_app_factory) -> None:
    """docs/testing.md, "The consent flow": grant consent with the helper, not the link."""
    from yarl import URL

    app = okta_app_factory.pending_consent("slack")
    continue_url = URL(fake_okta.consent(app.id))  # the admin consented in Slack
    await okta_client.connections.verify(
        "slack", app.id, code=continue_url.query["code"], state=continue_url.query["state"]
    )
    await okta_client.connections.activate(app.id)
    assert fake_okta.app(app.id).connection_status == "ENABLED"
    fake_okta.assert_not_called("consent")  # the stand-in page was never needed


@pytest.mark.okta_org(preset="okta", rate_limit_headers="org")
def test_okta_org_preset_is_not_overridden_by_the_fixture_defaults(fake_okta) -> None:
    limits = fake_okta.limits
    assert (limits.limit, limits.share, limits.concurrency, limits.headers) == (
        100,
        0.5,
        75,
        "org",
    )


@pytest.mark.okta_org(rate_limit=2)
async def test_the_fixture_enforces_what_it_advertises(fake_okta, okta_client) -> None:
    import aiohttp

    url = f"{fake_okta.org_url}/api/v1/apps/{fake_okta.apps[0].id}/connections/default"
    headers = {"Authorization": f"SSWS {fake_okta.token}"}
    async with aiohttp.ClientSession() as http:
        statuses = []
        for _ in range(3):
            async with http.get(url, headers=headers) as resp:
                statuses.append((resp.status, resp.headers["X-Rate-Limit-Limit"]))
    assert statuses == [(200, "2"), (200, "2"), (429, "2")]


@pytest.mark.okta_rate_limit(principal_share=0.5, headers="org")
def test_rate_limit_marker_changes_only_the_share(fake_okta) -> None:
    limits = fake_okta.limits
    assert (limits.limit, limits.share, limits.headers, limits.enforce) == (
        1_000_000,
        0.5,
        "org",
        True,
    )
