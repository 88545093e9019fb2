"""The request pipeline: headers -> auth -> transport -> auth replay -> retry -> errors.

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
from collections.abc import Mapping
from typing import Any

import aiohttp
import attrs
import yarl
from multidict import CIMultiDict

from ._version import __version__
from .auth import Auth, AuthContext, AuthRequest, AuthResponse
from .config import Timeouts
from .errors import (
    ApiError,
    ClientClosedError,
    OktaConnectionError,
    OktaError,
    OktaTimeoutError,
    TransportError,
)
from .ratelimit import RateLimiter, bucket_for, parse_rate_limit
from .retry import RetryPolicy

__all__ = ["HttpResponse", "Operation", "Session", "default_user_agent"]

logger = logging.getLogger("okta_connections")

_NO_BODY_SKIP = ("Content-Type",)

#: Per-task counter of HTTP attempts; the bulk runner sets it to report attempts per item.
attempt_counter: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "okta_connections_attempts", default=None
)


@attrs.frozen
class Operation:
    """A static description of one API operation.

    Attributes:
        name: SDK name, e.g. ``"activate"``.
        method: HTTP method.
        path: Path template, for docs and logs.
        scope: The OAuth scope the operation needs.
        success: Status codes that mean success.
        idempotent: Whether a retry after the request may have reached Okta is safe.
    """

    name: str
    method: str
    path: str
    scope: str
    success: frozenset[int]
    idempotent: bool = True


@attrs.frozen
class HttpResponse:
    """A successful response, read in full."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    request_id: str | None
    attempts: int

    def json(self) -> Any:
        """The body decoded as JSON (raises ValueError or UnicodeDecodeError when it is not)."""
        # Okta sends UTF-8 JSON; decoding first spares json.loads its encoding detection.
        return json.loads(self.body.decode("utf-8-sig"))


def default_user_agent(suffix: str | None = None) -> str:
    """``okta-connections/<v> python/<x.y> aiohttp/<x.y>``, plus an optional suffix."""
    aiohttp_xy = ".".join(aiohttp.__version__.split(".")[:2])
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    agent = f"okta-connections/{__version__} python/{py} aiohttp/{aiohttp_xy}"
    return f"{agent} {suffix.strip()}" if suffix and suffix.strip() else agent


def _reason(exc: aiohttp.ClientConnectorError) -> str:
    os_error = getattr(exc, "os_error", None)
    if isinstance(os_error, OSError) and os_error.strerror:
        return os_error.strerror
    return type(exc).__name__


def _decode_json_or_none(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


class Session:
    """Owns the aiohttp session and runs every request of one client through the pipeline."""

    def __init__(
        self,
        org_url: str,
        auth: Auth,
        *,
        timeouts: Timeouts,
        retry: RetryPolicy,
        user_agent: str,
        connector_limit: int,
        limiter: RateLimiter,
    ) -> None:
        self.org_url = org_url
        self._org = yarl.URL(org_url)
        self.auth = auth
        self.timeouts = timeouts
        self.retry = retry
        self.user_agent = user_agent
        self._header_template = CIMultiDict(
            {"Accept": "application/json", "User-Agent": user_agent}
        )
        # The aiohttp timeout of an attempt that the call's deadline does not cut short.
        self._client_timeouts: dict[Timeouts, aiohttp.ClientTimeout] = {}
        self.limiter = limiter
        self._connector_limit = connector_limit
        self._http: aiohttp.ClientSession | None = None
        self._closed = False
        self._bound = False
        self._bind_lock = asyncio.Lock()

    # ------------------------------------------------------------------ lifecycle

    @property
    def opened(self) -> bool:
        """True once the aiohttp session exists and has not been closed."""
        return self._http is not None and not self._http.closed

    @property
    def closed(self) -> bool:
        return self._closed

    async def open(self) -> None:
        """Create the aiohttp session and bind the auth strategy (idempotent)."""
        if self._closed:
            raise ClientClosedError("this OktaClient is closed; create a new one")
        if self._http is None:
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connector_limit),
                auto_decompress=True,
            )
        if not self._bound:
            async with self._bind_lock:
                if not self._bound:
                    await self.auth.bind(AuthContext(org_url=self.org_url, send=self.send_side))
                    self._bound = True

    async def close(self) -> None:
        """Close the aiohttp session and the auth strategy (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            await self.auth.aclose()
        finally:
            if self._http is not None:
                await self._http.close()

    # ------------------------------------------------------------------ requests

    def _base_headers(self) -> CIMultiDict[str]:
        return self._header_template.copy()

    async def send_side(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
    ) -> AuthResponse:
        """Send a request without auth or retries (used by strategies for token calls)."""
        await self.open()
        merged = self._base_headers()
        body: bytes | None = None
        if form is not None:
            body = yarl.URL.build(query=dict(form)).raw_query_string.encode()
            merged["Content-Type"] = "application/x-www-form-urlencoded"
        elif method == "POST":
            merged["Content-Length"] = "0"
        if headers:
            merged.update(headers)
        request = AuthRequest(method=method, url=yarl.URL(url), headers=merged, body=body)
        deadline = asyncio.get_running_loop().time() + self.timeouts.deadline
        return await self._send(request, self.timeouts, deadline, "token")

    async def request(
        self,
        op: Operation,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        timeout: Timeouts | float | None = None,
    ) -> HttpResponse:
        """Run one operation with auth, retries and error mapping.

        Returns:
            The successful response.

        Raises:
            ApiError: Okta answered with an error status (after retries, where allowed).
            TransportError: No response (after retries, where allowed).
            OktaError: anything the auth strategy raised.
        """
        await self.open()
        timeouts = Timeouts.coerce(timeout, self.timeouts)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeouts.deadline
        url = self._org.with_path(path)
        if params:
            url = url.with_query(params)
        body: bytes | None = None
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":")).encode()
        bucket = bucket_for(path)

        attempts = 0
        replayed = False
        first_request_id: str | None = None
        while True:
            headers = self._base_headers()
            if body is not None:
                headers["Content-Type"] = "application/json"
            elif op.method in ("POST", "PUT", "PATCH"):
                headers["Content-Length"] = "0"  # Okta answers 411 to a bodyless POST without it
            retry_count = attempts - (1 if replayed else 0)
            if retry_count > 0:
                if first_request_id:
                    headers["X-Okta-Retry-For"] = first_request_id
                headers["X-Okta-Retry-Count"] = str(retry_count)
            request = AuthRequest(
                method=op.method, url=url, headers=headers, body=body, operation=op.name
            )
            attempts += 1
            counter = attempt_counter.get()
            if counter is not None:
                counter[0] += 1
            rate_info = None
            try:
                try:
                    sent_at = await self.limiter.acquire(bucket, deadline)
                except TimeoutError:
                    raise self._pacing_timeout(bucket, request, timeouts) from None
                try:
                    await self.auth.authorize(request)
                    response = await self._send(request, timeouts, deadline, op.name)
                except BaseException:
                    self.limiter.release(bucket, sent_at=sent_at, info=None)
                    raise
                rate_info = parse_rate_limit(response.headers)
                self.limiter.release(bucket, sent_at=sent_at, info=rate_info)
                request_id = response.headers.get("X-Okta-Request-Id")
                if first_request_id is None:
                    first_request_id = request_id
                wants_replay = await self.auth.on_response(request, response)
                if response.status in op.success:
                    return HttpResponse(
                        status=response.status,
                        headers=response.headers,
                        body=response.body,
                        request_id=request_id,
                        attempts=attempts,
                    )
                if wants_replay and not replayed:
                    replayed = True
                    logger.debug("%s: auth strategy asked for one replay", op.name)
                    continue
                error: OktaError = ApiError.from_response(
                    response.status,
                    _decode_json_or_none(response.body),
                    request_id=request_id,
                    operation=op.name,
                    headers=response.headers,
                )
            except TransportError as exc:
                error = exc
            except OktaError as exc:
                exc.attempts = attempts
                raise
            delay = self.retry.delay(
                attempt=attempts - (1 if replayed else 0),
                idempotent=op.idempotent,
                error=error,
                rate_limit=rate_info,
            )
            if delay is not None and loop.time() + delay >= deadline:
                delay = None  # waiting would overrun the call's deadline
            if delay is None:
                error.attempts = attempts
                raise error
            logger.debug(
                "%s: attempt %d failed (%s); retrying in %.2fs",
                op.name,
                attempts,
                type(error).__name__,
                delay,
            )
            await self.retry.sleep(delay)

    @staticmethod
    def _pacing_timeout(bucket: str, request: AuthRequest, timeouts: Timeouts) -> OktaTimeoutError:
        return OktaTimeoutError(
            f"{request.operation}: the call's deadline of {timeouts.deadline:g}s ran out "
            f"while pacing for the {bucket!r} rate limit",
            method=request.method,
            path=request.url.path,
            request_sent=False,
            phase="deadline",
        )

    async def _send(
        self, request: AuthRequest, timeouts: Timeouts, deadline: float, op_name: str
    ) -> AuthResponse:
        if self._closed or self._http is None:
            raise ClientClosedError("this OktaClient is closed; create a new one")
        loop = asyncio.get_running_loop()
        remaining = deadline - loop.time()
        path = request.url.path
        if remaining <= 0:
            raise OktaTimeoutError(
                f"{op_name}: the call's deadline of {timeouts.deadline:g}s ran out",
                method=request.method,
                path=path,
                request_sent=False,
                phase="deadline",
            )
        deadline_bound = remaining < timeouts.total
        if deadline_bound or remaining < timeouts.connect:
            client_timeout = aiohttp.ClientTimeout(
                total=min(timeouts.total, remaining), sock_connect=min(timeouts.connect, remaining)
            )
        else:
            cached = self._client_timeouts.get(timeouts)
            if cached is None:
                if len(self._client_timeouts) > 64:  # per-call Timeouts: do not grow forever
                    self._client_timeouts.clear()
                cached = self._client_timeouts[timeouts] = aiohttp.ClientTimeout(
                    total=timeouts.total, sock_connect=timeouts.connect
                )
            client_timeout = cached
        started = time.perf_counter()
        try:
            async with self._http.request(
                request.method,
                request.url,
                headers=request.headers,
                data=request.body,
                # aiohttp would add "Content-Type: application/octet-stream" to a bodyless POST
                skip_auto_headers=_NO_BODY_SKIP if request.body is None else None,
                timeout=client_timeout,
                allow_redirects=False,
            ) as resp:
                body = await resp.read()
                result = AuthResponse(status=resp.status, headers=resp.headers, body=body)
        except aiohttp.ConnectionTimeoutError as exc:
            raise OktaTimeoutError(
                f"{op_name}: connecting to {request.url.host} timed out after "
                f"{client_timeout.sock_connect:g}s",
                method=request.method,
                path=path,
                request_sent=False,
                phase="connect",
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            raise OktaConnectionError(
                f"{op_name}: cannot connect to {request.url.host}:{request.url.port}: "
                f"{_reason(exc)}",
                method=request.method,
                path=path,
                request_sent=False,
            ) from exc
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            phase = "deadline" if deadline_bound else "read"
            limit = remaining if deadline_bound else timeouts.total
            raise OktaTimeoutError(
                f"{op_name}: no complete response within {limit:g}s ({phase} timeout)",
                method=request.method,
                path=path,
                request_sent=True,
                phase=phase,
            ) from exc
        except aiohttp.ClientError as exc:
            raise OktaConnectionError(
                f"{op_name}: the connection failed: {type(exc).__name__}",
                method=request.method,
                path=path,
                request_sent=True,
            ) from exc
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d in %.1f ms (request id %s)",
                request.method,
                path,
                result.status,
                (time.perf_counter() - started) * 1000,
                result.headers.get("X-Okta-Request-Id", "-"),
            )
        return result
