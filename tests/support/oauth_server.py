"""A loopback OAuth 2.0 authorization + resource server for the OAuth strategy tests.

It plays Okta's org authorization server (``/oauth2/v1/token``: client_credentials with
private_key_jwt, refresh_token grants with rotation, DPoP with a nonce challenge) and the
connections API (``/api/v1/apps/{appId}/connections/default``), and it really verifies what
the client sends: assertion signature, aud, iss, sub, exp, jti replay; DPoP proof typ, alg,
signature, htm, htu, iat, jti replay, ath and key binding. Every refusal of a credential the
client built is recorded in ``rejections``, so tests can assert the client never produced one.

tests/auth/test_oauth_server.py shows that the server itself rejects bad proofs and replays, so
a test that finds ``rejections == []`` means something. The ``oauth_server`` fixture
(tests/conftest.py) starts one.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import attrs
import jwt
from aiohttp import web

from okta_connections.auth import _jose
from tests.support.scripted import serve_on_loopback

CLIENT_ID = "0oa1serviceAPPclient"
CONNECTION = {"status": "ENABLED", "profile": {"authScheme": "TOKEN"}}
ASYMMETRIC = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")


class Reject(Exception):
    def __init__(self, status: int, error: str, description: str, **headers: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.headers = headers


@attrs.define
class ClientReg:
    client_id: str
    public_key: Any = None
    scopes: frozenset[str] = frozenset()
    dpop_required: bool = False
    token_lifetime: int | None = 3600
    kid: str | None = None
    client_secret: str | None = None
    rotate_refresh: bool = True
    token_type: str | None = None  # force a token_type in responses (tests of mismatch)


@attrs.define
class Issued:
    client_id: str
    scopes: frozenset[str]
    expires_at: float
    jkt: str | None


class OAuthServer:
    """See the module docstring. All state is public so tests can inspect and steer it."""

    def __init__(self) -> None:
        self.url = ""
        self.clients: dict[str, ClientReg] = {}
        self.tokens: dict[str, Issued] = {}
        self.refresh_tokens: dict[str, tuple[str, frozenset[str]]] = {}
        self.token_requests = 0
        self.tokens_issued = 0
        self.api_requests = 0
        self.api_ok = 0
        self.rejections: list[str] = []
        self.nonce_challenges = 0
        self.assertion_jtis: set[str] = set()
        self.proof_jtis: set[str] = set()
        self.nonce = "as-nonce-" + secrets.token_hex(4)
        self.api_nonce: str | None = None  # set to demand a nonce on API calls
        self.token_script: deque[tuple[int, bytes, dict[str, str]]] = deque()
        self.token_delay = 0.0
        # When set, token requests wait (up to 10 s) for it: tests hold the one fetch open
        # until every concurrent call is queued behind it.
        self.token_gate: asyncio.Event | None = None
        # When true, the next token request is refused with an error_description that
        # echoes every credential it carried (a careless server; the client must scrub).
        self.echo_secrets = False
        self.api_delay = 0.0
        self.revoke_after: int | None = None
        # Everything secret the server saw or issued, for the leak tests.
        self.seen_assertions: list[str] = []
        self.seen_proofs: list[str] = []
        self.seen_basic: list[str] = []
        self.issued_access: list[str] = []
        self.issued_refresh: list[str] = []
        self.auth_headers: list[str] = []
        # The server's notion of now; tests that move the client's clock move this too.
        self.clock: Callable[[], float] = time.time
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------------ setup

    @property
    def token_url(self) -> str:
        return f"{self.url}/oauth2/v1/token"

    def register(
        self,
        client_id: str = CLIENT_ID,
        public_key: Any = None,
        *,
        scopes: tuple[str, ...] = ("okta.apps.read", "okta.apps.manage"),
        **kwargs: Any,
    ) -> ClientReg:
        reg = ClientReg(client_id, public_key, frozenset(scopes), **kwargs)
        self.clients[client_id] = reg
        return reg

    def issue_refresh_token(self, client_id: str, scopes: tuple[str, ...] = ()) -> str:
        value = "rt-" + secrets.token_urlsafe(24)
        self.refresh_tokens[value] = (client_id, frozenset(scopes))
        self.issued_refresh.append(value)
        return value

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    def script_token(
        self, status: int, body: Any = None, *, raw: bytes | None = None, **headers: str
    ) -> None:
        data = raw if raw is not None else json.dumps(body).encode()
        self.token_script.append((status, data, headers))

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/oauth2/v1/token", self._token)
        app.router.add_route("*", "/api/v1/apps/{app_id}/connections/default", self._api)
        app.router.add_route("*", "/api/v1/apps/{app_id}/connections/default/{tail:.*}", self._api)
        self._runner, self.url = await serve_on_loopback(app)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------------ verification

    def _reject(self, status: int, error: str, description: str, **headers: str) -> Reject:
        self.rejections.append(f"{error}: {description}")
        return Reject(status, error, description, **headers)

    def verify_assertion(self, assertion: str, client_id: str | None = None) -> ClientReg:
        self.seen_assertions.append(assertion)
        try:
            header = jwt.get_unverified_header(assertion)
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise self._reject(401, "invalid_client", f"malformed assertion: {exc}") from None
        reg = self.clients.get(str(unverified.get("iss")))
        if reg is None or reg.public_key is None:
            raise self._reject(401, "invalid_client", "unknown client")
        if client_id is not None and client_id != reg.client_id:
            raise self._reject(401, "invalid_client", "client_id does not match iss")
        if header.get("alg") not in ASYMMETRIC:
            raise self._reject(401, "invalid_client", "bad alg")
        if reg.kid is not None and header.get("kid") != reg.kid:
            raise self._reject(401, "invalid_client", "unknown kid")
        try:
            claims = jwt.decode(
                assertion,
                reg.public_key,
                algorithms=[header["alg"]],
                audience=self.token_url,
                # Times are checked below against self.clock, which tests may move.
                options={
                    "require": ["iss", "sub", "aud", "exp", "iat", "jti"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise self._reject(401, "invalid_client", f"assertion refused: {exc}") from None
        if claims["sub"] != reg.client_id or claims["iss"] != reg.client_id:
            raise self._reject(401, "invalid_client", "iss and sub must be the client_id")
        now = self.clock()
        if claims["exp"] <= now:
            raise self._reject(401, "invalid_client", "assertion expired")
        if claims["exp"] - now > 3600:
            raise self._reject(401, "invalid_client", "exp more than an hour away")
        if claims["iat"] > now + 5:
            raise self._reject(401, "invalid_client", "iat in the future")
        if claims["jti"] in self.assertion_jtis:
            raise self._reject(
                401, "invalid_client", "The client_assertion token has already been used."
            )
        self.assertion_jtis.add(claims["jti"])
        return reg

    def verify_proof(
        self, proof: str | None, method: str, url: str, access_token: str | None
    ) -> tuple[str, str | None]:
        """Check a DPoP proof; returns (jwk thumbprint, nonce)."""
        if proof is None:
            raise self._reject(400, "invalid_dpop_proof", "DPoP proof missing")
        self.seen_proofs.append(proof)
        try:
            header = jwt.get_unverified_header(proof)
        except jwt.PyJWTError:
            raise self._reject(400, "invalid_dpop_proof", "malformed proof") from None
        if header.get("typ") != "dpop+jwt":
            raise self._reject(400, "invalid_dpop_proof", "typ must be dpop+jwt")
        jwk = header.get("jwk")
        if header.get("alg") not in ASYMMETRIC or not isinstance(jwk, dict):
            raise self._reject(400, "invalid_dpop_proof", "bad alg or jwk")
        if "d" in jwk or "p" in jwk:
            raise self._reject(400, "invalid_dpop_proof", "jwk holds a private key")
        try:
            key = jwt.PyJWK(jwk, algorithm=header["alg"])
            claims = jwt.decode(
                proof,
                key.key,
                algorithms=[header["alg"]],
                options={
                    "require": ["htm", "htu", "iat", "jti"],
                    "verify_aud": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise self._reject(400, "invalid_dpop_proof", f"bad proof: {exc}") from None
        if claims["htm"] != method:
            raise self._reject(400, "invalid_dpop_proof", "htm mismatch")
        if claims["htu"] != url:
            raise self._reject(400, "invalid_dpop_proof", f"htu mismatch {claims['htu']} {url}")
        if abs(self.clock() - claims["iat"]) > 300:
            raise self._reject(400, "invalid_dpop_proof", "iat too old or in the future")
        if claims["jti"] in self.proof_jtis:
            raise self._reject(400, "invalid_dpop_proof", "DPoP proof jti already used")
        self.proof_jtis.add(claims["jti"])
        if access_token is not None:
            expected = (
                base64.urlsafe_b64encode(hashlib.sha256(access_token.encode()).digest())
                .rstrip(b"=")
                .decode()
            )
            if claims.get("ath") != expected:
                raise self._reject(400, "invalid_dpop_proof", "ath mismatch")
        elif "ath" in claims:
            raise self._reject(400, "invalid_dpop_proof", "ath on a token request")
        return _jose.jwk_thumbprint(jwk), claims.get("nonce")

    # ------------------------------------------------------------------ token endpoint

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        if self.token_delay:
            await asyncio.sleep(self.token_delay)
        if self.token_gate is not None:
            await asyncio.wait_for(self.token_gate.wait(), 10)
        if self.token_script:
            status, body, headers = self.token_script.popleft()
            return web.Response(
                status=status, body=body, headers={"Content-Type": "application/json", **headers}
            )
        form = await request.post()
        if self.echo_secrets:
            self.echo_secrets = False
            echoed = " ".join(
                [
                    str(form.get("client_assertion", "")),
                    str(form.get("refresh_token", "")),
                    request.headers.get("DPoP", ""),
                    request.headers.get("Authorization", ""),
                ]
            )
            self.seen_assertions.append(str(form.get("client_assertion", "")))
            self.seen_proofs.append(request.headers.get("DPoP", ""))
            body = {"error": "invalid_client", "error_description": f"rejected: {echoed}"}
            return web.json_response(body, status=401)
        try:
            if form.get("grant_type") == "client_credentials":
                return self._client_credentials(request, form)
            if form.get("grant_type") == "refresh_token":
                return self._refresh(request, form)
            raise Reject(400, "unsupported_grant_type", "grant type not supported")
        except Reject as exc:
            body = {"error": exc.error, "error_description": exc.description}
            return web.json_response(body, status=exc.status, headers=exc.headers)

    def _check_dpop(self, request: web.Request, reg: ClientReg) -> str | None:
        proof = request.headers.get("DPoP")
        if proof is None and not reg.dpop_required:
            return None
        jkt, nonce = self.verify_proof(proof, "POST", self.token_url, None)
        if nonce != self.nonce:
            self.nonce_challenges += 1
            raise Reject(
                400,
                "use_dpop_nonce",
                "Authorization server requires nonce in DPoP proof.",
                **{"DPoP-Nonce": self.nonce},
            )
        return jkt

    def _issue(self, reg: ClientReg, scopes: frozenset[str], jkt: str | None) -> dict[str, Any]:
        access = "at-" + secrets.token_urlsafe(32)
        lifetime = reg.token_lifetime if reg.token_lifetime is not None else 3600
        self.tokens[access] = Issued(reg.client_id, scopes, self.clock() + lifetime, jkt)
        self.tokens_issued += 1
        self.issued_access.append(access)
        body: dict[str, Any] = {
            "token_type": reg.token_type or ("DPoP" if jkt else "Bearer"),
            "access_token": access,
            "scope": " ".join(sorted(scopes)),
        }
        if reg.token_lifetime is not None:
            body["expires_in"] = reg.token_lifetime
        return body

    def _client_credentials(self, request: web.Request, form: Any) -> web.Response:
        if form.get("client_assertion_type") != _jose.CLIENT_ASSERTION_TYPE:
            raise self._reject(400, "invalid_client", "client_assertion_type missing")
        # Like Okta: the assertion is verified (and its jti consumed) before DPoP.
        reg = self.verify_assertion(str(form.get("client_assertion", "")))
        requested = frozenset(str(form.get("scope", "")).split())
        if not requested or not requested <= reg.scopes:
            raise Reject(400, "invalid_scope", "The requested scope is invalid.")
        jkt = self._check_dpop(request, reg)
        return web.json_response(self._issue(reg, requested, jkt))

    def _refresh(self, request: web.Request, form: Any) -> web.Response:
        basic = request.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            self.seen_basic.append(basic)
            user, _, password = base64.b64decode(basic[6:]).decode().partition(":")
            reg = self.clients.get(user)
            if reg is None or reg.client_secret is None or reg.client_secret != password:
                raise self._reject(401, "invalid_client", "client authentication failed")
        elif "client_assertion" in form:
            reg = self.verify_assertion(str(form["client_assertion"]))
        else:
            found = self.clients.get(str(form.get("client_id", "")))
            if found is None:
                raise self._reject(401, "invalid_client", "client authentication failed")
            reg = found
        token = str(form.get("refresh_token", ""))
        entry = self.refresh_tokens.get(token)
        if entry is None or entry[0] != reg.client_id:
            raise Reject(400, "invalid_grant", "The refresh token is invalid or expired.")
        scopes = entry[1] or reg.scopes
        if "scope" in form:
            scopes = frozenset(str(form["scope"]).split())
        body = self._issue(reg, scopes, None)
        if reg.rotate_refresh:
            del self.refresh_tokens[token]
            body["refresh_token"] = self.issue_refresh_token(reg.client_id, tuple(entry[1]))
        else:
            body["refresh_token"] = token
        return web.json_response(body)

    # ------------------------------------------------------------------ the API

    async def _api(self, request: web.Request) -> web.Response:
        self.api_requests += 1
        if self.revoke_after is not None and self.api_requests == self.revoke_after:
            self.revoke_tokens()
        if self.api_delay:
            await asyncio.sleep(self.api_delay)
        authorization = request.headers.get("Authorization", "")
        self.auth_headers.append(authorization)
        scheme, _, value = authorization.partition(" ")
        issued = self.tokens.get(value)
        if issued is None or issued.expires_at <= self.clock():
            return web.json_response(
                {"errorCode": "E0000011", "errorSummary": "Invalid token provided"},
                status=401,
                headers={"WWW-Authenticate": f'{scheme or "Bearer"} error="invalid_token"'},
            )
        try:
            if issued.jkt is not None:
                if scheme != "DPoP":
                    raise self._reject(
                        400, "invalid_request", "dpop_authentication_scheme_required"
                    )
                url = str(request.url.with_query(None))
                jkt, nonce = self.verify_proof(
                    request.headers.get("DPoP"), request.method, url, value
                )
                if jkt != issued.jkt:
                    raise self._reject(401, "invalid_token", "token not bound to this key")
                if self.api_nonce is not None and nonce != self.api_nonce:
                    self.nonce_challenges += 1
                    raise Reject(
                        401,
                        "use_dpop_nonce",
                        "Resource server requires nonce in DPoP proof",
                        **{
                            "DPoP-Nonce": self.api_nonce,
                            "WWW-Authenticate": 'DPoP error="use_dpop_nonce"',
                        },
                    )
            elif scheme != "Bearer":
                raise self._reject(401, "invalid_token", "access_token_not_dpop_bound")
        except Reject as exc:
            body = {"error": exc.error, "error_description": exc.description}
            return web.json_response(body, status=exc.status, headers=exc.headers)
        needed = "okta.apps.read" if request.method == "GET" else "okta.apps.manage"
        if needed not in issued.scopes and "okta.apps.manage" not in issued.scopes:
            return web.json_response(
                {
                    "errorCode": "E0000006",
                    "errorSummary": "You do not have permission to perform the requested action",
                },
                status=403,
            )
        self.api_ok += 1
        # Rate-limit headers as Okta sends them: without them the client's pacer lets one
        # probe request through at a time, and nothing would run concurrently.
        limits = {
            "X-Rate-Limit-Limit": "1000000",
            "X-Rate-Limit-Remaining": str(1000000 - self.api_ok),
            "X-Rate-Limit-Reset": str(int(time.time()) + 60),
        }
        if request.path.endswith("/lifecycle/activate") or request.path.endswith(
            "/lifecycle/deactivate"
        ):
            return web.Response(status=204, headers=limits)
        return web.json_response(
            CONNECTION, headers={"X-Okta-Request-Id": f"req{self.api_ok}", **limits}
        )
