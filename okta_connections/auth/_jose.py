"""Pure JOSE and form builders for the OAuth strategies: no I/O, no clocks, no state.

Every function takes the time and the ``jti`` it needs as arguments, so the same inputs
give the same output (ECDSA signatures aside) and tests can check each claim exactly.
Client assertions are signed by PyJWT on top of ``cryptography``. DPoP proofs, one per
API request, go through :class:`DPoPProver`, which signs with ``cryptography`` directly
and reuses everything that does not change between requests (see its docstring).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
import urllib.parse
from collections.abc import Callable, Iterable, Mapping

import jwt
import yarl
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from ._keys import SigningKey

__all__ = [
    "CLIENT_ASSERTION_TYPE",
    "DPOP_JWT_TYPE",
    "DPoPProver",
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


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=").decode()


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


_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}


def _jws_signer(key: SigningKey) -> Callable[[bytes], bytes]:
    """A function that returns the JWS signature (RFC 7518 §3) of the signing input."""
    digest = _HASHES[key.algorithm[2:]]()
    private = key.private_key
    if isinstance(private, ec.EllipticCurvePrivateKey):
        ecdsa = ec.ECDSA(digest)
        size = (private.curve.key_size + 7) // 8

        def sign_ec(data: bytes) -> bytes:
            # JWS wants R || S, each left-padded to the curve size, not DER.
            r, s = utils.decode_dss_signature(private.sign(data, ecdsa))
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")

        return sign_ec
    rsa_key: rsa.RSAPrivateKey = private
    pkcs1 = padding.PKCS1v15()

    def sign_rsa(data: bytes) -> bytes:
        return rsa_key.sign(data, pkcs1, digest)

    return sign_rsa


def _compact_json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True).encode("ascii")


class DPoPProver:
    """Makes DPoP proof JWTs (RFC 9449 §4.2) with one key, cheaply enough for every request.

    A proof goes with every API call, so its cost is a per-call cost. Only the claims and
    the signature change between proofs; the protected header (``alg``, ``typ`` and the
    public ``jwk``) is serialised once. ``ath`` is the hash of the access token, which
    changes once per token lifetime, so the last one is kept; ``htu`` is kept per URL for
    the last few hundred URLs (JSON-encoded), and the nonce until the server sends another.
    What remains per proof is joining the claims, a random ``jti`` and one signature, made
    with ``cryptography`` directly (ES256 by default).

    It holds the private key, so like every auth object it never shows it: no ``repr``
    beyond the algorithm.
    """

    _HTU_CACHE = 512

    def __init__(self, key: SigningKey, public_jwk: Mapping[str, str] | None = None) -> None:
        jwk = dict(public_jwk) if public_jwk is not None else key.public_jwk()
        # A DPoP proof names its key by value, never by kid.
        header = {"typ": DPOP_JWT_TYPE, "alg": key.algorithm, "jwk": jwk}
        self.algorithm = key.algorithm
        self.public_jwk: dict[str, str] = jwk
        self._header = b64url(_compact_json(header)) + "."
        self._sign = _jws_signer(key)
        self._htu: dict[str, str] = {}
        self._ath: tuple[str, str] | None = None
        self._nonce: tuple[str, str] | None = None

    def __repr__(self) -> str:
        return f"DPoPProver(algorithm={self.algorithm!r})"

    def _htu_of(self, url: str | yarl.URL) -> str:
        text = str(url)
        found = self._htu.get(text)
        if found is None:
            if len(self._htu) >= self._HTU_CACHE:
                self._htu.clear()
            found = self._htu[text] = json.dumps(htu(url))
        return found

    def _nonce_of(self, nonce: str) -> str:
        cached = self._nonce
        if cached is None or cached[0] != nonce:
            cached = self._nonce = (nonce, json.dumps(nonce))
        return cached[1]

    def _ath_of(self, access_token: str) -> str:
        cached = self._ath
        if cached is None or cached[0] != access_token:
            cached = self._ath = (access_token, access_token_hash(access_token))
        return cached[1]

    def proof(
        self,
        *,
        method: str,
        url: str | yarl.URL,
        issued_at: float,
        jti: str | None = None,
        nonce: str | None = None,
        access_token: str | None = None,
    ) -> str:
        """A compact DPoP proof JWS.

        Args:
            method: The request method (``htm``).
            url: The request URL; ``htu`` drops its query and fragment.
            issued_at: Epoch seconds for ``iat``.
            jti: A unique ID for this proof; a fresh random one when None.
            nonce: The server's latest ``DPoP-Nonce``, when one is known.
            access_token: On resource requests, the token the proof accompanies; its hash
                becomes ``ath``.
        """
        # The claims are written out rather than json.dumps'd: every value is either an
        # integer, base64url text (jti, ath) or a string JSON-encoded once and kept (htu,
        # nonce), so the result is the same compact JSON at a fraction of the cost.
        # A fresh jti has 192 random bits, like new_jti().
        jti = b64url(os.urandom(24)) if jti is None else json.dumps(jti)[1:-1]
        parts = [
            '{"htm":',
            json.dumps(method.upper()),
            ',"htu":',
            self._htu_of(url),
            ',"iat":',
            str(int(issued_at)),
            ',"jti":"',
            jti,
            '"',
        ]
        if nonce is not None:
            parts += [',"nonce":', self._nonce_of(nonce)]
        if access_token is not None:
            parts += [',"ath":"', self._ath_of(access_token), '"']
        parts.append("}")
        claims = "".join(parts).encode("ascii")
        signing_input = self._header + b64url(claims)
        signature = self._sign(signing_input.encode("ascii"))
        return signing_input + "." + b64url(signature)


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
    """A DPoP proof JWT (RFC 9449 §4.2), made once; see :class:`DPoPProver` to make many.

    Args:
        key: The DPoP key pair; only its public half goes in the ``jwk`` header.
        method: The request method (``htm``).
        url: The request URL; ``htu`` drops its query and fragment.
        issued_at: Epoch seconds for ``iat``.
        jti: A unique ID for this proof.
        nonce: The server's latest ``DPoP-Nonce``, when one is known.
        access_token: On resource requests, the token the proof accompanies; its hash
            becomes ``ath``.
        public_jwk: The precomputed public JWK of ``key``.

    Returns:
        The compact JWS.
    """
    return DPoPProver(key, public_jwk).proof(
        method=method,
        url=url,
        issued_at=issued_at,
        jti=jti,
        nonce=nonce,
        access_token=access_token,
    )


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
