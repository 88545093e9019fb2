"""The OAuth tests' known secrets: a client secret, a private key's PEM, and everything
secret a loopback OAuth server saw or issued, to look for in logs, reprs and errors."""

from __future__ import annotations

from jwt.algorithms import RSAAlgorithm

from tests.support.keys import pem, rsa_key
from tests.support.oauth_server import OAuthServer

CLIENT_SECRET = "cs-KNOWN-secret-value-9876543210"
KEY_PEM = pem(rsa_key())


def known_secrets(server: OAuthServer) -> list[str]:
    """CLIENT_SECRET, KEY_PEM's key material and every credential ``server`` saw or issued."""
    secrets = [CLIENT_SECRET]
    secrets += [line for line in KEY_PEM.splitlines() if not line.startswith("-----")]
    jwk = RSAAlgorithm.to_jwk(rsa_key(), as_dict=True)
    secrets += [str(jwk[m]) for m in ("d", "p", "q", "dp", "dq", "qi")]
    secrets += server.seen_assertions + server.seen_proofs
    secrets += server.issued_access + server.issued_refresh
    secrets += server.seen_basic + [b.removeprefix("Basic ") for b in server.seen_basic]
    # Signed JWTs are also checked by their signature part, the piece nothing else shares.
    secrets += [jws.rsplit(".", 1)[-1] for jws in server.seen_assertions + server.seen_proofs]
    return [s for s in secrets if s]
