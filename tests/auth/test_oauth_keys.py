"""Key loading and construction-time checks of PrivateKeyJWT and RefreshTokenAuth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from okta_connections import ConfigurationError, PrivateKeyJWT, RefreshTokenAuth
from tests.support.keys import ec_key, pem, rsa_key

PEM = pem(rsa_key())
PEM_BODY = "".join(PEM.strip().splitlines()[1:-1])
PASSWORD = "correct horse battery staple"


def _encrypted() -> bytes:
    return rsa_key().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSWORD.encode()),
    )


def _public_pem() -> bytes:
    return (
        rsa_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def _rsa_jwk(**extra: Any) -> dict[str, Any]:
    return {**RSAAlgorithm.to_jwk(rsa_key(), as_dict=True), **extra}


def _refused(source: Any, match: str, **kwargs: Any) -> ConfigurationError:
    with pytest.raises(ConfigurationError, match=match) as info:
        PrivateKeyJWT("0oaCLIENT", source, **kwargs)
    error = info.value
    text = f"{error} {error!r} {vars(error)!r}"
    assert PEM_BODY[:40] not in text and PASSWORD not in text
    for line in PEM.splitlines()[1:-1]:
        assert line not in text
    assert error.__cause__ is None  # the library's exception is not chained in
    return error


# ---------------------------------------------------------------------- accepted inputs


def test_every_accepted_form_of_key(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_text(PEM)
    jwk_path = tmp_path / "key.json"
    jwk_path.write_text(json.dumps(_rsa_jwk(kid="from-file")))
    der = rsa_key().private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    for source in (PEM, PEM.encode(), str(path), path, _rsa_jwk(), der, json.dumps(_rsa_jwk())):
        assert PrivateKeyJWT("0oaCLIENT", source).algorithm == "RS256"
    assert PrivateKeyJWT("c", _encrypted(), password=PASSWORD).algorithm == "RS256"
    assert (
        PrivateKeyJWT("c", _encrypted().decode(), password=PASSWORD.encode()).algorithm == "RS256"
    )
    assert PrivateKeyJWT("c", jwk_path)._key.key_id == "from-file"


def test_jwk_kid_alg_and_key_id_override() -> None:
    auth = PrivateKeyJWT("c", _rsa_jwk(kid="k1", alg="RS384"))
    assert (auth.algorithm, auth._key.key_id) == ("RS384", "k1")
    assert PrivateKeyJWT("c", _rsa_jwk(kid="k1"), key_id="k2")._key.key_id == "k2"
    ec_jwk = ECAlgorithm.to_jwk(ec_key(), as_dict=True)
    assert PrivateKeyJWT("c", ec_jwk).algorithm == "ES256"
    p384 = ec.generate_private_key(ec.SECP384R1())
    assert PrivateKeyJWT("c", pem(p384)).algorithm == "ES384"
    p521 = ec.generate_private_key(ec.SECP521R1())
    assert PrivateKeyJWT("c", ECAlgorithm.to_jwk(p521, as_dict=True)).algorithm == "ES512"


# ---------------------------------------------------------------------- refused inputs


def test_malformed_pem() -> None:
    _refused(
        "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n", "not a valid PEM"
    )
    lines = PEM.strip().splitlines()
    truncated = "\n".join([*lines[:5], lines[-1]])
    _refused(truncated, "not a valid PEM")
    _refused(b"\x00\x01garbage", "not a PEM or DER private key")
    _refused("{not json", "not a valid JWK")


def test_encrypted_pem_without_or_with_wrong_password() -> None:
    error = _refused(_encrypted(), "encrypted private key; pass its passphrase as password=")
    assert error.argument == "private_key"
    _refused(_encrypted(), "could not be decrypted", password="wrong")
    _refused(PEM, "not encrypted, but a password was given", password=PASSWORD)


def test_public_key_where_a_private_one_is_needed() -> None:
    _refused(_public_pem(), "public key")
    _refused(_public_pem().decode(), "public key")
    public_jwk = RSAAlgorithm.to_jwk(rsa_key().public_key(), as_dict=True)
    _refused(public_jwk, "public JWK")
    _refused(ECAlgorithm.to_jwk(ec_key().public_key(), as_dict=True), "public JWK")


def test_unsupported_key_types() -> None:
    def as_pem(key: Any) -> bytes:
        return key.private_bytes(  # type: ignore[no-any-return]
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    _refused(as_pem(ed25519.Ed25519PrivateKey.generate()), "unsupported key type")
    _refused(as_pem(dsa.generate_private_key(2048)), "unsupported key type")
    _refused(as_pem(ec.generate_private_key(ec.SECP256K1())), "curve secp256k1")
    _refused(as_pem(rsa.generate_private_key(65537, 1024)), "1024 bits")
    _refused({"kty": "oct", "k": "c2VjcmV0"}, "kty 'oct'")
    _refused({"kty": "OKP", "crv": "Ed25519", "x": "a", "d": "b"}, "kty 'OKP'")
    _refused({"n": "x"}, "without a 'kty'")
    _refused(_rsa_jwk(alg="ES256"), "alg 'ES256'")
    _refused({**_rsa_jwk(), "p": "AQAB"}, "not a valid RSA JWK")
    _refused(12345, "not int")


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    error = _refused(missing, "names no existing file")
    assert str(missing) in str(error)  # a Path is shown: it is not key material
    error = _refused(str(missing), "names no existing file")
    assert str(missing) not in str(error)  # a str might be a pasted key: never echoed
    _refused(tmp_path, "directory")
    _refused("", "empty")


# ---------------------------------------------------------------------- other arguments


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"client_id": ""}, "client_id"),
        ({"client_id": "has space"}, "client_id"),
        ({"scopes": ()}, "scopes"),
        ({"scopes": ("ok", "")}, "scopes"),
        ({"scopes": 5}, "scopes"),
        ({"assertion_lifetime": 0}, "assertion_lifetime"),
        ({"assertion_lifetime": 3601}, "assertion_lifetime"),
        ({"refresh_margin": -1}, "refresh_margin"),
        ({"refresh_margin": float("inf")}, "refresh_margin"),
        ({"token_url": "http://acme.okta.com/oauth2/v1/token"}, "token_url"),
        ({"token_url": "https://u:p@acme.okta.com/oauth2/v1/token"}, "token_url"),
        ({"token_url": "ftp://acme.okta.com/"}, "token_url"),
        ({"dpop": "yes"}, "dpop"),
        ({"key_id": ""}, "key_id"),
        ({"clock": 5}, "clock"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], argument: str) -> None:
    client_id = kwargs.pop("client_id", "0oaCLIENT")
    with pytest.raises(ConfigurationError) as info:
        PrivateKeyJWT(client_id, PEM, **kwargs)
    assert info.value.argument == argument
    assert "u:p@" not in str(info.value)


def test_scopes_as_a_string_and_repr() -> None:
    auth = PrivateKeyJWT("0oaCLIENT", PEM, scopes="okta.apps.read  okta.apps.manage", dpop=True)
    assert auth.scopes == ("okta.apps.read", "okta.apps.manage")
    assert repr(auth) == (
        "PrivateKeyJWT(client_id='0oaCLIENT', scopes=('okta.apps.read', 'okta.apps.manage'), "
        "dpop=True)"
    )


def test_refresh_token_auth_arguments() -> None:
    url = "https://acme.okta.com/oauth2/v1/token"
    with pytest.raises(ConfigurationError, match="not both"):
        RefreshTokenAuth(url, "rt", client_id="c", client_secret="s", private_key=PEM)
    for bad in ("", "has space", "new\nline"):
        with pytest.raises(ConfigurationError) as info:
            RefreshTokenAuth(url, bad, client_id="c")
        assert info.value.argument == "refresh_token"
    with pytest.raises(ConfigurationError) as info:
        RefreshTokenAuth(url, "rt", client_id="c", on_rotate="nope")  # type: ignore[arg-type]
    assert info.value.argument == "on_rotate"
    with pytest.raises(ConfigurationError) as info:
        RefreshTokenAuth("http://acme.okta.com/token", "rt", client_id="c")
    assert info.value.argument == "token_url"
    with pytest.raises(ConfigurationError) as info:
        RefreshTokenAuth(url, "rt", client_id="c", private_key="-----BEGIN PRIVATE KEY-----\nx\n")
    assert info.value.argument == "private_key"
    assert RefreshTokenAuth(url, "rt", client_id="c", client_secret="s").client_auth == (
        "client_secret_basic"
    )
    assert RefreshTokenAuth(url, "rt", client_id="c", private_key=PEM).client_auth == (
        "private_key_jwt"
    )
    assert RefreshTokenAuth("/oauth2/v1/token", "rt", client_id="c").client_auth == "none"
