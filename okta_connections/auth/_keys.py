"""Loading the private keys that sign client assertions, and the ephemeral DPoP key.

Every error raised here is a :class:`~okta_connections.errors.ConfigurationError` whose
message describes the problem without echoing the key, its password, or a string that might
be key material (a ``str`` that is not a PEM key is treated as a path, but the path is only
shown when it was given as a :class:`pathlib.Path`, because a pasted key without its PEM
armour would otherwise land in a traceback).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeAlias

import attrs
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from jwt.exceptions import InvalidKeyError

from .._files import InputTooLargeError, read_capped
from .._redact import unchained
from ..errors import ConfigurationError

__all__ = [
    "KeySource",
    "SigningKey",
    "generate_dpop_key",
    "load_signing_key",
]

#: What ``private_key=`` accepts: PEM text or bytes, a file path, or a private JWK.
KeySource: TypeAlias = "str | bytes | os.PathLike[str] | Mapping[str, Any]"

PrivateKey: TypeAlias = "rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey"

#: Okta accepts RSA keys of 2048 bits or more for private_key_jwt.
MIN_RSA_BITS = 2048

_EC_ALGORITHMS: dict[str, str] = {
    "secp256r1": "ES256",
    "secp384r1": "ES384",
    "secp521r1": "ES512",
}
_RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512"})


@attrs.frozen(repr=False)
class SigningKey:
    """A private key with the JWS algorithm and key id it signs with.

    Attributes:
        private_key: The ``cryptography`` private key object.
        algorithm: ``RS256``/``RS384``/``RS512`` for RSA, ``ES256``/``ES384``/``ES512``
            for EC P-256/P-384/P-521.
        key_id: The ``kid`` header to send, or None.
    """

    private_key: PrivateKey = attrs.field(eq=False)
    algorithm: str
    key_id: str | None = None

    def __repr__(self) -> str:
        # Deliberately hand-written: the key object must never reach a repr.
        return f"SigningKey(algorithm={self.algorithm!r}, key_id={self.key_id!r})"

    def public_jwk(self) -> dict[str, str]:
        """The public half as a JWK: ``{kty, n, e}`` or ``{kty, crv, x, y}``, nothing else."""
        public = self.private_key.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
            return {"kty": "RSA", "n": str(jwk["n"]), "e": str(jwk["e"])}
        jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        return {"kty": "EC", "crv": str(jwk["crv"]), "x": str(jwk["x"]), "y": str(jwk["y"])}


def generate_dpop_key() -> SigningKey:
    """A fresh EC P-256 key for DPoP proofs (ES256: small proofs, fast to sign)."""
    return SigningKey(private_key=ec.generate_private_key(ec.SECP256R1()), algorithm="ES256")


def _fail(message: str, argument: str) -> ConfigurationError:
    return ConfigurationError(argument, message)


def _algorithm_for(key: object, argument: str, wanted: str | None = None) -> tuple[PrivateKey, str]:
    """The key, typed, with its JWS algorithm; refuses key types Okta cannot verify."""
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise _fail(
                f"is an RSA key of {key.key_size} bits; Okta needs at least {MIN_RSA_BITS}",
                argument,
            )
        if wanted is None:
            return key, "RS256"
        if wanted not in _RSA_ALGORITHMS:
            raise _fail(f"is an RSA key but its JWK says alg {wanted!r}", argument)
        return key, wanted
    if isinstance(key, ec.EllipticCurvePrivateKey):
        algorithm = _EC_ALGORITHMS.get(key.curve.name)
        if algorithm is None:
            raise _fail(
                f"uses the EC curve {key.curve.name}; supported curves are P-256, P-384 and P-521",
                argument,
            )
        if wanted is not None and wanted != algorithm:
            raise _fail(f"is an EC {key.curve.name} key but its JWK says alg {wanted!r}", argument)
        return key, algorithm
    raise _fail(
        f"is an unsupported key type ({type(key).__name__}); use an RSA (2048+ bits) or "
        "EC P-256/P-384/P-521 private key",
        argument,
    )


def _from_jwk(jwk: Mapping[str, Any], key_id: str | None, argument: str) -> SigningKey:
    kty = jwk.get("kty")
    if kty not in ("RSA", "EC"):
        raise _fail(
            f"is a JWK of kty {kty!r}; only private RSA and EC JWKs are supported"
            if isinstance(kty, str)
            else "is a mapping without a 'kty'; give a private RSA or EC JWK",
            argument,
        )
    if "d" not in jwk:
        raise _fail("is a public JWK (no 'd'); a private key is needed to sign", argument)
    try:
        loaded = (RSAAlgorithm if kty == "RSA" else ECAlgorithm).from_jwk(dict(jwk))
    except (InvalidKeyError, ValueError, TypeError, KeyError, UnsupportedAlgorithm) as exc:
        # The library's message is about structure, but we do not pass it on: it is not
        # ours to guarantee that it never quotes a parameter.
        raise _fail(f"is not a valid {kty} JWK ({type(exc).__name__})", argument) from None
    wanted = jwk.get("alg")
    if wanted is not None and not isinstance(wanted, str):
        raise _fail("is a JWK whose 'alg' is not a string", argument)
    private, algorithm = _algorithm_for(loaded, argument, wanted)
    kid = key_id if key_id is not None else jwk.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise _fail("is a JWK whose 'kid' is not a string", argument)
    return SigningKey(private_key=private, algorithm=algorithm, key_id=kid)


def _from_bytes(
    data: bytes, password: bytes | None, key_id: str | None, argument: str
) -> SigningKey:
    stripped = data.strip()
    if stripped.startswith(b"{"):
        try:
            jwk = json.loads(stripped)
        except (ValueError, UnicodeDecodeError):
            raise _fail("looks like JSON but is not a valid JWK document", argument) from None
        if not isinstance(jwk, dict):
            raise _fail("is JSON but not a JWK object", argument)
        return _from_jwk(jwk, key_id, argument)
    is_pem = stripped.startswith(b"-----BEGIN")
    if (
        is_pem
        and b"PRIVATE KEY-----" not in stripped
        and (b"PUBLIC KEY-----" in stripped or b"CERTIFICATE-----" in stripped)
    ):
        raise _fail("is a public key or certificate; a private key is needed to sign", argument)
    try:
        if is_pem:
            loaded = serialization.load_pem_private_key(stripped, password=password)
        else:
            # DER is binary: the stripped copy could have lost meaningful bytes.
            loaded = serialization.load_der_private_key(data, password=password)
    except TypeError:
        # cryptography raises TypeError for exactly two cases, told apart by `password`.
        if password is None:
            raise _fail(
                "is an encrypted private key; pass its passphrase as password=", argument
            ) from None
        raise _fail(
            "is not encrypted, but a password was given; drop password=", argument
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        if password is not None:
            raise _fail(
                "could not be decrypted or parsed (wrong password, or not a private key)",
                argument,
            ) from None
        what = "a valid PEM private key" if is_pem else "a PEM or DER private key or a JWK"
        raise _fail(f"is not {what}", argument) from None
    private, algorithm = _algorithm_for(loaded, argument)
    return SigningKey(private_key=private, algorithm=algorithm, key_id=key_id)


def _load_signing_key(
    source: object,
    *,
    password: str | bytes | None = None,
    key_id: str | None = None,
    argument: str = "private_key",
) -> SigningKey:
    """Load a private key for signing client assertions.

    Args:
        source: PEM text (``str``) or bytes (PEM, DER, or JWK JSON), a file path (``str`` or
            :class:`os.PathLike`) holding PEM or JWK JSON, or a private JWK mapping
            (``kty`` RSA or EC, with ``d``).
        password: The passphrase of an encrypted PEM key.
        key_id: The ``kid`` to send; overrides a ``kid`` in the JWK.
        argument: The argument name used in error messages.

    Returns:
        The key with its algorithm: RS256 for RSA (or the JWK's ``alg``), ES256/384/512 for
        EC P-256/384/521.

    Raises:
        ConfigurationError: malformed or encrypted-without-password PEM, a public key or
            certificate, an unsupported key type or curve, an RSA key under 2048 bits, or a
            missing or unreadable file. The message never contains key material.
    """
    if key_id is not None and (not isinstance(key_id, str) or not key_id):
        raise _fail("must be a non-empty string", "key_id")
    if password is not None and not isinstance(password, str | bytes):
        raise _fail("must be str or bytes", "password")
    pw = password.encode() if isinstance(password, str) else password
    if isinstance(source, Mapping):
        return _from_jwk(source, key_id, argument)
    if isinstance(source, bytes | bytearray | memoryview):
        return _from_bytes(bytes(source), pw, key_id, argument)
    if isinstance(source, str):
        text = source.strip()
        if text.startswith(("-----BEGIN", "{")):
            return _from_bytes(text.encode(), pw, key_id, argument)
        if not text:
            raise _fail("is empty; give a PEM key, a file path or a JWK", argument)
        return _from_file(Path(text), pw, key_id, argument, show_path=False)
    if isinstance(source, os.PathLike):
        return _from_file(Path(os.fspath(source)), pw, key_id, argument, show_path=True)
    raise _fail(
        f"must be PEM text or bytes, a file path or a JWK dict, not {type(source).__name__}",
        argument,
    )


def _from_file(
    path: Path, password: bytes | None, key_id: str | None, argument: str, *, show_path: bool
) -> SigningKey:
    where = f" {str(path)!r}" if show_path else ""
    try:
        data = read_capped(path)
    except InputTooLargeError as exc:
        raise _fail(f"names a file{where} that {exc}", argument) from None
    except FileNotFoundError:
        hint = "" if show_path else " (the string is not a PEM key or JWK, so it is read as a path)"
        raise _fail(f"names no existing file{where}{hint}", argument) from None
    except IsADirectoryError:
        raise _fail(f"names a directory{where}, not a key file", argument) from None
    except OSError as exc:
        raise _fail(f"cannot read the key file{where}: {exc.strerror}", argument) from None
    except ValueError:
        # e.g. an embedded NUL: this was never a path.
        raise _fail("is not a PEM key, a JWK or a readable file path", argument) from None
    return _from_bytes(data, password, key_id, argument)


#: What the loader raises carries no chain: the key parsers' exceptions can hold key
#: material.
load_signing_key = unchained(_load_signing_key)
