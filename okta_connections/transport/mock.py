"""A transport that calls a function instead of opening sockets, for unit tests."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from multidict import CIMultiDict, CIMultiDictProxy

from ..errors import ConfigurationError
from .base import TransportRequest, TransportResponse, _too_large

__all__ = ["Handler", "MockTransport"]


Handler = Callable[[TransportRequest], "TransportResponse | Awaitable[TransportResponse]"]


class MockTransport:
    """A transport that calls a function instead of opening sockets, for unit tests.

    The handler gets each :class:`TransportRequest` and returns (or awaits) a
    :class:`TransportResponse`; it may raise a :class:`TransportError` to simulate a
    network failure. Every request is kept in :attr:`requests`. Bodies longer than
    ``request.max_body`` raise :class:`ResponseTooLargeError`, as the real transport does.

    Example::

        def handler(request: TransportRequest) -> TransportResponse:
            return TransportResponse(200, {"Content-Type": "application/json"}, b"{...}")

        okta = OktaClient("https://acme.okta.com", auth=SSWSToken(token),
                          transport=MockTransport(handler))
    """

    def __init__(self, handler: Handler) -> None:
        if not callable(handler):
            raise ConfigurationError("handler", "must be a callable(request) -> response")
        self._handler = handler
        self.requests: list[TransportRequest] = []
        self.closed = False

    async def send(self, request: TransportRequest) -> TransportResponse:
        self.requests.append(request)
        result = self._handler(request)
        if inspect.isawaitable(result):
            result = await result
        if not isinstance(result, TransportResponse):
            raise TypeError("MockTransport's handler must return a TransportResponse")
        if len(result.body) > request.max_body:
            raise _too_large(request, len(result.body))
        headers = result.headers
        if not isinstance(headers, CIMultiDictProxy):
            headers = CIMultiDictProxy(CIMultiDict(headers))
        if not all(isinstance(v, str) for v in headers.values()):
            raise TypeError("MockTransport's handler returned a header value that is not a str")
        return TransportResponse(result.status, headers, result.body)

    async def aclose(self) -> None:
        self.closed = True
