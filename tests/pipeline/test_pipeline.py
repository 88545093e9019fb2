"""One pipeline for API calls and token requests: the token policy, shared refreshes that
respect each caller's deadline, slots that are always released, and no secret in any
exception chain, with every auth strategy."""

from __future__ import annotations

import asyncio
import json
import secrets as _secrets
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest

from okta_connections import (
    Auth,
    AuthError,
    AuthRequest,
    BadRequestError,
    MockTransport,
    OAuthError,
    OktaClient,
    OktaError,
    OktaTimeoutError,
    PrivateKeyJWT,
    RetryPolicy,
    SSWSToken,
    Timeouts,
    TransportRequest,
    TransportResponse,
)
from tests.support.chains import assert_chain_clean, chain_text
from tests.support.constants import APP_ID, CONNECTION_BODY, SECRET
from tests.support.keys import pem, rsa_key
from tests.support.oauth_server import CLIENT_ID
from tests.support.retry import fast_retry
from tests.support.strategies import CLIENT_SECRET, REFRESH, STRATEGIES

ORG = "https://acme.okta.com"
JSON = {"Content-Type": "application/json"}
CODE = "C0DE-pipeline-1"
STATE = "ST4TE-p1"


class EchoOrg:
    """A MockTransport handler playing Okta badly: it issues tokens, then echoes every
    credential it was sent back in its error text. Records every secret it saw."""

    def __init__(self, token_status: int = 200, held: tuple[str, ...] = ()) -> None:
        self.token_status = token_status
        self.held = held
        self.seen: list[str] = []
        self.token_requests = 0
        self.api_requests = 0

    def __call__(self, request: TransportRequest) -> TransportResponse:
        carried: list[str] = []
        for name, value in request.headers.items():
            if name.lower() in ("authorization", "dpop", "x-vault-token"):
                carried += [value, value.split()[-1]]
        form = urllib.parse.parse_qs((request.body or b"").decode())
        for field in ("client_assertion", "refresh_token", "client_secret"):
            carried += form.get(field, [])
        carried += [v for k, v in request.url.query.items() if k in ("code", "state")]
        self.seen += carried
        # What this request carried, and the strategy's long-lived secrets as if a
        # careless server had kept them from the token request.
        echo = " | ".join([*carried, *self.held])
        if request.url.path.endswith("/token"):
            self.token_requests += 1
            if self.token_status != 200:
                body = {"error": "invalid_client", "error_description": f"bad: {echo}"}
                return TransportResponse(self.token_status, JSON, json.dumps(body).encode())
            access = "at-" + _secrets.token_urlsafe(24)
            self.seen.append(access)
            dpop = "dpop" in request.headers
            body = {
                "access_token": access,
                "token_type": "DPoP" if dpop else "Bearer",
                "expires_in": 3600,
            }
            return TransportResponse(200, JSON, json.dumps(body).encode())
        self.api_requests += 1
        body = {
            "errorCode": "E0000001",
            "errorSummary": f"Api validation failed: {echo}",
            "errorCauses": [{"errorSummary": f"you sent {echo} to {request.url}"}],
            "errorId": echo[:40],
        }
        headers = {**JSON, "X-Okta-Request-Id": "req-1", "X-Echo": echo}
        return TransportResponse(400, headers, json.dumps(body).encode())


@pytest.mark.parametrize("name", list(STRATEGIES))
async def test_echoed_credentials_are_redacted_from_api_errors(name: str) -> None:
    org = EchoOrg(held=(CLIENT_SECRET, REFRESH) if name == "refresh token" else ())
    auth = STRATEGIES[name]()
    async with OktaClient(
        ORG, auth=auth, transport=MockTransport(org), retry=fast_retry(max_attempts=1)
    ) as okta:
        with pytest.raises(BadRequestError) as update_error:
            await okta.connections.get(APP_ID)
        with pytest.raises(BadRequestError) as verify_error:
            await okta.connections.verify("slack", APP_ID, code=CODE, state=STATE)
    assert org.api_requests == 2 and org.seen
    assert CODE in org.seen  # the code really went out (and was echoed)
    for error in (update_error.value, verify_error.value):
        assert "***" in (error.error_summary or "")
        assert_chain_clean(error, *org.seen, CLIENT_SECRET, REFRESH)
        assert all(s not in repr(error.headers) for s in org.seen)


@pytest.mark.parametrize("name", ["private_key_jwt", "private_key_jwt dpop", "refresh token"])
async def test_echoed_credentials_are_redacted_from_token_refusals(name: str) -> None:
    org = EchoOrg(token_status=401)
    async with OktaClient(
        ORG, auth=STRATEGIES[name](), transport=MockTransport(org), retry=fast_retry()
    ) as okta:
        with pytest.raises(OAuthError) as info:
            await okta.connections.get(APP_ID)
    assert org.token_requests == 1 and org.api_requests == 0
    assert "***" in (info.value.error_description or "")
    assert_chain_clean(info.value, *org.seen, CLIENT_SECRET, REFRESH)


def _down(status: int = 503, delay: float = 0.0) -> Callable[[TransportRequest], Any]:
    calls: list[float] = []

    async def handler(request: TransportRequest) -> TransportResponse:
        calls.append(time.monotonic())
        if delay:
            await asyncio.sleep(delay)
        if request.url.path.endswith("/token"):
            return TransportResponse(
                status, JSON, b'{"error":"temporarily_unavailable","error_description":"down"}'
            )
        return TransportResponse(200, JSON, json.dumps(CONNECTION_BODY).encode())

    handler.calls = calls  # type: ignore[attr-defined]
    return handler


@pytest.mark.looptime  # the deadlines and back-offs are the loop's: load cannot stretch them
@pytest.mark.usefixtures("client_on_loop_clock")
async def test_a_token_503_is_retried_by_the_shared_engine_under_the_token_deadline() -> None:
    handler = _down(503)
    transport = MockTransport(handler)
    token_retry = RetryPolicy.for_token_requests(
        max_attempts=50, backoff_base=0.05, backoff_max=0.1, deadline=0.6
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with OktaClient(
        ORG,
        auth=PrivateKeyJWT(CLIENT_ID, pem(rsa_key())),
        transport=transport,
        token_retry=token_retry,
        timeouts=Timeouts(deadline=30),
    ) as okta:
        with pytest.raises(OAuthError) as info:
            await okta.connections.get(APP_ID)
        assert okta.auth.token_requests == len(transport.requests)  # type: ignore[attr-defined]
    elapsed = loop.time() - started
    # Several attempts, each with a fresh assertion, stopped by the token policy's 0.6 s
    # deadline, not by the call's 30 s one nor by max_attempts.
    assert 3 <= len(transport.requests) < 50
    assert elapsed < 1  # the loop's time: back-offs of at most 0.1 s up to the 0.6 s deadline
    assert (info.value.status, info.value.error) == (503, "temporarily_unavailable")
    forms = [urllib.parse.parse_qs(r.body.decode()) for r in transport.requests if r.body]
    assertions = [f["client_assertion"][0] for f in forms]
    assert len(set(assertions)) == len(assertions)  # one jti per attempt
    assert all(r.url.path == "/oauth2/v1/token" for r in transport.requests)


async def test_token_requests_are_paced_in_their_own_bucket() -> None:
    def handler(request: TransportRequest) -> TransportResponse:
        reset = str(int(time.time()) + 30)
        limits = {
            "X-Rate-Limit-Limit": "600",
            "X-Rate-Limit-Remaining": "599",
            "X-Rate-Limit-Reset": reset,
        }
        if request.url.path.endswith("/token"):
            body = {"access_token": "at-x", "token_type": "Bearer", "expires_in": 3600}
            return TransportResponse(200, {**JSON, **limits}, json.dumps(body).encode())
        return TransportResponse(200, {**JSON, **limits}, json.dumps(CONNECTION_BODY).encode())

    async with OktaClient(
        ORG, auth=PrivateKeyJWT(CLIENT_ID, pem(rsa_key())), transport=MockTransport(handler)
    ) as okta:
        await okta.connections.get(APP_ID)
        assert set(okta.rate_limits) == {"apps", "oauth2-token"}
        assert okta.rate_limiter.in_flight("oauth2-token") == 0


@pytest.mark.looptime  # every time below is the loop's: exact, whatever the machine's load
@pytest.mark.usefixtures("client_on_loop_clock")
async def test_each_waiter_stops_at_its_own_deadline_while_the_refresh_goes_on() -> None:
    issued: list[float] = []
    loop = asyncio.get_running_loop()

    async def handler(request: TransportRequest) -> TransportResponse:
        if request.url.path.endswith("/token"):
            await asyncio.sleep(0.8)
            issued.append(loop.time())
            body = {"access_token": "at-slow", "token_type": "Bearer", "expires_in": 3600}
            return TransportResponse(200, JSON, json.dumps(body).encode())
        return TransportResponse(200, JSON, json.dumps(CONNECTION_BODY).encode())

    transport = MockTransport(handler)
    async with OktaClient(
        ORG,
        auth=PrivateKeyJWT(CLIENT_ID, pem(rsa_key())),
        transport=transport,
        max_in_flight=10,
    ) as okta:
        started = loop.time()
        finished: dict[str, float] = {}

        async def timed(name: str, call: Any) -> Any:
            try:
                return await call
            finally:
                finished[name] = loop.time() - started

        short = timed("short", okta.connections.get(APP_ID, timeout=Timeouts(deadline=0.2)))
        patient = timed("patient", okta.connections.get(APP_ID))
        results = await asyncio.gather(short, patient, return_exceptions=True)
        short_done = loop.time() - started
        assert finished["short"] < 0.6 < finished["patient"]  # it stopped at its own deadline
        assert isinstance(results[0], OktaTimeoutError)
        assert results[0].phase == "deadline" and "access token" in str(results[0])
        assert results[1].status.value == "ENABLED"  # type: ignore[union-attr]
        assert short_done >= 0.7  # gather waited for the patient one
        # The impatient call gave up at its deadline; the one refresh went on for both.
        tokens = [r for r in transport.requests if r.url.path.endswith("/token")]
        assert len(tokens) == 1 and len(issued) == 1


class Broken(Auth):
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    async def authorize(self, request: AuthRequest) -> None:
        request.headers["Authorization"] = "SSWS broken-strategy-SECRET-1"
        raise self.exc


async def test_a_strategy_exception_becomes_auth_error_and_frees_the_slot() -> None:
    leaky = KeyError("vault said no to SSWS broken-strategy-SECRET-1")
    transport = MockTransport(lambda r: TransportResponse(200, JSON, b"{}"))
    async with OktaClient(ORG, auth=Broken(leaky), transport=transport) as okta:
        with pytest.raises(AuthError, match="Broken.authorize.. raised KeyError") as info:
            await okta.connections.get(APP_ID)
        assert okta.rate_limiter.in_flight("apps") == 0
    assert transport.requests == []
    assert_chain_clean(info.value, "broken-strategy-SECRET-1")
    assert "vault said no" not in chain_text(info.value)


async def test_cancellation_between_acquire_and_release_frees_the_slot() -> None:
    gate = asyncio.Event()

    async def handler(_: TransportRequest) -> TransportResponse:
        gate.set()
        await asyncio.sleep(30)
        raise AssertionError("not reached")

    async with OktaClient(ORG, auth=SSWSToken(SECRET), transport=MockTransport(handler)) as okta:
        task = asyncio.create_task(okta.connections.get(APP_ID))
        await gate.wait()
        assert okta.rate_limiter.in_flight("apps") == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert okta.rate_limiter.in_flight("apps") == 0


@pytest.mark.looptime
@pytest.mark.usefixtures("client_on_loop_clock")
async def test_a_waiter_cancelled_does_not_cancel_the_shared_refresh() -> None:
    refreshing = asyncio.Event()

    async def handler(request: TransportRequest) -> TransportResponse:
        if request.url.path.endswith("/token"):
            refreshing.set()
            await asyncio.sleep(0.3)
            body = {"access_token": "at-1", "token_type": "Bearer", "expires_in": 3600}
            return TransportResponse(200, JSON, json.dumps(body).encode())
        return TransportResponse(200, JSON, json.dumps(CONNECTION_BODY).encode())

    transport = MockTransport(handler)
    async with OktaClient(
        ORG, auth=PrivateKeyJWT(CLIENT_ID, pem(rsa_key())), transport=transport
    ) as okta:
        first = asyncio.create_task(okta.connections.get(APP_ID))
        await refreshing.wait()  # the refresh is under way, on the first call's behalf
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        await okta.connections.get(APP_ID)
    assert sum(r.url.path.endswith("/token") for r in transport.requests) == 1


def test_every_error_is_an_okta_error() -> None:
    assert issubclass(AuthError, OktaError) and issubclass(OktaTimeoutError, OktaError)


class Hooks(Auth):
    """A strategy whose optional hooks fail in the ways users' strategies do."""

    def __init__(self, broken: str) -> None:
        self.broken = broken

    async def bind(self, context: Any) -> None:
        if self.broken == "bind":
            raise KeyError("vault-PIPELINE-secret in bind")

    async def authorize(self, request: AuthRequest) -> None:
        request.headers["Authorization"] = "SSWS hooks-PIPELINE-secret-0001"

    def secret_values(self) -> tuple[str, ...]:
        if self.broken == "secret_values":
            return None  # type: ignore[return-value]
        return ()

    async def aclose(self) -> None:
        if self.broken == "aclose":
            raise RuntimeError("vault-PIPELINE-secret in aclose")


def _refusing(request: TransportRequest) -> TransportResponse:
    return TransportResponse(400, JSON, b'{"errorCode":"E0000001","errorSummary":"no"}')


async def test_a_failing_bind_becomes_an_auth_error_before_anything_is_sent() -> None:
    transport = MockTransport(_refusing)
    okta = OktaClient(ORG, auth=Hooks("bind"), transport=transport)
    with pytest.raises(AuthError, match=r"Hooks.bind\(\) raised KeyError") as info:
        await okta.connections.get(APP_ID)
    assert transport.requests == []
    assert "vault-PIPELINE-secret" not in chain_text(info.value)
    assert info.value.__context__ is None


async def test_a_failing_aclose_becomes_an_auth_error_and_still_closes_the_transport() -> None:
    transport = MockTransport(_refusing)
    okta = OktaClient(ORG, auth=Hooks("aclose"), transport=transport)
    with pytest.raises(BadRequestError):
        await okta.connections.get(APP_ID)
    with pytest.raises(AuthError, match=r"Hooks.aclose\(\) raised RuntimeError") as info:
        await okta.close()
    assert transport.closed and okta.closed
    assert "vault-PIPELINE-secret" not in chain_text(info.value)


async def test_a_broken_secret_values_still_gives_the_typed_error() -> None:
    async with OktaClient(
        ORG, auth=Hooks("secret_values"), transport=MockTransport(_refusing)
    ) as okta:
        with pytest.raises(BadRequestError):
            await okta.connections.get(APP_ID)


@pytest.mark.parametrize(
    "response",
    [
        TransportResponse("200", JSON, b"{}"),  # type: ignore[arg-type]
        TransportResponse(200, {"X-Okta-Request-Id": 5}, b"{}"),  # type: ignore[dict-item]
        TransportResponse(200, JSON, "{}"),  # type: ignore[arg-type]
        TransportResponse(99, JSON, b"{}"),
    ],
    ids=["str status", "int header", "str body", "status 99"],
)
async def test_a_malformed_transport_response_is_a_typed_error(
    response: TransportResponse,
) -> None:
    async with OktaClient(
        ORG,
        auth=SSWSToken(SECRET),
        transport=MockTransport(lambda r: response),
        retry=fast_retry(max_attempts=1),
    ) as okta:
        with pytest.raises(OktaError) as info:
            await okta.connections.get(APP_ID)
    assert type(info.value).__name__ == "OktaConnectionError"
    assert "authorize" not in str(info.value)  # not blamed on the strategy


async def test_closing_the_client_during_a_refresh_is_client_closed_not_cancelled() -> None:
    from okta_connections import ClientClosedError

    started = asyncio.Event()

    async def handler(request: TransportRequest) -> TransportResponse:
        started.set()
        await asyncio.sleep(30)
        raise AssertionError("not reached")

    okta = OktaClient(
        ORG, auth=PrivateKeyJWT(CLIENT_ID, pem(rsa_key())), transport=MockTransport(handler)
    )
    waiter = asyncio.create_task(okta.connections.get(APP_ID))
    await started.wait()
    await okta.close()
    with pytest.raises(ClientClosedError):
        await waiter
    assert not waiter.cancelled()


@pytest.mark.parametrize("expires_in", [int("9" * 400), 1e999, float("nan"), "9" * 5000, -5])
async def test_absurd_token_lifetimes_fall_back_to_an_hour(expires_in: Any) -> None:
    def handler(request: TransportRequest) -> TransportResponse:
        if request.url.path.endswith("/token"):
            body = json.dumps(
                {"access_token": "at-1", "token_type": "Bearer", "expires_in": expires_in}
            ).encode()
            return TransportResponse(200, JSON, body)
        return TransportResponse(200, JSON, json.dumps(CONNECTION_BODY).encode())

    auth = PrivateKeyJWT(CLIENT_ID, pem(rsa_key()))
    async with OktaClient(ORG, auth=auth, transport=MockTransport(handler)) as okta:
        await okta.connections.get(APP_ID)
        token = auth._token
    assert token is not None and token.expires_at - time.time() == pytest.approx(3600, abs=60)


async def test_a_short_token_echoed_alone_is_redacted() -> None:
    def handler(request: TransportRequest) -> TransportResponse:
        body = {"errorCode": "E0000011", "errorSummary": "Invalid token: tok7xyz"}
        return TransportResponse(401, JSON, json.dumps(body).encode())

    async with OktaClient(
        ORG, auth=SSWSToken("tok7xyz"), transport=MockTransport(handler), retry=fast_retry()
    ) as okta:
        with pytest.raises(OktaError) as info:
            await okta.connections.get(APP_ID)
    assert "tok7xyz" not in chain_text(info.value)
