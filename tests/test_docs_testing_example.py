"""Testing a provisioning job against a fake Okta org (the example in docs/testing.md)."""

from __future__ import annotations

import pytest

from okta_connections import ApiError, OktaClient, TokenConnection
from okta_connections.testing import AppFactory, FakeOkta


# The code under test: your own job. It takes the client as an argument, so a test can
# hand it the `okta_client` fixture (in production you build it from your settings).
async def enable_provisioning(okta: OktaClient, app_ids: list[str], token: str) -> dict[str, str]:
    """Give each app a token connection and switch it on; report the outcome per app."""
    report = {}
    for app_id in app_ids:
        try:
            await okta.connections.update(app_id, TokenConnection(token=token))
            await okta.connections.activate(app_id)
        except ApiError as exc:
            report[app_id] = f"failed: {exc.status} {exc.error_code}"
        else:
            report[app_id] = "enabled"
    return report


async def test_job_rides_out_a_brief_okta_outage(
    fake_okta: FakeOkta, okta_client: OktaClient, okta_app_factory: AppFactory
) -> None:
    apps = okta_app_factory.many(3, "okta_org2org", connection=None)
    # Okta answers 503 to the second app's first two activations.
    fake_okta.fail(apps[1].id, "activate", status=503, times=2)

    report = await enable_provisioning(okta_client, [a.id for a in apps], token="s3cr3t")

    assert report == {a.id: "enabled" for a in apps}
    for app in apps:
        assert fake_okta.app(app.id).connection_status == "ENABLED"
        assert fake_okta.app(app.id).token == "s3cr3t"
    # Two refusals and the retry that worked.
    fake_okta.assert_called("activate", app_id=apps[1].id, times=3)


async def test_job_reports_the_apps_it_could_not_enable(
    fake_okta: FakeOkta, okta_client: OktaClient, okta_app_factory: AppFactory
) -> None:
    zscaler = okta_app_factory.unconfigured("zscalerbyz")
    wiki = okta_app_factory.without_provisioning("bookmark")  # Okta refuses: 400
    down = okta_app_factory.unconfigured("okta_org2org")
    fake_okta.fail(down.id, "update", status=503, times=10)  # outlasts the retries

    report = await enable_provisioning(okta_client, [zscaler.id, wiki.id, down.id], token="s3cr3t")

    assert report == {
        zscaler.id: "enabled",
        wiki.id: "failed: 400 E0000001",
        down.id: "failed: 503 E0000009",
    }
    fake_okta.assert_not_called("activate", app_id=wiki.id)
    assert fake_okta.app(down.id).connection_status == "UNKNOWN"  # still unconfigured


@pytest.mark.okta_rate_limit(limit=10, window=1)  # 10 requests a second, enforced
async def test_job_stays_within_the_rate_limit(
    fake_okta: FakeOkta, okta_client: OktaClient, okta_app_factory: AppFactory
) -> None:
    apps = okta_app_factory.many(8, "zscalerbyz", connection=None)

    report = await enable_provisioning(okta_client, [a.id for a in apps], token="s3cr3t")

    assert set(report.values()) == {"enabled"}
    # The client paces itself from the X-Rate-Limit-* headers: no request over the limit.
    fake_okta.assert_not_called(status=429)
