"""The demo: every connection operation against the embedded fake Okta org."""

from __future__ import annotations

import time
from collections.abc import Callable

import yarl

from . import OAuthConnection, OktaClient, RotationMode, SSWSToken, TokenConnection
from .models import ProvisioningConnection


def _describe(conn: ProvisioningConnection) -> str:
    links = [
        name
        for name, link in (
            ("activate", conn.links.activate),
            ("deactivate", conn.links.deactivate),
            ("authorize", conn.links.authorize),
        )
        if link is not None
    ]
    return f"{conn.auth_scheme} {conn.status} (links: {', '.join(links) or 'none'})"


async def run_demo(out: Callable[[str], None] = print, *, apps: int = 60) -> int:
    """Start a FakeOkta, run all six operations through an OktaClient, print each step.

    Returns:
        The process exit code (0 when every step behaved as expected).
    """
    from .testing import FakeOkta

    started = time.perf_counter()
    async with FakeOkta(apps=apps) as fake:
        out(f"fake Okta org at {fake.org_url} with {len(fake.apps)} apps")
        org2org = next(a for a in fake.apps if a.name == "okta_org2org")
        slack = next(a for a in fake.apps if a.name == "slack")
        async with OktaClient(fake.org_url, auth=SSWSToken(fake.token)) as okta:
            conn = await okta.connections.get(org2org.id)
            out(f"1. get        {org2org.id} ({org2org.name}): {_describe(conn)}")

            conn = await okta.connections.update(
                org2org.id, TokenConnection(token="target-org-api-token"), activate=False
            )
            out(f"2. update     {org2org.id}: token connection set -> {_describe(conn)}")

            await okta.connections.activate(org2org.id)
            conn = await okta.connections.get(org2org.id)
            out(f"3. activate   {org2org.id}: -> {_describe(conn)}")

            await okta.connections.deactivate(org2org.id)
            conn = await okta.connections.get(org2org.id)
            out(f"4. deactivate {org2org.id}: -> {_describe(conn)}")

            conn = await okta.connections.update(
                org2org.id,
                OAuthConnection(client_id="0oahubserviceapp01", rotation_mode=RotationMode.AUTO),
                activate=True,
            )
            jwks = await okta.connections.get_jwks(org2org.id)
            kids = ", ".join(k.kid or "?" for k in jwks.keys)
            out(f"5. get_jwks   {org2org.id}: OAuth (AUTO rotation) keys: {kids}")

            conn = await okta.connections.update(slack.id, OAuthConnection())
            assert conn.links.authorize is not None
            out(f"6. verify     {slack.id} (slack): OAuth set -> {_describe(conn)}")
            out(f"              admin opens {conn.links.authorize.href}")
            continue_url = yarl.URL(fake.consent(slack.id))
            await okta.connections.verify(
                "slack",
                slack.id,
                code=continue_url.query["code"],
                state=continue_url.query["state"],
            )
            await okta.connections.activate(slack.id)
            conn = await okta.connections.get(slack.id)
            out(f"              consent verified and activated -> {_describe(conn)}")
        served = len(fake.requests)
    out(f"done: {served} requests served in {time.perf_counter() - started:.2f}s")
    return 0
