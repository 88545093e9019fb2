"""PrivateKeyJWT (with and without DPoP) through OktaClient against the loopback server."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
import yarl
from multidict import CIMultiDict

from okta_connections import (
    AuthError,
    ForbiddenError,
    OAuthError,
    OktaClient,
    PrivateKeyJWT,
    RetryPolicy,
    TokenConnection,
    TokenEndpointUnreachableError,
    TransportError,
    UnauthorizedError,
)
from okta_connections.auth import AuthRequest, AuthResponse
from okta_connections.auth._jose import access_token_hash
from tests.support.clock import Clock, Sleeps
from tests.support.constants import APP_ID
from tests.support.keys import pem, rsa_key
from tests.support.oauth_server import CLIENT_ID, OAuthServer
from tests.support.retry import fast_retry


@pytest.fixture
def registered(oauth_server: OAuthServer) -> OAuthServer:
    oauth_server.register(public_key=rsa_key().public_key())
    return oauth_server


def token_policy(sleep: Any = None, random: Any = None, max_token_attempts: int = 4) -> RetryPolicy:
    """The client's token_retry policy, with an injected sleep (recording, instant)."""
    changes: dict[str, Any] = {
        "max_attempts": max_token_attempts,
        "sleep": Sleeps() if sleep is None else sleep,
    }
    if random is not None:
        changes["random"] = random
    return RetryPolicy.for_token_requests(**changes)


def strategy(**kwargs: Any) -> PrivateKeyJWT:
    """A service-app strategy; sleep, random and max_token_attempts go to token_retry."""
    policy = token_policy(
        kwargs.pop("sleep", None), kwargs.pop("random", None), kwargs.pop("max_token_attempts", 4)
    )
    auth = PrivateKeyJWT(CLIENT_ID, pem(rsa_key()), **kwargs)
    auth.test_token_retry = policy  # type: ignore[attr-defined]
    return auth


class Counting(PrivateKeyJWT):
    """Records how many authorize() calls were in progress at once."""

    active = 0
    peak = 0
    gate: asyncio.Event | None = None
    gate_at = 1000

    async def authorize(self, request: AuthRequest) -> None:
        self.active += 1
        self.peak = max(self.peak, self.active)
        if self.gate is not None and self.active >= self.gate_at:
            self.gate.set()
        try:
            await super().authorize(request)
        finally:
            self.active -= 1


def client(url: str, auth: PrivateKeyJWT, **options: Any) -> OktaClient:
    """OktaClient with fast API retries and the strategy's test token policy."""
    options.setdefault("token_retry", getattr(auth, "test_token_retry", None))
    return OktaClient(url, auth=auth, retry=fast_retry(), **options)


async def _client(server: OAuthServer, auth: PrivateKeyJWT) -> OktaClient:
    # max_in_flight=1000: the pacer must not serialise the calls before they reach auth.
    okta = OktaClient(
        server.url,
        auth=auth,
        retry=fast_retry(),
        token_retry=getattr(auth, "test_token_retry", None),
        max_in_flight=1000,
    )
    await okta.open()
    return okta


@pytest.fixture
async def make_client(registered: OAuthServer) -> AsyncIterator[Any]:
    clients: list[OktaClient] = []

    async def make(auth: PrivateKeyJWT) -> OktaClient:
        okta = await _client(registered, auth)
        clients.append(okta)
        return okta

    yield make
    for okta in clients:
        await okta.close()


async def _many(okta: OktaClient, n: int) -> list[Any]:
    return await asyncio.gather(*(okta.connections.get(APP_ID) for _ in range(n)))


# ---------------------------------------------------------------------- single flight


async def test_thousand_concurrent_calls_make_one_token_request(
    registered: OAuthServer, make_client: Any
) -> None:
    auth = Counting(CLIENT_ID, pem(rsa_key()))
    okta = await make_client(auth)
    await okta.connections.get(APP_ID)  # learn rate-limit headers, so calls run at once
    await auth.aclose()  # ... and start the real run with no token
    registered.token_requests = 0
    # The token endpoint answers only once all 1000 calls are inside authorize().
    auth.gate = registered.token_gate = asyncio.Event()
    results = await _many(okta, 1000)
    assert len(results) == 1000 and all(r.status == "ENABLED" for r in results)
    assert auth.peak == 1000  # they really were all waiting for the token together
    assert registered.token_requests == 1
    assert auth.token_requests == 2
    assert registered.api_ok == 1001
    assert registered.rejections == []
    assert {h.split()[0] for h in registered.auth_headers} == {"Bearer"}


async def test_revoked_mid_run_costs_exactly_one_more_token_request(
    registered: OAuthServer, make_client: Any
) -> None:
    registered.revoke_after = 300
    registered.api_delay = 0.002  # keep many calls in flight with the revoked token
    okta = await make_client(strategy())
    results = await _many(okta, 1000)
    assert len(results) == 1000  # every call succeeded
    assert registered.token_requests == 2
    assert registered.api_ok == 1000
    got_401 = registered.api_requests - registered.api_ok
    assert got_401 > 1  # several calls really hit the revoked token, and were replayed once
    assert registered.rejections == []


async def test_waiters_share_a_failed_fetch(registered: OAuthServer, make_client: Any) -> None:
    auth = Counting(CLIENT_ID, pem(rsa_key()))
    okta = await make_client(auth)
    await okta.connections.get(APP_ID)  # learn rate-limit headers, so calls run at once
    await auth.aclose()
    registered.token_requests = 0
    registered.script_token(
        400, {"error": "invalid_client", "error_description": "Invalid value for client_id."}
    )
    auth.gate_at = 50
    auth.gate = registered.token_gate = asyncio.Event()
    outcomes = await asyncio.gather(
        *(okta.connections.get(APP_ID) for _ in range(50)), return_exceptions=True
    )
    assert registered.token_requests == 1  # not one doomed request per waiting call
    assert all(isinstance(o, OAuthError) and o.error == "invalid_client" for o in outcomes)
    assert len({id(o) for o in outcomes}) == 50  # each caller gets its own exception
    assert auth.peak == 50
    # The failure is not sticky: the next call tries again.
    await okta.connections.get(APP_ID)
    assert registered.token_requests == 2


# ---------------------------------------------------------------------- expiry


@pytest.mark.parametrize(
    ("lifetime", "refresh_margin", "stays", "refreshes"),
    [
        (3600, 300.0, 3299, 3301),  # refreshed 5 minutes early
        (60, 300.0, 53, 55),  # the margin is capped at a tenth of a short lifetime
        (None, 300.0, 3299, 3301),  # no expires_in: assume one hour
        (3600, 0.0, 3599, 3600),
    ],
)
async def test_token_is_refreshed_before_it_expires(
    oauth_server: OAuthServer,
    lifetime: int | None,
    refresh_margin: float,
    stays: int,
    refreshes: int,
) -> None:
    clock = Clock()
    oauth_server.clock = clock
    oauth_server.register(public_key=rsa_key().public_key(), token_lifetime=lifetime)
    auth = strategy(clock=clock, refresh_margin=refresh_margin)
    start = clock.now
    async with client(oauth_server.url, auth) as okta:
        await okta.connections.get(APP_ID)
        clock.now = start + stays
        await okta.connections.get(APP_ID)
        assert oauth_server.token_requests == 1
        clock.now = start + refreshes
        await okta.connections.get(APP_ID)
        assert oauth_server.token_requests == 2
    assert oauth_server.rejections == []


async def test_failed_early_refresh_keeps_the_valid_token(
    oauth_server: OAuthServer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    oauth_server.clock = clock
    oauth_server.register(public_key=rsa_key().public_key())
    sleeps = Sleeps()
    auth = strategy(clock=clock, sleep=sleeps, random=lambda: 0.0)
    async with client(oauth_server.url, auth) as okta:
        await okta.connections.get(APP_ID)
        clock.now += 3400  # inside the refresh window, 200 s before expiry
        for _ in range(4):
            oauth_server.script_token(503, raw=b"<html>down</html>")
        with caplog.at_level(logging.WARNING, logger="okta_connections.auth"):
            await okta.connections.get(APP_ID)  # served with the old token
        assert oauth_server.token_requests == 5
        assert "early token refresh failed" in caplog.text
        await okta.connections.get(APP_ID)  # cooling down: no new attempt yet
        assert oauth_server.token_requests == 5
        clock.now += 10
        await okta.connections.get(APP_ID)
        assert oauth_server.token_requests == 6
        assert oauth_server.tokens_issued == 2


async def test_expired_token_failure_is_raised(oauth_server: OAuthServer) -> None:
    clock = Clock()
    oauth_server.clock = clock
    oauth_server.register(public_key=rsa_key().public_key())
    auth = strategy(clock=clock, max_token_attempts=1)
    async with client(oauth_server.url, auth) as okta:
        await okta.connections.get(APP_ID)
        clock.now += 3600  # expired: nothing to fall back on
        oauth_server.script_token(503, {"error": "temporarily_unavailable"})
        with pytest.raises(OAuthError) as info:
            await okta.connections.get(APP_ID)
        assert info.value.status == 503


# ---------------------------------------------------------------------- token endpoint errors


async def test_429_and_503_are_retried_with_backoff(
    registered: OAuthServer, make_client: Any
) -> None:
    sleeps = Sleeps()
    registered.script_token(429, {"errorCode": "E0000047"}, **{"Retry-After": "7"})
    registered.script_token(503, raw=b"busy")
    registered.script_token(502, raw=b"busy")
    okta = await make_client(strategy(sleep=sleeps, random=lambda: 0.5))
    await okta.connections.get(APP_ID)
    assert registered.token_requests == 4
    # Retry-After honoured; then full jitter: 0.5 * min(10, 0.5 * 2 ** (attempt - 1)).
    assert sleeps == [7.0, 0.5, 1.0]


# Real time: the pacer waits about 4 s for the token bucket's reset. Not under looptime:
# the server's Date is aiohttp's, on the real clock, and a client on the loop's virtual
# clock would read the window's length from two clocks that run at different rates.
@pytest.mark.slow
async def test_429_without_retry_after_waits_for_the_rate_limit_reset(
    registered: OAuthServer, make_client: Any
) -> None:
    sleeps = Sleeps()
    before = int(time.time())
    reset = before + 5
    registered.script_token(
        429,
        {"errorCode": "E0000047", "errorSummary": "API call exceeded rate limit"},
        **{
            "X-Rate-Limit-Limit": "600",
            "X-Rate-Limit-Remaining": "0",
            "X-Rate-Limit-Reset": str(reset),
        },
    )
    okta = await make_client(strategy(sleep=sleeps, random=lambda: 0.0))
    await okta.connections.get(APP_ID)
    after = int(time.time())
    assert len(sleeps) == 1
    # The reset against the server's Date (a whole second somewhere between `before` and
    # `after`: a loaded machine may take a second or two to get here) plus 0.05 s.
    assert reset - after - 0.1 <= sleeps[0] <= reset - before + 0.1


async def test_token_retries_give_up_after_max_attempts(
    registered: OAuthServer, make_client: Any
) -> None:
    sleeps = Sleeps()
    for _ in range(3):
        registered.script_token(
            503, {"error": "temporarily_unavailable", "error_description": "try later"}
        )
    okta = await make_client(strategy(sleep=sleeps, max_token_attempts=3, random=lambda: 1.0))
    with pytest.raises(OAuthError) as info:
        await okta.connections.get(APP_ID)
    assert (info.value.error, info.value.error_description, info.value.status) == (
        "temporarily_unavailable",
        "try later",
        503,
    )
    assert registered.token_requests == 3
    assert sleeps == [0.5, 1.0]
    assert registered.api_requests == 0


async def test_long_retry_after_is_not_waited_for(
    registered: OAuthServer, make_client: Any
) -> None:
    sleeps = Sleeps()
    registered.script_token(429, {"errorCode": "E0000047"}, **{"Retry-After": "600"})
    okta = await make_client(strategy(sleep=sleeps))
    with pytest.raises(OAuthError) as info:
        await okta.connections.get(APP_ID)
    assert info.value.status == 429 and info.value.error == "E0000047"
    assert sleeps == []


async def test_invalid_client_is_not_retried(registered: OAuthServer, make_client: Any) -> None:
    sleeps = Sleeps()
    registered.script_token(
        400,
        {
            "error": "invalid_client",
            "error_description": "The client_assertion signature is invalid.",
        },
    )
    okta = await make_client(strategy(sleep=sleeps))
    with pytest.raises(OAuthError) as info:
        await okta.connections.get(APP_ID)
    assert info.value.error == "invalid_client"
    assert info.value.error_description == "The client_assertion signature is invalid."
    assert info.value.status == 400
    assert "invalid_client" in str(info.value)
    assert registered.token_requests == 1 and sleeps == []


async def test_non_json_error_body_is_invalid_response(
    registered: OAuthServer, make_client: Any
) -> None:
    registered.script_token(400, raw=b"<html>Bad Request</html>")
    okta = await make_client(strategy())
    with pytest.raises(OAuthError) as info:
        await okta.connections.get(APP_ID)
    assert (info.value.error, info.value.status) == ("invalid_response", 400)


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"token_type":"Bearer"}', b'{"access_token":"a b","token_type":"x"}'],
)
async def test_unusable_token_response(
    registered: OAuthServer, make_client: Any, body: bytes
) -> None:
    registered.script_token(200, raw=body)
    okta = await make_client(strategy())
    with pytest.raises(OAuthError) as info:
        await okta.connections.get(APP_ID)
    assert info.value.error == "invalid_response"


async def test_real_server_refusal_maps_to_oauth_error(oauth_server: OAuthServer) -> None:
    # Registered with another key: the server's own verification refuses the assertion.
    oauth_server.register(public_key=rsa_key(1).public_key())
    async with client(oauth_server.url, strategy()) as okta:
        with pytest.raises(OAuthError) as info:
            await okta.connections.get(APP_ID)
    assert info.value.error == "invalid_client" and info.value.status == 401


async def test_scope_not_granted(oauth_server: OAuthServer) -> None:
    oauth_server.register(public_key=rsa_key().public_key(), scopes=("okta.apps.read",))
    auth = strategy(scopes=["okta.apps.read", "okta.apps.manage"])
    async with client(oauth_server.url, auth) as okta:
        with pytest.raises(OAuthError) as info:
            await okta.connections.get(APP_ID)
    assert info.value.error == "invalid_scope"


async def test_unreachable_token_endpoint_is_retried_then_auth_error(
    registered: OAuthServer,
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps = Sleeps()
    auth = strategy(
        token_url=f"http://127.0.0.1:{port}/oauth2/v1/token", sleep=sleeps, random=lambda: 1.0
    )
    async with client(registered.url, auth) as okta:
        with pytest.raises(AuthError) as info:
            await okta.connections.get(APP_ID)
    assert not isinstance(info.value, OAuthError)
    assert isinstance(info.value, TokenEndpointUnreachableError)
    assert isinstance(info.value.__cause__, TransportError)
    assert "after 4 attempt(s)" in str(info.value)
    assert sleeps == [0.5, 1.0, 2.0]
    assert auth.token_requests == 4
    assert registered.api_requests == 0


async def test_token_url_path_is_resolved_against_the_org(registered: OAuthServer) -> None:
    auth = strategy(token_url="/oauth2/v1/token")
    async with client(registered.url, auth) as okta:
        await okta.connections.get(APP_ID)
    assert auth.token_url == registered.token_url


async def test_forbidden_scope_on_the_api(oauth_server: OAuthServer) -> None:
    oauth_server.register(public_key=rsa_key().public_key(), scopes=("okta.apps.read",))
    auth = strategy(scopes="okta.apps.read")
    async with client(oauth_server.url, auth) as okta:
        await okta.connections.get(APP_ID)
        with pytest.raises(ForbiddenError) as info:
            await okta.connections.activate(APP_ID)
    assert info.value.error_code == "E0000006"
    assert oauth_server.token_requests == 1  # a 403 is not a reason to refetch


# ---------------------------------------------------------------------- 401 replay rules


def _request(auth_header: str) -> AuthRequest:
    return AuthRequest(
        method="GET",
        url=yarl.URL("https://acme.okta.com/api/v1/apps/x/connections/default"),
        headers=CIMultiDict({"Authorization": auth_header}),
    )


async def test_401_drops_the_token_only_if_it_is_still_cached(
    registered: OAuthServer, make_client: Any
) -> None:
    auth = strategy()
    okta = await make_client(auth)
    await okta.connections.get(APP_ID)
    current = registered.auth_headers[-1]
    # A 401 for an older token: replay, but keep the current one.
    assert await auth.on_response(_request("Bearer old"), AuthResponse(401, {})) is True
    assert auth._token is not None
    # Anything other than 401 is not replayed.
    assert await auth.on_response(_request(current), AuthResponse(403, {})) is False
    assert await auth.on_response(_request(current), AuthResponse(200, {})) is False
    # A 401 for the cached token drops it, and the next call fetches once.
    assert await auth.on_response(_request(current), AuthResponse(401, {})) is True
    assert auth._token is None
    await asyncio.gather(*(okta.connections.get(APP_ID) for _ in range(20)))
    assert registered.token_requests == 2


async def test_a_second_401_is_raised_not_looped(oauth_server: OAuthServer) -> None:
    oauth_server.register(public_key=rsa_key().public_key())
    async with client(oauth_server.url, strategy()) as okta:
        await okta.connections.get(APP_ID)
        # Forget every token, now and later: the replay fails too, and the call gives up.
        oauth_server.tokens = _AlwaysEmpty()
        with pytest.raises(UnauthorizedError) as info:
            await okta.connections.get(APP_ID)
    assert info.value.attempts == 2
    assert oauth_server.token_requests == 2


class _AlwaysEmpty(dict[str, Any]):
    def __setitem__(self, key: str, value: Any) -> None:
        return None


async def test_authorize_before_bind_says_how_to_use_it() -> None:
    with pytest.raises(AuthError, match="not bound"):
        await strategy().authorize(_request(""))


# ---------------------------------------------------------------------- DPoP


@pytest.fixture
def dpop_server(oauth_server: OAuthServer) -> OAuthServer:
    oauth_server.register(public_key=rsa_key().public_key(), dpop_required=True)
    return oauth_server


async def test_dpop_nonce_exchange_and_thousand_calls(dpop_server: OAuthServer) -> None:
    auth = Counting(CLIENT_ID, pem(rsa_key()), dpop=True)
    async with OktaClient(
        dpop_server.url, auth=auth, retry=fast_retry(), max_in_flight=1000
    ) as okta:
        await okta.connections.get(APP_ID)
        # The first token flow: a nonce challenge, then the token.
        assert dpop_server.token_requests == 2
        assert dpop_server.nonce_challenges == 1
        await auth.aclose()  # drop the token; the pacer now lets everything through
        auth.gate = dpop_server.token_gate = asyncio.Event()
        results = await _many(okta, 1000)
    assert len(results) == 1000
    assert auth.peak == 1000
    # One more token request: the nonce is remembered, so no second challenge.
    assert dpop_server.token_requests == 3
    assert dpop_server.nonce_challenges == 1
    assert dpop_server.tokens_issued == 2
    assert dpop_server.rejections == []  # no bad ath, no replayed jti, no bad htu
    assert {h.split()[0] for h in dpop_server.auth_headers} == {"DPoP"}
    # The two requests of the first flow carried different assertions (Okta burns the
    # first one's jti even though it answers use_dpop_nonce).
    assertions = dpop_server.seen_assertions
    assert len(assertions) == 3 and len(set(assertions)) == 3
    # Every proof is unique; each API proof hashes an access token we were issued.
    proofs = dpop_server.seen_proofs
    assert len(proofs) == 3 + 1001
    claims = [jwt.decode(p, options={"verify_signature": False}) for p in proofs]
    assert len({c["jti"] for c in claims}) == len(proofs)
    hashes = {access_token_hash(t) for t in dpop_server.issued_access}
    api_claims = [c for c in claims if "ath" in c]
    assert len(api_claims) == 1001 and all(c["ath"] in hashes for c in api_claims)
    token_claims = [c for c in claims if "ath" not in c]
    assert "nonce" not in token_claims[0]
    assert [c.get("nonce") for c in token_claims[1:]] == [dpop_server.nonce] * 2
    # One key for the client's life.
    keys = {str(jwt.get_unverified_header(p)["jwk"]) for p in proofs}
    assert len(keys) == 1


async def test_dpop_revoked_mid_run(dpop_server: OAuthServer) -> None:
    dpop_server.revoke_after = 200
    dpop_server.api_delay = 0.002
    async with OktaClient(
        dpop_server.url, auth=strategy(dpop=True), retry=fast_retry(), max_in_flight=1000
    ) as okta:
        await _many(okta, 500)
    assert dpop_server.tokens_issued == 2
    # The nonce is remembered: the second token needs no new challenge.
    assert dpop_server.token_requests == 3
    assert dpop_server.rejections == []


async def test_dpop_resource_nonce_challenge_is_answered(dpop_server: OAuthServer) -> None:
    dpop_server.api_nonce = "rs-nonce-1"
    async with client(dpop_server.url, strategy(dpop=True)) as okta:
        await okta.connections.get(APP_ID)
        assert dpop_server.nonce_challenges == 2  # one at /token, one at the API
        assert dpop_server.api_requests == 2
        # With a query string: htu must drop it or the server refuses the proof.
        await okta.connections.update(APP_ID, TokenConnection(token="t0k"), activate=True)
        await asyncio.gather(*(okta.connections.get(APP_ID) for _ in range(50)))
        # A rotated nonce is picked up from the challenge.
        dpop_server.api_nonce = "rs-nonce-2"
        await okta.connections.activate(APP_ID)
    assert dpop_server.nonce_challenges == 3
    assert dpop_server.tokens_issued == 1
    assert dpop_server.rejections == []


async def test_dpop_asked_but_bearer_given(oauth_server: OAuthServer) -> None:
    oauth_server.register(public_key=rsa_key().public_key(), token_type="Bearer")
    async with client(oauth_server.url, strategy(dpop=True)) as okta:
        with pytest.raises(OAuthError) as info:
            await okta.connections.get(APP_ID)
    assert info.value.error == "invalid_token_type"
    assert "Bearer" in str(info.value)


async def test_dpop_token_without_dpop(oauth_server: OAuthServer) -> None:
    oauth_server.register(public_key=rsa_key().public_key(), token_type="DPoP")
    async with client(oauth_server.url, strategy()) as okta:
        with pytest.raises(OAuthError) as info:
            await okta.connections.get(APP_ID)
    assert info.value.error == "invalid_token_type"
    assert "dpop=True" in str(info.value)


async def test_dpop_required_but_not_used(dpop_server: OAuthServer) -> None:
    async with client(dpop_server.url, strategy()) as okta:
        with pytest.raises(OAuthError) as info:
            await okta.connections.get(APP_ID)
    assert info.value.error == "invalid_dpop_proof"


async def test_endless_nonce_challenges_stop(dpop_server: OAuthServer) -> None:
    for n in range(5):
        dpop_server.script_token(400, {"error": "use_dpop_nonce"}, **{"DPoP-Nonce": f"n{n}"})
    async with client(dpop_server.url, strategy(dpop=True)) as okta:
        with pytest.raises(OAuthError) as info:
            await okta.connections.get(APP_ID)
    assert info.value.error == "use_dpop_nonce"
    assert dpop_server.token_requests == 3  # the first try and two nonce retries
