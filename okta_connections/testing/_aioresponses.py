"""aioresponses helpers: Okta-shaped responses for the six operations, in one call.

For users who mock at the HTTP layer instead of running :class:`FakeOkta`. The bodies,
headers and errors come from the same code as FakeOkta's, and the mocked app keeps state
(activate, then get, shows ``ENABLED``).

aioresponses 0.7.9 cannot build a response on aiohttp 3.14 and newer by itself
(pnuckowski/aioresponses#289: ``ClientResponse.__init__()`` requires ``stream_writer``).
The helpers here give it :class:`MockClientResponse`, which fits; for mocks of your own, use
:func:`aioresponses` from this package, a drop-in ``aioresponses.aioresponses`` that does
the same for every response you add.
"""

from __future__ import annotations

import functools
import inspect
import json
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from email.utils import formatdate
from typing import Any, Final, Literal, Protocol

import attrs
from aiohttp import ClientResponse
from yarl import URL

from ._fake import FakeOkta
from ._model import CONSENT_APPS, FakeApp
from ._seed import apply_oauth, apply_token
from ._wire import OktaError, app_not_found, connection_body, no_provisioning, validation_error

__all__ = ["MockClientResponse", "MockedApp", "aioresponses", "mock_okta", "mock_okta_not_found"]

_OPERATIONS: Final = ("get", "update", "activate", "deactivate", "get_jwks", "verify")
_ERRORS: Final = {
    400: ("E0000001", "Api validation failed: mocked failure"),
    401: ("E0000011", "Invalid token provided"),
    403: ("E0000006", "You do not have permission to perform the requested action"),
    404: ("E0000007", "Not found: Resource not found: mocked failure"),
    429: ("E0000047", "API call exceeded rate limit due to too many requests."),
}
_ALNUM: Final = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class _SentRequest:
    """What a response built without a connection reads of its request's writer."""

    output_size = 0


class MockClientResponse(ClientResponse):
    """A ``ClientResponse`` that aioresponses can build on aiohttp 3.14 and newer.

    aiohttp 3.14 added a required ``stream_writer`` argument, which aioresponses 0.7.9 does
    not pass (pnuckowski/aioresponses#289). A mocked response has no request on the wire, so
    this one stands in a writer that sent nothing. Pass it as ``response_class=`` to
    ``aioresponses.add()`` or to a ``CallbackResult``, or use :func:`aioresponses`, which
    does that for every response.
    """

    def __init__(self, method: str, url: URL, *, stream_writer: Any = None, **kwargs: Any) -> None:
        writer: Any = _SentRequest() if stream_writer is None else stream_writer
        super().__init__(method, url, stream_writer=writer, **kwargs)


def aioresponses(**kwargs: Any) -> Any:
    """``aioresponses.aioresponses(**kwargs)`` whose responses work on aiohttp 3.14 and newer.

    A drop-in for the class of the same name: every ``add()`` (and ``get()``, ``post()``...)
    without a ``response_class`` builds a :class:`MockClientResponse`, and so does every
    ``CallbackResult`` without one::

        from okta_connections.testing import aioresponses

        with aioresponses() as m:
            m.get("https://acme.okta.com/api/v1/apps/0oa1/connections/default", payload=body)

    Raises:
        ModuleNotFoundError: aioresponses is not installed (``pip install
            'okta-connections[aioresponses]'``).
    """
    return _compatible_class()(**kwargs)


@functools.cache
def _compatible_class() -> type[Any]:
    from aioresponses import (  # type: ignore[import-not-found,unused-ignore]
        CallbackResult,
    )
    from aioresponses import (  # type: ignore[import-not-found,unused-ignore]
        aioresponses as base,
    )

    class Aioresponses(base):  # type: ignore[misc,unused-ignore]
        def add(  # type: ignore[override]
            self, url: Any, method: str = "GET", **kwargs: Any
        ) -> None:
            kwargs.setdefault("response_class", MockClientResponse)
            callback = kwargs.get("callback")
            if callback is not None:
                kwargs["callback"] = _with_response_class(callback, CallbackResult)
            super().add(url, method, **kwargs)

    Aioresponses.__name__ = Aioresponses.__qualname__ = "aioresponses"
    return Aioresponses


def _with_response_class(
    callback: Callable[..., Any], result_type: type[Any]
) -> Callable[..., Any]:
    """Wrap a user's callback so that a ``CallbackResult`` it returns builds our response."""

    def fix(result: Any) -> Any:
        if isinstance(result, result_type) and result.response_class is None:
            result.response_class = MockClientResponse
        return result

    if inspect.iscoroutinefunction(callback):

        async def wrapped_async(url: Any, **kwargs: Any) -> Any:
            return fix(await callback(url, **kwargs))

        return wrapped_async

    def wrapped(url: Any, **kwargs: Any) -> Any:
        return fix(callback(url, **kwargs))

    return wrapped


class AioresponsesLike(Protocol):
    """The part of ``aioresponses.aioresponses`` these helpers use."""

    def add(self, url: Any, method: str = ..., **kwargs: Any) -> None: ...


@attrs.define
class MockedApp:
    """An app whose six operations are mocked; see :func:`mock_okta`.

    Attributes:
        app: The app's state (a :class:`FakeApp`): read it to assert on the outcome,
            or set fields to arrange a state.
        calls: How many calls each operation received, failed ones included.
        failures: Scripted failures still to come: operation -> [status, times].
        rate_limit: ``X-Rate-Limit-Limit`` of every response.
    """

    app: FakeApp
    org_url: str
    calls: Counter[str] = attrs.field(factory=Counter)
    failures: dict[str, list[int]] = attrs.field(factory=dict)
    rate_limit: int = 100
    _window_start: float = attrs.field(factory=time.time)
    _window_used: int = 0
    _ids: random.Random = attrs.field(factory=random.Random, repr=False)

    def fail(self, operation: str, status: int = 503, *, times: int = 1) -> None:
        """The next ``times`` calls of ``operation`` get ``status`` with Okta's error body."""
        if operation not in _OPERATIONS:
            raise ValueError(f"operation must be one of {', '.join(_OPERATIONS)}")
        if not 400 <= status <= 599 or times < 1:
            raise ValueError("status must be 400-599 and times >= 1")
        self.failures[operation] = [status, times]

    def _headers(self, status: int) -> dict[str, str]:
        now = time.time()
        if now >= self._window_start + 60:
            self._window_start = now  # a new one-minute window: the budget starts afresh
            self._window_used = 0
        self._window_used += 1
        remaining = 0 if status == 429 else max(self.rate_limit - self._window_used, 0)
        return {
            "X-Okta-Request-Id": "req" + "".join(self._ids.choices(_ALNUM, k=23)),
            "Date": formatdate(now, usegmt=True),
            "X-Rate-Limit-Limit": str(self.rate_limit),
            "X-Rate-Limit-Remaining": str(remaining),
            "X-Rate-Limit-Reset": str(int(self._window_start + 60)),
        }

    def _error(self, err: OktaError) -> Any:
        body = {
            "errorCode": err.code,
            "errorSummary": err.summary,
            "errorLink": err.code,
            "errorId": "oae" + "".join(self._ids.choices(_ALNUM, k=22)),
            "errorCauses": [{"errorSummary": c} for c in err.causes],
        }
        return _result(err.status, body, self._headers(err.status))

    def _respond(self, operation: str, handler: Callable[[URL, Any], Any]) -> Callable[..., Any]:
        def callback(url: URL, **kwargs: Any) -> Any:
            self.calls[operation] += 1
            scripted = self.failures.get(operation)
            if scripted is not None:
                status, times = scripted
                if times <= 1:
                    del self.failures[operation]
                else:
                    scripted[1] = times - 1
                code, summary = _ERRORS.get(status, ("E0000009", "Internal Server Error"))
                return self._error(OktaError(status, code, summary))
            try:
                status, body = handler(URL(url), kwargs)
            except OktaError as err:
                return self._error(err)
            return _result(status, body, self._headers(status))

        return callback

    # ----------------------------------------------------------------- the operations

    def _get(self, url: URL, kwargs: Any) -> tuple[int, Any]:
        return 200, connection_body(self.app, self.org_url)

    def _update(self, url: URL, kwargs: Any) -> tuple[int, Any]:
        app = self.app
        if not app.supports_provisioning:
            raise no_provisioning(app)
        raw = kwargs.get("data")
        try:
            data = kwargs["json"] if kwargs.get("json") is not None else json.loads(raw or b"")
        except ValueError:
            raise OktaError(400, "E0000003", "The request body was not well-formed.") from None
        profile = data.get("profile") if isinstance(data, dict) else None
        scheme = profile.get("authScheme") if isinstance(profile, dict) else None
        activate = url.query.get("activate", "false").lower() == "true"
        now = time.time()
        if scheme == "TOKEN" and app.supports_token and isinstance(profile, dict):
            apply_token(
                app,
                token=str(profile.get("token", "")),
                base_url=data.get("baseUrl"),
                activate=activate,
                now=now,
            )
        elif scheme == "OAUTH2" and app.supports_oauth and isinstance(profile, dict):
            signing = profile.get("signing")
            apply_oauth(
                app,
                activate=activate,
                now=now,
                seed=0,
                client_id=profile.get("clientId") if app.name == "okta_org2org" else None,
                rotation_mode=signing.get("rotationMode", "MANUAL")
                if isinstance(signing, dict)
                else ("MANUAL" if app.name == "okta_org2org" else None),
            )
        else:
            raise validation_error("profile.authScheme", f"not supported for {app.name}")
        return 200, connection_body(app, self.org_url)

    def _lifecycle(self, enable: bool) -> Callable[[URL, Any], tuple[int, Any]]:
        def handler(url: URL, kwargs: Any) -> tuple[int, Any]:
            app = self.app
            if not app.supports_provisioning:
                raise no_provisioning(app)
            if enable and (app.auth_scheme == "UNKNOWN" or app.consent_pending):
                raise validation_error("connection", "the connection cannot be activated yet")
            if enable:
                app.connection_status = "ENABLED"
            elif app.connection_status == "ENABLED":
                app.connection_status = "DISABLED"  # as FakeOkta: UNKNOWN stays UNKNOWN
            return 204, None

        return handler

    def _jwks(self, url: URL, kwargs: Any) -> tuple[int, Any]:
        if not self.app.has_jwks:
            raise OktaError(404, "E0000007", f"Not found: Resource not found: {self.app.id}")
        return 200, {"jwks": {"keys": [dict(k) for k in self.app.jwks]}}

    def _verify(self, url: URL, kwargs: Any) -> tuple[int, Any]:
        if not url.query.get("code") or not url.query.get("state"):
            raise validation_error("code", "code and state are required")
        self.app.consent_state = "verified"
        return 204, None


def _result(status: int, body: Any, headers: Mapping[str, str]) -> Any:
    from aioresponses import CallbackResult  # type: ignore[import-untyped,import-not-found,unused-ignore]

    if body is None:
        return CallbackResult(
            status=status,
            body=b"",
            headers=dict(headers),
            response_class=MockClientResponse,
        )
    return CallbackResult(
        status=status,
        body=json.dumps(body, separators=(",", ":")),
        content_type="application/json",
        headers=dict(headers),
        response_class=MockClientResponse,
    )


def _pattern(url: str) -> re.Pattern[str]:
    return re.compile(re.escape(url) + r"(\?.*)?$")


def mock_okta(
    m: AioresponsesLike,
    org_url: str,
    app_id: str | None = None,
    *,
    name: str = "okta_org2org",
    connection: Literal["token", "oauth"] | None = "token",
    status: Literal["ENABLED", "DISABLED"] | None = None,
    rate_limit: int = 100,
    fail: Mapping[str, int | tuple[int, int]] | None = None,
    **app_options: Any,
) -> MockedApp:
    """Register Okta-shaped responses for one app's six operations on ``m``.

    Example::

        with aioresponses() as m:
            mocked = mock_okta(m, "https://acme.okta.com", "0oa1", status="DISABLED",
                               fail={"activate": 503})
            async with OktaClient("https://acme.okta.com", auth=SSWSToken(t)) as okta:
                await okta.connections.activate("0oa1")    # a 503, retried, then 204
            assert mocked.app.connection_status == "ENABLED"

    Args:
        m: An active ``aioresponses()`` instance.
        org_url: The org URL the code under test calls, e.g. ``https://acme.okta.com``.
        app_id: The app's id (a fresh ``0oa…`` id when None).
        name: Catalog name: ``okta_org2org``, ``zscalerbyz``, ``google``, ``office365``,
            ``slack``, ``zoomus``, or any other name for an app without provisioning.
        connection: ``"token"``, ``"oauth"`` or None (not configured).
        status: The connection's status; by default ``ENABLED`` for a configured
            connection (``DISABLED`` while consent is pending) and ``DISABLED`` otherwise.
        rate_limit: ``X-Rate-Limit-Limit``; ``Remaining`` counts down per call.
        fail: Scripted failures, operation -> status or (status, times); e.g.
            ``{"activate": 503}`` fails the first activation, then it works. Operations:
            ``get``, ``update``, ``activate``, ``deactivate``, ``get_jwks``, ``verify``.
        app_options: More :meth:`FakeOkta.add_app` arguments (``base_url``,
            ``rotation_mode``, ``consented``...).

    Returns:
        The mocked app: its live state, call counts, and :meth:`MockedApp.fail`.
    """
    org_url = org_url.rstrip("/")
    if "://" not in org_url:
        org_url = "https://" + org_url
    if status is None:
        pending = app_options.get("consented") is False
        status = "ENABLED" if connection is not None and not pending else "DISABLED"
    app = FakeOkta(apps=0).add_app(
        name, app_id=app_id, connection=connection, status=status, **app_options
    )
    mocked = MockedApp(app, org_url, rate_limit=rate_limit)
    for operation, spec in (fail or {}).items():
        status_code, times = (spec, 1) if isinstance(spec, int) else spec
        mocked.fail(operation, status_code, times=times)
    base = f"{org_url}/api/v1/apps/{app.id}/connections/default"
    routes: list[tuple[str, str, str, Callable[[URL, Any], Any]]] = [
        ("GET", base, "get", mocked._get),
        ("POST", base, "update", mocked._update),
        ("POST", base + "/lifecycle/activate", "activate", mocked._lifecycle(True)),
        ("POST", base + "/lifecycle/deactivate", "deactivate", mocked._lifecycle(False)),
        ("GET", base + "/jwks", "get_jwks", mocked._jwks),
    ]
    if app.name in CONSENT_APPS:
        callback = f"{org_url}/api/v1/apps/{app.name}/{app.id}/oauth2/callback"
        routes.append(("POST", callback, "verify", mocked._verify))
    for method, url, operation, handler in routes:
        m.add(
            _pattern(url), method=method, callback=mocked._respond(operation, handler), repeat=True
        )
    return mocked


def mock_okta_not_found(m: AioresponsesLike, org_url: str, app_id: str) -> None:
    """Register Okta's 404 ``E0000007`` for every operation on an app that does not exist."""
    org_url = org_url.rstrip("/")
    if "://" not in org_url:
        org_url = "https://" + org_url
    gone = MockedApp(FakeApp(id=app_id, name="unknown", label="unknown"), org_url)

    def missing(url: URL, kwargs: Any) -> tuple[int, Any]:
        raise app_not_found(app_id)

    base = re.escape(f"{org_url}/api/v1/apps/")
    pattern = re.compile(
        base
        + r"(?:[^/]+/)?"
        + re.escape(app_id)
        + r"(?:/connections/default.*|/oauth2/callback.*)$"
    )
    for method in ("GET", "POST"):
        m.add(pattern, method=method, callback=gone._respond("any", missing), repeat=True)
