"""The auth protocol every strategy implements."""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

import attrs
import yarl
from multidict import CIMultiDict

from ..errors import ConfigurationError
from ..transport.base import TransportResponse

__all__ = [
    "Auth",
    "AuthContext",
    "AuthRequest",
    "AuthResponse",
    "SendFunc",
    "SideRequest",
    "check_header_secret",
]


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
        deadline: The call's deadline on the event loop's clock (``loop.time()``), or
            None. A strategy that waits (for a token, a vault) must give up by then.
    """

    method: str
    url: yarl.URL
    headers: CIMultiDict[str]
    body: bytes | None = None
    operation: str | None = None
    deadline: float | None = None

    def __repr__(self) -> str:  # never the headers (credentials) nor the query (codes)
        return f"AuthRequest({self.method} {self.url.path}, operation={self.operation!r})"


#: A response, as an auth strategy sees it: the transport's own response object
#: (``status``, ``headers``, ``body``), so the pipeline never copies it.
AuthResponse = TransportResponse


@attrs.frozen(repr=False)
class SideRequest:
    """One attempt of a token request, as a strategy builds it.

    Attributes:
        headers: Extra request headers (for example ``Authorization: Basic`` or ``DPoP``).
        form: The form fields, sent as ``application/x-www-form-urlencoded``, or None.
        secrets: Values that must never appear in an error or a log (an assertion, a
            refresh token); header values are treated as secrets without being listed.
    """

    headers: Mapping[str, str] = attrs.field(factory=dict)
    form: Mapping[str, str] | None = None
    secrets: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"SideRequest(fields={sorted(self.form or ())!r})"


class SendFunc(Protocol):
    """Sends a token request through the client's pipeline (see :class:`AuthContext`)."""

    def __call__(
        self,
        method: str,
        url: str,
        prepare: SideRequest | Callable[[], SideRequest],
        *,
        replay: Callable[[AuthResponse], bool] | None = None,
    ) -> Awaitable[AuthResponse]: ...


@attrs.frozen
class AuthContext:
    """What a strategy gets from the client it is bound to.

    Attributes:
        org_url: The client's normalised org URL, e.g. ``https://acme.okta.com``.
        send: Sends a token request through the client's one pipeline: the same transport,
            timeouts and error handling as API calls, paced in the ``oauth2-token`` bucket
            and retried by the client's ``token_retry`` policy (429, 5xx and transport
            errors), under that policy's deadline. ``prepare`` is a :class:`SideRequest`
            or a function called before every attempt, so each attempt can carry a fresh
            assertion or DPoP proof. ``replay`` sees every response; returning True resends
            at once (a DPoP nonce challenge), at most twice. Returns the final response,
            a refusal included; raises :class:`~okta_connections.errors.TransportError`
            when no response came.
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

    @property
    def principal(self) -> str | None:
        """Who Okta counts this strategy's calls against, for a ``shared_budget``: every
        client with the same org and principal draws from one rate budget. Never the
        credential itself (the budget's keys hash it again). Built-in strategies name it
        (a hash of the token for SSWS and static bearer tokens, the client id for OAuth
        service apps); the default, None, makes ``shared_budget`` ask for one."""
        return None

    def secret_values(self) -> tuple[str, ...]:
        """Long-lived secrets this strategy holds beyond the request's own headers (a client
        secret, a refresh token), redacted wherever a server's answer echoes them. Header
        values the strategy sets are redacted without being listed. The default is none."""
        return ()


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
