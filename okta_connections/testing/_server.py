"""The aiohttp server of a fake org: routes, the request pipeline and the handlers.

:class:`OrgServer` serves an :class:`OrgState`; it keeps no org state of its own (only
its URL and a stream of request ids), so a snapshot of the state is a snapshot of the
org. Every request goes through one pipeline (:meth:`OrgServer._dispatch`): 411, the
credential (401), concurrency, rate (429), scope (403), latency, the fault plan, then
the operation.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import secrets
import string
from collections.abc import Callable, Iterable
from email.utils import formatdate
from typing import Final

import attrs
from aiohttp import hdrs, web
from aiohttp.typedefs import Handler
from yarl import URL

from ._model import CONSENT_APPS, FakeApp, RecordedRequest, RotationMode, copy_headers
from ._oauth import (
    DPOP_ALGS,
    TOKEN_PATH,
    OAuthChallenge,
    dpop_challenge,
    www_authenticate,
)
from ._ratelimit import Admission, RateState, bucket_of
from ._seed import apply_oauth, apply_token
from ._state import BearerGrant, OrgState, Refusal
from ._wire import (
    OktaError,
    app_body,
    app_filter,
    app_not_found,
    connection_body,
    json_response,
    no_provisioning,
    parse_activate,
    parse_limit,
    parse_object,
    parse_signing,
    required_str,
    validation_error,
)

__all__ = ["OrgServer"]

_log = logging.getLogger("okta_connections.testing._fake")

_ALNUM: Final = string.ascii_letters + string.digits
_READ_SCOPES: Final = frozenset({"okta.apps.read", "okta.apps.manage"})
_READ_SCOPE: Final = "okta.apps.read"
_MANAGE_SCOPE: Final = "okta.apps.manage"
_ALL_SCOPES: Final = frozenset({"okta.apps.read", "okta.apps.manage"})

_CONN: Final = "/api/v1/apps/{appId}/connections/default"
#: (route name, method) -> RecordedRequest.operation
_OPERATIONS: Final = {
    ("connection", "GET"): "get",
    ("connection", "POST"): "update",
    ("activate", "POST"): "activate",
    ("deactivate", "POST"): "deactivate",
    ("jwks", "GET"): "get_jwks",
    ("verify", "POST"): "verify",
    ("apps", "GET"): "list_apps",
    ("app", "GET"): "get_app",
    ("token", "POST"): "token",
}
#: The consent page stands in for the third party's site: it takes no Okta credential.
#: The token endpoint authenticates clients its own way (see ``_oauth``).
_UNAUTHENTICATED_ROUTES: Final = frozenset({"consent", "token"})
#: Operations whose spec lists 401, not 403, for a credential that lacks the scope.
_SCOPE_401: Final = frozenset({"get_jwks"})

# Default error bodies for fail_next(), by status.
_INJECTED: Final = {
    400: ("E0000001", "Api validation failed: injected failure"),
    401: ("E0000011", "Invalid token provided"),
    403: ("E0000006", "You do not have permission to perform the requested action"),
    404: ("E0000007", "Not found: Resource not found: injected failure"),
    429: ("E0000047", "API call exceeded rate limit due to too many requests."),
}


class _Dropped(Exception):
    """A fault that cut the connection: no response is written."""


@attrs.define
class _Call:
    """One request on its way through the middleware."""

    request: web.Request
    route_name: str | None
    operation: str | None
    record: RecordedRequest | None
    now: float
    principal: str | None = None
    entered: bool = False
    rate: RateState | None = None
    events: list[str] = attrs.field(factory=list)
    # A scripted 429's X-Rate-Limit-Reset (epoch seconds), when one was injected.
    reset: int | None = None


class _Refused(Exception):
    """A request refused by a rate or concurrency limit (429, already counted)."""

    def __init__(self, admission: Admission) -> None:
        super().__init__("refused")
        self.admission = admission


class OrgServer:
    """Serves one :class:`OrgState` over ``aiohttp.web`` (see the module docstring).

    Attributes:
        web_app: The ``aiohttp.web.Application``.
        org_url: The URL links are built with; None: each request's origin.
    """

    def __init__(self, state: OrgState, clock: Callable[[], float], *, record: bool) -> None:
        self._org = state
        self._clock = clock
        self._record = record
        # Request and error ids need not be reproducible; keep them off the seeded stream
        # so the estate and add_app() ids do not depend on how many requests were served.
        self._ids = random.Random()
        self.org_url: str | None = None
        self.web_app: web.Application = self._build_app()

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        r = app.router
        apps = r.add_resource("/api/v1/apps", name="apps")
        apps.add_route("GET", self._list_apps)
        apps.add_route("POST", self._out_of_scope)
        one = r.add_resource("/api/v1/apps/{appId}", name="app")
        one.add_route("GET", self._get_app)
        one.add_route("PUT", self._out_of_scope)
        one.add_route("DELETE", self._out_of_scope)
        conn = r.add_resource(_CONN, name="connection")
        conn.add_route("GET", self._get)
        conn.add_route("POST", self._update)
        r.add_resource(_CONN + "/jwks", name="jwks").add_route("GET", self._get_jwks)
        r.add_resource(_CONN + "/lifecycle/activate", name="activate").add_route(
            "POST", self._activate
        )
        r.add_resource(_CONN + "/lifecycle/deactivate", name="deactivate").add_route(
            "POST", self._deactivate
        )
        r.add_resource("/api/v1/apps/{appName}/{appId}/oauth2/callback", name="verify").add_route(
            "POST", self._verify
        )
        r.add_resource("/fake-consent/{appId}", name="consent").add_route("GET", self._consent_page)
        r.add_resource(TOKEN_PATH, name="token").add_route("POST", self._token)
        return app

    def _new_request_id(self) -> str:
        return "req" + "".join(self._ids.choices(_ALNUM, k=23))

    def _error(
        self, status: int, code: str, summary: str, causes: Iterable[str] = ()
    ) -> web.Response:
        body = {
            "errorCode": code,
            "errorSummary": summary,
            "errorLink": code,
            "errorId": "oae" + "".join(self._ids.choices(_ALNUM, k=22)),
            "errorCauses": [{"errorSummary": c} for c in causes],
        }
        return json_response(body, status)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        now = self._clock()
        request_id = self._new_request_id()
        route = request.match_info.route
        resource = route.resource
        route_name = resource.name if resource is not None else None
        operation = _OPERATIONS.get((route_name or "", request.method))
        if operation is None and route_name == "consent":
            operation = "consent"
        record: RecordedRequest | None = None
        if self._record:
            record = RecordedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=copy_headers(request.headers),
                body=b"",
                status=0,
                operation=operation,
                app_id=request.match_info.get("appId"),
                request_id=request_id,
                received_at=now,
            )
            self._org.requests.append(record)
        call = _Call(request, route_name, operation, record, now)
        try:
            response = await self._dispatch(call, handler)
        except OktaError as err:
            response = self._error(err.status, err.code, err.summary, err.causes)
            response.headers.update(err.headers)
        except OAuthChallenge as challenge:
            # OAuth refusals (DPoP) have OAuth's body, not Okta's error shape.
            response = challenge.response()
        except _Refused as refused:
            call.rate = refused.admission.state
            response = self._error(
                429, "E0000047", "API call exceeded rate limit due to too many requests."
            )
        except _Dropped:
            # The transport is closed: nothing reaches the client. Logged as status 0.
            if record is not None:
                record.status = 0
            return web.Response(status=500)
        except web.HTTPException as exc:
            # aiohttp's own exceptions (e.g. body too large) still get Okta's error shape.
            response = self._error(exc.status, "E0000001", f"Api validation failed: {exc.reason}")
        except Exception:
            _log.exception("FakeOkta: unhandled error in %s %s", request.method, request.path)
            response = self._error(500, "E0000009", "Internal Server Error")
        finally:
            if call.entered:
                self._org.limits.leave(call.principal)
        rate = call.rate
        if rate is None:
            rate = self._org.limits.peek(bucket_of(request.path), call.principal, now)
        if response.status == 429 and rate.remaining:
            # Any 429 (a scripted one too) says the window is spent, as Okta's do (§8.2).
            rate = rate._replace(remaining=0)
        if call.reset is not None and response.status == 429:
            rate = rate._replace(remaining=0, reset=call.reset)
        headers = response.headers
        self._challenge_headers(call, response)
        headers["X-Okta-Request-Id"] = request_id
        headers[hdrs.DATE] = formatdate(now, usegmt=True)
        headers["X-Rate-Limit-Limit"] = str(rate.limit)
        headers["X-Rate-Limit-Remaining"] = str(rate.remaining)
        headers["X-Rate-Limit-Reset"] = str(rate.reset)
        if record is not None:
            record.status = response.status
            record.principal = call.principal
            record.events = list(call.events)
        return response

    def _challenge_headers(self, call: _Call, response: web.StreamResponse) -> None:
        """``WWW-Authenticate`` on every API 401, and the current ``DPoP-Nonce`` on the
        token endpoint's 429s to a DPoP request."""
        headers = response.headers
        if call.route_name == "token":
            if response.status == 429 and "DPoP" in call.request.headers:
                # A new nonce may arrive on a 429 (terraform-provider-okta#2598): the
                # retry must carry it, in a new proof.
                headers.setdefault("DPoP-Nonce", self._org.oauth.nonce)
            return
        if response.status == 401 and call.route_name != "consent":
            # Okta's management API names its schemes on a 401 (reference §10,
            # okta-sdk-nodejs#453).
            headers.setdefault(hdrs.WWW_AUTHENTICATE, dpop_challenge())

    def _admit(self, call: _Call) -> None:
        """Take an in-flight slot and count the request against its principal and the org.

        Raises:
            _Refused: A concurrency or rate ceiling is met (429).
        """
        limits = self._org.limits
        refused = limits.enter(call.principal, call.now)
        if refused is not None:
            call.events.extend(refused.events)
            raise _Refused(refused)
        call.entered = True
        admission = limits.admit(bucket_of(call.request.path), call.principal, call.now)
        call.rate = admission.state
        call.events.extend(admission.events)
        if admission.refused:
            raise _Refused(admission)

    async def _dispatch(self, call: _Call, handler: Handler) -> web.StreamResponse:
        request = call.request
        # Read the body first so that the log has it even for refused requests.
        body = await request.read()
        if call.record is not None:
            call.record.body = body
        if (
            request.method in ("POST", "PUT", "PATCH")
            and request.content_length is None
            and hdrs.TRANSFER_ENCODING not in request.headers
        ):
            # Okta answers 411 to a POST/PUT with neither a body nor Content-Length (core
            # API docs). Its error catalogue has no code for it, so this uses E0000001,
            # Okta's generic request-validation code. Checked before auth and limits: it
            # is a protocol-level refusal that does not depend on who is asking.
            raise OktaError(
                411,
                "E0000001",
                "Api validation failed: Content-Length",
                ["Content-Length: a POST without a body must send Content-Length: 0"],
            )
        if call.route_name in _UNAUTHENTICATED_ROUTES:
            self._admit(call)
            self._scripted_fault(call)
            return await handler(request)
        try:
            grant = self._authenticate(request)
        except (OktaError, OAuthChallenge):
            # Who sent it is unknown: it counts against the org's bucket alone.
            self._admit(call)
            raise
        call.principal = grant.principal
        self._admit(call)
        if self._org.latency > 0:
            await asyncio.sleep(self._org.delay())
        match_error = request.match_info.http_exception
        if match_error is not None:
            if isinstance(match_error, web.HTTPMethodNotAllowed):
                response = self._error(
                    405,
                    "E0000022",
                    "The endpoint does not support the provided HTTP method",
                )
                response.headers[hdrs.ALLOW] = ", ".join(sorted(match_error.allowed_methods))
                return response
            raise OktaError(
                404, "E0000007", f"Not found: Resource not found: {request.path} (Route)"
            )
        self._authorize(grant, request, call.operation)
        return await self._faulty(call, handler)

    def _authenticate(self, request: web.Request) -> BearerGrant:
        """The grant of the request's credential.

        Raises:
            OktaError: 401 ``E0000011``, no valid credential.
            OAuthChallenge: A DPoP-bound token without a valid proof.
        """
        header = request.headers.get(hdrs.AUTHORIZATION, "")
        scheme, _, credential = header.partition(" ")
        credential = credential.strip()
        scheme = scheme.lower()
        if scheme == "ssws":
            principal = self._org.ssws.get(credential)
            if principal is not None:
                return BearerGrant(_ALL_SCOPES, None, principal)
        if scheme in ("bearer", "dpop"):
            # htu is the URL without its query: the org URL plus the raw path.
            htu = self._base(request) + request.rel_url.raw_path
            issued = self._org.oauth.authenticate(request, htu)
            grant: BearerGrant | None = None
            if issued is not None:
                client = self._org.oauth.issued_to(credential)
                grant = BearerGrant(issued, None, client or "oauth")
            elif scheme == "bearer":
                grant = self._org.bearer.get(credential)
            if grant is not None and (grant.expires_at is None or self._clock() < grant.expires_at):
                return grant
        raise OktaError(401, "E0000011", "Invalid token provided")

    @staticmethod
    def _authorize(grant: BearerGrant, request: web.Request, operation: str | None) -> None:
        if request.method in ("GET", "HEAD"):
            allowed = not grant.scopes.isdisjoint(_READ_SCOPES)
            needed = _READ_SCOPE
        else:
            allowed = _MANAGE_SCOPE in grant.scopes
            needed = _MANAGE_SCOPE
        if allowed:
            return
        if operation in _SCOPE_401:
            # The JWKS operation lists 401, not 403 (reference §3.5).
            raise OktaError(401, "E0000011", "Invalid token provided")
        # Okta names the missing scope in WWW-Authenticate (okta-sdk-golang#145,
        # terraform-provider-okta#2375), in the scheme the token was sent with; the
        # E0000006 body is the spec's (docs/testing.md, "What the fake invents").
        dpop = request.headers.get(hdrs.AUTHORIZATION, "")[:5].lower() == "dpop "
        challenge = www_authenticate(
            "DPoP" if dpop else "Bearer",
            algs=DPOP_ALGS if dpop else None,
            error="insufficient_scope",
            scope=needed,
            resource=request.rel_url.raw_path,
        )
        raise OktaError(
            403,
            "E0000006",
            "You do not have permission to perform the requested action",
            headers={hdrs.WWW_AUTHENTICATE: challenge},
        )

    def _scripted_fault(self, call: _Call) -> None:
        """Raise the first scripted fault that matches the request, if any."""
        fault = self._org.faults.take(call.request.match_info.get("appId"), call.operation)
        if fault is None:
            return
        if fault.status == 429:
            # Its own Reset: the next whole second unless the script asked for more, so a
            # scripted 429 does not make the client wait for a generous window's end.
            call.reset = int(call.now) + (fault.reset_in or 1)
        if call.route_name == "token":
            # The token endpoint's errors are OAuth's; the refused request still counts.
            self._org.oauth.token_requests += 1
            error = fault.oauth_error or (
                "slow_down"
                if fault.status == 429
                else "temporarily_unavailable"
                if fault.status >= 500
                else "invalid_request"
            )
            raise OAuthChallenge(fault.status, error, "injected failure", fault.headers)
        code, summary = _INJECTED.get(fault.status, ("E0000009", "Internal Server Error"))
        raise OktaError(
            fault.status,
            fault.error_code or code,
            fault.error_summary or summary,
            headers=fault.headers,
        )

    async def _faulty(self, call: _Call, handler: Handler) -> web.StreamResponse:
        """Run a handler through the fault plan: scripted faults, then random ones."""
        request = call.request
        self._scripted_fault(call)
        if call.operation is None:
            return await handler(request)
        plan = self._org.faults
        status = plan.random_5xx()
        if status is not None:
            code, summary = _INJECTED.get(status, ("E0000009", "Internal Server Error"))
            raise OktaError(status, code, summary)
        if plan.roll("slow", plan.slow_rate):
            await asyncio.sleep(plan.slow_seconds)
        response = await handler(request)
        if plan.roll("dropped", plan.drop_rate):
            # Processed, then cut off: the client sees a dropped connection.
            if request.transport is not None:
                request.transport.close()
            raise _Dropped
        if (
            response.status == 200
            and isinstance(response, web.Response)
            and isinstance(response.body, bytes)
            and response.body
            and plan.roll("malformed", plan.malformed_rate)
        ):
            body = response.body
            response.body = body[: max(1, len(body) // 2)]
        return response

    def _base(self, request: web.Request) -> str:
        # Links use the org URL; an embedded, never-started app uses the request's origin.
        return self.org_url or str(request.url.origin())

    def _lookup(self, request: web.Request) -> FakeApp:
        app_id = request.match_info["appId"]
        app = self._org.apps.get(app_id)
        if app is None:
            raise app_not_found(app_id)
        return app

    # ------------------------------------------------------------------ handlers

    async def _token(self, request: web.Request) -> web.Response:
        if self._org.latency > 0:
            await asyncio.sleep(self._org.delay())
        return await self._org.oauth.handle_token(request, self._base(request) + TOKEN_PATH)

    async def _get(self, request: web.Request) -> web.Response:
        app = self._lookup(request)
        return json_response(connection_body(app, self._base(request)))

    async def _update(self, request: web.Request) -> web.Response:
        app = self._lookup(request)
        activate = parse_activate(request.query.get("activate"))
        data = parse_object(await request.read())
        # No awaits below: the state change is atomic on the event loop.
        if not app.supports_provisioning:
            raise no_provisioning(app)
        profile = data.get("profile")
        if profile is None:
            raise validation_error("profile", "The field cannot be left blank")
        if not isinstance(profile, dict):
            raise validation_error("profile", "must be an object")
        scheme = profile.get("authScheme")
        if scheme is None or scheme == "":
            raise validation_error("profile.authScheme", "The field cannot be left blank")
        now = self._clock()
        if scheme == "TOKEN":
            if not app.supports_token:
                raise validation_error(
                    "profile.authScheme",
                    f"TOKEN connections are supported for okta_org2org and zscalerbyz, "
                    f"not {app.name}",
                )
            token = profile.get("token")
            if not isinstance(token, str) or not token.strip():
                raise validation_error("profile.token", "The field cannot be left blank")
            base_url = data.get("baseUrl")
            if base_url is not None and not isinstance(base_url, str):
                raise validation_error("baseUrl", "must be a string")
            apply_token(app, token=token, base_url=base_url, activate=activate, now=now)
        elif scheme == "OAUTH2":
            if not app.supports_oauth:
                raise validation_error(
                    "profile.authScheme",
                    f"OAUTH2 connections are supported for google, office365, okta_org2org, "
                    f"slack and zoomus, not {app.name}",
                )
            client_id: str | None = None
            rotation: RotationMode | None = None
            username: str | None = None
            password: str | None = None
            if app.name == "okta_org2org":
                client_id = required_str(profile, "clientId", "profile")
                rotation = parse_signing(profile.get("signing"))
            if app.name == "office365":
                settings = profile.get("settings")
                if not isinstance(settings, dict):
                    raise validation_error(
                        "profile.settings",
                        "Office 365 needs settings with adminUsername and adminPassword",
                    )
                username = required_str(settings, "adminUsername", "profile.settings")
                password = required_str(settings, "adminPassword", "profile.settings")
            apply_oauth(
                app,
                activate=activate,
                now=now,
                seed=self._org.seed,
                client_id=client_id,
                rotation_mode=rotation,
                admin_username=username,
                admin_password=password,
            )
        else:
            raise validation_error(
                "profile.authScheme", f"must be TOKEN or OAUTH2, not {json.dumps(scheme)}"
            )
        return json_response(connection_body(app, self._base(request)), self._org.update_status)

    def _refuse(self, name: str, field: str, cause: str) -> web.Response:
        """Answer with the refusal chosen for ``name`` (204: accept, change nothing)."""
        refusal: Refusal = self._org.refusals[name]
        if refusal.status == 204:
            return web.Response(status=204)
        summary = refusal.summary.replace("{field}", field)
        raise OktaError(refusal.status, refusal.code, summary, [f"{field}: {cause}"])

    def _without_provisioning(self, app: FakeApp) -> web.Response | None:
        """The named refusal for a lifecycle call on an app without provisioning, or None."""
        if app.supports_provisioning:
            return None
        return self._refuse(
            "lifecycle_without_provisioning",
            "provisioning",
            f"the {app.name} app does not support provisioning",
        )

    async def _activate(self, request: web.Request) -> web.Response:
        app = self._lookup(request)
        if (refused := self._without_provisioning(app)) is not None:
            return refused
        if app.auth_scheme == "UNKNOWN":
            return self._refuse(
                "activate_unconfigured",
                "connection",
                "the provisioning connection is not configured; set it up before activating",
            )
        if app.consent_pending:
            return self._refuse(
                "activate_pending_consent",
                "connection",
                "OAuth 2.0 consent is pending: grant consent (FakeOkta.consent) and verify "
                "the connection before activating",
            )
        if app.connection_status != "ENABLED":
            app.connection_status = "ENABLED"
            app.last_updated = self._clock()
        return web.Response(status=204)

    async def _deactivate(self, request: web.Request) -> web.Response:
        app = self._lookup(request)
        if (refused := self._without_provisioning(app)) is not None:
            return refused
        if app.connection_status == "ENABLED":
            app.connection_status = "DISABLED"
            app.last_updated = self._clock()
        return web.Response(status=204)

    async def _get_jwks(self, request: web.Request) -> web.Response:
        app = self._lookup(request)
        if not app.has_jwks:
            raise OktaError(
                404,
                "E0000007",
                f"Not found: Resource not found: {app.id} (ProvisioningConnectionJwks)",
            )
        return json_response({"jwks": {"keys": [dict(k) for k in app.jwks]}})

    async def _verify(self, request: web.Request) -> web.Response:
        name = request.match_info["appName"]
        if name not in CONSENT_APPS:
            raise OktaError(
                404, "E0000007", f"Not found: Resource not found: {name} (OAuthProvisioningApp)"
            )
        app = self._lookup(request)
        if app.name != name:
            # The app exists, but not under this name: Okta finds no such resource.
            raise app_not_found(app.id)
        code = request.query.get("code", "")
        state = request.query.get("state", "")
        if not code:
            return self._refuse("verify_bad_code", "code", "The field cannot be left blank")
        if not state:
            return self._refuse("verify_bad_code", "state", "The field cannot be left blank")
        if code in self._org.used_codes:
            return self._refuse(
                "verify_bad_code", "code", "the authorization code has already been used"
            )
        expected = app._consent_codes.get(code)
        if expected is None:
            return self._refuse(
                "verify_bad_code", "code", "the authorization code is invalid or expired"
            )
        if not secrets.compare_digest(state, expected):
            return self._refuse(
                "verify_bad_code", "state", "the state does not match the authorization request"
            )
        # The flow is complete: every outstanding grant of this connection is spent.
        self._org.used_codes.update(app._consent_codes)
        app._consent_codes.clear()
        app.consent_state = "verified"
        app.last_updated = self._clock()
        return web.Response(status=204)

    async def _consent_page(self, request: web.Request) -> web.Response:
        app = self._lookup(request)
        try:
            href = self._org.issue_consent(app, self._base(request))
        except ValueError as exc:
            raise OktaError(
                404, "E0000007", f"Not found: Resource not found: {app.id} (OAuthConsent)"
            ) from exc
        return json_response({"continue_oauth_flow_url": {"href": href, "method": "POST"}})

    async def _get_app(self, request: web.Request) -> web.Response:
        return json_response(app_body(self._lookup(request), self._base(request)))

    async def _out_of_scope(self, request: web.Request) -> web.Response:
        raise OktaError(
            501,
            "E0000060",
            f"Unsupported operation: {request.method} {request.path} is outside FakeOkta's "
            "scope (the six Application Connections operations, GET /api/v1/apps and "
            "GET /api/v1/apps/{appId})",
        )

    async def _list_apps(self, request: web.Request) -> web.Response:
        query = request.query
        limit = parse_limit(query.get("limit"))
        matches = app_filter(query.get("filter"), query.get("q"))
        after = query.get("after")
        start = 0
        if after:
            pos = self._org.position.get(after)
            # An unknown cursor (e.g. a deleted app) ends the listing rather than
            # restarting it, which would loop a client forever.
            start = len(self._org.order) if pos is None else pos + 1
        page: list[FakeApp] = []
        more = False
        order = self._org.order
        for i in range(start, len(order)):
            if matches(order[i]):
                if len(page) == limit:
                    more = True
                    break
                page.append(order[i])
        base = self._base(request)
        params = {k: v for k, v in query.items() if k in ("q", "filter")}
        params["limit"] = str(limit)
        first_url = URL(base + "/api/v1/apps").with_query(params)
        # A later page's self link keeps its cursor: it names this page, not the first.
        self_url = first_url.update_query(after=after) if after else first_url
        links = [f'<{self_url}>; rel="self"']
        if more:
            links.append(f'<{first_url.update_query(after=page[-1].id)}>; rel="next"')
        response = json_response([app_body(a, base) for a in page])
        response.headers[hdrs.LINK] = ", ".join(links)
        return response
