"""Pure JOSE and form builders for the OAuth strategies: no I/O, no clocks, no state.

Every function takes the time and the ``jti`` it needs as arguments, so the same inputs
give the same output (ECDSA signatures aside) and tests can check each claim exactly.
Signing is done by PyJWT on top of ``cryptography``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import urllib.parse
from collections.abc import Iterable, Mapping

import jwt
import yarl

from ._keys import SigningKey

__all__ = [
    "CLIENT_ASSERTION_TYPE",
    "DPOP_JWT_TYPE",
    "access_token_hash",
    "b64url",
    "basic_authorization",
    "client_assertion",
    "client_credentials_form",
    "dpop_proof",
    "htu",
    "jwk_thumbprint",
    "new_jti",
    "refresh_token_form",
]

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DPOP_JWT_TYPE = "dpop+jwt"

#: RFC 7638: the required members of each key type, the only ones a thumbprint hashes.
_THUMBPRINT_MEMBERS: dict[str, tuple[str, ...]] = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "oct": ("k", "kty"),
}


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_jti() -> str:
    """A fresh JWT ID: 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


def access_token_hash(access_token: str) -> str:
    """The DPoP ``ath`` claim: base64url(SHA-256(ASCII access token)), no padding."""
    return b64url(hashlib.sha256(access_token.encode("ascii")).digest())


def jwk_thumbprint(jwk: Mapping[str, object]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a JWK (what Okta puts in a token's ``cnf.jkt``).

    Raises:
        ValueError: the key type is unknown or a required member is missing.
    """
    kty = jwk.get("kty")
    members = _THUMBPRINT_MEMBERS.get(kty) if isinstance(kty, str) else None
    if members is None:
        raise ValueError(f"cannot thumbprint a JWK of kty {kty!r}")
    missing = [m for m in members if m not in jwk]
    if missing:
        raise ValueError(f"JWK lacks required members {missing}")
    # Lexicographic member order and no whitespace, as RFC 7638 §3 prescribes.
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


def htu(url: str | yarl.URL) -> str:
    """The DPoP ``htu`` claim: the request URL without its query and fragment."""
    parsed = url if isinstance(url, yarl.URL) else yarl.URL(url)
    return str(parsed.with_query(None).with_fragment(None))


def _headers(key: SigningKey, **extra: object) -> dict[str, object]:
    headers: dict[str, object] = {"alg": key.algorithm}
    if key.key_id is not None:
        headers["kid"] = key.key_id
    headers.update(extra)
    return headers


def client_assertion(
    key: SigningKey,
    *,
    client_id: str,
    audience: str,
    issued_at: float,
    lifetime: int,
    jti: str,
) -> str:
    """A ``private_key_jwt`` client assertion (RFC 7523) as Okta wants it.

    Args:
        key: The app's signing key; its ``kid`` goes in the header when set.
        client_id: The app's client ID; both ``iss`` and ``sub``.
        audience: The full token endpoint URL (``aud``).
        issued_at: Epoch seconds for ``iat``; ``exp`` is ``iat + lifetime``.
        lifetime: Seconds the assertion is valid; Okta refuses more than one hour.
        jti: A unique ID; Okta refuses an assertion whose ``jti`` it has seen.

    Returns:
        The compact JWS.
    """
    iat = int(issued_at)
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": iat,
        "exp": iat + int(lifetime),
        "jti": jti,
    }
    return jwt.encode(
        claims, key.private_key, algorithm=key.algorithm, headers=_headers(key, typ="JWT")
    )


def dpop_proof(
    key: SigningKey,
    *,
    method: str,
    url: str | yarl.URL,
    issued_at: float,
    jti: str,
    nonce: str | None = None,
    access_token: str | None = None,
    public_jwk: Mapping[str, str] | None = None,
) -> str:
    """A DPoP proof JWT (RFC 9449 §4.2).

    Args:
        key: The DPoP key pair; only its public half goes in the ``jwk`` header.
        method: The request method (``htm``).
        url: The request URL; ``htu`` drops its query and fragment.
        issued_at: Epoch seconds for ``iat``.
        jti: A unique ID for this proof.
        nonce: The server's latest ``DPoP-Nonce``, when one is known.
        access_token: On resource requests, the token the proof accompanies; its hash
            becomes ``ath``.
        public_jwk: The precomputed public JWK of ``key`` (saves work per request).

    Returns:
        The compact JWS.
    """
    claims: dict[str, object] = {
        "htm": method.upper(),
        "htu": htu(url),
        "iat": int(issued_at),
        "jti": jti,
    }
    if nonce is not None:
        claims["nonce"] = nonce
    if access_token is not None:
        claims["ath"] = access_token_hash(access_token)
    jwk = dict(public_jwk) if public_jwk is not None else key.public_jwk()
    # A DPoP proof names its key by value, never by kid.
    headers: dict[str, object] = {"alg": key.algorithm, "typ": DPOP_JWT_TYPE, "jwk": jwk}
    return jwt.encode(claims, key.private_key, algorithm=key.algorithm, headers=headers)


def _scope(scopes: Iterable[str]) -> str:
    return " ".join(scopes)


def client_credentials_form(scopes: Iterable[str], client_assertion: str) -> dict[str, str]:
    """The form of a client_credentials token request authenticated with private_key_jwt."""
    return {
        "grant_type": "client_credentials",
        "scope": _scope(scopes),
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": client_assertion,
    }


def refresh_token_form(
    refresh_token: str,
    *,
    scopes: Iterable[str] | None = None,
    client_assertion: str | None = None,
    client_id: str | None = None,
) -> dict[str, str]:
    """The form of a refresh_token grant.

    Args:
        refresh_token: The current refresh token.
        scopes: Scopes to request; None leaves ``scope`` out (the originally granted ones).
        client_assertion: A private_key_jwt assertion, when the client authenticates so.
        client_id: Sent in the form for public clients, and alongside an assertion.
    """
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if scopes is not None:
        form["scope"] = _scope(scopes)
    if client_id is not None:
        form["client_id"] = client_id
    if client_assertion is not None:
        form["client_assertion_type"] = CLIENT_ASSERTION_TYPE
        form["client_assertion"] = client_assertion
    return form


def basic_authorization(client_id: str, client_secret: str) -> str:
    """The ``Authorization`` value for client_secret_basic.

    RFC 6749 §2.3.1 says both parts are form-urlencoded before base64, so a secret with
    ``:`` or ``%`` in it survives.
    """
    user = urllib.parse.quote_plus(client_id, safe="")
    password = urllib.parse.quote_plus(client_secret, safe="")
    raw = f"{user}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")
