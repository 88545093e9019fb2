"""DPoP as Okta's resource server answers it, and a client that never resends a proof
(issue #25 item 4; reference §6.3, §10; terraform-provider-okta#2392, #2598,
okta-sdk-nodejs#453, okta-sdk-dotnet#852).

Raw requests pin the fake's answers; the client test drives our client through every
kind of retry and checks each attempt's proof.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import jwt
import pytest

from okta_connections import ForbiddenError, OktaClient, PrivateKeyJWT
from okta_connections.auth import _jose
from okta_connections.auth._keys import SigningKey, load_signing_key
from okta_connections.testing import FakeOkta
from okta_connections.testing._faults import ScriptedFault
from tests.support.keys import ec_key, pem, rsa_key
from tests.support.retry import fast_retry

CLIENT_ID = "0oaDPOPfidelity"
ALGS = 'DPoP algs="RS256 RS384 RS512 ES256 ES384 ES512"'


@pytest.fixture
async def fake() -> AsyncIterator[FakeOkta]:
    # One-second windows: a scripted 429's reset is at most a second away.
    async with FakeOkta(apps=3, rate_limit=1_000_000, rate_window=1) as org:
        org.register_service_app(CLIENT_ID, rsa_key().public_key(), dpop_required=True)
        yield org


class Wire:
    """Raw token and API requests with hand-made assertions and proofs."""

    def __init__(self, fake: FakeOkta, http: aiohttp.ClientSession) -> None:
        self.fake = fake
        self.http = http
        self.signing = load_signing_key(pem(rsa_key()))
        self.token_url = fake.org_url + "/oauth2/v1/token"
        self.api = f"{fake.org_url}/api/v1/apps/{fake.apps[0].id}/connections/default"

    def proof(self, key: SigningKey, method: str, url: str, **kw: Any) -> str:
        return _jose.dpop_proof(
            key, method=method, url=url, issued_at=time.time(), jti=_jose.new_jti(), **kw
        )

    async def token(self, key: SigningKey, *extra: str) -> aiohttp.ClientResponse:
        assertion = _jose.client_assertion(
            self.signing,
            client_id=CLIENT_ID,
            audience=self.token_url,
            issued_at=time.time(),
            lifetime=300,
            jti=_jose.new_jti(),
        )
        form = _jose.client_credentials_form(["okta.apps.read"], assertion)
        headers = [("DPoP", self.proof(key, "POST", self.token_url, nonce=self.fake.oauth.nonce))]
        headers += [("DPoP", p) for p in extra]
        async with self.http.post(self.token_url, data=form, headers=headers) as resp:
            await resp.read()
            return resp

    async def access_token(self, key: SigningKey) -> str:
        resp = await self.token(key)
        assert resp.status == 200
        body = await resp.json()
        assert body["token_type"] == "DPoP"
        return str(body["access_token"])

    async def get(self, headers: list[tuple[str, str]]) -> tuple[int, Any, Any]:
        async with self.http.get(self.api, headers=headers) as resp:
            return resp.status, resp.headers, await resp.json()


@pytest.fixture
async def wire(fake: FakeOkta) -> AsyncIterator[Wire]:
    async with aiohttp.ClientSession() as http:
        yield Wire(fake, http)


def _challenge(error: str, description: str) -> str:
    return f'{ALGS}, error="{error}", error_description="{description}"'


async def test_api_dpop_refusals_carry_okta_s_challenge(wire: Wire) -> None:
    key = load_signing_key(pem(ec_key()))
    access = await wire.access_token(key)
    good = wire.proof(key, "GET", wire.api, access_token=access)
    assert (await wire.get([("Authorization", f"DPoP {access}"), ("DPoP", good)]))[0] == 200
    # The same proof again: a replayed jti (terraform-provider-okta#2392).
    status, headers, body = await wire.get([("Authorization", f"DPoP {access}"), ("DPoP", good)])
    assert (status, body["error"]) == (400, "invalid_dpop_proof")
    assert headers["WWW-Authenticate"] == _challenge(
        "invalid_dpop_proof", body["error_description"]
    )


async def test_a_valid_proof_by_another_key_is_a_400(wire: Wire) -> None:
    access = await wire.access_token(load_signing_key(pem(ec_key())))
    other = load_signing_key(pem(rsa_key(2)))
    proof = wire.proof(other, "GET", wire.api, access_token=access)
    status, headers, body = await wire.get([("Authorization", f"DPoP {access}"), ("DPoP", proof)])
    assert (status, body["error"]) == (400, "invalid_dpop_proof")
    assert "not bound" in body["error_description"]
    assert headers["WWW-Authenticate"].startswith(ALGS + ', error="invalid_dpop_proof"')


async def test_two_dpop_headers_are_refused(wire: Wire, fake: FakeOkta) -> None:
    key = load_signing_key(pem(ec_key()))
    # At the token endpoint...
    resp = await wire.token(key, wire.proof(key, "POST", wire.token_url, nonce=fake.oauth.nonce))
    assert resp.status == 400
    assert (await resp.json())["error"] == "invalid_dpop_proof"
    # ...and at the API: two valid proofs of the right key are still two headers.
    access = await wire.access_token(key)
    proofs = [("DPoP", wire.proof(key, "GET", wire.api, access_token=access)) for _ in range(2)]
    status, headers, body = await wire.get([("Authorization", f"DPoP {access}"), *proofs])
    assert (status, body["error"]) == (400, "invalid_dpop_proof")
    assert "Multiple" in body["error_description"]
    assert "invalid_dpop_proof" in headers["WWW-Authenticate"]


async def test_a_401_names_the_dpop_algorithms(wire: Wire) -> None:
    for auth in ("DPoP not-a-token", "Bearer not-a-token", "SSWS not-a-token"):
        status, headers, body = await wire.get([("Authorization", auth)])
        assert (status, body["errorCode"]) == (401, "E0000011")
        assert headers["WWW-Authenticate"] == ALGS


async def test_a_new_nonce_arrives_on_a_429(wire: Wire, fake: FakeOkta) -> None:
    key = load_signing_key(pem(ec_key()))
    await wire.access_token(key)
    old = fake.oauth.nonce
    new = fake.oauth.rotate_nonce()
    fake.oauth.fail_next(429)
    async with wire.http.post(
        wire.token_url,
        data={"grant_type": "client_credentials"},
        headers={"DPoP": wire.proof(key, "POST", wire.token_url, nonce=old)},
    ) as resp:
        assert resp.status == 429
        assert resp.headers["DPoP-Nonce"] == new


# ---------------------------------------------------------------------- our client


def _jtis(fake: FakeOkta) -> list[str]:
    proofs = [r.headers["DPoP"] for r in fake.requests if "DPoP" in r.headers]
    return [jwt.decode(p, options={"verify_signature": False})["jti"] for p in proofs]


async def test_our_client_never_resends_a_proof(fake: FakeOkta) -> None:
    app_id = fake.apps[0].id
    # Token endpoint: the nonce challenge. API: a 503, a 429 and a nonce challenge,
    # each answered by a retry or a replay.
    fake.fail_next(503, operation="get")
    fake.fail_next(429, operation="get")
    fake.faults.script(
        ScriptedFault(
            None,
            "get",
            401,
            1,
            headers={
                "DPoP-Nonce": "api-nonce-1",
                "WWW-Authenticate": _challenge("use_dpop_nonce", "Resource server requires nonce"),
            },
        )
    )
    auth = PrivateKeyJWT(CLIENT_ID, pem(rsa_key()), dpop=True)
    async with OktaClient(
        fake.org_url, auth=auth, retry=fast_retry(), token_retry=fast_retry()
    ) as okta:
        await okta.connections.get(app_id)
        # The next token request gets a 503, then a 429 that brings a new nonce.
        fake.oauth.rotate_nonce()
        fake.oauth.fail_next(503)
        fake.oauth.fail_next(429)
        await auth.aclose()
        await okta.connections.get(app_id)
    jtis = _jtis(fake)
    assert len(jtis) >= 10
    assert len(set(jtis)) == len(jtis)  # every attempt, every retry: a fresh proof
    assert fake.oauth.rejections == []
    # The nonce that came on the 429 was used: one challenge only, the first.
    assert fake.oauth.nonce_challenges == 1
    assert [r.status for r in fake.requests(operation="get")] == [503, 429, 401, 200, 200]


async def test_dpop_scope_refusal_names_the_scope(fake: FakeOkta) -> None:
    fake.register_service_app(
        CLIENT_ID, rsa_key().public_key(), dpop_required=True, scopes=["okta.apps.read"]
    )
    auth = PrivateKeyJWT(CLIENT_ID, pem(rsa_key()), dpop=True, scopes=["okta.apps.read"])
    app_id = fake.apps[0].id
    async with OktaClient(fake.org_url, auth=auth, retry=fast_retry()) as okta:
        with pytest.raises(ForbiddenError) as info:
            await okta.connections.deactivate(app_id)
    challenge = fake.requests(status=403)[0]
    assert challenge.path.endswith("/lifecycle/deactivate")
    assert info.value.error_code == "E0000006"
    assert info.value.required_scope == "okta.apps.manage"
    header = info.value.headers["WWW-Authenticate"]
    assert header.startswith(ALGS + ', error="insufficient_scope", scope="okta.apps.manage"')
