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
from .._redact import header_secrets, redact
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
from ..ratelimit.pacer import RateLimiter
from ..transport.aiohttp import AiohttpTransport
from ..transport.base import (
    DEFAULT_MAX_RESPONSE_BYTES,
    Transport,
    TransportRequest,
    TransportResponse,
)
from .events import log_fields
from .exchange import TOKEN, TOKEN_BUCKET, HttpResponse, Operation, _Exchange
from .observe import Observer
from .retry import RetryPolicy

__all__ = ["Session", "attempt_counter", "default_user_agent"]

logger = logging.getLogger("okta_connections")

#: Per-task counter of HTTP attempts; the bulk runner sets it to report attempts per item.
attempt_counter: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "okta_connections_attempts", default=None
)

#: Replays (a 401 or a DPoP nonce challenge answered at once) per call: API calls get one,
#: token requests two (a server that keeps changing its nonce must not keep us busy).
_API_REPLAYS = 1
_TOKEN_REPLAYS = 2


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
            True,
            body,
            None if body is None else "application/json",
            secrets,
        )
        obs = self.observer
        response, request_id, attempts = await (
            self._run(exchange) if obs is None else obs.operation(exchange, self._run)
        )
        return HttpResponse(
            status=response.status,
            headers=response.headers,
            body=response.body,
            request_id=request_id,
            attempts=attempts,
        )

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
            False,
            prepare=prepare if callable(prepare) else lambda: prepare,
            replay=replay,
        )
        obs = self.observer
        response, _, _ = await (
            self._run(exchange) if obs is None else obs.operation(exchange, self._run)
        )
        return response

    # ------------------------------------------------------------------ the engine

    async def _run(self, x: _Exchange) -> tuple[AuthResponse, str | None, int]:
        """Attempts until success, a final refusal, or the deadline; one engine for all."""
        loop = asyncio.get_running_loop()
        budget = x.timeouts.deadline
        if x.policy.deadline is not None and x.policy.deadline < budget:
            budget = x.policy.deadline
        deadline = loop.time() + budget
        op = x.op
        attempts = 0
        replays = 0
        first_request_id: str | None = None
        last: tuple[AuthResponse | None, OktaError] | None = None
        counter = attempt_counter.get() if x.api else None
        template = self._header_template
        bodyless_write = x.body is None and op.method in ("POST", "PUT", "PATCH")
        obs = self.observer
        while True:
            retry_count = attempts - replays
            attempts += 1
            x.attempt = attempts
            if counter is not None:
                counter[0] += 1
            # The slot first, then the attempt: a token request's assertion (and the
            # strategy's count of token requests) is built only for an attempt that goes out.
            try:
                sent_at = await self.limiter.acquire(x.bucket, deadline)
            except TimeoutError:
                sent_at = None
            if sent_at is not None and x.prepare is not None and loop.time() >= deadline:
                # A backoff sleep that overslept the deadline: nothing to build or send.
                self.limiter.release(x.bucket, sent_at=sent_at, info=None)
                late = OktaTimeoutError(
                    f"{op.name}: the call's deadline ran out",
                    method=op.method,
                    path=x.url.path,
                    request_sent=False,
                    phase="deadline",
                )
                return self._give_up(x, last if last is not None else (None, late), attempts - 1)
            if sent_at is None:
                if last is not None:
                    return self._give_up(x, last, attempts - 1)
                raise self._pacing_timeout(x, budget, attempts)
            try:
                headers = template.copy()
                if x.prepare is not None:
                    side = x.prepare()
                    secrets = side.secrets
                    body = None
                    if side.form is not None:
                        body = yarl.URL.build(query=dict(side.form)).raw_query_string.encode()
                        headers["Content-Type"] = "application/x-www-form-urlencoded"
                    elif bodyless_write:
                        headers["Content-Length"] = "0"
                    headers.update(side.headers)
                else:
                    body = x.body
                    secrets = x.secrets
                    if x.content_type is not None:
                        headers["Content-Type"] = x.content_type
                    elif bodyless_write:
                        headers["Content-Length"] = "0"  # Okta answers 411 to a bodyless POST
                    if retry_count > 0:
                        if first_request_id:
                            headers["X-Okta-Retry-For"] = first_request_id
                        headers["X-Okta-Retry-Count"] = str(retry_count)
                request = AuthRequest(
                    method=op.method,
                    url=x.url,
                    headers=headers,
                    body=body,
                    operation=op.name,
                    deadline=deadline,
                )
            except BaseException:
                self.limiter.release(x.bucket, sent_at=sent_at, info=None)
                raise
            info: RateLimitInfo | None = None
            failure: OktaError | None = None
            error: OktaError | None = None
            response: AuthResponse | None = None
            att = None
            try:
                if x.api:
                    try:
                        await self.auth.authorize(request)
                    except OktaError:
                        raise
                    except Exception as exc:  # a user's strategy: never chain, it may hold a secret
                        failure = _strategy_failure(self.auth, "authorize", exc)
                if failure is None:
                    if obs is not None:
                        att = await obs.attempt_start(x, request, attempts, attempts - 1 - replays)
                    response = await self._transmit(request, x, deadline, secrets)
                    info = parse_rate_limit(response.headers)
            except TransportError as exc:
                error = exc
            except OktaError as exc:
                failure = exc
            finally:
                # Always, whatever happened since acquire: a lost slot would stall the bucket.
                self.limiter.release(x.bucket, sent_at=sent_at, info=info)
            if info is not None and response is not None and response.status == 429:
                # A 429 while Remaining shows budget teaches this principal's share. Right
                # after release, with no await between: a shared budget reads both together.
                self.limiter.rate_limited(x.bucket, info)
            if obs is not None and att is not None:
                await obs.attempt_end(x, att, response, error or failure, info)
            if failure is not None:
                failure.attempts = attempts
                raise failure
            if response is not None:
                request_id = response.headers.get("X-Okta-Request-Id")
                if request_id is not None and not _plain_request_id(request_id):
                    request_id = None  # not Okta's: never repeated, echoed or sent back
                if first_request_id is None:
                    first_request_id = request_id
                try:
                    if x.api:
                        wants_replay = self._sees_responses and await self.auth.on_response(
                            request, response
                        )
                    else:
                        wants_replay = x.replay is not None and x.replay(response)
                except OktaError as exc:
                    failure = exc
                except Exception as exc:  # never chained, as above
                    failure = _strategy_failure(self.auth, "on_response", exc)
                if failure is not None:
                    failure.attempts = attempts
                    raise failure
                if response.status in op.success:
                    return response, request_id, attempts
                if wants_replay and replays < (_API_REPLAYS if x.api else _TOKEN_REPLAYS):
                    replays += 1
                    logger.debug(
                        "%s: auth asked for a replay",
                        op.name,
                        extra=log_fields(x, attempts, response.status, request_id, info),
                    )
                    continue
                error = ApiError.from_response(
                    response.status,
                    _decode_json_or_none(response.body),
                    request_id=request_id,
                    operation=op.name,
                    headers=response.headers,
                    secrets=self._failure_secrets(request, secrets),
                )
            assert error is not None
            if (
                last is not None
                and isinstance(error, OktaTimeoutError)
                and error.phase == "deadline"
                and not error.request_sent
            ):
                # The deadline ran out before this attempt was sent: the previous attempt's
                # answer (a 503, a 429) says more than "deadline".
                return self._give_up(x, last, attempts - 1)
            delay = x.policy.delay(
                attempt=attempts - replays,
                idempotent=op.idempotent,
                error=error,
                rate_limit=info,
            )
            if delay is not None and info is not None and response is not None:
                window_end = self.limiter.window_end(x.bucket)
                if response.status == 429 and not info.is_concurrency_signal and window_end:
                    # The pacer knows the window's end better than Reset - Date (whole
                    # seconds); the next acquire waits for it anyway.
                    delay = min(delay, max(0.0, window_end - loop.time()))
            if delay is not None and loop.time() + delay >= deadline:
                delay = None  # waiting would overrun the call's deadline
            if delay is None:
                return self._give_up(x, (response, error), attempts)
            last = (response, error)
            logger.debug(
                "%s: attempt %d failed (%s); retrying in %.2fs",
                op.name,
                attempts,
                type(error).__name__,
                delay,
                extra=log_fields(
                    x,
                    attempts,
                    None if response is None else response.status,
                    first_request_id if response is None else request_id,
                    info,
                    error_type=type(error).__name__,
                    delay=delay,
                ),
            )
            await x.policy.sleep(delay)

    @staticmethod
    def _give_up(
        x: _Exchange, outcome: tuple[AuthResponse | None, OktaError], attempts: int
    ) -> tuple[AuthResponse, str | None, int]:
        """The final answer: token requests return their last refusal, the rest raise."""
        response, error = outcome
        if response is not None and not x.api:
            request_id = response.headers.get("X-Okta-Request-Id")
            return response, request_id if _plain_request_id(request_id or "") else None, attempts
        error.attempts = attempts
        raise error

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

    async def _transmit(
        self, request: AuthRequest, x: _Exchange, deadline: float, secrets: tuple[str, ...]
    ) -> AuthResponse:
        if self._closed:
            raise ClientClosedError("this OktaClient is closed; create a new one")
        timeouts = x.timeouts
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0 and not x.api:
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
        deadline_bound = remaining < timeouts.total
        debug = logger.isEnabledFor(logging.DEBUG)
        started = time.perf_counter() if debug else 0.0
        failure: TransportError | None = None
        try:
            response = await self.transport.send(
                TransportRequest(
                    method=request.method,
                    url=request.url,
                    headers=request.headers,
                    body=request.body,
                    connect_timeout=min(timeouts.connect, remaining),
                    total_timeout=min(timeouts.total, remaining),
                    max_body=self.max_response_bytes,
                    secrets=secrets,
                )
            )
        except TransportError as exc:
            failure = exc
            if deadline_bound and isinstance(exc, OktaTimeoutError) and exc.phase == "read":
                failure = OktaTimeoutError(
                    f"no complete response within the {remaining:g}s left of the call's deadline",
                    method=request.method,
                    path=request.url.path,
                    request_sent=True,
                    phase="deadline",
                )
                failure.cause_type, failure.cause_message = exc.cause_type, exc.cause_message
        except OktaError:
            raise
        except Exception as exc:  # a transport that broke its contract; never chained
            failure = OktaConnectionError(
                f"the transport {type(self.transport).__name__} raised {type(exc).__name__}",
                method=request.method,
                path=request.url.path,
                request_sent=True,
            )
            failure.cause_type = f"{type(exc).__module__}.{type(exc).__name__}"
        if failure is None and not (self._trusted or _valid_response(response)):
            failure = OktaConnectionError(
                f"the transport {type(self.transport).__name__} returned an invalid response "
                "(status must be an int 100-599, headers a mapping of strings, body bytes)",
                method=request.method,
                path=request.url.path,
                request_sent=True,
            )
        if failure is not None:
            # Whatever the server echoed into a malformed response (aiohttp quotes the bad
            # bytes), the request's credentials are taken out of the text.
            hidden = self._failure_secrets(request, secrets)
            if failure.args and isinstance(failure.args[0], str):
                text = redact(failure.args[0], hidden, limit=1000)
                failure.args = (f"{x.op.name}: {text}", *failure.args[1:])
            if failure.cause_message:
                failure.cause_message = redact(failure.cause_message, hidden)
            raise failure
        if debug:
            request_id = response.headers.get("X-Okta-Request-Id", "-")
            if not _plain_request_id(request_id):
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
        return response


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
