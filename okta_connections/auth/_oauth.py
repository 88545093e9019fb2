"""OAuth 2.0 strategies: service apps (private_key_jwt, optional DPoP) and refresh tokens.

Both strategies share one engine, :class:`_OAuthStrategy`:

* The access token is cached and refreshed ``refresh_margin`` seconds before it expires
  (at most a tenth of its lifetime early).
* Refreshes are single-flight: however many calls find the token missing or stale at
  once, one token request is made and everyone else waits for (or shares the failure of)
  that one. While a refresh of a still-valid token is under way, other calls keep using
  the old token instead of queueing behind the refresh.
* A 401 from the API replays the call once. The token is dropped only if the failed request
  carried the token that is still cached, so a burst of 401s for one revoked token causes
  exactly one new token request.
* Token requests run through the client's one pipeline (:class:`AuthContext` ``send``):
  paced in the ``oauth2-token`` bucket and retried on 429, 5xx and transport errors by the
  client's ``token_retry`` policy, under that policy's deadline. A refresh is one shared
  task; each call waiting on it stops waiting at its own call's deadline.
* With DPoP, every request carries a fresh proof; nonces are learned from ``DPoP-Nonce``
  response headers and nonce challenges are answered once.

Nothing here ever logs, formats or raises a token, assertion, proof or key.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import inspect
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Final

import attrs
import yarl
from multidict import CIMultiDict, CIMultiDictProxy

from .. import _json
from .._redact import header_secrets, redact, unchained
from .._validation import is_loopback
from ..errors import (
    AuthError,
    ClientClosedError,
    ConfigurationError,
    OAuthError,
    OktaError,
    OktaTimeoutError,
    ReauthorizationRequired,
    TransportError,
)
from . import _jose
from ._base import Auth, AuthContext, AuthRequest, AuthResponse, SideRequest, check_header_secret
from ._keys import KeySource, SigningKey, generate_dpop_key, load_signing_key
from ._log import auth_log_fields

__all__ = ["DEFAULT_SCOPES", "PrivateKeyJWT", "RefreshTokenAuth", "RotationCallback"]

logger = logging.getLogger("okta_connections.auth")

#: The scopes a connections client needs: read for GETs, manage for the POSTs.
DEFAULT_SCOPES: Final = ("okta.apps.read", "okta.apps.manage")

#: Called with each new refresh token; may be sync or async.
RotationCallback = Callable[[str], "Awaitable[None] | None"]

_DEFAULT_EXPIRES_IN: Final = 3600  # Okta service-app tokens live one hour
#: A longer lifetime than a week is not believed (and a 400-digit one would overflow).
_MAX_EXPIRES_IN: Final = 7 * 24 * 3600
#: The refresh margin never exceeds this fraction of a token's lifetime, so short-lived
#: tokens are used for most of their life (one token request per lifetime, near enough).
_MAX_MARGIN_FRACTION: Final = 0.1
#: After an early refresh fails for a passing reason, calls keep the still-valid token and
#: the next refresh attempt waits this long, so a struggling endpoint is not hammered.
_REFRESH_COOLDOWN: Final = 5.0
_TOKEN_RE: Final = re.compile(r"[\x21-\x7e]+")  # visible ASCII: safe in a header
_NONCE_RE: Final = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")  # RFC 9449 NQCHAR


# ---------------------------------------------------------------------- argument checks


def _check_identifier(value: object, argument: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(argument, "must be a non-empty string")
    if any(c.isspace() or ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        raise ConfigurationError(argument, "contains whitespace or control characters")
    return value


def _check_scopes(value: object, argument: str = "scopes") -> tuple[str, ...]:
    items: Iterable[object]
    if isinstance(value, str):
        items = value.split()
    elif isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
        items = list(value)
    else:
        raise ConfigurationError(argument, "must be a sequence of scope strings")
    scopes = tuple(_check_identifier(s, argument) for s in items)
    if not scopes:
        raise ConfigurationError(argument, "must name at least one scope, e.g. okta.apps.read")
    return scopes


def _check_number(value: object, argument: str, *, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= minimum:
        raise ConfigurationError(argument, f"must be a number >= {minimum:g}")
    if not math.isfinite(value):
        raise ConfigurationError(argument, "must be finite")
    return float(value)


def _check_int(value: object, argument: str, *, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise ConfigurationError(argument, f"must be an integer from {minimum} to {maximum}")
    return value


def _check_callable(value: object, argument: str) -> None:
    if not callable(value):
        raise ConfigurationError(argument, "must be callable")


@unchained
def _check_token_url(value: object, argument: str = "token_url") -> str:
    """An absolute https URL (http only for loopback), or a path resolved at bind()."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(argument, "must be a non-empty URL string")
    text = value.strip()
    if text.startswith("/"):
        return text
    try:
        url = yarl.URL(text)
    except (ValueError, TypeError):
        raise ConfigurationError(argument, "is not a valid URL") from None
    if url.user is not None or url.password is not None:
        raise ConfigurationError(argument, "must not contain credentials (user:password@)")
    if url.scheme not in ("https", "http") or not url.raw_host:
        raise ConfigurationError(
            argument, "must be an absolute https:// URL, e.g. https://acme.okta.com/oauth2/v1/token"
        )
    if url.scheme == "http" and not is_loopback(url.raw_host):
        raise ConfigurationError(argument, "must use https:// (http is allowed only for loopback)")
    if url.fragment:
        raise ConfigurationError(argument, "must not have a #fragment")
    return text


# ---------------------------------------------------------------------- token state


@attrs.frozen(repr=False)
class _Token:
    """One cached access token. Hand-written repr: the token must not leak."""

    authorization: str  # the whole Authorization header value, e.g. "Bearer eyJ..."
    access_token: str
    expires_at: float
    refresh_at: float
    ath: str | None  # DPoP access-token hash, computed once per token

    def __repr__(self) -> str:
        return f"_Token(expires_at={self.expires_at!r})"


def _copy_error(exc: AuthError) -> AuthError:
    """A fresh instance for each waiter: the pipeline writes ``attempts`` on what it raises."""
    if isinstance(exc, OAuthError):
        copy: AuthError = type(exc)(exc.error, exc.error_description, status=exc.status)
    else:
        copy = type(exc)(*exc.args)
    copy.__cause__ = exc.__cause__
    return copy


def _retrieve(task: asyncio.Task[_Token]) -> None:
    """Mark a refresh's exception as seen; each waiter raises its own copy."""
    if not task.cancelled():
        task.exception()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None or isinstance(headers, CIMultiDictProxy | CIMultiDict):
        return value  # aiohttp's headers are already case-insensitive
    lowered = name.lower()
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None


# ---------------------------------------------------------------------- the engine


class _OAuthStrategy(Auth, abc.ABC):
    """Token caching, single-flight refresh, replay and DPoP shared by both strategies."""

    def __init__(
        self,
        *,
        dpop: bool,
        token_url: str | None,
        refresh_margin: float,
        clock: Callable[[], float],
    ) -> None:
        if not isinstance(dpop, bool):
            raise ConfigurationError("dpop", "must be True or False")
        self._configured_token_url = None if token_url is None else _check_token_url(token_url)
        self._refresh_margin = _check_number(refresh_margin, "refresh_margin", minimum=0)
        _check_callable(clock, "clock")
        self._clock = clock
        # One ephemeral DPoP key for the strategy's life: the access token is bound to it.
        self._dpop_key: SigningKey | None = generate_dpop_key() if dpop else None
        self._dpop_prover = _jose.DPoPProver(self._dpop_key) if self._dpop_key is not None else None
        # RFC 9449 keeps the authorization server's and the resource server's nonces apart.
        self._token_nonce: str | None = None
        self._api_nonce: str | None = None
        self._context: AuthContext | None = None
        self._token_url: str | None = None
        self._token: _Token | None = None
        # The one refresh under way, shared by every call that needs it.
        self._refresh_task: asyncio.Task[_Token] | None = None
        self._retry_not_before = 0.0
        self._token_requests = 0

    # -------------------------------------------------------------- public surface

    @property
    def dpop(self) -> bool:
        """Whether requests are DPoP-bound."""
        return self._dpop_key is not None

    @property
    def principal(self) -> str:
        """``oauth:`` and the client id: its access tokens rotate, its rate limit does not."""
        client_id: str = getattr(self, "_client_id", "")
        return "oauth:" + client_id

    @property
    def token_url(self) -> str | None:
        """The token endpoint URL; None until the strategy is bound to a client."""
        return self._token_url

    @property
    def token_requests(self) -> int:
        """How many HTTP requests this strategy has sent to the token endpoint."""
        return self._token_requests

    async def bind(self, context: AuthContext) -> None:
        """Remember the client's side-request function and work out the token URL."""
        configured = self._configured_token_url
        if configured is None:
            url = f"{context.org_url}/oauth2/v1/token"
        elif configured.startswith("/"):
            url = f"{context.org_url}{configured}"
        else:
            url = configured
        if url != self._token_url:
            self._token = None  # a token from another server is no use here
        self._context = context
        self._token_url = url

    async def aclose(self) -> None:
        """Cancel a refresh under way and forget the cached access token (the DPoP key and
        refresh token are kept)."""
        task, self._refresh_task = self._refresh_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        self._token = None

    async def authorize(self, request: AuthRequest) -> None:
        """Set ``Authorization`` (and ``DPoP``), fetching a token first if needed."""
        token = await self._valid_token(request)
        request.headers["Authorization"] = token.authorization
        if self._dpop_prover is not None:
            request.headers["DPoP"] = self._dpop_prover.proof(
                method=request.method,
                url=request.url,
                issued_at=self._clock(),
                nonce=self._api_nonce,
                access_token=token.access_token,
            )

    async def on_response(self, request: AuthRequest, response: AuthResponse) -> bool:
        """Learn DPoP nonces; ask for one replay after a nonce challenge or a 401."""
        if self._dpop_key is not None:
            nonce = self._nonce_of(response)
            if nonce is not None:
                self._api_nonce = nonce
                if response.status in (400, 401) and self._is_nonce_challenge(response):
                    logger.debug(
                        "API asked for a DPoP nonce; replaying with it",
                        extra=auth_log_fields(
                            request.operation, path=request.url.path, response=response
                        ),
                    )
                    return True
        if response.status != 401:
            return False
        token = self._token
        if token is not None and request.headers.get("Authorization") == token.authorization:
            # The token that failed is still the cached one: drop it, and the replay's
            # authorize() fetches a new one (once, however many calls got this 401).
            self._token = None
            logger.debug(
                "API answered 401; dropping the cached access token",
                extra=auth_log_fields(request.operation, path=request.url.path, response=response),
            )
        # Otherwise another call already dropped or replaced it: just replay.
        return True

    # -------------------------------------------------------------- subclass hooks

    @abc.abstractmethod
    def _token_request(self, token_url: str) -> tuple[dict[str, str], dict[str, str]]:
        """The form and extra headers of one token request (fresh assertion each time)."""

    def _secrets(self) -> tuple[str, ...]:
        """Long-lived secrets to scrub from server text, besides the request's own."""
        return ()

    def secret_values(self) -> tuple[str, ...]:
        """The long-lived secrets and the current access token, for redaction."""
        token = self._token
        return (*self._secrets(), *((token.access_token,) if token is not None else ()))

    def _client_assertion(
        self, key: SigningKey, client_id: str, token_url: str, lifetime: int
    ) -> str:
        """A fresh private_key_jwt assertion (new ``jti``, ``iat`` now) for ``token_url``."""
        return _jose.client_assertion(
            key,
            client_id=client_id,
            audience=token_url,
            issued_at=self._clock(),
            lifetime=lifetime,
            jti=_jose.new_jti(),
        )

    def _refuse(self, error: str, description: str | None, status: int) -> AuthError:
        """The exception for a token-endpoint refusal; subclasses map special codes."""
        return OAuthError(error, description, status=status)

    def _accept(self, payload: Mapping[str, Any]) -> None:
        """See a successful token response (e.g. to pick up a rotated refresh token)."""

    async def _after_store(self) -> None:
        """Runs under the refresh lock once the new token is cached."""

    def _check_usable(self) -> None:
        """Raise if no token request can succeed any more."""

    # -------------------------------------------------------------- single flight

    async def _valid_token(self, request: AuthRequest) -> _Token:
        token = self._token
        if token is not None:
            now = self._clock()
            if now < token.refresh_at:
                return token
            if now < token.expires_at and (
                self._refresh_task is not None or now < self._retry_not_before
            ):
                # Someone is already refreshing early, or an early refresh just failed
                # for a passing reason: the old token is still good.
                return token
        self._check_usable()
        task = self._refresh_task
        if task is None:
            task = asyncio.get_running_loop().create_task(self._refresh())
            # A refresh whose waiters all gave up still finishes; its outcome is kept.
            task.add_done_callback(_retrieve)
            self._refresh_task = task
        return await self._wait(task, request)

    async def _wait(self, task: asyncio.Task[_Token], request: AuthRequest) -> _Token:
        """The shared refresh's outcome, waiting no longer than this call's deadline."""
        timeout = None
        if request.deadline is not None:
            timeout = max(0.0, request.deadline - asyncio.get_running_loop().time())
        failure: OktaError | None = None
        try:
            return await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            pass
        except AuthError as exc:
            # Every waiter raises its own copy: the pipeline writes ``attempts`` on it.
            failure = _copy_error(exc)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not task.cancelled() or (current is not None and current.cancelling()):
                raise  # this call itself was cancelled
            # The refresh was cancelled under us: the client is closing.
            failure = ClientClosedError(
                "the client was closed while this call waited for an access token"
            )
        if failure is not None:
            raise failure
        raise OktaTimeoutError(
            f"{request.operation or 'call'}: the call's deadline ran out while waiting for "
            "an access token (the refresh goes on under the token policy's deadline)",
            method=request.method,
            path=request.url.path,
            request_sent=False,
            phase="deadline",
        )

    async def _refresh(self) -> _Token:
        """One token request, as a task of its own; it is the only writer of the token."""
        try:
            try:
                fresh = await self._fetch()
            except AuthError as exc:
                token = self._token
                if self._still_valid(token, exc):
                    assert token is not None
                    self._retry_not_before = self._clock() + _REFRESH_COOLDOWN
                    logger.warning(
                        "early token refresh failed (%s); using the cached token, which "
                        "is still valid, and trying again in %.0fs",
                        exc,
                        _REFRESH_COOLDOWN,
                        extra=auth_log_fields("token", bucket="oauth2-token"),
                    )
                    return token
                raise
            self._token = fresh
            self._retry_not_before = 0.0
            await self._after_store()
            return fresh
        finally:
            if self._refresh_task is asyncio.current_task():
                self._refresh_task = None

    def _still_valid(self, token: _Token | None, failure: AuthError) -> bool:
        """Whether a failed early refresh may fall back on the cached token.

        Only for passing trouble (unreachable, 429, 5xx): a refusal such as
        ``invalid_client`` is raised at once, so that it is seen while there is time.
        """
        if token is None or self._clock() >= token.expires_at:
            return False
        if isinstance(failure, OAuthError):
            return failure.status == 429 or failure.status >= 500
        return True

    # -------------------------------------------------------------- token endpoint

    def _require_bound(self) -> tuple[AuthContext, str]:
        if self._context is None or self._token_url is None:
            raise AuthError(
                f"{type(self).__name__} is not bound to a client; pass it to "
                "OktaClient(auth=...) and make calls through the client"
            )
        return self._context, self._token_url

    async def _fetch(self) -> _Token:
        context, token_url = self._require_bound()
        # What the latest attempt carried: scrubbed from whatever the server says back.
        sent: list[str] = []
        started = [self._clock()]

        def prepare() -> SideRequest:
            form, headers = self._token_request(token_url)
            if self._dpop_prover is not None:
                headers["DPoP"] = self._dpop_prover.proof(
                    method="POST",
                    url=token_url,
                    issued_at=self._clock(),
                    nonce=self._token_nonce,
                )
            # Only the secret-bearing values: scrubbing "client_credentials" from a
            # description would make it unreadable.
            sent[:] = [
                v
                for v in (
                    form.get("client_assertion", ""),
                    form.get("refresh_token", ""),
                    *header_secrets(headers.items()),
                    *self._secrets(),
                )
                if v
            ]
            started[0] = self._clock()
            self._token_requests += 1
            return SideRequest(headers=headers, form=form, secrets=tuple(sent))

        def replay(response: AuthResponse) -> bool:
            nonce = self._nonce_of(response)
            if nonce is None:
                return False
            self._token_nonce = nonce
            # Okta has consumed the assertion's jti; the resend signs a new one.
            return (
                response.status != 200
                and self._dpop_key is not None
                and self._is_nonce_challenge(response)
            )

        try:
            response = await context.send("POST", token_url, prepare, replay=replay)
        except TransportError as exc:
            # AuthError, not TransportError: the client would otherwise retry the whole
            # call and multiply the token requests.
            raise AuthError(
                f"could not reach the token endpoint {token_url} after "
                f"{max(exc.attempts, 1)} attempt(s): {exc}"
            ) from exc
        logger.debug(
            "token endpoint answered %d",
            response.status,
            extra=auth_log_fields("token", response=response, bucket="oauth2-token"),
        )
        if response.status == 200:
            return self._parse_token(response, started[0], sent)
        error, description = self._parse_error(response, sent)
        raise self._refuse(error, description, response.status)

    def _parse_error(
        self, response: AuthResponse, sent_secrets: Iterable[str]
    ) -> tuple[str, str | None]:
        try:
            body = _json.loads(response.body)
        except ValueError:
            return "invalid_response", "the error response is not JSON"
        if isinstance(body, dict):
            for code_key, text_key in (
                ("error", "error_description"),
                ("errorCode", "errorSummary"),
            ):
                code = body.get(code_key)
                if isinstance(code, str) and code:
                    text = body.get(text_key)
                    description = redact(text, sent_secrets) if isinstance(text, str) else None
                    return redact(code, sent_secrets), description
        return "invalid_response", "the error response has no OAuth 'error' field"

    def _parse_token(
        self, response: AuthResponse, started: float, sent_secrets: Iterable[str]
    ) -> _Token:
        def bad(description: str) -> OAuthError:
            return OAuthError("invalid_response", description, status=response.status)

        try:
            payload = _json.loads(response.body)
        except ValueError:
            raise bad("the token response is not JSON") from None
        if not isinstance(payload, dict):
            raise bad("the token response is not a JSON object")
        access_token = payload.get("access_token")
        if not isinstance(access_token, str) or not _TOKEN_RE.fullmatch(access_token):
            raise bad("the token response has no usable access_token")
        token_type = payload.get("token_type")
        token_type = token_type if isinstance(token_type, str) else "Bearer"
        is_dpop = token_type.lower() == "dpop"
        if self._dpop_key is not None and not is_dpop:
            raise OAuthError(
                "invalid_token_type",
                "asked for a DPoP-bound token but got token_type "
                f"{redact(token_type, sent_secrets)!r}",
                status=response.status,
            )
        if self._dpop_key is None and is_dpop:
            raise OAuthError(
                "invalid_token_type",
                "got a DPoP-bound token without asking for one; construct the strategy "
                "with dpop=True",
                status=response.status,
            )
        expires_in = payload.get("expires_in")
        if (
            isinstance(expires_in, str)
            and expires_in.strip().isdecimal()
            and expires_in.isascii()
            and len(expires_in.strip()) <= 12
        ):
            expires_in = int(expires_in)
        if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
            expires_in = _DEFAULT_EXPIRES_IN
        if not 0 < expires_in <= _MAX_EXPIRES_IN:
            expires_in = _DEFAULT_EXPIRES_IN  # none, absurd (huge, infinite, NaN): Okta's hour
        lifetime = float(expires_in)
        # Cap the margin at a tenth of the lifetime: a 60-second token is renewed after
        # 54 s, not on every call (nor twice per lifetime), and a one-hour token 300 s early.
        margin = min(self._refresh_margin, lifetime * _MAX_MARGIN_FRACTION)
        self._accept(payload)
        scheme = "DPoP" if is_dpop else "Bearer"
        logger.debug(
            "got a %s access token valid for %.0fs; will refresh %.0fs early",
            scheme,
            lifetime,
            margin,
            extra=auth_log_fields("token", bucket="oauth2-token"),
        )
        return _Token(
            authorization=f"{scheme} {access_token}",
            access_token=access_token,
            expires_at=started + lifetime,
            refresh_at=started + lifetime - margin,
            ath=_jose.access_token_hash(access_token) if is_dpop else None,
        )

    # -------------------------------------------------------------- DPoP helpers

    @staticmethod
    def _nonce_of(response: AuthResponse) -> str | None:
        value = _header(response.headers, "DPoP-Nonce")
        if value is None:
            return None
        value = value.strip()
        return value if _NONCE_RE.fullmatch(value) else None

    @staticmethod
    def _is_nonce_challenge(response: AuthResponse) -> bool:
        challenge = _header(response.headers, "WWW-Authenticate") or ""
        if "use_dpop_nonce" in challenge:
            return True
        try:
            body = _json.loads(response.body)
        except ValueError:
            return False
        return isinstance(body, dict) and body.get("error") == "use_dpop_nonce"


# ---------------------------------------------------------------------- service apps


class PrivateKeyJWT(_OAuthStrategy):
    """OAuth 2.0 for an Okta service app: client_credentials with ``private_key_jwt``.

    The strategy signs a short-lived client assertion with the app's private key, trades
    it at the org authorization server for an access token with the requested scopes,
    caches that token and sends it as ``Authorization: Bearer <token>`` (or, with
    ``dpop=True``, ``Authorization: DPoP <token>`` plus a ``DPoP`` proof per request).

    Example::

        auth = PrivateKeyJWT("0oa1serviceapp", Path("service-app.pem"), key_id="k1")
        async with OktaClient("https://acme.okta.com", auth=auth) as okta:
            conn = await okta.connections.get("0oafxqCAJWWGELFTYASJ")

    Args:
        client_id: The service app's client ID (``iss`` and ``sub`` of the assertion).
        private_key: The app's private key: PEM text or bytes, a file path (``str`` or
            :class:`pathlib.Path`), or a private JWK dict. RSA signs RS256 (or the JWK's
            ``alg``); EC P-256/P-384/P-521 signs ES256/ES384/ES512.
        scopes: Scopes to request; every one must be granted to the app. A space-separated
            string is accepted too.
        key_id: The ``kid`` header, needed when the app has several keys. Defaults to the
            JWK's ``kid``.
        password: The passphrase of an encrypted PEM key.
        token_url: The token endpoint. Defaults to ``{org_url}/oauth2/v1/token`` (the org
            authorization server, the only one that issues ``okta.*`` scopes). A path
            starting with ``/`` is resolved against the org URL.
        dpop: Bind tokens to an ephemeral key with DPoP (RFC 9449). Required when the app
            has "Require DPoP" checked.
        refresh_margin: Seconds before expiry at which the token is renewed, capped at
            a tenth of the token's lifetime.
        assertion_lifetime: Seconds each client assertion is valid (1 to 3600).
        clock: Wall-clock seconds since the epoch; injectable for tests.

    Raises:
        ConfigurationError: the key is malformed, encrypted without ``password``, public,
            of an unsupported type, or its file is missing; or another argument is invalid.
            The message never contains key material.

    Calls made with this strategy can raise:
        OAuthError: the token endpoint refused (``invalid_client``, ``invalid_scope`` ...),
            or answered something unusable (``invalid_response``, ``invalid_token_type``).
        AuthError: the token endpoint could not be reached within the client's
            ``token_retry`` policy (attempts and deadline).
    """

    def __init__(
        self,
        client_id: str,
        private_key: KeySource,
        *,
        scopes: Iterable[str] | str = DEFAULT_SCOPES,
        key_id: str | None = None,
        password: str | bytes | None = None,
        token_url: str | None = None,
        dpop: bool = False,
        refresh_margin: float = 300.0,
        assertion_lifetime: int = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client_id = _check_identifier(client_id, "client_id")
        self._scopes = _check_scopes(scopes)
        self._assertion_lifetime = _check_int(
            assertion_lifetime, "assertion_lifetime", minimum=1, maximum=3600
        )
        self._key = load_signing_key(private_key, password=password, key_id=key_id)
        super().__init__(
            dpop=dpop,
            token_url=token_url,
            refresh_margin=refresh_margin,
            clock=clock,
        )

    def __repr__(self) -> str:
        return (
            f"PrivateKeyJWT(client_id={self._client_id!r}, scopes={self._scopes!r}, "
            f"dpop={self.dpop!r})"
        )

    @property
    def client_id(self) -> str:
        """The service app's client ID."""
        return self._client_id

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scopes requested."""
        return self._scopes

    @property
    def algorithm(self) -> str:
        """The JWS algorithm of the client assertion (``RS256``, ``ES256`` ...)."""
        return self._key.algorithm

    def _token_request(self, token_url: str) -> tuple[dict[str, str], dict[str, str]]:
        assertion = self._client_assertion(
            self._key, self._client_id, token_url, self._assertion_lifetime
        )
        return _jose.client_credentials_form(self._scopes, assertion), {}


# ---------------------------------------------------------------------- refresh tokens


class RefreshTokenAuth(_OAuthStrategy):
    """OAuth 2.0 with a refresh token, for an app an admin authorised by consent.

    Each access token is obtained with ``grant_type=refresh_token``. When the server rotates
    the refresh token, the new one is used from then on and handed to ``on_rotate`` so you
    can persist it: with rotation on, the old one stops working.

    Example::

        async def save(new_refresh_token: str) -> None:
            await vault.write("okta-refresh-token", new_refresh_token)

        auth = RefreshTokenAuth(
            "https://acme.okta.com/oauth2/v1/token",
            await vault.read("okta-refresh-token"),
            client_id="0oa1connector",
            client_secret=await vault.read("okta-client-secret"),
            on_rotate=save,
        )

    Args:
        token_url: The token endpoint (an absolute URL, or a path such as
            ``/oauth2/v1/token`` resolved against the org URL).
        refresh_token: The current refresh token.
        client_id: The client ID of the app the token was issued to.
        client_secret: Authenticate with ``client_secret_basic``.
        private_key: Authenticate with ``private_key_jwt`` instead (same forms as
            :class:`PrivateKeyJWT`). With neither, the client is public and only sends
            ``client_id``.
        key_id: The ``kid`` of ``private_key``.
        password: The passphrase of an encrypted PEM ``private_key``.
        scopes: Scopes to request; None (the default) keeps the originally granted ones.
        on_rotate: Called (sync or async) with every new refresh token, inside the shared
            refresh, right after the new access token is cached. If it raises, the calls
            waiting on that refresh raise :class:`AuthError` naming the exception's type
            (not chaining it: it may hold the token); the new refresh token is still used
            in memory.
        refresh_margin: Seconds before expiry at which the token is renewed, capped at
            a tenth of the token's lifetime.
        assertion_lifetime: Seconds each client assertion is valid (``private_key`` only).
        clock: Wall-clock seconds since the epoch; injectable for tests.

    Raises:
        ConfigurationError: an argument is invalid, or both ``client_secret`` and
            ``private_key`` were given.

    Calls made with this strategy can raise:
        ReauthorizationRequired: the refresh token was rejected (``invalid_grant``): it
            expired, was revoked, or was already used. The connection is lost until an
            admin authorises the app again; later calls raise it at once.
        OAuthError: any other refusal by the token endpoint.
        AuthError: the token endpoint could not be reached within the client's
            ``token_retry`` policy (attempts and deadline).
    """

    def __init__(
        self,
        token_url: str,
        refresh_token: str,
        *,
        client_id: str,
        client_secret: str | None = None,
        private_key: KeySource | None = None,
        key_id: str | None = None,
        password: str | bytes | None = None,
        scopes: Iterable[str] | str | None = None,
        on_rotate: RotationCallback | None = None,
        refresh_margin: float = 300.0,
        assertion_lifetime: int = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if token_url is None:
            raise ConfigurationError("token_url", "is required for RefreshTokenAuth")
        self._refresh_token = check_header_secret(refresh_token, "refresh_token")
        self._client_id = _check_identifier(client_id, "client_id")
        if client_secret is not None and private_key is not None:
            raise ConfigurationError("client_secret", "give client_secret or private_key, not both")
        self._client_secret = (
            None if client_secret is None else check_header_secret(client_secret, "client_secret")
        )
        self._key = (
            None
            if private_key is None
            else load_signing_key(private_key, password=password, key_id=key_id)
        )
        self._scopes = None if scopes is None else _check_scopes(scopes)
        if on_rotate is not None:
            _check_callable(on_rotate, "on_rotate")
        self._on_rotate = on_rotate
        self._assertion_lifetime = _check_int(
            assertion_lifetime, "assertion_lifetime", minimum=1, maximum=3600
        )
        self._rotated: str | None = None
        self._dead: ReauthorizationRequired | None = None
        super().__init__(
            dpop=False,
            token_url=token_url,
            refresh_margin=refresh_margin,
            clock=clock,
        )

    def __repr__(self) -> str:
        return (
            f"RefreshTokenAuth(token_url={self._configured_token_url!r}, "
            f"client_id={self._client_id!r}, client_auth={self.client_auth!r}, "
            f"scopes={self._scopes!r})"
        )

    @property
    def client_id(self) -> str:
        """The client ID."""
        return self._client_id

    @property
    def client_auth(self) -> str:
        """``client_secret_basic``, ``private_key_jwt`` or ``none``."""
        if self._client_secret is not None:
            return "client_secret_basic"
        if self._key is not None:
            return "private_key_jwt"
        return "none"

    @property
    def reauthorization_required(self) -> bool:
        """True once the refresh token has been rejected for good."""
        return self._dead is not None

    def _secrets(self) -> tuple[str, ...]:
        return (self._refresh_token, *((self._client_secret,) if self._client_secret else ()))

    def _check_usable(self) -> None:
        if self._dead is not None:
            raise _copy_error(self._dead)

    def _token_request(self, token_url: str) -> tuple[dict[str, str], dict[str, str]]:
        headers: dict[str, str] = {}
        assertion: str | None = None
        client_id: str | None = None
        if self._client_secret is not None:
            headers["Authorization"] = _jose.basic_authorization(
                self._client_id, self._client_secret
            )
        elif self._key is not None:
            assertion = self._client_assertion(
                self._key, self._client_id, token_url, self._assertion_lifetime
            )
        else:
            client_id = self._client_id
        form = _jose.refresh_token_form(
            self._refresh_token,
            scopes=self._scopes,
            client_assertion=assertion,
            client_id=client_id,
        )
        return form, headers

    def _refuse(self, error: str, description: str | None, status: int) -> AuthError:
        if error != "invalid_grant":
            return super()._refuse(error, description, status)
        text = (
            "the refresh token was rejected (expired, revoked or already used), so the "
            "connection is lost; an admin must authorise the app again"
        )
        if description:
            text += f" (server said: {description})"
        self._dead = ReauthorizationRequired(error, text, status=status)
        return self._dead

    def _accept(self, payload: Mapping[str, Any]) -> None:
        new = payload.get("refresh_token")
        if isinstance(new, str) and new and new != self._refresh_token:
            self._refresh_token = new
            self._rotated = new
            logger.debug(
                "the token endpoint rotated the refresh token",
                extra=auth_log_fields("token", bucket="oauth2-token"),
            )

    async def _after_store(self) -> None:
        rotated, self._rotated = self._rotated, None
        if rotated is None or self._on_rotate is None:
            return
        failed: str | None = None
        try:
            result = self._on_rotate(rotated)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            failed = type(exc).__name__
        if failed is not None:
            raise AuthError(
                f"on_rotate raised {failed} while saving the rotated refresh token; the new "
                "token is in use in memory, but was not persisted (the exception is not "
                "chained: it may hold the token)"
            )
