"""One of each auth strategy, by name, with the pipeline tests' credentials: for the tests
that every strategy keeps its secrets out of errors."""

from __future__ import annotations

from collections.abc import Callable

from okta_connections import (
    Auth,
    AuthRequest,
    BearerToken,
    PrivateKeyJWT,
    RefreshTokenAuth,
    SSWSToken,
)
from tests.support.constants import SECRET
from tests.support.keys import pem, rsa_key
from tests.support.oauth_server import CLIENT_ID

CLIENT_SECRET = "cs-PIPELINE-secret-0123456789"
REFRESH = "rt-PIPELINE-refresh-abcdefghij"


class VaultToken(Auth):
    """A user's own strategy: a header of its own choosing."""

    async def authorize(self, request: AuthRequest) -> None:
        request.headers["X-Vault-Token"] = "vault-PIPELINE-token-77"


async def _vault_provider() -> str:
    return "bearer-from-provider-PIPELINE-1"


STRATEGIES: dict[str, Callable[[], Auth]] = {
    "ssws": lambda: SSWSToken(SECRET),
    "bearer": lambda: BearerToken("bearer-PIPELINE-token-123456"),
    "bearer provider": lambda: BearerToken(_vault_provider),
    "private_key_jwt": lambda: PrivateKeyJWT(CLIENT_ID, pem(rsa_key())),
    "private_key_jwt dpop": lambda: PrivateKeyJWT(CLIENT_ID, pem(rsa_key()), dpop=True),
    "refresh token": lambda: RefreshTokenAuth(
        "/oauth2/v1/token", REFRESH, client_id="0oaCONN", client_secret=CLIENT_SECRET
    ),
    "refresh token, public": lambda: RefreshTokenAuth(
        "/oauth2/v1/token", REFRESH, client_id="0oaCONN"
    ),
    "custom": VaultToken,
}
