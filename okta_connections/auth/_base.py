"""The auth protocol every strategy implements."""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

import attrs
import yarl
from multidict import CIMultiDict, CIMultiDictProxy

from ..errors import ConfigurationError

__all__ = ["Auth", "AuthContext", "AuthRequest", "AuthResponse", "SendFunc", "check_header_secret"]


@attrs.define
class AuthRequest:
    """An outgoing request, as an auth strategy sees it.

    A strategy sets credentials by writing to :attr:`headers`.

    Attributes:
        method: HTTP method (upper case).
        url: The full URL, query included.
        headers: The request headers; mutable.
        body: The encoded body, or None.
        operation: The SDK operation name (``"get"``, ``"activate"`` ...), or None.
    """

    method: str
    url: yarl.URL
    headers: CIMultiDict[str]
    body: bytes | None = None
    operation: str | None = None


@attrs.frozen
class AuthResponse:
    """A response, as an auth strategy sees it.

    Attributes:
        status: HTTP status.
        headers: Response headers.
        body: The raw body.
    """

    status: int
    headers: CIMultiDictProxy[str] | Mapping[str, str]
    body: bytes = b""


class SendFunc(Protocol):
    """Sends a side request (e.g. to the token endpoint) through the client's session."""

    def __call__(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
    ) -> Awaitable[AuthResponse]: ...


@attrs.frozen
class AuthContext:
    """What a strategy gets from the client it is bound to.

    Attributes:
        org_url: The client's normalised org URL, e.g. ``https://acme.okta.com``.
        send: Sends a request through the client's aiohttp session, with the client's
            timeouts, but without auth, pacing or retries. OAuth strategies use it to
            reach the token endpoint.
    """

    org_url: str
    send: SendFunc


class Auth(abc.ABC):
    """Base class of auth strategies: SSWS, bearer, OAuth service apps, or your own.

    The client calls :meth:`authorize` before every attempt, so a strategy can refresh,
    sign (DPoP) or look up a token per request. After a response it calls
    :meth:`on_response`; returning True asks the client to replay the request once (the
    client never replays twice for one call, so a strategy cannot loop).

    Example: a strategy that reads a token from a vault::

        class VaultToken(Auth):
            def __init__(self, vault: Vault) -> None:
                self._vault = vault

            async def authorize(self, request: AuthRequest) -> None:
                request.headers["Authorization"] = f"SSWS {await self._vault.read('okta')}"

            async def on_response(self, request: AuthRequest, response: AuthResponse) -> bool:
                if response.status == 401:
                    self._vault.invalidate("okta")
                    return True       # replay once with the fresh secret
                return False

    Strategies must never put a credential in ``repr``, ``str``, log records or exception
    messages.
    """

    async def bind(self, context: AuthContext) -> None:  # noqa: B027 - optional hook
        """Called once when the client opens its session. The default does nothing."""

    @abc.abstractmethod
    async def authorize(self, request: AuthRequest) -> None:
        """Add credentials to ``request.headers``."""

    async def on_response(self, request: AuthRequest, response: AuthResponse) -> bool:
        """See a response; return True to ask for one replay. The default never replays."""
        return False

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Called when the client closes. The default does nothing."""


TokenProvider = Callable[[], Awaitable[str]]


def check_header_secret(value: object, argument: str) -> str:
    """A credential that goes into a header: a non-empty string without whitespace.

    Raises:
        ConfigurationError: without echoing the value.
    """
    if not isinstance(value, str):
        raise ConfigurationError(argument, f"must be a string, not {type(value).__name__}")
    if not value:
        raise ConfigurationError(argument, "must not be empty")
    if any(c.isspace() or ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        # Never echo the value: it is a secret.
        raise ConfigurationError(
            argument, "contains whitespace or control characters (copied with a newline?)"
        )
    return value
