"""What one call through the pipeline is: its operation, its kind, and the exchange.

The stages of :class:`~okta_connections.pipeline.session.Session` ask the call's kind
what differs between the two, instead of testing a flag:

=====================  ==========================================  ================================
question               :class:`ApiCall`                            :class:`TokenCall`
=====================  ==========================================  ================================
``build``              the call's JSON body; ``X-Okta-Retry-*``     a fresh form and credentials
                       headers on retries                          per attempt (``prepare``)
``authorize``          the auth strategy adds its headers          nothing: it carries its own
``wants_replay``       the strategy's ``on_response``               the requester's ``replay``
``replays_allowed``    1                                           2
``final``              raises the last error                       returns the last refusal
``checked_late``       no                                          yes (see below)
=====================  ==========================================  ================================
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import yarl
from multidict import CIMultiDict

from .. import _json
from .._ids import _plain_request_id
from ..auth._base import Auth, AuthRequest, AuthResponse, SideRequest
from ..config import Timeouts
from ..operations import Operation
from .retry import RetryPolicy

if TYPE_CHECKING:
    from ..errors import OktaError

__all__ = ["ApiCall", "CallKind", "HttpResponse", "Operation", "TokenCall"]

TOKEN_BUCKET = "oauth2-token"


#: The token endpoint, as an operation of the pipeline: retried on 429, 5xx and transport
#: errors (a token request holds no state: a fresh assertion is signed for each attempt).
TOKEN = Operation("token", "POST", "/oauth2/v1/token", "", frozenset({200}))


@attrs.frozen
class HttpResponse:
    """A successful response, read in full."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    request_id: str | None
    attempts: int

    def json(self) -> Any:
        """The body decoded as JSON (raises ValueError when it is not JSON)."""
        return _json.loads(self.body)


#: What one call returns through the pipeline: the response, Okta's request id, attempts.
Result = tuple[AuthResponse, "str | None", int]

_WRITES = frozenset({"POST", "PUT", "PATCH"})


async def _nothing() -> None:
    pass


class CallKind:
    """What the pipeline's stages ask of one kind of call (see the module's table)."""

    __slots__ = ()

    #: A request to the OAuth token endpoint (for observers and metrics).
    token_request: ClassVar[bool] = False
    #: Replays per call (a 401 or a DPoP nonce challenge answered at once).
    replays_allowed: ClassVar[int] = 1
    #: Checked against the deadline once paced, before its request is built: then the
    #: microseconds of building it (signing an assertion) do not unsend it.
    checked_late: ClassVar[bool] = False

    def build(
        self,
        x: _Exchange,
        headers: CIMultiDict[str],
        retry_count: int,
        first_request_id: str | None,
    ) -> tuple[bytes | None, tuple[str, ...]]:
        """Complete ``headers`` for one attempt; returns the body and its secrets."""
        raise NotImplementedError

    def authorize(self, auth: Auth, request: AuthRequest) -> Awaitable[None]:
        """Let the strategy authorize ``request`` (in place)."""
        return _nothing()

    def may_replay(self, auth: Auth | None) -> bool:
        """Whether :meth:`wants_replay` can say yes (else it is not awaited at all)."""
        return False

    async def wants_replay(
        self, auth: Auth | None, request: AuthRequest, response: AuthResponse
    ) -> bool:
        """Whether ``response`` asks for the request to be sent again at once.

        ``auth`` is None when the strategy does not look at responses."""
        return False

    def final(self, response: AuthResponse | None, error: OktaError, attempts: int) -> Result:
        """The call's answer once retries are over: raise ``error``, or return."""
        error.attempts = attempts
        raise error


def _no_body(x: _Exchange, headers: CIMultiDict[str]) -> None:
    if x.op.method in _WRITES:
        headers["Content-Length"] = "0"  # Okta answers 411 to a bodyless POST


@attrs.define(slots=True, frozen=True)
class ApiCall(CallKind):
    """An API call: authorized by the strategy, retried with ``X-Okta-Retry-*``."""

    def build(
        self,
        x: _Exchange,
        headers: CIMultiDict[str],
        retry_count: int,
        first_request_id: str | None,
    ) -> tuple[bytes | None, tuple[str, ...]]:
        if x.content_type is not None:
            headers["Content-Type"] = x.content_type
        elif x.body is None and x.op.method in _WRITES:
            headers["Content-Length"] = "0"  # Okta answers 411 to a bodyless POST
        if retry_count > 0:
            if first_request_id:
                headers["X-Okta-Retry-For"] = first_request_id
            headers["X-Okta-Retry-Count"] = str(retry_count)
        return x.body, x.secrets

    def authorize(self, auth: Auth, request: AuthRequest) -> Awaitable[None]:
        return auth.authorize(request)  # awaited by the stage: no frame of its own

    def may_replay(self, auth: Auth | None) -> bool:
        return auth is not None

    async def wants_replay(
        self, auth: Auth | None, request: AuthRequest, response: AuthResponse
    ) -> bool:
        return auth is not None and await auth.on_response(request, response)


#: The kind of every API call (it holds no state).
API_CALL = ApiCall()


@attrs.define(slots=True, frozen=True)
class TokenCall(CallKind):
    """A token request: its form and credentials are built afresh for each attempt.

    Attributes:
        prepare: Builds one attempt's form and headers (an assertion is signed per attempt).
        replay: Whether a refusal asks for a replay at once (a DPoP nonce challenge).
    """

    prepare: Callable[[], SideRequest]
    replay: Callable[[AuthResponse], bool] | None = None

    token_request: ClassVar[bool] = True
    # A server that keeps changing its nonce must not keep us busy.
    replays_allowed: ClassVar[int] = 2
    checked_late: ClassVar[bool] = True

    def build(
        self,
        x: _Exchange,
        headers: CIMultiDict[str],
        retry_count: int,
        first_request_id: str | None,
    ) -> tuple[bytes | None, tuple[str, ...]]:
        side = self.prepare()
        body = None
        if side.form is not None:
            body = yarl.URL.build(query=dict(side.form)).raw_query_string.encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            _no_body(x, headers)
        headers.update(side.headers)
        return body, side.secrets

    def may_replay(self, auth: Auth | None) -> bool:
        return self.replay is not None

    async def wants_replay(
        self, auth: Auth | None, request: AuthRequest, response: AuthResponse
    ) -> bool:
        return self.replay is not None and self.replay(response)

    def final(self, response: AuthResponse | None, error: OktaError, attempts: int) -> Result:
        """The last refusal, for the strategy to read; raises when there was none."""
        if response is None:
            return super().final(response, error, attempts)
        request_id = response.headers.get("X-Okta-Request-Id")
        return response, request_id if _plain_request_id(request_id or "") else None, attempts


@attrs.define(slots=True, repr=False)
class _Exchange:
    """One call through the pipeline: what to send and how to retry it.

    What differs between an API call and a token request is asked of ``kind`` (see
    the module's table).
    """

    op: Operation
    url: yarl.URL
    bucket: str
    policy: RetryPolicy
    timeouts: Timeouts
    kind: CallKind
    body: bytes | None = None
    content_type: str | None = None
    secrets: tuple[str, ...] = ()
    attempt: int = 0  # the attempt in progress, for log records
    trace: Any = None  # the observer's state of this call (its span), while it runs
    attempt_secrets: tuple[str, ...] = ()  # what the attempt in progress must not show

    def __repr__(self) -> str:  # never the query (codes) nor the secrets
        return f"_Exchange({self.op.name}, {self.url.path}, bucket={self.bucket!r})"

    @property
    def api(self) -> bool:
        """An API call (not a token request)."""
        return not self.kind.token_request
