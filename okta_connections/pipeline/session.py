"""The request pipeline: headers -> pacing -> auth -> transport -> auth replay -> retry -> errors.

One engine, :meth:`Session._run`, carries every exchange: API calls and the auth strategies'
token requests alike, each with its own retry policy and rate-limit bucket. Below it sits
the transport seam (:mod:`okta_connections.transport`); nothing here imports aiohttp.

Auth and retries live here rather than in aiohttp client middlewares on purpose: test tools
such as aioresponses patch ``ClientSession._request`` and would bypass middlewares.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import yarl
from multidict import CIMultiDict, CIMultiDictProxy

from .. import _json
from .._ids import _plain_request_id
from .._redact import header_secrets, holds_secret, redact
from .._version import __version__
from ..auth._base import Auth, AuthContext, AuthRequest, AuthResponse, SideRequest
from ..config import Timeouts
from ..errors import (
    ApiError,
    AuthError,
    ClientClosedError,
    OktaConnectionError,
    OktaError,
    OktaTimeoutError,
    TransportError,
)
from ..ratelimit.headers import RateLimitInfo, bucket_for, header_remaining, parse_rate_limit
from ..ratelimit.pacer import Permit, RateLimiter
from ..transport.aiohttp import AiohttpTransport
from ..transport.base import (
    DEFAULT_MAX_RESPONSE_BYTES,
    Transport,
    TransportRequest,
    TransportResponse,
)
from .events import AttemptEnded, AttemptStarted, Events, Paced, TokenFetched, log_fields
from .exchange import (
    API_CALL,
    TOKEN,
    TOKEN_BUCKET,
    HttpResponse,
    Operation,
    Result,
    TokenCall,
    _Exchange,
)
from .observe import Observer
from .retry import RetryPolicy

__all__ = ["Session", "attempt_counter", "default_user_agent"]

logger = logging.getLogger("okta_connections")

#: The attempts of the current task's API calls: a bulk job sets ``[0]`` per item, and
#: each API call adds the attempts it sends. The user's function sits between the job
#: and the pipeline, so only the task pairs them; a call reads it once (``_Call``).
attempt_counter: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "okta_connections_attempts", default=None
)

#: The verdicts of the classify stage.
_SUCCESS = "success"
_REPLAY = "replay"
_FAILED = "failed"


class _Call:
    """The state of one call across its attempts."""

    __slots__ = (
        "attempts",
        "budget",
        "counter",
        "deadline",
        "first_request_id",
        "last",
        "overslept",
        "replays",
        "x",
    )

    def __init__(self, x: _Exchange, deadline: float | None = None, budget: float = 0.0) -> None:
        """The call's state; without ``deadline``, from now: the shorter of the client's
        deadline and the policy's."""
        self.x = x
        if deadline is None:
            budget = x.timeouts.deadline
            policy_deadline = x.policy.deadline
            if policy_deadline is not None and policy_deadline < budget:
                budget = policy_deadline
            deadline = asyncio.get_running_loop().time() + budget
        self.deadline = deadline
        self.budget = budget
        self.attempts = 0
        self.replays = 0
        self.first_request_id: str | None = None
        #: The previous failed attempt's answer, once a retry was decided.
        self.last: tuple[AuthResponse | None, OktaError] | None = None
        self.overslept = False
        #: The task's attempt counter (``attempt_counter``), for an API call.
        self.counter = None if x.kind.token_request else attempt_counter.get()


class _Try:
    """One attempt as the stages fill it in."""

    __slots__ = (
        "error",
        "failure",
        "info",
        "request",
        "request_id",
        "response",
        "secrets",
        "started",
        "status",
    )

    request: AuthRequest

    def __init__(self) -> None:
        self.secrets: tuple[str, ...] = ()
        self.response: AuthResponse | None = None
        self.status = 0
        self.info: RateLimitInfo | None = None
        self.request_id: str | None = None
        #: What the attempt failed with: retryable, by the policy (a transport error or
        #: an API error), or a failure that ends the call (the strategy's).
        self.error: OktaError | None = None
        self.failure: OktaError | None = None
        self.started = False  # sent, and someone listens for AttemptEnded


def _unsent_for_deadline(error: OktaError) -> bool:
    return (
        isinstance(error, OktaTimeoutError) and error.phase == "deadline" and not error.request_sent
    )


def default_user_agent(suffix: str | None = None, transport_token: str | None = None) -> str:
    """``okta-connections/<v> python/<x.y> aiohttp/<x.y>``, plus an optional suffix."""
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    agent = f"okta-connections/{__version__} python/{py}"
    if transport_token:
        agent += f" {transport_token}"
    return f"{agent} {suffix.strip()}" if suffix and suffix.strip() else agent


def _decode_json_or_none(body: bytes) -> Any:
    if not body:
        return None
    try:
        return _json.loads(body)
    except ValueError:
        return None


class Session:
    """Runs every request of one client through the pipeline, over one transport."""

    def __init__(
        self,
        org_url: str,
        auth: Auth,
        *,
        timeouts: Timeouts,
        retry: RetryPolicy,
        token_retry: RetryPolicy | None = None,
        user_agent_suffix: str | None = None,
        limiter: RateLimiter,
        transport: Transport,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        observer: Observer | None = None,
    ) -> None:
        self.org_url = org_url
        self.observer = observer
        self._org = yarl.URL(org_url)
        self.auth = auth
        # The base class's on_response never replays: skip awaiting it per call.
        self._sees_responses = type(auth).on_response is not Auth.on_response
        self.timeouts = timeouts
        self.retry = retry
        self.token_retry = token_retry or RetryPolicy.for_token_requests()
        self.transport = transport
        # Our aiohttp transport builds its responses itself: no need to check each one.
        self._trusted = type(transport) is AiohttpTransport
        self.user_agent = default_user_agent(
            user_agent_suffix, getattr(transport, "user_agent", None)
        )
        self._header_template = CIMultiDict(
            {
                "Accept": "application/json",
                "User-Agent": self.user_agent,
                **getattr(transport, "default_headers", {}),
            }
        )
        self.limiter = limiter
        #: The session's events: the observer subscribes, and so may anyone else.
        self.events = Events()
        if observer is not None:
            observer.subscribe(self.events, self._failure_secrets)
        self._unpace = limiter.on_paced(self._paced)
        self.max_response_bytes = max_response_bytes
        self._closed = False
        self._opened = False
        self._bound = False
        self._bind_lock = asyncio.Lock()

    # ------------------------------------------------------------------ lifecycle

    @property
    def opened(self) -> bool:
        """True once the first call has bound the strategy, until close."""
        return self._opened and not self._closed

    @property
    def closed(self) -> bool:
        return self._closed

    async def open(self) -> None:
        """Bind the auth strategy to this pipeline (idempotent)."""
        if self._closed:
            raise ClientClosedError("this OktaClient is closed; create a new one")
        if not self._bound:
            async with self._bind_lock:
                if not self._bound:
                    failure: OktaError | None = None
                    try:
                        await self.auth.bind(
                            AuthContext(org_url=self.org_url, send=self.send_token)
                        )
                    except OktaError:
                        raise
                    except Exception as exc:  # never chained: it may hold a secret
                        failure = _strategy_failure(self.auth, "bind", exc)
                    if failure is not None:
                        raise failure
                    self._bound = True
        self._opened = True

    async def close(self) -> None:
        """Close the auth strategy and the transport (idempotent)."""
        if self._closed:
            return
        self._closed = True
        failure: OktaError | None = None
        try:
            await self.auth.aclose()
        except OktaError:
            raise
        except Exception as exc:  # never chained: it may hold a secret
            failure = _strategy_failure(self.auth, "aclose", exc)
        finally:
            self._unpace()
            try:
                await self.limiter.aclose()
            finally:
                await self.transport.aclose()
        if failure is not None:
            raise failure

    # ------------------------------------------------------------------ entry points

    async def request(
        self,
        op: Operation,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        timeout: Timeouts | float | None = None,
    ) -> HttpResponse:
        """Run one API operation with pacing, auth, retries and error mapping.

        Returns:
            The successful response.

        Raises:
            ApiError: Okta answered with an error status (after retries, where allowed).
            TransportError: No response (after retries, where allowed).
            OktaError: anything the auth strategy raised.
        """
        if not self._bound or self._closed:
            await self.open()  # the first call binds the strategy; a closed client refuses
        url = self._org.with_path(path)
        if params:
            url = url.with_query(params)
        body: bytes | None = None
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":")).encode()
        secrets: tuple[str, ...] = ()
        if op.secret_params and params:
            secrets = tuple(v for k, v in params.items() if k in op.secret_params)
        exchange = _Exchange(
            op,
            url,
            bucket_for(path),
            self.retry,
            self.timeouts if timeout is None else Timeouts.coerce(timeout, self.timeouts),
            API_CALL,
            body,
            None if body is None else "application/json",
            secrets,
        )
        obs = self.observer
        response, request_id, attempts = await (
            self._run(exchange) if obs is None else obs.operation(exchange, self._run)
        )
        # Positional (status, headers, body, request_id, attempts): an attrs class built
        # by keywords costs about twice the instructions.
        return HttpResponse(response.status, response.headers, response.body, request_id, attempts)

    async def send_token(
        self,
        method: str,
        url: str,
        prepare: SideRequest | Callable[[], SideRequest],
        *,
        replay: Callable[[AuthResponse], bool] | None = None,
    ) -> AuthResponse:
        """Send a token request through the pipeline (see :class:`AuthContext`)."""
        await self.open()
        exchange = _Exchange(
            attrs.evolve(TOKEN, method=method) if method != TOKEN.method else TOKEN,
            yarl.URL(url),
            TOKEN_BUCKET,
            self.token_retry,
            self.timeouts,
            TokenCall(prepare if callable(prepare) else lambda: prepare, replay),
        )
        obs = self.observer
        started = asyncio.get_running_loop().time()
        response, _, attempts = await (
            self._run(exchange) if obs is None else obs.operation(exchange, self._run)
        )
        if self.events.wants(TokenFetched):
            # Its subscribers are cut at the token request's deadline (as _begin sets it),
            # as the attempts' are: one that never returns does not hold the token.
            budget = exchange.timeouts.deadline
            if exchange.policy.deadline is not None and exchange.policy.deadline < budget:
                budget = exchange.policy.deadline
            await self.events.emit(
                TokenFetched(response.status, attempts), deadline=started + budget
            )
        return response

    def _paced(self, bucket: str, waited: float) -> None:
        if self.events.wants(Paced):
            self.events.emit_nowait(Paced(bucket, waited))

    # ------------------------------------------------------------------ the engine

    async def _run(self, x: _Exchange) -> Result:
        """Attempts until success, a final refusal, or the deadline; one engine for all.

        The stages, in order: pace, prepare, authorize, send (inside the permit), then
        classify and decide. Each is a method of its own (see docs/architecture.md).
        """
        call = _Call(x)
        # Whether the strategy (or the token requester) may ask for a replay: when it
        # cannot, classify is a plain call.
        replayable = x.kind.may_replay(self.auth if self._sees_responses else None)
        while True:
            t = self._next_attempt(call)
            permit = self._pace_now(call) or await self._pace(call)
            if permit is None:
                return self._out_of_time(call)
            with permit:
                self._prepare(call, t)
                await self._authorize(call, t)
                if t.failure is None:
                    await self._send(call, t)
                permit.learn(t.info, t.status == 429)  # (info, rate_limited)
            if t.started:
                await self._attempt_ended(call, t)
            verdict = await self._classify(call, t) if replayable else self._verdict(call, t)
            if verdict is _SUCCESS:
                return t.response, t.request_id, call.attempts  # type: ignore[return-value]
            if verdict is _FAILED:
                delay = self._decide(call, t)
                if delay is None:
                    return self._give_up(call, t)
                await x.policy.sleep(delay)

    @staticmethod
    def _next_attempt(call: _Call) -> _Try:
        call.attempts += 1
        call.x.attempt = call.attempts
        return _Try()

    def _pace_now(self, call: _Call) -> Permit | None:
        """Stage pace, its fast path: the slot taken at once when the bucket has room
        (no coroutine); None when :meth:`_pace` must wait, or check the deadline."""
        x = call.x
        if x.kind.checked_late:
            return None
        return self.limiter.slot_now(x.bucket, call.deadline)

    async def _pace(self, call: _Call) -> Permit | None:
        """Stage: a slot in the call's bucket; None when the deadline runs out first.

        The slot first, then the attempt: a token request's assertion (and the strategy's
        count of token requests) is built only for an attempt that goes out."""
        x = call.x
        try:
            permit = await self.limiter.slot(x.bucket, call.deadline).take()
        except TimeoutError:
            return None
        if x.kind.checked_late and asyncio.get_running_loop().time() >= call.deadline:
            # A backoff sleep that overslept the deadline: nothing to build or send.
            permit.give_back()
            call.overslept = True
            return None
        return permit

    def _out_of_time(self, call: _Call) -> Result:
        """The deadline ran out before an attempt could go: the last answer, or a timeout."""
        x = call.x
        if call.last is not None:
            return x.kind.final(*call.last, call.attempts - 1)
        if call.overslept:
            late = OktaTimeoutError(
                f"{x.op.name}: the call's deadline ran out",
                method=x.op.method,
                path=x.url.path,
                request_sent=False,
                phase="deadline",
            )
            return x.kind.final(None, late, call.attempts - 1)
        raise self._pacing_timeout(x, call.budget, call.attempts)

    def _prepare(self, call: _Call, t: _Try) -> None:
        """Stage: the attempt's request (headers, body, retry headers), built by its kind."""
        x = call.x
        headers = self._header_template.copy()
        retry_count = call.attempts - 1 - call.replays
        body, t.secrets = x.kind.build(x, headers, retry_count, call.first_request_id)
        x.attempt_secrets = t.secrets
        # Positional (method, url, headers, body, operation, deadline): see request().
        t.request = AuthRequest(x.op.method, x.url, headers, body, x.op.name, call.deadline)

    async def _authorize(self, call: _Call, t: _Try) -> None:
        """Stage: the strategy authorizes an API call (a token request carries its own)."""
        try:
            await call.x.kind.authorize(self.auth, t.request)
        except TransportError as exc:  # a token request of the strategy's that failed
            t.error = exc
        except OktaError as exc:
            t.failure = exc
        except Exception as exc:  # a user's strategy: never chain, it may hold a secret
            t.failure = _strategy_failure(self.auth, "authorize", exc)

    async def _send(self, call: _Call, t: _Try) -> None:
        """Stage: the transport sends the request; reads the rate-limit headers."""
        if t.error is not None:
            return
        x = call.x
        request = t.request
        try:
            events = self.events
            listened = events._subs  # wants(), without a call per event type
            t.started = AttemptEnded in listened  # an AttemptEnded is owed after the slot
            if call.counter is not None:
                call.counter[0] += 1
            if AttemptStarted in listened:
                retry = call.attempts - 1 - call.replays
                await events.emit(
                    AttemptStarted(x, request, call.attempts, retry), deadline=call.deadline
                )
            sent = self._outgoing(request, x, call.deadline, t.secrets)
            debug = logger.isEnabledFor(logging.DEBUG)
            started = time.perf_counter() if debug else 0.0
            failure: TransportError | None = None
            try:
                response = await self.transport.send(sent)
            except TransportError as exc:
                failure = exc
            except OktaError:
                raise
            except Exception as exc:  # a transport that broke its contract; never chained
                failure = self._broken_transport(request, exc)
            if failure is None and not (self._trusted or _valid_response(response)):
                failure = self._broken_transport(request, None)
            if failure is not None:  # raised outside the except: no context either
                raise self._send_failure(failure, request, x, t.secrets, sent)
            if debug:
                _log_response(
                    request, x, response, started, self._failure_secrets(request, t.secrets)
                )
            t.response = response
            t.status = response.status
            t.info = parse_rate_limit(response.headers)
        except TransportError as exc:
            t.error = exc
        except OktaError as exc:
            t.failure = exc

    async def _attempt_ended(self, call: _Call, t: _Try) -> None:
        if self.events.wants(AttemptEnded):
            error = t.error or t.failure
            ended = AttemptEnded(call.x, t.request, call.attempts, t.response, error, t.info)
            await self.events.emit(ended, deadline=call.deadline)

    async def _classify(self, call: _Call, t: _Try) -> object:
        """Stage: the attempt's verdict: success, replay, or failed (``t.error``).

        Raises what may not be retried: the strategy's own failures. When the call's kind
        cannot ask for a replay, :meth:`_run` takes :meth:`_verdict` alone (no coroutine)."""
        replay = False
        if t.failure is None and t.response is not None:
            replay = await self._wants_replay(call, t)
        return self._verdict(call, t, replay)

    async def _wants_replay(self, call: _Call, t: _Try) -> bool:
        """Stage classify, its question: does the strategy (an API call) or the requester
        (a token request) want ``t``'s request sent again at once? Raises their failures."""
        x = call.x
        assert t.response is not None
        failure: OktaError
        try:
            auth = self.auth if self._sees_responses else None
            kind = x.kind
            return kind.may_replay(auth) and await kind.wants_replay(auth, t.request, t.response)
        except OktaError as exc:
            failure = exc
        except Exception as exc:  # never chained, as above
            failure = _strategy_failure(self.auth, "on_response", exc)
        failure.attempts = call.attempts
        raise failure  # outside the except: no context either

    def _verdict(self, call: _Call, t: _Try, wants_replay: bool = False) -> object:
        """Stage classify without its question (see :meth:`_classify`): ``wants_replay``
        is the strategy's answer."""
        if t.failure is not None:
            t.failure.attempts = call.attempts
            raise t.failure
        response = t.response
        if response is None:
            return _FAILED  # no response: t.error says why
        x = call.x
        request_id = response.headers.get("X-Okta-Request-Id")
        if request_id is not None and not _plain_request_id(request_id):
            request_id = None  # not Okta's: never repeated, echoed or sent back
        t.request_id = request_id
        if call.first_request_id is None:
            call.first_request_id = request_id
        if t.status in x.op.success:
            return _SUCCESS
        if wants_replay and call.replays < x.kind.replays_allowed:
            call.replays += 1
            logger.debug(
                "%s: auth asked for a replay",
                x.op.name,
                extra=log_fields(x, call.attempts, t.status, self._shown_id(request_id, t), t.info),
            )
            return _REPLAY
        t.error = ApiError.from_response(
            t.status,
            _decode_json_or_none(response.body),
            request_id=request_id,
            operation=x.op.name,
            headers=response.headers,
            secrets=self._failure_secrets(t.request, t.secrets),
        )
        return _FAILED

    def _decide(self, call: _Call, t: _Try) -> float | None:
        """Stage: seconds to wait before the next attempt, or None to give up (the policy
        decides, within the call's deadline and the pacer's window)."""
        x = call.x
        error = t.error
        assert error is not None
        if call.last is not None and _unsent_for_deadline(error):
            return None  # _give_up reports the previous attempt's answer
        loop_now = asyncio.get_running_loop().time()
        delay = x.policy.decide(
            attempt=call.attempts - call.replays,
            idempotent=x.op.idempotent,
            error=error,
            rate_limit=t.info,
            now=loop_now,
            deadline=call.deadline,
            window_end=None if t.info is None else self.limiter.window_end(x.bucket),
        )
        if delay is None:
            return None
        call.last = (t.response, error)
        response = t.response
        logger.debug(
            "%s: attempt %d failed (%s); retrying in %.2fs",
            x.op.name,
            call.attempts,
            type(error).__name__,
            delay,
            extra=log_fields(
                x,
                call.attempts,
                None if response is None else response.status,
                self._shown_id(call.first_request_id if response is None else t.request_id, t),
                t.info,
                error_type=type(error).__name__,
                delay=delay,
            ),
        )
        return delay

    @staticmethod
    def _give_up(call: _Call, t: _Try) -> Result:
        """The final answer, as the call's kind gives it (raise, or the last refusal).

        When the deadline ran out before this attempt was sent, the previous attempt's
        answer (a 503, a 429) says more than "deadline"."""
        assert t.error is not None
        if call.last is not None and _unsent_for_deadline(t.error):
            return call.x.kind.final(*call.last, call.attempts - 1)
        return call.x.kind.final(t.response, t.error, call.attempts)

    def _shown_id(self, request_id: str | None, t: _Try) -> str | None:
        """A request id to log: None when it holds a credential of the request's (a server
        may echo the token as an id). Checked where it is shown, never per attempt."""
        if request_id is None or not holds_secret(
            request_id, self._failure_secrets(t.request, t.secrets)
        ):
            return request_id
        return None

    def shown_request_id(self, request_id: str | None) -> str | None:
        """``request_id`` as an error may show it: None when it holds one of the auth
        strategy's secrets in any form (a server or proxy may echo the token as the id).
        For errors built after a call returned (the services' DecodeError); checked there,
        never per call."""
        if request_id is None:
            return None
        try:
            held = tuple(v for v in self.auth.secret_values() if isinstance(v, str) and v)
        except Exception:  # a user's strategy; its own secrets are then unknown
            return None  # unknown secrets: the id is not shown
        return None if holds_secret(request_id, held) else request_id

    def _failure_secrets(self, request: AuthRequest, secrets: tuple[str, ...]) -> tuple[str, ...]:
        """Everything to redact from a failed attempt's text (computed on failures only)."""
        held: tuple[str, ...] = ()
        try:
            held = tuple(v for v in self.auth.secret_values() if isinstance(v, str) and v)
        except Exception:  # a user's strategy; its own secrets are then unknown
            logger.warning("%s.secret_values() raised; ignored", type(self.auth).__name__)
        return (*secrets, *header_secrets(request.headers.items()), *held)

    @staticmethod
    def _pacing_timeout(x: _Exchange, budget: float, attempts: int) -> OktaTimeoutError:
        err = OktaTimeoutError(
            f"{x.op.name}: the call's deadline of {budget:g}s ran out "
            f"while pacing for the {x.bucket!r} rate limit",
            method=x.op.method,
            path=x.url.path,
            request_sent=False,
            phase="deadline",
        )
        err.attempts = attempts
        return err

    def _outgoing(
        self, request: AuthRequest, x: _Exchange, deadline: float, secrets: tuple[str, ...]
    ) -> TransportRequest:
        """What the transport gets for ``request``: its timeouts cut to the deadline."""
        if self._closed:
            raise ClientClosedError("this OktaClient is closed; create a new one")
        timeouts = x.timeouts
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0 and x.kind.checked_late:
            # A token request was checked against its deadline before its assertion was
            # built (see _run); the microseconds of signing since then do not unsend it.
            remaining = 0.001
        elif remaining <= 0:
            raise OktaTimeoutError(
                f"{x.op.name}: the call's deadline ran out",
                method=request.method,
                path=request.url.path,
                request_sent=False,
                phase="deadline",
            )
        # Positional (method, url, headers, body, connect_timeout, total_timeout, max_body,
        # secrets): see request().
        return TransportRequest(
            request.method,
            request.url,
            request.headers,
            request.body,
            min(timeouts.connect, remaining),
            min(timeouts.total, remaining),
            self.max_response_bytes,
            secrets,
        )

    def _send_failure(
        self,
        failure: TransportError,
        request: AuthRequest,
        x: _Exchange,
        secrets: tuple[str, ...],
        sent: TransportRequest,
    ) -> TransportError:
        """What a failed send raises: a read timeout cut by the deadline says so; redacted."""
        remaining = sent.total_timeout
        if (
            remaining < x.timeouts.total  # bound by the call's deadline
            and isinstance(failure, OktaTimeoutError)
            and failure.phase == "read"
        ):
            exc = failure
            failure = OktaTimeoutError(
                f"no complete response within the {remaining:g}s left of the call's deadline",
                method=request.method,
                path=request.url.path,
                request_sent=True,
                phase="deadline",
            )
            failure.cause_type, failure.cause_message = exc.cause_type, exc.cause_message
        return self._redacted(failure, request, x, secrets)

    def _broken_transport(self, request: AuthRequest, exc: Exception | None) -> TransportError:
        """A transport that broke its contract (raised, or returned no valid response)."""
        name = type(self.transport).__name__
        if exc is None:
            return OktaConnectionError(
                f"the transport {name} returned an invalid response "
                "(status must be an int 100-599, headers a mapping of strings, body bytes)",
                method=request.method,
                path=request.url.path,
                request_sent=True,
            )
        failure = OktaConnectionError(
            f"the transport {name} raised {type(exc).__name__}",
            method=request.method,
            path=request.url.path,
            request_sent=True,
        )
        failure.cause_type = f"{type(exc).__module__}.{type(exc).__name__}"
        return failure

    def _redacted(
        self, failure: TransportError, request: AuthRequest, x: _Exchange, secrets: tuple[str, ...]
    ) -> TransportError:
        # Whatever the server echoed into a malformed response (aiohttp quotes the bad
        # bytes), the request's credentials are taken out of the text.
        hidden = self._failure_secrets(request, secrets)
        if failure.args and isinstance(failure.args[0], str):
            text = redact(failure.args[0], hidden, limit=1000)
            failure.args = (f"{x.op.name}: {text}", *failure.args[1:])
        if failure.cause_message:
            failure.cause_message = redact(failure.cause_message, hidden)
        return failure


def _log_response(
    request: AuthRequest,
    x: _Exchange,
    response: AuthResponse,
    started: float,
    secrets: tuple[str, ...],
) -> None:
    request_id = response.headers.get("X-Okta-Request-Id", "-")
    if not _plain_request_id(request_id) or holds_secret(request_id, secrets):
        request_id = "-"
    logger.debug(
        "%s %s -> %d in %.1f ms (request id %s)",
        request.method,
        request.url.path,
        response.status,
        (time.perf_counter() - started) * 1000,
        request_id,
        extra=log_fields(
            x,
            x.attempt,
            response.status,
            None if request_id == "-" else request_id,
            remaining=header_remaining(response.headers),
            elapsed_ms=(time.perf_counter() - started) * 1000,
        ),
    )


def _valid_response(response: object) -> bool:
    if not isinstance(response, TransportResponse):
        return False
    status, headers = response.status, response.headers
    if type(status) is not int or not 100 <= status <= 599 or type(response.body) is not bytes:
        return False
    if isinstance(headers, CIMultiDictProxy | CIMultiDict):
        return True  # what the real transports give: strings by construction
    return isinstance(headers, Mapping) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    )


def _strategy_failure(auth: Auth, hook: str, exc: Exception) -> AuthError:
    return AuthError(
        f"the auth strategy {type(auth).__name__}.{hook}() raised {type(exc).__name__}; "
        "it is not chained, because a strategy's exceptions may hold credentials"
    )
