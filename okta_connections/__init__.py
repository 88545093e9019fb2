"""okta_connections: an asyncio SDK for Okta's Application Connections API.

Quick start::

    from okta_connections import OktaClient, SSWSToken

    async with OktaClient("https://acme.okta.com", auth=SSWSToken(token)) as okta:
        conn = await okta.connections.get("0oafxqCAJWWGELFTYASJ")
"""

from ._version import __version__
from .auth import (
    Auth,
    AuthContext,
    AuthRequest,
    AuthResponse,
    BearerToken,
    PrivateKeyJWT,
    RefreshTokenAuth,
    SideRequest,
    SSWSToken,
)
from .client import OktaClient
from .config import Timeouts
from .errors import (
    ApiError,
    AuthError,
    BadRequestError,
    ClientClosedError,
    ConfigurationError,
    ConflictError,
    DecodeError,
    ForbiddenError,
    InvalidArgumentError,
    NotFoundError,
    OAuthError,
    OktaConnectionError,
    OktaError,
    OktaTimeoutError,
    RateLimitError,
    ReauthorizationRequired,
    ResponseTooLargeError,
    ServerError,
    TransportError,
    UnauthorizedError,
)
from .models import (
    AuthScheme,
    ConnectionLinks,
    ConnectionProfile,
    ConnectionStatus,
    JsonWebKey,
    JsonWebKeySet,
    Link,
    OAuthApp,
    OAuthConnection,
    ProvisioningConnection,
    RotationMode,
    SigningSettings,
    TokenConnection,
)
from .ratelimit import RateLimitInfo
from .retry import RetryPolicy
from .services import ConnectionsService
from .transport import (
    AiohttpTransport,
    MockTransport,
    ProxySettings,
    Transport,
    TransportRequest,
    TransportResponse,
)

__all__ = [
    "AiohttpTransport",
    "ApiError",
    "Auth",
    "AuthContext",
    "AuthError",
    "AuthRequest",
    "AuthResponse",
    "AuthScheme",
    "BadRequestError",
    "BearerToken",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "ConnectionLinks",
    "ConnectionProfile",
    "ConnectionStatus",
    "ConnectionsService",
    "DecodeError",
    "ForbiddenError",
    "InvalidArgumentError",
    "JsonWebKey",
    "JsonWebKeySet",
    "Link",
    "MockTransport",
    "NotFoundError",
    "OAuthApp",
    "OAuthConnection",
    "OAuthError",
    "OktaClient",
    "OktaConnectionError",
    "OktaError",
    "OktaTimeoutError",
    "PrivateKeyJWT",
    "ProvisioningConnection",
    "ProxySettings",
    "RateLimitError",
    "RateLimitInfo",
    "ReauthorizationRequired",
    "ResponseTooLargeError",
    "RefreshTokenAuth",
    "RetryPolicy",
    "RotationMode",
    "SSWSToken",
    "ServerError",
    "SideRequest",
    "SigningSettings",
    "Timeouts",
    "TokenConnection",
    "Transport",
    "TransportError",
    "TransportRequest",
    "TransportResponse",
    "UnauthorizedError",
    "__version__",
]
