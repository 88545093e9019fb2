"""The exception tree of okta_connections.

Every exception the SDK raises on purpose derives from :class:`OktaError`::

    OktaError
    ├── InvalidArgumentError (also ValueError)  bad input, refused before any request
    │   └── ConfigurationError                  bad org URL, auth or client settings
    ├── ClientClosedError (also RuntimeError)   the client was used after close()
    ├── TransportError                          no usable HTTP response
    │   ├── OktaConnectionError                 connect failed, or the connection dropped
    │   ├── OktaTimeoutError (also TimeoutError) connect, read or deadline timeout
    │   └── ResponseTooLargeError               a body over ``max_response_bytes``
    ├── DecodeError                             a 2xx body that is not what the API promises
    ├── AuthError                               an auth strategy could not produce credentials
    │   ├── OAuthError                          the token endpoint said no (error, description)
    │   │   └── ReauthorizationRequired         a refresh token is dead; consent is needed again
    │   └── TokenEndpointUnreachableError       no answer from the token endpoint (passing trouble)
    └── ApiError                                Okta answered with a 4xx or 5xx
        ├── BadRequestError        400  (E0000001 validation, E0000003 malformed body, ...)
        ├── UnauthorizedError      401  (E0000011 invalid token)
        ├── ForbiddenError         403  (E0000006 missing permission or scope)
        ├── NotFoundError          404  (E0000007)
        ├── ConflictError          409
        ├── RateLimitError         429  (E0000047; ``is_concurrency_limit`` for Okta's
        │                                 concurrency signal)
        └── ServerError            5xx

Branch on the class or on :attr:`ApiError.error_code`; Okta says ``errorSummary`` may change.
Every error raised for a call carries ``attempts``: how many HTTP attempts that call made.
No exception message ever contains a credential: the SDK builds messages only from the
operation, the status, Okta's error fields (with anything the request carried that Okta
echoed back redacted) and the request id. Third-party exceptions are never chained: an
aiohttp exception holds the request's headers and full URL. A :class:`TransportError`
keeps the original's type name and a sanitised message in ``cause_type`` and
``cause_message`` instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._challenge import required_scope
from ._redact import redact

__all__ = [
    "ApiError",
    "AuthError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "DecodeError",
    "ForbiddenError",
    "InvalidArgumentError",
    "NotFoundError",
    "OAuthError",
    "OktaConnectionError",
    "OktaError",
    "OktaTimeoutError",
    "RateLimitError",
    "ReauthorizationRequired",
    "ResponseTooLargeError",
    "ServerError",
    "TokenEndpointUnreachableError",
    "TransportError",
    "UnauthorizedError",
    "api_error_class",
]


class OktaError(Exception):
    """Base class of every error raised by okta_connections."""

    #: Number of HTTP attempts the failed call made (0 when it failed before sending).
    attempts: int = 0


class InvalidArgumentError(OktaError, ValueError):
    """An argument was refused before any request was sent.

    Attributes:
        argument: The name of the offending argument, e.g. ``"app_id"``.
    """

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(f"{argument}: {message}")
        self.argument = argument


class ConfigurationError(InvalidArgumentError):
    """The client's configuration (org URL, auth, timeouts) is unusable."""


class ClientClosedError(OktaError, RuntimeError):
    """The client was used after :meth:`OktaClient.close`."""


class TransportError(OktaError):
    """The request got no usable HTTP response.

    Attributes:
        method: HTTP method of the request.
        path: URL path of the request (never the query, which may hold a one-time code).
        request_sent: False when the request certainly never reached the server (for example
            the TCP connect failed), True when it may have been processed.
        cause_type: The dotted type name of the underlying exception, e.g.
            ``aiohttp.client_exceptions.ClientConnectorError``, or None. The exception
            itself is not chained: it carries the request's headers and URL.
        cause_message: That exception's message, sanitised (no query string, no secret).
    """

    cause_type: str | None = None
    cause_message: str | None = None

    def __init__(self, message: str, *, method: str, path: str, request_sent: bool) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.request_sent = request_sent


class OktaConnectionError(TransportError):
    """The connection could not be made, or broke before a full response arrived, or
    what arrived is not valid HTTP.

    The underlying aiohttp exception is not chained (it holds the request's headers);
    its type name and sanitised message are in ``cause_type`` and ``cause_message``.
    """


class OktaTimeoutError(TransportError, TimeoutError):
    """A timeout expired: connecting, reading one attempt, or the call's total deadline.

    Attributes:
        phase: ``"connect"``, ``"read"`` (one attempt took too long) or ``"deadline"``
            (the call's total time budget, across retries, ran out).
    """

    def __init__(
        self, message: str, *, method: str, path: str, request_sent: bool, phase: str
    ) -> None:
        super().__init__(message, method=method, path=path, request_sent=request_sent)
        self.phase = phase


class ResponseTooLargeError(TransportError):
    """A response body (after decompression) passed the client's ``max_response_bytes``.

    Reading stopped at the cap and the connection was dropped; the call is not retried.

    Attributes:
        limit: The cap in bytes.
    """

    def __init__(self, message: str, *, method: str, path: str, limit: int) -> None:
        super().__init__(message, method=method, path=path, request_sent=True)
        self.limit = limit


class DecodeError(OktaError):
    """A success response whose body is not the JSON document the API promises.

    Attributes:
        status: HTTP status of the response.
        request_id: Okta's ``X-Okta-Request-Id`` of the response, if any.
    """

    def __init__(self, message: str, *, status: int, request_id: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.request_id = request_id


class AuthError(OktaError):
    """An auth strategy could not produce credentials for a request."""


class OAuthError(AuthError):
    """The OAuth 2.0 token endpoint refused a token request.

    Attributes:
        error: The OAuth ``error`` code, e.g. ``invalid_client``.
        error_description: Okta's ``error_description``, if any.
        status: HTTP status of the token response.
    """

    def __init__(self, error: str, error_description: str | None = None, *, status: int) -> None:
        text = f"token endpoint answered {status} {error}"
        if error_description:
            text += f": {error_description}"
        super().__init__(text)
        self.error = error
        self.error_description = error_description
        self.status = status


class TokenEndpointUnreachableError(AuthError):
    """The token endpoint could not be reached (a refused connection, a timeout, a network
    blip) within the token policy's attempts: passing trouble, not refused credentials."""


class ReauthorizationRequired(OAuthError):
    """The refresh token was rejected (``invalid_grant``): an admin must authorise again."""


class ApiError(OktaError):
    """Okta answered with an error status.

    Attributes:
        status: HTTP status code.
        error_code: Okta's ``errorCode`` (for example ``E0000007``), or None when the body
            was not an Okta error document.
        error_summary: Okta's ``errorSummary``.
        error_link: Okta's ``errorLink``.
        error_id: Okta's ``errorId``, for Okta Support.
        error_causes: The ``errorSummary`` of each entry of ``errorCauses``.
        request_id: The ``X-Okta-Request-Id`` response header.
        operation: The SDK operation that failed, e.g. ``"activate"``.
        headers: The response headers (never request headers, so no credentials).
    """

    def __init__(
        self,
        *,
        status: int,
        error_code: str | None = None,
        error_summary: str | None = None,
        error_link: str | None = None,
        error_id: str | None = None,
        error_causes: Sequence[str] = (),
        request_id: str | None = None,
        operation: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.error_code = error_code
        self.error_summary = error_summary
        self.error_link = error_link
        self.error_id = error_id
        self.error_causes = tuple(error_causes)
        self.request_id = request_id
        self.operation = operation
        self.headers: Mapping[str, str] = dict(headers or {})
        super().__init__(self._message())

    def _message(self) -> str:
        parts = [f"{self.status}"]
        if self.error_code:
            parts.append(self.error_code)
        text = " ".join(parts)
        if self.error_summary:
            text += f" {self.error_summary}"
        if self.error_causes:
            text += " (" + "; ".join(self.error_causes) + ")"
        if self.operation:
            text = f"{self.operation} failed: {text}"
        if self.request_id:
            text += f" [request id {self.request_id}]"
        return text

    @classmethod
    def from_response(
        cls,
        status: int,
        body: Any,
        *,
        request_id: str | None,
        operation: str | None,
        headers: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
    ) -> ApiError:
        """Build the right subclass from a decoded (or undecodable) error body.

        Args:
            status: HTTP status.
            body: The decoded JSON body, or None when it was empty or not JSON.
            request_id: ``X-Okta-Request-Id``.
            operation: The SDK operation name.
            headers: Response headers.
            secrets: What the request carried that must not be repeated (its credential,
                a one-time code): redacted wherever the response echoes it, as are URL
                query strings.
        """
        secrets = tuple(secrets)

        def clean(value: str) -> str:
            return redact(value, secrets, limit=_MAX_FIELD)

        fields: dict[str, Any] = {}
        if isinstance(body, Mapping):
            for key, attr in (
                ("errorCode", "error_code"),
                ("errorSummary", "error_summary"),
                ("errorLink", "error_link"),
                ("errorId", "error_id"),
            ):
                value = body.get(key)
                if isinstance(value, str):
                    fields[attr] = clean(value)
            causes = body.get("errorCauses")
            if isinstance(causes, list):
                fields["error_causes"] = [
                    clean(c["errorSummary"])
                    for c in causes[:_MAX_CAUSES]
                    if isinstance(c, Mapping) and isinstance(c.get("errorSummary"), str)
                ]
        if headers is not None and secrets:
            headers = {k: redact(v, secrets, limit=_MAX_FIELD) for k, v in headers.items()}
        error_class = api_error_class(status)
        if issubclass(error_class, ForbiddenError) and headers is not None:
            # Okta names the missing scope in WWW-Authenticate (okta-sdk-golang#145).
            fields["required_scope"] = required_scope(headers)
        return error_class(
            status=status,
            request_id=None if request_id is None else clean(request_id),
            operation=operation,
            headers=headers,
            **fields,
        )


_MAX_FIELD = 1000
_MAX_CAUSES = 20


class BadRequestError(ApiError):
    """400: the request was invalid (E0000001 validation failed, E0000003 malformed body)."""


class UnauthorizedError(ApiError):
    """401: the credential is missing, invalid, expired or revoked (E0000011)."""


class ForbiddenError(ApiError):
    """403: the credential lacks a permission or OAuth scope (E0000006).

    Attributes:
        required_scope: The scope the call needs, as Okta names it in the response's
            ``WWW-Authenticate`` challenge (``error="insufficient_scope",
            scope="okta.apps.manage"``); None when the response names none (an API
            token's missing admin role, or a challenge that is not a list of scopes).
    """

    def __init__(self, *, required_scope: str | None = None, **kwargs: Any) -> None:
        self.required_scope = required_scope
        super().__init__(**kwargs)


class NotFoundError(ApiError):
    """404: no such app, or the app has no such resource (E0000007)."""


class ConflictError(ApiError):
    """409: the request conflicts with the resource's current state."""


class RateLimitError(ApiError):
    """429: a rate limit (E0000047) or the org's concurrency limit was exceeded."""

    @property
    def is_concurrency_limit(self) -> bool:
        """True for Okta's concurrency 429: X-Rate-Limit-Limit and -Remaining both 0."""
        lowered = {k.lower(): v for k, v in self.headers.items()}
        return (
            lowered.get("x-rate-limit-limit", "").strip() == "0"
            and lowered.get("x-rate-limit-remaining", "").strip() == "0"
        )


class ServerError(ApiError):
    """5xx: Okta (or something in front of it) failed."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def api_error_class(status: int) -> type[ApiError]:
    """Return the ApiError subclass for an HTTP status."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, ApiError)
