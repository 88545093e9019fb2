"""The pipeline's stages, each alone: prepare, pace, authorize, send, classify, decide;
the kinds of call (ApiCall, TokenCall) and RetryPolicy.decide's clamps."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import yarl
from multidict import CIMultiDict

from okta_connections import (
    ApiError,
    AuthError,
    MockTransport,
    OktaConnectionError,
    OktaTimeoutError,
    RetryPolicy,
    SSWSToken,
    Timeouts,
    TransportRequest,
    TransportResponse,
)
from okta_connections.auth._base import Auth, AuthRequest, AuthResponse, SideRequest
from okta_connections.pipeline.events import AttemptEnded, AttemptStarted
from okta_connections.pipeline.exchange import (
    API_CALL,
    TOKEN,
    TOKEN_BUCKET,
    Operation,
    TokenCall,
    _Exchange,
)
from okta_connections.pipeline.session import _FAILED, _REPLAY, _SUCCESS, Session, _Call, _Try
from okta_connections.ratelimit.headers import RateLimitInfo
from okta_connections.ratelimit.pacer import RateLimiter
from tests.support.constants import SECRET

ORG = "https://example.okta.com"
GET = Operation("get", "GET", "/api/v1/apps/{id}/connections/default", "", frozenset({200}))
POST = Operation("activate", "POST", "/x/lifecycle/activate", "", frozenset({204}))
JSON = {"Content-Type": "application/json"}


def _session(handler: Any = None, auth: Auth | None = None, **kw: Any) -> Session:
    transport = MockTransport(handler or (lambda r: TransportResponse(200, JSON, b"{}")))
    return Session(
        ORG,
        auth or SSWSToken(SECRET),
        timeouts=Timeouts(),
        retry=RetryPolicy(),
        limiter=kw.pop("limiter", RateLimiter()),
        transport=transport,
        **kw,
    )


def _x(op: Operation = GET, kind: Any = API_CALL, **kw: Any) -> _Exchange:
    url = yarl.URL(ORG).with_path("/api/v1/apps/0oa1/connections/default")
    return _Exchange(op, url, "apps", RetryPolicy(), Timeouts(), kind, **kw)


def _call(x: _Exchange, deadline: float = 1e9) -> _Call:
    return _Call(x, deadline, 30.0)


def _info(*, remaining: int = 5, limit: int = 10, reset_after: float = 30.0) -> RateLimitInfo:
    return RateLimitInfo(
        limit=limit,
        remaining=remaining,
        reset_at=1000.0 + reset_after,
        reset_after=reset_after,
        observed_at=0.0,
    )


# ---------------------------------------------------------------- prepare


def test_prepare_builds_an_api_calls_first_attempt() -> None:
    session = _session()
    call = _call(_x(body=b'{"a":1}', content_type="application/json"))
    call.attempts = 1
    t = _Try()
    session._prepare(call, t)
    assert t.request.method == "GET"
    assert t.request.body == b'{"a":1}'
    assert t.request.headers["Content-Type"] == "application/json"
    assert "X-Okta-Retry-Count" not in t.request.headers
    assert t.request.headers["User-Agent"].startswith("okta-connections/")


def test_prepare_adds_the_retry_headers_but_not_for_replays() -> None:
    session = _session()
    call = _call(_x())
    call.attempts, call.replays, call.first_request_id = 3, 1, "abc123"
    t = _Try()
    session._prepare(call, t)
    assert t.request.headers["X-Okta-Retry-Count"] == "1"
    assert t.request.headers["X-Okta-Retry-For"] == "abc123"


def test_a_bodyless_write_says_content_length_zero() -> None:
    t = _Try()
    call = _call(_x(POST))
    call.attempts = 1
    _session()._prepare(call, t)
    assert t.request.headers["Content-Length"] == "0"


def test_prepare_asks_a_token_request_for_a_fresh_form_per_attempt() -> None:
    built: list[int] = []

    def prepare() -> SideRequest:
        built.append(1)
        return SideRequest(form={"grant_type": "x y"}, headers={"DPoP": "p"}, secrets=("s",))

    session = _session()
    call = _call(_x(TOKEN, TokenCall(prepare)))
    for attempt in (1, 2):
        call.attempts = attempt
        t = _Try()
        session._prepare(call, t)
        assert t.request.body == b"grant_type=x+y"
        assert t.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert t.request.headers["DPoP"] == "p"
        assert "X-Okta-Retry-Count" not in t.request.headers  # never on token requests
        assert t.secrets == ("s",)
    assert len(built) == 2


# ---------------------------------------------------------------- pace


async def test_pace_grants_a_permit_and_holds_the_slot_until_it_is_given_back() -> None:
    limiter = RateLimiter()
    session = _session(limiter=limiter)
    call = _call(_x(), deadline=asyncio.get_running_loop().time() + 5)
    permit = await session._pace(call)
    assert permit is not None
    assert limiter.in_flight("apps") == 1
    permit.give_back()
    permit.give_back()  # idempotent
    assert limiter.in_flight("apps") == 0


async def test_pace_answers_none_when_the_deadline_runs_out_while_waiting() -> None:
    limiter = RateLimiter()
    held = await limiter.slot("apps").take()  # the probe's slot: the next one waits
    session = _session(limiter=limiter)
    call = _call(_x(), deadline=asyncio.get_running_loop().time() + 0.01)
    assert await session._pace(call) is None
    with pytest.raises(OktaTimeoutError, match="while pacing"):
        session._out_of_time(call)
    held.give_back()


async def test_a_token_request_paced_past_its_deadline_is_not_built() -> None:
    session = _session()
    x = _x(TOKEN, TokenCall(lambda: pytest.fail("built")))  # type: ignore[arg-type,return-value]
    call = _call(x, deadline=asyncio.get_running_loop().time() - 1)
    call.attempts = 2
    assert await session._pace(call) is None
    assert call.overslept
    assert session.limiter.in_flight(TOKEN_BUCKET) == 0
    with pytest.raises(OktaTimeoutError, match="deadline ran out") as info:
        session._out_of_time(call)
    assert info.value.attempts == 1


# ---------------------------------------------------------------- authorize


async def test_authorize_lets_the_strategy_add_its_header_to_api_calls_only() -> None:
    session = _session()
    for kind, expected in ((API_CALL, f"SSWS {SECRET}"), (TokenCall(lambda: SideRequest()), None)):
        call = _call(_x(kind=kind))
        call.attempts = 1
        t = _Try()
        session._prepare(call, t)
        await session._authorize(call, t)
        assert t.request.headers.get("Authorization") == expected
        assert t.failure is None and t.error is None


class _Raising(Auth):
    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    async def authorize(self, request: AuthRequest) -> None:
        raise self.exc


async def test_authorize_turns_a_strategys_exception_into_an_unchained_auth_error() -> None:
    session = _session(auth=_Raising(KeyError("SECRET-in-the-vault")))
    call = _call(_x())
    call.attempts = 1
    t = _Try()
    session._prepare(call, t)
    await session._authorize(call, t)
    assert isinstance(t.failure, AuthError)
    assert t.failure.__cause__ is None and t.failure.__context__ is None


async def test_authorize_keeps_a_transport_error_retryable() -> None:
    error = OktaConnectionError("token endpoint down", method="POST", path="/t", request_sent=False)
    session = _session(auth=_Raising(error))
    call = _call(_x())
    call.attempts = 1
    t = _Try()
    session._prepare(call, t)
    await session._authorize(call, t)
    assert t.error is error and t.failure is None


# ---------------------------------------------------------------- send


async def test_send_reads_the_response_and_its_rate_limit_and_emits_the_attempt() -> None:
    headers = {
        **JSON,
        "X-Rate-Limit-Limit": "10",
        "X-Rate-Limit-Remaining": "7",
        "X-Rate-Limit-Reset": "2000000000",
        "Date": "Wed, 18 May 2033 03:33:00 GMT",
    }
    session = _session(lambda r: TransportResponse(200, headers, b"{}"))
    seen: list[object] = []
    session.events.subscribe(AttemptStarted, seen.append)
    session.events.subscribe(AttemptEnded, seen.append)  # owed after the slot: t.started
    call = _call(_x(), deadline=asyncio.get_running_loop().time() + 5)
    call.attempts = 1
    t = _Try()
    session._prepare(call, t)
    await session._send(call, t)
    assert t.status == 200 and t.info is not None and t.info.remaining == 7
    assert [type(e) for e in seen] == [AttemptStarted] and t.started


async def test_send_turns_a_transport_failure_into_the_attempts_error() -> None:
    def refuse(_: TransportRequest) -> TransportResponse:
        raise OSError("refused")

    session = _session(refuse)
    call = _call(_x(), deadline=asyncio.get_running_loop().time() + 5)
    call.attempts = 1
    t = _Try()
    session._prepare(call, t)
    await session._send(call, t)
    assert isinstance(t.error, OktaConnectionError) and t.response is None


# ---------------------------------------------------------------- classify


def _answered(status: int, headers: dict[str, str] | None = None) -> _Try:
    t = _Try()
    t.request = AuthRequest(
        method="GET", url=yarl.URL(ORG), headers=CIMultiDict(), body=None, operation="get"
    )
    t.response = AuthResponse(status, {**JSON, **(headers or {})}, b"{}")
    t.status = status
    return t


async def test_classify_success_and_the_first_request_id() -> None:
    session = _session()
    call = _call(_x())
    call.attempts = 1
    t = _answered(200, {"X-Okta-Request-Id": "req1"})
    assert await session._classify(call, t) is _SUCCESS
    assert (t.request_id, call.first_request_id) == ("req1", "req1")


async def test_classify_an_error_status_as_a_typed_api_error() -> None:
    session = _session()
    call = _call(_x())
    call.attempts = 1
    t = _answered(503)
    assert await session._classify(call, t) is _FAILED
    assert isinstance(t.error, ApiError) and t.error.status == 503


async def test_classify_replays_a_token_refusal_at_most_twice() -> None:
    session = _session()
    call = _call(_x(TOKEN, TokenCall(lambda: SideRequest(), replay=lambda r: True)))
    call.attempts = 1
    verdicts = [await session._classify(call, _answered(400)) for _ in range(3)]
    assert verdicts == [_REPLAY, _REPLAY, _FAILED]


async def test_classify_raises_the_strategys_own_failure() -> None:
    session = _session()
    call = _call(_x())
    call.attempts = 2
    t = _answered(200)
    t.failure = AuthError("no")
    with pytest.raises(AuthError) as info:
        await session._classify(call, t)
    assert info.value.attempts == 2


# ---------------------------------------------------------------- decide


def test_decide_gives_up_past_the_deadline() -> None:
    policy = RetryPolicy(random=lambda: 0.5)
    error = ApiError.from_response(503, None, request_id=None, operation="get", headers={})
    args: dict[str, Any] = {"attempt": 1, "idempotent": True, "error": error, "now": 100.0}
    assert policy.decide(**args, deadline=200.0) == 0.25
    assert policy.decide(**args, deadline=100.2) is None


def test_decide_clamps_a_rate_limit_429_to_the_pacers_window_end() -> None:
    policy = RetryPolicy(random=lambda: 0.0)
    error = ApiError.from_response(429, None, request_id=None, operation="get", headers={})
    info = _info(remaining=0, reset_after=30.0)
    args: dict[str, Any] = {
        "attempt": 1,
        "idempotent": True,
        "error": error,
        "rate_limit": info,
        "now": 100.0,
        "deadline": 1000.0,
    }
    assert policy.decide(**args) == pytest.approx(30.05)
    assert policy.decide(**args, window_end=102.0) == pytest.approx(2.0)
    assert policy.decide(**args, window_end=99.0) == 0.0


def test_decide_leaves_a_concurrency_429_alone() -> None:
    policy = RetryPolicy(random=lambda: 0.0)
    error = ApiError.from_response(429, None, request_id=None, operation="get", headers={})
    info = _info(remaining=0, limit=0)
    got = policy.decide(
        attempt=1,
        idempotent=True,
        error=error,
        rate_limit=info,
        now=100.0,
        deadline=1000.0,
        window_end=100.001,
    )
    assert got == pytest.approx(0.1)


async def test_decide_reports_the_previous_answer_when_the_deadline_beat_the_send() -> None:
    session = _session()
    call = _call(_x())
    call.attempts = 2
    earlier = ApiError.from_response(503, None, request_id=None, operation="get", headers={})
    call.last = (AuthResponse(503, JSON, b"{}"), earlier)
    t = _Try()
    t.error = OktaTimeoutError("late", method="GET", path="/", request_sent=False, phase="deadline")
    assert session._decide(call, t) is None
    with pytest.raises(ApiError) as info:
        session._give_up(call, t)
    assert info.value is earlier and info.value.attempts == 1


def test_give_up_returns_a_token_requests_last_refusal() -> None:
    call = _call(_x(TOKEN, TokenCall(lambda: SideRequest())))
    call.attempts = 3
    t = _answered(400, {"X-Okta-Request-Id": "r9"})
    t.error = ApiError.from_response(400, None, request_id=None, operation="token", headers={})
    response, request_id, attempts = Session._give_up(call, t)
    assert (response.status, request_id, attempts) == (400, "r9", 3)


async def test_the_loop_emits_attempt_ended_after_the_slot_went_back() -> None:
    session = _session()
    seen: list[int] = []
    session.events.subscribe(AttemptStarted, lambda e: None)
    session.events.subscribe(AttemptEnded, lambda e: seen.append(session.limiter.in_flight("apps")))
    response = await session.request(GET, "/api/v1/apps/0oa1/connections/default")
    assert response.status == 200 and seen == [0]
    await session.close()
