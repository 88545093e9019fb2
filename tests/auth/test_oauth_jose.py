"""The pure JOSE builders: every header and claim, checked by decoding with PyJWT."""

from __future__ import annotations

import base64
import hashlib
import urllib.parse

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from okta_connections.auth import _jose
from okta_connections.auth._keys import SigningKey, generate_dpop_key, load_signing_key
from tests.support.keys import ec_key, pem, rsa_key

TOKEN_URL = "https://acme.okta.com/oauth2/v1/token"


@pytest.fixture(scope="module")
def rsa_signing() -> SigningKey:
    return load_signing_key(pem(rsa_key()), key_id="kid-1")


def test_client_assertion_claims_and_header(rsa_signing: SigningKey) -> None:
    token = _jose.client_assertion(
        rsa_signing,
        client_id="0oaCLIENT",
        audience=TOKEN_URL,
        issued_at=1_700_000_000.9,
        lifetime=300,
        jti="jti-1",
    )
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "RS256", "kid": "kid-1", "typ": "JWT"}
    claims = jwt.decode(
        token,
        rsa_key().public_key(),
        algorithms=["RS256"],
        audience=TOKEN_URL,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims == {
        "iss": "0oaCLIENT",
        "sub": "0oaCLIENT",
        "aud": TOKEN_URL,
        "iat": 1_700_000_000,
        "exp": 1_700_000_300,
        "jti": "jti-1",
    }


def test_client_assertion_without_kid_and_with_each_ec_curve() -> None:
    for curve, alg in (
        (ec.SECP256R1(), "ES256"),
        (ec.SECP384R1(), "ES384"),
        (ec.SECP521R1(), "ES512"),
    ):
        private = ec.generate_private_key(curve)
        key = load_signing_key(pem(private))
        assert key.algorithm == alg
        token = _jose.client_assertion(
            key, client_id="c", audience=TOKEN_URL, issued_at=1.0, lifetime=60, jti="j"
        )
        assert "kid" not in jwt.get_unverified_header(token)
        claims = jwt.decode(
            token,
            private.public_key(),
            algorithms=[alg],
            audience=TOKEN_URL,
            options={"verify_exp": False, "verify_iat": False},
        )
        assert claims["exp"] - claims["iat"] == 60


def test_dpop_proof_header_and_claims() -> None:
    key = load_signing_key(pem(ec_key()))
    proof = _jose.dpop_proof(
        key,
        method="post",
        url="https://acme.okta.com/api/v1/apps/0oa1/connections/default?activate=true#frag",
        issued_at=1_700_000_000.5,
        jti="proof-1",
        nonce="n-1",
        access_token="at-123",
    )
    header = jwt.get_unverified_header(proof)
    assert header["typ"] == "dpop+jwt"
    assert header["alg"] == "ES256"
    assert set(header) == {"typ", "alg", "jwk"}  # no kid: the key travels by value
    assert set(header["jwk"]) == {"kty", "crv", "x", "y"}  # public members only
    public = jwt.PyJWK(header["jwk"]).key
    assert public.public_numbers() == ec_key().public_key().public_numbers()
    claims = jwt.decode(proof, public, algorithms=["ES256"], options={"verify_iat": False})
    assert claims == {
        "htm": "POST",
        "htu": "https://acme.okta.com/api/v1/apps/0oa1/connections/default",
        "iat": 1_700_000_000,
        "jti": "proof-1",
        "nonce": "n-1",
        "ath": _jose.access_token_hash("at-123"),
    }


def test_dpop_proof_for_token_endpoint_has_no_ath_or_nonce() -> None:
    key = generate_dpop_key()
    proof = _jose.dpop_proof(key, method="POST", url=TOKEN_URL, issued_at=5, jti="j")
    claims = jwt.decode(proof, options={"verify_signature": False})
    assert set(claims) == {"htm", "htu", "iat", "jti"}
    # An RSA DPoP key works too, and its jwk is {kty, n, e} only.
    rsa_proof = _jose.dpop_proof(
        load_signing_key(pem(rsa_key())), method="GET", url=TOKEN_URL, issued_at=5, jti="j"
    )
    assert set(jwt.get_unverified_header(rsa_proof)["jwk"]) == {"kty", "n", "e"}


@pytest.mark.parametrize(
    ("curve", "alg"),
    [
        (ec.SECP256R1(), "ES256"),
        (ec.SECP384R1(), "ES384"),
        (ec.SECP521R1(), "ES512"),
        (None, "RS256"),
    ],
)
def test_prover_signatures_verify_with_pyjwt(curve: ec.EllipticCurve | None, alg: str) -> None:
    # The prover signs with cryptography directly; an independent JOSE implementation
    # (PyJWT) must accept every algorithm, including P-521's 66-byte R || S halves.
    private = ec.generate_private_key(curve) if curve is not None else rsa_key()
    key = load_signing_key(pem(private))
    prover = _jose.DPoPProver(key)
    for n in range(20):  # several signatures: a short R or S must still be left-padded
        proof = prover.proof(method="get", url=TOKEN_URL, issued_at=n, access_token="at")
        claims = jwt.decode(
            proof, private.public_key(), algorithms=[alg], options={"verify_iat": False}
        )
        assert claims["htm"] == "GET"
        assert claims["iat"] == n
    header = jwt.get_unverified_header(proof)
    assert header["alg"] == alg
    assert header["typ"] == "dpop+jwt"


def test_prover_follows_token_nonce_and_url_changes() -> None:
    key = generate_dpop_key()
    prover = _jose.DPoPProver(key)
    public = key.private_key.public_key()
    seen = []
    for token, nonce, url in [
        ("at-1", "n-1", "https://acme.okta.com/api/v1/apps/0oa1/connections/default"),
        ("at-1", "n-2", "https://acme.okta.com/api/v1/apps/0oa2/connections/default?x=1"),
        ("at-2", "n-2", "https://acme.okta.com/api/v1/apps/0oa1/connections/default"),
        ("at-2", None, "https://acme.okta.com/api/v1/apps/0oa1/connections/default#f"),
    ]:
        claims = jwt.decode(
            prover.proof(method="POST", url=url, issued_at=7, nonce=nonce, access_token=token),
            public,
            algorithms=["ES256"],
            options={"verify_iat": False},
        )
        assert claims["ath"] == _jose.access_token_hash(token)
        assert claims.get("nonce") == nonce
        assert claims["htu"] == url.split("?")[0].split("#")[0]
        seen.append(claims["jti"])
    assert len(set(seen)) == len(seen)  # a fresh jti per proof
    assert all(len(j) >= 32 for j in seen)  # 192 random bits


def test_prover_escapes_what_it_writes_by_hand() -> None:
    # Claims are joined by hand for speed; values that need JSON escaping must still
    # produce valid JSON with the exact values.
    key = generate_dpop_key()
    nonce = 'a"b\\c\u00e9'
    url = "https://acme.okta.com/api/v1/apps/0oa1/p\u00e4th"
    proof = _jose.DPoPProver(key).proof(method="GET", url=url, issued_at=1, jti='j"1', nonce=nonce)
    claims = jwt.decode(proof, options={"verify_signature": False})
    assert claims["nonce"] == nonce
    assert claims["jti"] == 'j"1'
    assert claims["htu"] == _jose.htu(url)


def test_prover_url_cache_is_bounded_and_repr_shows_no_key() -> None:
    prover = _jose.DPoPProver(generate_dpop_key())
    for n in range(2000):
        prover.proof(method="GET", url=f"https://acme.okta.com/{n}", issued_at=1)
    assert len(prover._htu) <= _jose.DPoPProver._HTU_CACHE
    assert repr(prover) == "DPoPProver(algorithm='ES256')"


def test_ath_vectors() -> None:
    # RFC 9449 §7.1 example.
    assert (
        _jose.access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU")
        == "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
    )
    value = "eyJhbGciOiJSUzI1NiJ9.payload.sig"
    expected = base64.urlsafe_b64encode(hashlib.sha256(value.encode()).digest()).decode()
    assert _jose.access_token_hash(value) == expected.rstrip("=")
    assert "=" not in _jose.access_token_hash(value)


def test_jwk_thumbprint_rfc7638_vector() -> None:
    jwk = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L"
        "6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-"
        "65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyr"
        "dkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert _jose.jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    # Only the required members count, in any order.
    assert _jose.jwk_thumbprint({"e": jwk["e"], "n": jwk["n"], "kty": "RSA"}) == (
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    )
    with pytest.raises(ValueError, match="kty"):
        _jose.jwk_thumbprint({"kty": "nope"})
    with pytest.raises(ValueError, match="lacks"):
        _jose.jwk_thumbprint({"kty": "EC", "crv": "P-256", "x": "a"})


def test_jti_is_unique() -> None:
    jtis = {_jose.new_jti() for _ in range(10_000)}
    assert len(jtis) == 10_000
    assert all(len(j) >= 32 for j in jtis)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://acme.okta.com/oauth2/v1/token", "https://acme.okta.com/oauth2/v1/token"),
        ("https://acme.okta.com/a/b?x=1&y=2", "https://acme.okta.com/a/b"),
        ("https://acme.okta.com/a/b#frag", "https://acme.okta.com/a/b"),
        ("https://acme.okta.com/a/b?x=1#frag", "https://acme.okta.com/a/b"),
        (
            "http://127.0.0.1:8080/api/v1/apps/x?activate=true",
            "http://127.0.0.1:8080/api/v1/apps/x",
        ),
    ],
)
def test_htu_strips_query_and_fragment(url: str, expected: str) -> None:
    assert _jose.htu(url) == expected


def test_form_builders() -> None:
    assert _jose.client_credentials_form(("okta.apps.read", "okta.apps.manage"), "A.B.C") == {
        "grant_type": "client_credentials",
        "scope": "okta.apps.read okta.apps.manage",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": "A.B.C",
    }
    assert _jose.refresh_token_form("rt") == {"grant_type": "refresh_token", "refresh_token": "rt"}
    assert _jose.refresh_token_form("rt", scopes=["a", "b"], client_id="c") == {
        "grant_type": "refresh_token",
        "refresh_token": "rt",
        "scope": "a b",
        "client_id": "c",
    }
    with_assertion = _jose.refresh_token_form("rt", client_assertion="A.B.C")
    assert with_assertion["client_assertion_type"] == _jose.CLIENT_ASSERTION_TYPE
    assert with_assertion["client_assertion"] == "A.B.C"


def test_basic_authorization_urlencodes_both_parts() -> None:
    value = _jose.basic_authorization("client:id", "p%ss w:rd")
    assert value.startswith("Basic ")
    user, _, password = base64.b64decode(value[6:]).decode().partition(":")
    assert urllib.parse.unquote_plus(user) == "client:id"
    assert urllib.parse.unquote_plus(password) == "p%ss w:rd"
