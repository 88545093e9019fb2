"""The transport seam: a neutral request goes in, a neutral response comes out.

Everything above this module (auth, pacing, retries, error mapping) speaks only
:class:`TransportRequest` and :class:`TransportResponse`; only :class:`AiohttpTransport`
knows aiohttp. Swap the transport to test without sockets (:class:`MockTransport`) or to
put the SDK on another HTTP stack.

A transport's contract:

* :meth:`Transport.send` returns the whole response, its body read in full and at most
  ``request.max_body`` bytes long (after decompression), or raises one of the SDK's
  :class:`~okta_connections.errors.TransportError` subclasses. It never raises a third-party
  exception, and what it raises never carries request headers, a URL's query string or any
  of ``request.secrets``.
* It does not retry, pace or authenticate: the pipeline above it does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import attrs
import yarl
from multidict import CIMultiDictProxy

from ..errors import ResponseTooLargeError

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "Transport",
    "TransportRequest",
    "TransportResponse",
]

#: The default cap on a response body, after decompression: 8 MiB. The largest response the
#: connections API sends is a page of ``GET /api/v1/apps?limit=200``; at a generous 20 KB an
#: app that page is 4 MB, so the cap leaves it twice that.
DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024


@attrs.define(slots=True)
class TransportRequest:
    """One HTTP attempt, as the pipeline hands it to a transport. Treat it as read-only.

    Attributes:
        method: HTTP method, upper case.
        url: The absolute URL, query included.
        headers: Request headers (credentials included: never log them).
        body: The encoded body, or None.
        connect_timeout: Seconds allowed to establish the connection.
        total_timeout: Seconds allowed for the whole attempt, body included.
        max_body: Largest body, in bytes after decompression, the transport may read.
        secrets: Values that must not appear in anything the transport raises or logs
            (credentials, one-time codes); redacted by :func:`redact`.
    """

    method: str
    url: yarl.URL
    headers: Mapping[str, str]
    body: bytes | None = None
    connect_timeout: float = 10.0
    total_timeout: float = 60.0
    max_body: int = DEFAULT_MAX_RESPONSE_BYTES
    secrets: tuple[str, ...] = attrs.field(default=(), repr=False)

    def __repr__(self) -> str:  # never show headers, body or the query
        return f"TransportRequest({self.method} {self.url.path})"


@attrs.define(slots=True)
class TransportResponse:
    """A response read in full (also what auth strategies see, as ``AuthResponse``).
    Treat it as read-only.

    Attributes:
        status: HTTP status.
        headers: Response headers (case-insensitive).
        body: The body, decompressed.
    """

    status: int
    headers: CIMultiDictProxy[str] | Mapping[str, str]
    body: bytes = b""

    def __repr__(self) -> str:
        return f"TransportResponse({self.status}, {len(self.body)} bytes)"


@runtime_checkable
class Transport(Protocol):
    """What the client needs from an HTTP stack: one async method, and a close."""

    async def send(self, request: TransportRequest) -> TransportResponse:
        """Send one request and read the whole response (see the module's contract)."""
        ...

    async def aclose(self) -> None:
        """Release connections. Called once, when the client closes."""
        ...


def _too_large(request: TransportRequest, size: int | None) -> ResponseTooLargeError:
    what = "more than" if size is None else f"{size} bytes,"
    return ResponseTooLargeError(
        f"the response to {request.method} {request.url.path} is {what} over the "
        f"{request.max_body}-byte cap (max_response_bytes); stopped reading",
        method=request.method,
        path=request.url.path,
        limit=request.max_body,
    )
