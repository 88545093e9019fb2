"""The loopback OAuth server's own tests (tests/support/oauth_server.py): it rejects bad
proofs and replays, so a test that finds ``rejections == []`` means something."""

from __future__ import annotations

import time
from typing import Any

import aiohttp

from okta_connections.auth import _jose
from okta_connections.auth._keys import load_signing_key
from tests.support.constants import APP_ID
from tests.support.keys import ec_key, pem, rsa_key
from tests.support.oauth_server import CLIENT_ID, OAuthServer

# ---------------------------------------------------------------------- the server's own tests


async def _post_token(srv: OAuthServer, form: dict[str, str], **headers: str) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(srv.token_url, data=form, headers=headers) as resp,
    ):
        return resp.status, await resp.json()


async def _get_api(srv: OAuthServer, headers: dict[str, str]) -> tuple[int, Any]:
    url = f"{srv.url}/api/v1/apps/{APP_ID}/connections/default"
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
        return resp.status, await resp.json()


def _assertion(srv: OAuthServer, key: Any, **overrides: Any) -> str:
    signing = load_signing_key(pem(key))
    kwargs: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "audience": srv.token_url,
        "issued_at": time.time(),
        "lifetime": 300,
        "jti": _jose.new_jti(),
    }
    kwargs.update(overrides)
    return _jose.client_assertion(signing, **kwargs)


async def test_server_refuses_replayed_and_misaddressed_assertions(
    oauth_server: OAuthServer,
) -> None:
    oauth_server.register(public_key=rsa_key().public_key())
    good = _assertion(oauth_server, rsa_key())
    form = {
        "grant_type": "client_credentials",
        "scope": "okta.apps.read",
        "client_assertion_type": _jose.CLIENT_ASSERTION_TYPE,
        "client_assertion": good,
    }
    assert (await _post_token(oauth_server, form))[0] == 200
    status, body = await _post_token(oauth_server, form)  # same jti again
    assert (status, body["error"]) == (401, "invalid_client")
    assert "already been used" in body["error_description"]
    for bad in (
        _assertion(oauth_server, rsa_key(), audience="https://elsewhere/oauth2/v1/token"),
        _assertion(oauth_server, rsa_key(), lifetime=7200),
        _assertion(oauth_server, rsa_key(), issued_at=time.time() - 4000),
        _assertion(oauth_server, rsa_key(1)),  # signed with the wrong key
    ):
        status, body = await _post_token(oauth_server, {**form, "client_assertion": bad})
        assert (status, body["error"]) == (401, "invalid_client")
    assert len(oauth_server.rejections) == 5


async def test_server_refuses_wrong_ath_and_replayed_proof(oauth_server: OAuthServer) -> None:
    oauth_server.register(public_key=rsa_key().public_key(), dpop_required=True)
    dpop_key = load_signing_key(pem(ec_key()))
    form = {
        "grant_type": "client_credentials",
        "scope": "okta.apps.read",
        "client_assertion_type": _jose.CLIENT_ASSERTION_TYPE,
    }

    def proof(method: str, url: str, **kw: Any) -> str:
        return _jose.dpop_proof(
            dpop_key, method=method, url=url, issued_at=time.time(), jti=_jose.new_jti(), **kw
        )

    # No nonce: challenged; with the nonce: a DPoP token.
    status, body = await _post_token(
        oauth_server,
        {**form, "client_assertion": _assertion(oauth_server, rsa_key())},
        DPoP=proof("POST", oauth_server.token_url),
    )
    assert (status, body["error"]) == (400, "use_dpop_nonce")
    status, body = await _post_token(
        oauth_server,
        {**form, "client_assertion": _assertion(oauth_server, rsa_key())},
        DPoP=proof("POST", oauth_server.token_url, nonce=oauth_server.nonce),
    )
    assert status == 200 and body["token_type"] == "DPoP"
    token = body["access_token"]
    api = f"{oauth_server.url}/api/v1/apps/{APP_ID}/connections/default"

    good = proof("GET", api, access_token=token)
    assert (await _get_api(oauth_server, {"Authorization": f"DPoP {token}", "DPoP": good}))[
        0
    ] == 200
    assert oauth_server.rejections == []
    # The same proof again: replayed jti.
    status, body = await _get_api(oauth_server, {"Authorization": f"DPoP {token}", "DPoP": good})
    assert (status, body["error"]) == (400, "invalid_dpop_proof")
    assert "jti" in oauth_server.rejections[-1]
    # A proof whose ath hashes another token.
    wrong = proof("GET", api, access_token=token + "x")
    status, body = await _get_api(oauth_server, {"Authorization": f"DPoP {token}", "DPoP": wrong})
    assert (status, body["error"]) == (400, "invalid_dpop_proof")
    assert "ath" in oauth_server.rejections[-1]
    # A DPoP-bound token sent as Bearer, and a proof for another URL.
    status, _ = await _get_api(oauth_server, {"Authorization": f"Bearer {token}"})
    assert status == 400
    other = proof("GET", api + "/jwks", access_token=token)
    status, _ = await _get_api(oauth_server, {"Authorization": f"DPoP {token}", "DPoP": other})
    assert status == 400 and "htu" in oauth_server.rejections[-1]
    # A proof signed by a different key than the one the token is bound to.
    stranger = load_signing_key(pem(ec_key(1)))
    foreign = _jose.dpop_proof(
        stranger, method="GET", url=api, issued_at=time.time(), jti="x1", access_token=token
    )
    status, _ = await _get_api(oauth_server, {"Authorization": f"DPoP {token}", "DPoP": foreign})
    assert status == 401 and "bound" in oauth_server.rejections[-1]
