"""``okta-connections demo``: a realistic bulk job against the embedded fake Okta org.

It starts a :class:`~okta_connections.testing.FakeOkta` with a few thousand apps and an
enforced rate limit, selects the Org2Org apps, sets a token on them, activates them (with
a progress bar on a terminal), and compares the time taken with the rate limit's minimum.
Then it walks one app through the other operations. Everything it starts, it stops.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, TextIO

from ..auth._static import SSWSToken
from ..bulk.outcomes import BulkReport
from ..client import OktaClient
from ..consent import parse_continue_url
from ..models.connections import (
    JsonWebKeySet,
    OAuthConnection,
    ProvisioningConnection,
    RotationMode,
)

#: The target org's API token the demo sets on every Org2Org connection (a made-up value;
#: never printed).
_DEMO_TARGET_TOKEN = "00demo-target-org-token-" + "x" * 16


def minimum_seconds(requests: int, limit: int, window: float, gone: float = 0.0) -> float:
    """The least time ``requests`` requests can take under a fixed-window rate limit of
    ``limit`` requests per ``window`` seconds, from the first request to the last.

    They need ceil(N / L) windows; the last window's requests can all go at its opening,
    so the job spans the windows before it: (ceil(N / L) - 1) x W. The first of those
    began before the first request: a window opens at the whole second before its first
    request, so ``gone`` (the part of the first window already gone when the first
    request arrives) comes off. 0 when everything fits in one window.
    """
    if requests <= 0 or limit <= 0:
        return 0.0
    return max(0.0, (math.ceil(requests / limit) - 1) * window - gone)


async def run_demo(
    out: Callable[[str], None] = print,
    *,
    apps: int = 3000,
    rate_limit: int = 150,
    window: float = 1.0,
    progress: TextIO | None = None,
    report: Callable[[dict[str, Any]], None] | None = None,
) -> int:
    """Run the demo job and print each step and a summary.

    Args:
        out: Where lines go.
        apps: Apps in the fake org (about 7 in 20 are Org2Org).
        rate_limit: Requests per window in the org's ``/api/v1/apps`` bucket; past it the
            fake answers 429, as Okta does.
        window: The rate-limit window in seconds.
        progress: A terminal to draw progress bars on, or None for none.
        report: Given the run's figures as one JSON-ready dict at the end (``--json``).

    Returns:
        The process exit code: 0 when every app ended with an active token connection.
    """
    from ..testing._fake import FakeOkta
    from ._progress import ProgressBar

    started = time.perf_counter()
    fake = FakeOkta(
        apps=apps,
        rate_limit=rate_limit,
        rate_window=window,
        enforce_rate_limit=True,
    )
    async with fake, OktaClient(fake.org_url, auth=SSWSToken(fake.token)) as okta:
        out(
            f"Fake Okta org at {fake.org_url}: {len(fake.apps)} apps. Its /api/v1/apps rate "
            f"limit is {rate_limit} requests per {window:g} s, with 429 past it."
        )
        job_started = time.perf_counter()
        ids = [a.id async for a in okta.apps.list(filter='name eq "okta_org2org"', limit=200)]
        out(f'1. select      {len(ids)} Org2Org apps (filter name eq "okta_org2org")')

        bar = ProgressBar(progress, "set token") if progress is not None else None
        try:
            job = okta.bulk.set_token(ids, _DEMO_TARGET_TOKEN, activate=False, on_progress=bar)
            set_report = await job.run()
        finally:
            if bar is not None:
                bar.close()
        out(f"2. set token   {set_report.summary()}")

        bar = ProgressBar(progress, "activate") if progress is not None else None
        try:
            activate_report = await okta.bulk.activate(ids, on_progress=bar).run()
        finally:
            if bar is not None:
                bar.close()
        out(f"3. activate    {activate_report.summary()}")
        job_elapsed = time.perf_counter() - job_started

        by_id = {a.id: a for a in fake.apps}
        active = sum(
            1
            for app_id in ids
            if by_id[app_id].connection_status == "ENABLED" and by_id[app_id].auth_scheme == "TOKEN"
        )
        requests = len(fake.requests)
        throttled = fake.count(status=429)
        # The fake opens a window at the whole second before its first request.
        first = min(r.received_at for r in fake.requests)
        gone = first - math.floor(first)
        minimum = minimum_seconds(requests, rate_limit, window, gone)
        share = f" ({job_elapsed / minimum:.0%} of it)" if minimum > 0 else ""
        out(
            f"Summary: {active}/{len(ids)} Org2Org apps now have an active token connection. "
            f"{requests} requests ({throttled} answered 429) took {job_elapsed:.1f} s; the "
            f"rate limit's minimum is (ceil({requests} / {rate_limit}) - 1) x {window:g} s "
            f"- {gone:.2f} s of the first window gone before the first request = "
            f"{minimum:.2f} s{share}."
        )

        jwks, conn = await _other_operations(okta, fake, ids, out)
        ok = (
            active == len(ids)
            and set_report.all_succeeded
            and activate_report.all_succeeded
            and conn.is_enabled
        )
    total = time.perf_counter() - started
    out(f"Done in {total:.1f} s; the fake org is stopped.")
    if report is not None:
        figures = _figures(fake, ids, active, set_report, activate_report, jwks, conn)
        report({"ok": ok, **figures, "jobElapsed": round(job_elapsed, 3), "minimum": minimum,
                "elapsed": round(total, 3)})  # fmt: skip
    return 0 if ok else 1


async def _other_operations(
    okta: OktaClient, fake: Any, ids: list[str], out: Callable[[str], None]
) -> tuple[JsonWebKeySet, ProvisioningConnection]:
    """Steps 4 and 5: OAuth on one Org2Org app (its JWKS), consent on the Slack app."""
    # The other operations, on one app each.
    org2org, slack = ids[0], next(a for a in fake.apps if a.name == "slack")
    conn = await okta.connections.update(
        org2org,
        OAuthConnection(client_id="0oahubserviceapp01", rotation_mode=RotationMode.AUTO),
        activate=True,
    )
    jwks = await okta.connections.get_jwks(org2org)
    out(
        f"4. OAuth       {org2org}: {conn.auth_scheme.value} {conn.status.value}, "
        f"JWKS keys {', '.join(k.kid or '?' for k in jwks.keys)}"
    )
    conn = await okta.connections.update(slack.id, OAuthConnection())
    assert conn.links.authorize is not None
    consent = parse_continue_url(fake.consent(slack.id))  # the admin consents in Slack
    await okta.connections.verify("slack", slack.id, code=consent.code, state=consent.state)
    await okta.connections.deactivate(slack.id)
    await okta.connections.activate(slack.id)
    conn = await okta.connections.get(slack.id)
    out(
        f"5. consent     {slack.id} (slack): authorize link -> consent -> verify -> "
        f"activate: {conn.auth_scheme.value} {conn.status.value}"
    )
    return jwks, conn


def _figures(
    fake: Any,
    ids: list[str],
    active: int,
    set_report: BulkReport,
    activate_report: BulkReport,
    jwks: JsonWebKeySet,
    conn: ProvisioningConnection,
) -> dict[str, Any]:
    """The run's figures for ``--json`` (the times are added by the caller)."""
    return {
        "apps": len(fake.apps),
        "selected": len(ids),
        "active": active,
        "setToken": _counts(set_report),
        "activate": _counts(activate_report),
        "requests": len(fake.requests),
        "throttled": fake.count(status=429),
        "oauth": {"appId": ids[0], "keys": [k.kid for k in jwks.keys]},
        "consent": {"status": conn.status.value},
    }


def _counts(report: BulkReport) -> dict[str, int | None]:
    return {
        "succeeded": report.succeeded,
        "changed": report.changed,
        "failed": report.failed,
        "notStarted": report.not_started,
    }
