"""FakeOkta's org authorization server: ``/oauth2/v1/token`` and OAuth checks on API calls.

It does what the reference (§6) says Okta does, and checks everything a client sends:

* ``client_credentials`` for service apps authenticated with ``private_key_jwt``: the
  assertion's signature (against the app's registered public keys), ``aud`` (the token
  URL), ``iss`` = ``sub`` = client ID, ``exp`` (not past, not more than an hour away),
  ``iat`` and single-use ``jti``. Requested scopes must all be granted.
* ``refresh_token`` grants, with the client authenticated by ``client_secret_basic``,
  ``private_key_jwt`` or (public clients) ``client_id``; refresh tokens rotate by default.
* DPoP (RFC 9449) for apps that require it: a proof on every token request, a nonce
  challenge first (``400 use_dpop_nonce`` with ``DPoP-Nonce``), ``token_type: DPoP`` and a
  token bound to the proof key's thumbprint. API calls with a bound token must use the
  ``DPoP`` scheme and a fresh proof (``htm``, ``htu``, ``iat``, ``jti``, ``ath``, signature,
  key binding).

Issued access tokens carry their scopes; :class:`FakeOkta` enforces ``okta.apps.read``
for GETs and ``okta.apps.manage`` for POSTs (403 ``E0000006`` otherwise).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final
from urllib.parse import parse_qsl, unquote_plus

import attrs
import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ._faults import FaultPlan, ScriptedFault

__all__ = [
    "DPOP_ALGS",
    "FakeAuthorizationServer",
    "OAuthChallenge",
    "ServiceApp",
    "dpop_challenge",
    "www_authenticate",
]

TOKEN_PATH: Final = "/oauth2/v1/token"
_ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_ASYMMETRIC: Final = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")
_MAX_ASSERTION_LIFETIME: Final = 3600.0
_PROOF_MAX_AGE: Final = 300.0  # Okta refuses proofs older than five minutes
_CLOCK_SKEW: Final = 5.0
_THUMBPRINT_MEMBERS: Final = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

#: What Okta's resource server names in ``WWW-Authenticate: DPoP algs=...`` (reference
#: §10, okta-sdk-nodejs#453): no EdDSA, no PS*.
DPOP_ALGS: Final = " ".join(_ASYMMETRIC)


def www_authenticate(scheme: str, **params: str | None) -> str:
    """A ``WWW-Authenticate`` challenge: ``DPoP algs="...", error="..."``, in the order
    given; None values are left out, quotes and backslashes escaped."""
    parts = []
    for name, value in params.items():
        if value is not None:
            escaped = value.replace("\\", "\\\\").replace('"', '\\"')
            parts.append(f'{name}="{escaped}"')
    return f"{scheme} {', '.join(parts)}" if parts else scheme


def dpop_challenge(error: str | None = None, description: str | None = None) -> str:
    """The resource server's DPoP challenge, as Okta sends it (algs first)."""
    return www_authenticate("DPoP", algs=DPOP_ALGS, error=error, error_description=description)


#: The largest token request body the fake reads (an assertion and a proof are a few KB).
_MAX_FORM = 64 * 1024
_PERCENT = re.compile(rb"%(?![0-9A-Fa-f]{2})")
_RAW_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")


async def _read_form(request: web.Request) -> dict[str, str]:
    """The token request's form, decoded strictly; a body that does not decode is Okta's
    400 ``invalid_request`` (never a 500): another content type or charset, a broken
    ``%`` escape, bytes or escapes that are not UTF-8, raw control characters."""
    if request.content_type != "application/x-www-form-urlencoded":
        raise OAuthChallenge(
            400,
            "invalid_request",
            "The request must be application/x-www-form-urlencoded.",
        )
    charset = (request.charset or "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise OAuthChallenge(400, "invalid_request", "The request must be encoded in UTF-8.")
    if (request.content_length or 0) > _MAX_FORM:
        raise OAuthChallenge(400, "invalid_request", "The request body is too large.")
    raw = await request.read()  # read (and kept) by the request log already
    if len(raw) > _MAX_FORM:
        raise OAuthChallenge(400, "invalid_request", "The request body is too large.")
    if _PERCENT.search(raw) or _RAW_CONTROL.search(raw):
        raise OAuthChallenge(400, "invalid_request", "The request body is not a valid form.")
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise OAuthChallenge(
            400, "invalid_request", "The request body is not valid UTF-8."
        ) from None
    return dict(pairs)


class OAuthChallenge(Exception):
    """An OAuth-shaped refusal (``{"error", "error_description"}``), not an Okta error body.

    Attributes:
        status: HTTP status.
        error: The OAuth error code, e.g. ``invalid_dpop_proof``.
        description: ``error_description``.
        headers: Extra response headers (``DPoP-Nonce``, ``WWW-Authenticate``).
    """

    def __init__(
        self,
        status: int,
        error: str,
        description: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description
        self.headers = dict(headers or {})

    def response(self) -> web.Response:
        """The HTTP response for this refusal."""
        body = {"error": self.error, "error_description": self.description}
        return web.json_response(
            body, status=self.status, headers={"Cache-Control": "no-store", **self.headers}
        )


@attrs.define
class ServiceApp:
    """An OAuth client registered with the fake authorization server.

    Attributes:
        client_id: The client ID.
        keys: Public keys by ``kid`` (None for a key registered without one).
        scopes: Granted scopes; a token request may ask for any subset.
        dpop_required: "Require DPoP" is checked for this app.
        token_lifetime: Seconds each access token lives.
        client_secret: For ``client_secret_basic`` (refresh-token clients).
        rotate_refresh_tokens: Issue a new refresh token on each use, retiring the old one.
    """

    client_id: str
    keys: dict[str | None, PublicKey]
    scopes: frozenset[str]
    dpop_required: bool = False
    token_lifetime: int = 3600
    client_secret: str | None = attrs.field(default=None, repr=False)
    rotate_refresh_tokens: bool = True


@attrs.define
class _Issued:
    client_id: str
    scopes: frozenset[str]
    expires_at: float
    jkt: str | None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _thumbprint(jwk: Mapping[str, Any]) -> str:
    members = _THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None or any(m not in jwk for m in members):
        raise ValueError("unsupported or incomplete JWK")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode()).digest())


def _load_public_keys(source: object, key_id: str | None) -> dict[str | None, PublicKey]:
    """Public keys from a key object, PEM, a JWK or a JWKS; a private key gives its public half."""
    if isinstance(source, Mapping) and "keys" in source:
        keys: dict[str | None, PublicKey] = {}
        for jwk in source["keys"]:
            keys.update(_load_public_keys(jwk, None))
        return keys
    if isinstance(source, Mapping):
        loaded: object = jwt.PyJWK(dict(source)).key
        key_id = key_id if key_id is not None else source.get("kid")
    elif isinstance(source, str | bytes):
        data = source.encode() if isinstance(source, str) else source
        try:
            loaded = serialization.load_pem_public_key(data)
        except ValueError:
            loaded = serialization.load_pem_private_key(data, password=None)
    else:
        loaded = source
    if isinstance(loaded, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        loaded = loaded.public_key()
    if not isinstance(loaded, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise ValueError(f"unsupported key for a service app: {type(loaded).__name__}")
    return {key_id: loaded}


class FakeAuthorizationServer:
    """The OAuth half of :class:`~okta_connections.testing.FakeOkta`.

    Use it through the FakeOkta methods (``register_service_app``, ``revoke_tokens``,
    ``count_token_requests`` ...); it is a separate class so the OAuth rules live in one
    place.

    Attributes:
        token_requests: Requests received at the token endpoint, refused ones included.
        tokens_issued: Access tokens issued.
        nonce_challenges: ``use_dpop_nonce`` answers given.
        rejections: Why each client credential (assertion, proof, secret) was refused, in
            order; a well-behaved client leaves it empty except for what a test provokes.
        nonce: The ``DPoP-Nonce`` the token endpoint currently wants.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.apps: dict[str, ServiceApp] = {}
        self._access: dict[str, _Issued] = {}
        self._refresh: dict[str, tuple[str, frozenset[str]]] = {}
        # jti -> when it may be forgotten (its exp, or the proof's iat + max age).
        self._assertion_jtis: dict[str, float] = {}
        self._proof_jtis: dict[str, float] = {}
        # Public keys of DPoP proofs, by their JWK: a client proves with one key for its
        # life, so building the key object once per key (not per proof) keeps the fake
        # from being the bottleneck of a benchmark. Every signature is still verified.
        self._proof_keys: dict[tuple[str, str], tuple[Any, str]] = {}
        self.token_requests = 0
        self.tokens_issued = 0
        self.nonce_challenges = 0
        self.rejections: list[str] = []
        self.nonce = secrets.token_urlsafe(16)
        #: Scripted faults; FakeOkta shares its own plan here, so that one mechanism
        #: serves every route.
        self.faults = FaultPlan()

    # ------------------------------------------------------------------ setup

    def register_service_app(
        self,
        client_id: str,
        public_key: object = None,
        *,
        scopes: Iterable[str] = ("okta.apps.read", "okta.apps.manage"),
        dpop_required: bool = False,
        token_lifetime: int = 3600,
        key_id: str | None = None,
        client_secret: str | None = None,
        rotate_refresh_tokens: bool = True,
    ) -> ServiceApp:
        """Register (or replace) an OAuth client. See :meth:`FakeOkta.register_service_app`."""
        if not client_id:
            raise ValueError("client_id must be a non-empty string")
        if isinstance(scopes, str):
            scopes = scopes.split()
        if isinstance(token_lifetime, bool) or token_lifetime < 1:
            raise ValueError("token_lifetime must be a positive number of seconds")
        keys = {} if public_key is None else _load_public_keys(public_key, key_id)
        app = ServiceApp(
            client_id,
            keys,
            frozenset(scopes),
            dpop_required=dpop_required,
            token_lifetime=int(token_lifetime),
            client_secret=client_secret,
            rotate_refresh_tokens=rotate_refresh_tokens,
        )
        self.apps[client_id] = app
        return app

    def issue_refresh_token(self, client_id: str, scopes: Iterable[str] | None = None) -> str:
        """A refresh token for a registered client, as an admin's consent would produce.

        Raises:
            KeyError: No such client.
        """
        app = self.apps[client_id]
        granted = app.scopes if scopes is None else frozenset(scopes)
        token = "rt." + secrets.token_urlsafe(32)
        self._refresh[token] = (client_id, granted)
        return token

    def revoke_tokens(self, client_id: str | None = None) -> int:
        """Revoke issued access tokens (all, or one client's); returns how many."""
        doomed = [t for t, i in self._access.items() if client_id in (None, i.client_id)]
        for token in doomed:
            del self._access[token]
        return len(doomed)

    def revoke_refresh_tokens(self, client_id: str | None = None) -> int:
        """Revoke refresh tokens (all, or one client's), as when consent is withdrawn."""
        doomed = [t for t, (c, _) in self._refresh.items() if client_id in (None, c)]
        for token in doomed:
            del self._refresh[token]
        return len(doomed)

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        error: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Answer the next ``times`` token requests with an error, to test retries.

        A scripted fault of the org's one fault plan (operation ``token``), the same
        mechanism as :meth:`FakeOkta.fail`.

        Args:
            status: HTTP status, 400-599.
            times: How many token requests fail.
            error: The OAuth ``error``; defaults to ``slow_down`` for 429,
                ``temporarily_unavailable`` for 5xx and ``invalid_request`` otherwise.
            retry_after: Seconds for a ``Retry-After`` header.
        """
        if error is None:
            error = (
                "slow_down"
                if status == 429
                else "temporarily_unavailable"
                if status >= 500
                else "invalid_request"
            )
        headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
        self.faults.script(
            ScriptedFault(None, "token", status, times, oauth_error=error, headers=headers)
        )

    def rotate_nonce(self) -> str:
        """Start wanting a new DPoP nonce at the token endpoint; returns it."""
        self.nonce = secrets.token_urlsafe(16)
        return self.nonce

    # ------------------------------------------------------------------ checks

    def _refuse(
        self, status: int, error: str, description: str, headers: Mapping[str, str] | None = None
    ) -> OAuthChallenge:
        self.rejections.append(f"{error}: {description}")
        return OAuthChallenge(status, error, description, headers)

    @staticmethod
    def _forget_old(seen: dict[str, float], now: float) -> None:
        if len(seen) > 10_000:
            for jti in [j for j, until in seen.items() if until < now]:
                del seen[jti]

    def _verify_assertion(self, assertion: str, token_url: str) -> ServiceApp:
        try:
            header = jwt.get_unverified_header(assertion)
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise self._refuse(
                401, "invalid_client", "The client_assertion is malformed."
            ) from None
        app = self.apps.get(str(unverified.get("iss")))
        if app is None or not app.keys:
            raise self._refuse(401, "invalid_client", "Invalid value for 'client_id' parameter.")
        alg = header.get("alg")
        if alg not in _ASYMMETRIC:
            raise self._refuse(
                401, "invalid_client", "The client_assertion algorithm is not allowed."
            )
        kid = header.get("kid")
        key = app.keys.get(kid) if kid is not None else None
        if key is None and kid is None and len(app.keys) == 1:
            key = next(iter(app.keys.values()))
        if key is None:
            raise self._refuse(401, "invalid_client", "The client_assertion key is not registered.")
        try:
            claims = jwt.decode(
                assertion,
                key,
                algorithms=[alg],
                audience=token_url,
                # Times are checked against the fake's clock below, not the real one.
                options={
                    # jti is optional (reference §6.2); when present it is single-use.
                    "require": ["iss", "sub", "aud", "exp"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidAudienceError:
            raise self._refuse(401, "invalid_client", "The audience claim is invalid.") from None
        except jwt.PyJWTError:
            raise self._refuse(
                401, "invalid_client", "The client_assertion signature is invalid."
            ) from None
        if claims["iss"] != app.client_id or claims["sub"] != app.client_id:
            raise self._refuse(401, "invalid_client", "iss and sub must be the client_id.")
        now = self._clock()
        exp = claims["exp"]
        if not isinstance(exp, int | float) or exp <= now - _CLOCK_SKEW:
            raise self._refuse(401, "invalid_client", "The client_assertion token is expired.")
        # More than an hour ahead is refused with no leeway (reference §6.2, §10):
        # okta-sdk-python#382, an exp of exactly 60 minutes failing on any clock skew.
        if exp - now > _MAX_ASSERTION_LIFETIME:
            raise self._refuse(
                401, "invalid_client", "The client_assertion token expires too far in the future."
            )
        iat = claims.get("iat")
        if isinstance(iat, int | float) and iat > now + _CLOCK_SKEW:
            raise self._refuse(
                401, "invalid_client", "The client_assertion was issued in the future."
            )
        if "jti" in claims:
            jti = str(claims["jti"])
            if jti in self._assertion_jtis:
                raise self._refuse(
                    401, "invalid_client", "The client_assertion token has already been used."
                )
            self._forget_old(self._assertion_jtis, now)
            self._assertion_jtis[jti] = float(exp) + _CLOCK_SKEW
        return app

    def _verify_proof(
        self, proofs: list[str], method: str, url: str, access_token: str | None
    ) -> tuple[str, str | None]:
        """Check a request's DPoP proof (every ``DPoP`` header it carries); returns the
        key's thumbprint and the proof's nonce."""
        if not proofs:
            raise self._refuse(400, "invalid_dpop_proof", "The DPoP proof JWT header is missing.")
        if len(proofs) > 1:
            # RFC 9449 §4.3 and Okta (reference §6.3): exactly one DPoP header.
            raise self._refuse(
                400, "invalid_dpop_proof", "Multiple DPoP proof JWT headers were sent."
            )
        proof = proofs[0]
        try:
            header = jwt.get_unverified_header(proof)
        except jwt.PyJWTError:
            raise self._refuse(400, "invalid_dpop_proof", "The DPoP proof is malformed.") from None
        if header.get("typ") != "dpop+jwt":
            raise self._refuse(400, "invalid_dpop_proof", "The DPoP proof typ must be dpop+jwt.")
        jwk = header.get("jwk")
        alg = header.get("alg")
        if alg not in _ASYMMETRIC or not isinstance(jwk, dict) or "d" in jwk:
            raise self._refuse(400, "invalid_dpop_proof", "The DPoP proof alg or jwk is invalid.")
        try:
            cache_key = (alg, json.dumps(jwk, sort_keys=True))
            known = self._proof_keys.get(cache_key)
            if known is None:
                if len(self._proof_keys) > 1024:
                    self._proof_keys.clear()
                known = self._proof_keys[cache_key] = (
                    jwt.PyJWK(jwk, algorithm=alg).key,
                    _thumbprint(jwk),
                )
            key, thumbprint = known
            claims = jwt.decode(
                proof,
                key,
                algorithms=[alg],
                options={
                    "require": ["htm", "htu", "iat", "jti"],
                    "verify_aud": False,
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except (jwt.PyJWTError, ValueError, binascii.Error):
            raise self._refuse(
                400, "invalid_dpop_proof", "The DPoP proof signature is invalid."
            ) from None
        if claims["htm"] != method:
            raise self._refuse(400, "invalid_dpop_proof", "The DPoP proof htm does not match.")
        if claims["htu"] != url:
            raise self._refuse(400, "invalid_dpop_proof", "The DPoP proof htu does not match.")
        now = self._clock()
        iat = claims["iat"]
        if not isinstance(iat, int | float) or iat > now + _CLOCK_SKEW:
            raise self._refuse(
                400, "invalid_dpop_proof", "The DPoP proof was issued in the future."
            )
        if now - iat > _PROOF_MAX_AGE:
            raise self._refuse(400, "invalid_dpop_proof", "The DPoP proof is too old.")
        jti = str(claims["jti"])
        if jti in self._proof_jtis:
            raise self._refuse(
                400, "invalid_dpop_proof", "The DPoP proof jti has already been used."
            )
        self._forget_old(self._proof_jtis, now)
        self._proof_jtis[jti] = float(iat) + _PROOF_MAX_AGE + _CLOCK_SKEW
        if access_token is not None:
            ath = _b64url(hashlib.sha256(access_token.encode()).digest())
            if claims.get("ath") != ath:
                raise self._refuse(400, "invalid_dpop_proof", "The DPoP proof ath does not match.")
        nonce = claims.get("nonce")
        return thumbprint, nonce if isinstance(nonce, str) else None

    # ------------------------------------------------------------------ token endpoint

    async def handle_token(self, request: web.Request, token_url: str) -> web.Response:
        """Serve ``POST /oauth2/v1/token``."""
        self.token_requests += 1
        try:
            fields = await _read_form(request)
            grant = fields.get("grant_type")
            if grant == "client_credentials":
                body = self._client_credentials(request, fields, token_url)
            elif grant == "refresh_token":
                body = self._refresh_grant(request, fields, token_url)
            else:
                raise OAuthChallenge(
                    400, "unsupported_grant_type", "The grant type is not supported."
                )
        except OAuthChallenge as refusal:
            return refusal.response()
        return web.json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _dpop(self, request: web.Request, app: ServiceApp, token_url: str) -> str | None:
        proofs = request.headers.getall("DPoP", [])
        if not proofs and not app.dpop_required:
            return None
        jkt, nonce = self._verify_proof(proofs, "POST", token_url, None)
        if nonce != self.nonce:
            self.nonce_challenges += 1
            raise OAuthChallenge(
                400,
                "use_dpop_nonce",
                "Authorization server requires nonce in DPoP proof.",
                {"DPoP-Nonce": self.nonce},
            )
        return jkt

    def _issue(self, app: ServiceApp, scopes: frozenset[str], jkt: str | None) -> dict[str, Any]:
        token = "at." + secrets.token_urlsafe(32)
        self._access[token] = _Issued(
            app.client_id, scopes, self._clock() + app.token_lifetime, jkt
        )
        self.tokens_issued += 1
        return {
            "token_type": "DPoP" if jkt is not None else "Bearer",
            "expires_in": app.token_lifetime,
            "access_token": token,
            "scope": " ".join(sorted(scopes)),
        }

    def _client_credentials(
        self, request: web.Request, form: Mapping[str, str], token_url: str
    ) -> dict[str, Any]:
        if form.get("client_assertion_type") != _ASSERTION_TYPE or "client_assertion" not in form:
            raise self._refuse(
                401,
                "invalid_client",
                "Client credentials: only private_key_jwt is supported for service apps.",
            )
        # Like Okta, the assertion (and its jti) is consumed before DPoP is looked at.
        app = self._verify_assertion(form["client_assertion"], token_url)
        requested = frozenset(form.get("scope", "").split())
        if not requested:
            raise OAuthChallenge(400, "invalid_scope", "The scope parameter is required.")
        if not requested <= app.scopes:
            raise OAuthChallenge(
                400, "invalid_scope", "One or more scopes are not configured for the app."
            )
        jkt = self._dpop(request, app, token_url)
        return self._issue(app, requested, jkt)

    def _client_of(
        self, request: web.Request, form: Mapping[str, str], token_url: str
    ) -> ServiceApp:
        authorization = request.headers.get("Authorization", "")
        if authorization.startswith("Basic "):
            try:
                raw = base64.b64decode(authorization[6:], validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise self._refuse(401, "invalid_client", "Malformed client credentials.") from None
            user, _, password = raw.partition(":")
            app = self.apps.get(unquote_plus(user))
            if (
                app is None
                or app.client_secret is None
                or not secrets.compare_digest(app.client_secret, unquote_plus(password))
            ):
                raise self._refuse(401, "invalid_client", "Client authentication failed.")
            return app
        if "client_assertion" in form:
            return self._verify_assertion(form["client_assertion"], token_url)
        found = self.apps.get(form.get("client_id", ""))
        if found is None or found.client_secret is not None or found.keys:
            raise self._refuse(401, "invalid_client", "Client authentication failed.")
        return found

    def _refresh_grant(
        self, request: web.Request, form: Mapping[str, str], token_url: str
    ) -> dict[str, Any]:
        app = self._client_of(request, form, token_url)
        presented = form.get("refresh_token", "")
        entry = self._refresh.get(presented)
        if entry is None or entry[0] != app.client_id:
            raise OAuthChallenge(400, "invalid_grant", "The refresh token is invalid or expired.")
        scopes = entry[1]
        if "scope" in form:
            asked = frozenset(form["scope"].split())
            if not asked <= scopes:
                raise OAuthChallenge(400, "invalid_scope", "The requested scope is invalid.")
            scopes = asked
        jkt = self._dpop(request, app, token_url)
        body = self._issue(app, scopes, jkt)
        if app.rotate_refresh_tokens:
            del self._refresh[presented]
            body["refresh_token"] = self.issue_refresh_token(app.client_id, entry[1])
        else:
            body["refresh_token"] = presented
        return body

    # ------------------------------------------------------------------ resource requests

    def issued_to(self, access_token: str) -> str | None:
        """The client id an access token was issued to (its principal), if it is one."""
        issued = self._access.get(access_token)
        return None if issued is None else issued.client_id

    def authenticate(self, request: web.Request, url: str) -> frozenset[str] | None:
        """The scopes of an access token this server issued, or None if it is not one.

        Args:
            request: The API request.
            url: Its URL without query, as the client should have put it in ``htu``.

        Raises:
            OAuthChallenge: A DPoP-bound token without a valid proof, or a bound token
                sent with the Bearer scheme.
        """
        scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
        scheme = scheme.lower()
        if scheme not in ("bearer", "dpop"):
            return None
        issued = self._access.get(credential.strip())
        if issued is None or self._clock() >= issued.expires_at:
            return None
        if issued.jkt is None:
            if scheme != "bearer":
                raise self._api_refusal(401, "invalid_token", "The access token is not DPoP-bound.")
            return issued.scopes
        if scheme != "dpop":
            raise self._api_refusal(
                400,
                "invalid_request",
                "The DPoP-bound access token was sent with the Bearer scheme.",
            )
        try:
            jkt, _ = self._verify_proof(
                request.headers.getall("DPoP", []), request.method, url, credential.strip()
            )
        except OAuthChallenge as refusal:
            # Okta's resource server names the refusal in WWW-Authenticate too
            # (terraform-provider-okta#2392, okta-sdk-nodejs#453).
            refusal.headers["WWW-Authenticate"] = dpop_challenge(refusal.error, refusal.description)
            raise
        if jkt != issued.jkt:
            # A valid proof by another key: Okta's invalid_dpop_proof sub-case "access
            # token not bound to the proof key" (reference §6.3), a 400, not a 401.
            raise self._api_refusal(
                400, "invalid_dpop_proof", "The access token is not bound to the DPoP proof key."
            )
        return issued.scopes

    def _api_refusal(self, status: int, error: str, description: str) -> OAuthChallenge:
        """A refusal of an API call, with Okta's ``WWW-Authenticate: DPoP algs=...``."""
        return self._refuse(
            status,
            error,
            description,
            {"WWW-Authenticate": dpop_challenge(error, description)},
        )
