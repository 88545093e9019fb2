"""The engine of the OAuth 2.0 strategies: service apps (:mod:`._private_key`) and refresh
tokens (:mod:`._refresh_token`).

Both strategies share one engine, :class:`_OAuthStrategy`:

* The access token is cached and refreshed ``refresh_margin`` seconds before it expires
  (at most a tenth of its lifetime early). One function, :func:`._token.token_state`,
  says whether it is FRESH, STALE (refresh now, single-flight, while others keep using
  it) or INVALID (wait for a new one); a failed early refresh postpones STALE, never
  expiry.
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
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from .. import _json
from .._redact import header_secrets, redact
from ..errors import (
    AuthError,
    ClientClosedError,
    ConfigurationError,
    OAuthError,
    OktaError,
    OktaTimeoutError,
    TokenEndpointUnreachableError,
    TransportError,
)
from . import _jose
from ._base import Auth, AuthContext, AuthRequest, AuthResponse, SideRequest
from ._checks import _check_callable, _check_number, _check_token_url
from ._keys import SigningKey, generate_dpop_key
from ._log import auth_log_fields
from ._token import TokenState, _copy_error, _header, _retrieve, _Token, token_state

logger = logging.getLogger("okta_connections.auth")

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
    def token_state(self) -> TokenState:
        """The cached access token's :class:`TokenState` now: FRESH, STALE or INVALID."""
        return self._token_state()

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
        try:
            if task is not None and not task.done():
                task.cancel()
                # Waits for the refresh to end without taking on its outcome (its callback
                # retrieves that): a cancellation of close() itself is raised, not
                # swallowed with the refresh's own CancelledError.
                await asyncio.wait({task})
        finally:
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
                            request.operation,
                            path=request.url.path,
                            response=response,
                            secrets=self._shown_secrets(request),
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
                extra=auth_log_fields(
                    request.operation,
                    path=request.url.path,
                    response=response,
                    secrets=self._shown_secrets(request),
                ),
            )
        # Otherwise another call already dropped or replaced it: just replay.
        return True

    def _shown_secrets(self, request: AuthRequest) -> tuple[str, ...]:
        """What a log record about ``request``'s answer must not show."""
        return (*header_secrets(request.headers.items()), *self.secret_values())

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

    def _token_state(self) -> TokenState:
        return token_state(self._token, self._clock(), retry_not_before=self._retry_not_before)

    async def _valid_token(self, request: AuthRequest) -> _Token:
        token = self._token
        state = self._token_state()
        if state is TokenState.FRESH:
            assert token is not None
            return token
        if state is TokenState.STALE and self._refresh_task is not None:
            # Someone is already refreshing early: the old token is still good.
            assert token is not None
            return token
        # INVALID, or STALE with no refresh under way: this call starts one and waits.
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
            # asyncio.timeout, not wait_for: on Python 3.11, wait_for returns a result that
            # arrives in the same turn as the caller's cancellation, and swallows it.
            async with asyncio.timeout(timeout):
                return await asyncio.shield(task)
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
        if token_state(token, self._clock()) is TokenState.INVALID:
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
            raise TokenEndpointUnreachableError(
                f"could not reach the token endpoint {token_url} after "
                f"{max(exc.attempts, 1)} attempt(s): {exc}"
            ) from exc
        logger.debug(
            "token endpoint answered %d",
            response.status,
            extra=auth_log_fields(
                "token",
                response=response,
                bucket="oauth2-token",
                secrets=(*sent, *self.secret_values()),
            ),
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
