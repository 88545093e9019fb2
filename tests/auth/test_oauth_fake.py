"""The OAuth proofs again, against FakeOkta's org authorization server.

The loopback server in ``test_oauth_server`` checks the strategies in isolation; these tests
run the same scenarios against the fake org that ships in the package, so that both the
client and the fake's OAuth rules (``okta_connections.testing._oauth``) are held to them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import jwt
import pytest

from okta_connections import (
    ClientClosedError,
    ForbiddenError,
    OAuthError,
    OktaClient,
    PrivateKeyJWT,
    ReauthorizationRequired,
    RefreshTokenAuth,
    RetryPolicy,
    TokenConnection,
)
from okta_connections.auth import AuthRequest, _jose
from okta_connections.auth._keys import load_signing_key
from okta_connections.testing import FakeOkta
from tests.support.clock import Clock, Sleeps
from tests.support.keys import ec_key, pem, rsa_key
from tests.support.retry import fast_retry
from tests.support.until import until

CLIENT_ID = "0oaFAKEserviceAPP"


class Gated(PrivateKeyJWT):
    """Holds its token request until ``gate_at`` calls are inside authorize() at once."""

    def __init__(self, *args: Any, gate_at: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.active = 0
        self.peak = 0
        self.gate_at = gate_at
        self.gate = asyncio.Event()

    async def authorize(self, request: AuthRequest) -> None:
        self.active += 1
        self.peak = max(self.peak, self.active)
        if self.gate_at and self.active >= self.gate_at:
            self.gate.set()
        try:
            await super().authorize(request)
        finally:
            self.active -= 1

    async def _fetch(self) -> Any:
        if self.gate_at:
            await asyncio.wait_for(self.gate.wait(), 10)
        return await super()._fetch()


@pytest.fixture
async def fake() -> AsyncIterator[FakeOkta]:
    # A generous rate limit: these tests are about tokens, not pacing.
    async with FakeOkta(apps=3, rate_limit=1_000_000, record_requests=True) as org:
        yield org


def _app(fake: FakeOkta) -> str:
    return fake.apps[0].id


def _client(fake: FakeOkta, auth: Any, **options: Any) -> OktaClient:
    return OktaClient(fake.org_url, auth=auth, retry=fast_retry(), max_in_flight=1000, **options)


async def _warm(okta: OktaClient, app_id: str, auth: PrivateKeyJWT) -> None:
    """One call so the pacer learns the rate-limit headers; then drop the token."""
    await okta.connections.get(app_id)
    await auth.aclose()


async def test_thousand_concurrent_calls_one_token_request(fake: FakeOkta) -> None:
    fake.register_service_app(CLIENT_ID, rsa_key().public_key())
    auth = Gated(CLIENT_ID, pem(rsa_key()))
    app_id = _app(fake)
    async with _client(fake, auth) as okta:
        await _warm(okta, app_id, auth)
        before = fake.count_token_requests()
        auth.gate_at = 1000
        results = await asyncio.gather(*(okta.connections.get(app_id) for _ in range(1000)))
    assert len(results) == 1000
    assert auth.peak == 1000
    assert fake.count_token_requests() - before == 1
    assert fake.count(operation="token") == 2
    assert fake.oauth.rejections == []


async def test_revoked_mid_run_one_more_token_request(fake: FakeOkta) -> None:
    fake.register_service_app(CLIENT_ID, rsa_key().public_key())
    fake.latency = 0.003  # keep calls in flight with the revoked token
    app_id = _app(fake)

    class RevokeAt300(PrivateKeyJWT):
        """Has the fake revoke every token when the 300th call succeeds."""

        ok = 0

        async def on_response(self, request: AuthRequest, response: Any) -> bool:
            if response.status == 200:
                self.ok += 1
                if self.ok == 300:
                    fake.revoke_tokens()
            return await super().on_response(request, response)

    async with _client(fake, RevokeAt300(CLIENT_ID, pem(rsa_key()))) as okta:
        results = await asyncio.gather(*(okta.connections.get(app_id) for _ in range(1000)))
    assert len(results) == 1000
    assert fake.count_token_requests() == 2
    assert fake.count(operation="get", status=401) > 1
    assert fake.count(operation="get", status=200) == 1000
    assert fake.oauth.rejections == []


async def test_dpop_nonce_exchange_and_bound_calls(fake: FakeOkta) -> None:
    fake.register_service_app(CLIENT_ID, rsa_key().public_key(), dpop_required=True)
    auth = Gated(CLIENT_ID, pem(rsa_key()), dpop=True)
    app_id = _app(fake)
    async with _client(fake, auth) as okta:
        await _warm(okta, app_id, auth)
        assert fake.count_token_requests() == 2  # the nonce challenge, then the token
        auth.gate_at = 500
        await asyncio.gather(*(okta.connections.get(app_id) for _ in range(500)))
        # A query string must not reach htu, or the fake refuses the proof.
        await okta.connections.update(app_id, TokenConnection(token="t0k"), activate=True)
    assert fake.oauth.nonce_challenges == 1
    assert fake.count_token_requests() == 3  # the nonce is remembered for the second token
    assert fake.oauth.tokens_issued == 2
    assert fake.oauth.rejections == []  # no wrong ath, no replayed jti, ever
    dpop_calls = [r for r in fake.requests if r.operation in ("get", "update")]
    assert len(dpop_calls) == 502
    assert all(r.headers["Authorization"].startswith("DPoP ") for r in dpop_calls)


async def test_fake_rejects_wrong_ath_and_replayed_jti(fake: FakeOkta) -> None:
    fake.register_service_app(CLIENT_ID, rsa_key().public_key(), dpop_required=True)
    signing = load_signing_key(pem(rsa_key()))
    dpop_key = load_signing_key(pem(ec_key()))
    token_url = fake.org_url + "/oauth2/v1/token"
    api = f"{fake.org_url}/api/v1/apps/{_app(fake)}/connections/default"

    def assertion() -> str:
        return _jose.client_assertion(
            signing,
            client_id=CLIENT_ID,
            audience=token_url,
            issued_at=time.time(),
            lifetime=300,
            jti=_jose.new_jti(),
        )

    def proof(method: str, url: str, **kw: Any) -> str:
        return _jose.dpop_proof(
            dpop_key, method=method, url=url, issued_at=time.time(), jti=_jose.new_jti(), **kw
        )

    async with aiohttp.ClientSession() as http:

        async def token(nonce: str | None, replay: str | None = None) -> tuple[int, Any]:
            form = _jose.client_credentials_form(["okta.apps.read"], replay or assertion())
            headers = {"DPoP": proof("POST", token_url, nonce=nonce)}
            async with http.post(token_url, data=form, headers=headers) as resp:
                return resp.status, await resp.json()

        async def get(headers: dict[str, str]) -> tuple[int, Any]:
            async with http.get(api, headers=headers) as resp:
                return resp.status, await resp.json()

        status, body = await token(None)
        assert (status, body["error"]) == (400, "use_dpop_nonce")
        status, body = await token(fake.oauth.nonce)
        assert (status, body["token_type"]) == (200, "DPoP")
        access = body["access_token"]
        # A reused assertion is refused, as Okta does.
        used = assertion()
        await token(fake.oauth.nonce, replay=used)
        status, body = await token(fake.oauth.nonce, replay=used)
        assert (status, body["error"]) == (401, "invalid_client")

        good = proof("GET", api, access_token=access)
        assert (await get({"Authorization": f"DPoP {access}", "DPoP": good}))[0] == 200
        status, body = await get({"Authorization": f"DPoP {access}", "DPoP": good})
        assert (status, body["error"]) == (400, "invalid_dpop_proof")
        assert "jti" in body["error_description"]
        wrong = proof("GET", api, access_token=access + "x")
        status, body = await get({"Authorization": f"DPoP {access}", "DPoP": wrong})
        assert (status, body["error"]) == (400, "invalid_dpop_proof")
        assert "ath" in body["error_description"]
        status, body = await get({"Authorization": f"Bearer {access}"})
        assert (status, body["error"]) == (400, "invalid_request")


async def test_token_endpoint_503s_are_retried_by_the_token_policy(fake: FakeOkta) -> None:
    fake.register_service_app(CLIENT_ID, rsa_key().public_key())
    # A 429 from the token endpoint waits for its window (the pacer's job, tested in
    # test_oauth_flows); Retry-After on a 503 is honoured by the token policy.
    fake.oauth.fail_next(503, retry_after=3)
    fake.oauth.fail_next(503, times=2)
    sleeps = Sleeps()
    auth = PrivateKeyJWT(CLIENT_ID, pem(rsa_key()))
    token_retry = RetryPolicy.for_token_requests(sleep=sleeps, random=lambda: 1.0)
    async with _client(fake, auth, token_retry=token_retry) as okta:
        await okta.connections.get(_app(fake))
    assert sleeps == [3.0, 1.0, 2.0]
    assert fake.count_token_requests() == 4


async def test_invalid_client_and_missing_scope(fake: FakeOkta) -> None:
    fake.register_service_app(CLIENT_ID, rsa_key(1).public_key())  # not our key
    async with _client(fake, PrivateKeyJWT(CLIENT_ID, pem(rsa_key()))) as okta:
        with pytest.raises(OAuthError) as info:
            await okta.connections.get(_app(fake))
    assert (info.value.error, info.value.status) == ("invalid_client", 401)
    assert info.value.error_description

    fake.register_service_app(CLIENT_ID, rsa_key().public_key(), scopes=["okta.apps.read"])
    auth = PrivateKeyJWT(CLIENT_ID, pem(rsa_key()), scopes=["okta.apps.read"])
    async with _client(fake, auth) as okta:
        await okta.connections.get(_app(fake))
        with pytest.raises(ForbiddenError) as forbidden:
            await okta.connections.activate(_app(fake))
    assert forbidden.value.error_code == "E0000006"


async def test_short_tokens_are_renewed_a_tenth_before_expiry() -> None:
    clock = Clock()
    async with FakeOkta(apps=1, rate_limit=1_000_000, clock=clock) as fake:
        fake.register_service_app(CLIENT_ID, rsa_key().public_key(), token_lifetime=60)
        auth = PrivateKeyJWT(CLIENT_ID, pem(rsa_key()), clock=clock)
        start = clock.now
        async with _client(fake, auth) as okta:
            await okta.connections.get(_app(fake))
            clock.now = start + 53
            await okta.connections.get(_app(fake))
            assert fake.count_token_requests() == 1
            clock.now = start + 55
            await okta.connections.get(_app(fake))
            assert fake.count_token_requests() == 2
            clock.now = start + 200  # long expired on the fake's clock too
            await okta.connections.get(_app(fake))
            assert fake.count_token_requests() == 3
        assert fake.oauth.rejections == []


async def test_refresh_rotation_and_reauthorization(fake: FakeOkta) -> None:
    fake.register_service_app("0oaCONN", client_secret="s3cret-value")
    rotated: list[str] = []
    auth = RefreshTokenAuth(
        "/oauth2/v1/token",
        fake.issue_refresh_token("0oaCONN"),
        client_id="0oaCONN",
        client_secret="s3cret-value",
        on_rotate=rotated.append,
    )
    async with _client(fake, auth) as okta:
        await okta.connections.get(_app(fake))
        fake.revoke_tokens()
        await okta.connections.get(_app(fake))
        assert len(rotated) == 2 and rotated[0] != rotated[1]
        fake.oauth.revoke_refresh_tokens()
        fake.revoke_tokens()
        with pytest.raises(ReauthorizationRequired) as info:
            await okta.connections.get(_app(fake))
    assert "authorise the app again" in str(info.value)
    assert fake.count_token_requests() == 3


async def test_dpop_proofs_decode_as_expected(fake: FakeOkta) -> None:
    fake.register_service_app(CLIENT_ID, rsa_key().public_key(), dpop_required=True)
    async with _client(fake, PrivateKeyJWT(CLIENT_ID, pem(rsa_key()), dpop=True)) as okta:
        await okta.connections.get(_app(fake))
    api_calls = [r for r in fake.requests if r.operation == "get"]
    proof = api_calls[-1].headers["DPoP"]
    claims = jwt.decode(proof, options={"verify_signature": False})
    assert claims["htm"] == "GET"
    assert claims["htu"].endswith(f"/api/v1/apps/{_app(fake)}/connections/default")
    access = api_calls[-1].headers["Authorization"].split(" ", 1)[1]
    assert claims["ath"] == _jose.access_token_hash(access)


async def test_a_cancelled_close_that_waits_for_a_refresh_raises_the_cancellation(
    fake: FakeOkta,
) -> None:
    # close() cancels the refresh under way and waits for it to end; cancelled in that
    # wait, it used to swallow its own cancellation (the refresh's CancelledError and the
    # caller's are one exception there) and return as if never cancelled.
    fake.register_service_app(CLIENT_ID, rsa_key().public_key())
    started = asyncio.Event()
    stopping = asyncio.Event()

    class SlowToStop(PrivateKeyJWT):
        async def _fetch(self) -> Any:
            started.set()
            try:
                await asyncio.Event().wait()
            finally:
                stopping.set()  # close() cancelled it and now waits for it to end
                await asyncio.sleep(0.5)  # a token request that takes a while to wind down

    okta = _client(fake, SlowToStop(CLIENT_ID, pem(rsa_key())))
    call = asyncio.create_task(okta.connections.get(_app(fake)))
    await started.wait()
    closing = asyncio.create_task(okta.close())
    await stopping.wait()
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing
    assert okta.closed
    with pytest.raises(ClientClosedError):
        await call


async def test_a_call_cancelled_as_its_token_arrives_raises_the_cancellation(
    fake: FakeOkta,
) -> None:
    # The call waits for the shared refresh; the token arrives and the call is cancelled
    # in the same turn of the loop. asyncio.wait_for (Python 3.11) then returned the
    # token and swallowed the cancellation: the call went on and returned the connection.
    # Found by tests/test_cancellation_fuzz.py (connections.get_jwks, cancel, seed 2).
    fake.register_service_app(CLIENT_ID, rsa_key().public_key())
    gate = asyncio.Event()

    class Held(PrivateKeyJWT):
        async def _fetch(self) -> Any:
            await gate.wait()
            return await super()._fetch()

    auth = Held(CLIENT_ID, pem(rsa_key()))
    async with _client(fake, auth) as okta:
        call = asyncio.create_task(okta.connections.get(_app(fake)))
        await until(lambda: auth._refresh_task is not None, what="the token request")
        refresh = auth._refresh_task
        assert refresh is not None
        refresh.add_done_callback(lambda _: call.cancel())
        gate.set()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert fake.count(operation="get") == 0
