"""What observers see: the hooks' events, the state of an attempt, the log fields.

Nothing that reaches a hook, a span or a metric is a secret: request headers other than
a short list of plain ones are replaced by ``***``, response headers that may carry one
too, URLs lose their query strings, and bodies are never shown.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from .._ids import app_id_of

if TYPE_CHECKING:
    from ..auth._base import AuthRequest
    from ..ratelimit.headers import RateLimitInfo
    from .exchange import _Exchange

__all__ = ["Hook", "RequestEvent", "ResponseEvent", "check_hook", "log_fields"]

REDACTED = "***"

#: Response headers worth showing as they are; every other one is shown as ``***``
#: (``Set-Cookie`` holds a session, and a server may echo anything).
_PLAIN_RESPONSE_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "content-encoding",
        "date",
        "cache-control",
        "expires",
        "pragma",
        "vary",
        "retry-after",
        "x-okta-request-id",
        "x-rate-limit-limit",
        "x-rate-limit-remaining",
        "x-rate-limit-reset",
        "www-authenticate",
        "dpop-nonce",
        "link",
        "location",
        "server",
        "strict-transport-security",
        "x-content-type-options",
        "connection",
        "keep-alive",
        "transfer-encoding",
    }
)


def redact_headers(headers: Mapping[str, str], plain: frozenset[str]) -> dict[str, str]:
    """A copy of ``headers`` with every value whose name is not in ``plain`` as ``***``."""
    return {k: (v if k.lower() in plain else REDACTED) for k, v in headers.items()}


def log_fields(
    x: _Exchange,
    attempt: int | None = None,
    status: int | None = None,
    request_id: str | None = None,
    info: RateLimitInfo | None = None,
    *,
    remaining: int | None = None,
    **more: Any,
) -> dict[str, Any]:
    """The ``extra`` of one log record of the pipeline (no secret among them)."""
    return {
        "operation": x.op.name,
        "app_id": app_id_of(x.url.path),
        "status": status,
        "attempt": attempt or None,
        "request_id": request_id,
        "bucket": x.bucket,
        "remaining": remaining if info is None else info.remaining,
        **more,
    }


@attrs.frozen
class RequestEvent:
    """What an ``on_request`` hook sees: one HTTP attempt, about to be sent.

    Attributes:
        operation: The SDK operation (``"activate"``, ``"get"``, ``"token"`` ...).
        method: HTTP method.
        path: URL path, without the query string.
        attempt: 1 for the first attempt of the call, 2 for the next ...
        headers: Request headers; any that may hold a credential (``Authorization``,
            ``DPoP`` ...) shows ``***``.
        bucket: The rate-limit bucket (``"apps"``, ``"oauth2-token"`` ...).
        token_request: True for a request to the OAuth token endpoint.
    """

    operation: str
    method: str
    path: str
    attempt: int
    headers: Mapping[str, str]
    bucket: str
    token_request: bool


@attrs.frozen
class ResponseEvent:
    """What an ``on_response`` hook sees: one HTTP attempt, ended.

    Attributes:
        operation, method, path, attempt, bucket, token_request: as in
            :class:`RequestEvent`.
        status: The HTTP status, or None when no response came (see ``error``).
        elapsed: Seconds from sending to the end of the response (or the failure).
        request_id: Okta's ``X-Okta-Request-Id``, when it sent one.
        headers: Response headers; any that may hold a secret (``Set-Cookie`` ...)
            shows ``***``.
        error: The class name of the error when the attempt failed without a response
            (``"OktaTimeoutError"`` ...), else None.
        remaining: ``X-Rate-Limit-Remaining`` of the response, when it had one.
    """

    operation: str
    method: str
    path: str
    attempt: int
    status: int | None
    elapsed: float
    request_id: str | None
    headers: Mapping[str, str]
    error: str | None
    bucket: str
    token_request: bool
    remaining: int | None


E = TypeVar("E", RequestEvent, ResponseEvent)
#: A hook: a function of the event, plain or async.
Hook = Callable[[E], Awaitable[None] | None]


def check_hook(value: object, name: str) -> None:
    from ..errors import ConfigurationError

    if value is not None and not callable(value):
        raise ConfigurationError(name, "must be a function of one event (sync or async)")


@attrs.define(slots=True)
class _Attempt:
    """One HTTP attempt between its start and end events."""

    request: AuthRequest
    attempt: int
    started: float
    span: Any = None


@attrs.define(slots=True)
class _Op:
    """The operation in progress (per task): its span and open attempt."""

    span: Any = None
    retries: int = 0
    attempt: _Attempt | None = None
    status: int | None = None
    request_id: str | None = None
