"""okta_connections: an asyncio SDK for Okta's Application Connections API.

Quick start::

    from okta_connections import OktaClient, SSWSToken

    async with OktaClient("https://acme.okta.com", auth=SSWSToken(token)) as okta:
        conn = await okta.connections.get("0oafxqCAJWWGELFTYASJ")
"""

from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
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
        TokenState,
    )
    from .bulk import (
        BulkJob,
        BulkReport,
        BulkService,
        Changed,
        Journal,
        JournalError,
        JournalLockedError,
        JournalMismatchError,
        JournalWarning,
        Outcome,
        OutcomeStatus,
        PlannedCall,
        Progress,
        ReadBackError,
        eta_seconds,
    )
    from .client import OktaClient
    from .config import Timeouts
    from .consent import ContinueUrl, parse_continue_url
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
        TokenEndpointUnreachableError,
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
    from .options import Observability, Pacing
    from .pipeline.events import RequestEvent, ResponseEvent
    from .ratelimit import RateLimitInfo
    from .retry import RetryPolicy
    from .scale_out import ScaleOutReport
    from .services import ConnectionsService
    from .shared import SharedBudget
    from .transport import (
        AiohttpTransport,
        MockTransport,
        ProxySettings,
        Transport,
        TransportRequest,
        TransportResponse,
    )

__all__ = [
    "ContinueUrl",
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
    "BulkJob",
    "BulkReport",
    "BulkService",
    "Changed",
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
    "Journal",
    "JournalError",
    "JournalLockedError",
    "JournalMismatchError",
    "JournalWarning",
    "JsonWebKey",
    "JsonWebKeySet",
    "Link",
    "MockTransport",
    "NotFoundError",
    "OAuthApp",
    "OAuthConnection",
    "OAuthError",
    "Observability",
    "OktaClient",
    "OktaConnectionError",
    "OktaError",
    "OktaTimeoutError",
    "Outcome",
    "OutcomeStatus",
    "Pacing",
    "PlannedCall",
    "PrivateKeyJWT",
    "Progress",
    "ProvisioningConnection",
    "ProxySettings",
    "RateLimitError",
    "RateLimitInfo",
    "ReadBackError",
    "ReauthorizationRequired",
    "RefreshTokenAuth",
    "RequestEvent",
    "ResponseEvent",
    "ResponseTooLargeError",
    "RetryPolicy",
    "RotationMode",
    "SSWSToken",
    "ScaleOutReport",
    "ServerError",
    "SharedBudget",
    "SideRequest",
    "SigningSettings",
    "Timeouts",
    "TokenConnection",
    "TokenEndpointUnreachableError",
    "TokenState",
    "Transport",
    "TransportError",
    "TransportRequest",
    "TransportResponse",
    "UnauthorizedError",
    "eta_seconds",
    "parse_continue_url",
    "__version__",
]

# Public names are imported on first use (PEP 562): ``import okta_connections`` stays
# cheap, which matters because the pytest plugin (``okta_connections.testing.
# pytest_plugin``) is loaded into every test session of every user. A name added above
# must be added here too (tests/test_plugin_cost.py checks that every name resolves).
_WHERE: dict[str, str] = {
    "RequestEvent": ".pipeline.events",
    "ResponseEvent": ".pipeline.events",
    "Auth": ".auth",
    "AuthContext": ".auth",
    "AuthRequest": ".auth",
    "AuthResponse": ".auth",
    "BearerToken": ".auth",
    "PrivateKeyJWT": ".auth",
    "RefreshTokenAuth": ".auth",
    "SSWSToken": ".auth",
    "SideRequest": ".auth",
    "TokenState": ".auth",
    "OktaClient": ".client",
    "BulkJob": ".bulk",
    "BulkReport": ".bulk",
    "BulkService": ".bulk",
    "Changed": ".bulk",
    "Journal": ".bulk",
    "JournalError": ".bulk",
    "JournalLockedError": ".bulk",
    "JournalMismatchError": ".bulk",
    "JournalWarning": ".bulk",
    "Outcome": ".bulk",
    "OutcomeStatus": ".bulk",
    "PlannedCall": ".bulk",
    "Progress": ".bulk",
    "ReadBackError": ".bulk",
    "eta_seconds": ".bulk",
    "Timeouts": ".config",
    "Observability": ".options",
    "Pacing": ".options",
    "ContinueUrl": ".consent",
    "parse_continue_url": ".consent",
    "ApiError": ".errors",
    "AuthError": ".errors",
    "BadRequestError": ".errors",
    "ClientClosedError": ".errors",
    "ConfigurationError": ".errors",
    "ConflictError": ".errors",
    "DecodeError": ".errors",
    "ForbiddenError": ".errors",
    "InvalidArgumentError": ".errors",
    "NotFoundError": ".errors",
    "OAuthError": ".errors",
    "OktaConnectionError": ".errors",
    "OktaError": ".errors",
    "OktaTimeoutError": ".errors",
    "RateLimitError": ".errors",
    "ReauthorizationRequired": ".errors",
    "ResponseTooLargeError": ".errors",
    "ServerError": ".errors",
    "TokenEndpointUnreachableError": ".errors",
    "TransportError": ".errors",
    "UnauthorizedError": ".errors",
    "AuthScheme": ".models",
    "ConnectionLinks": ".models",
    "ConnectionProfile": ".models",
    "ConnectionStatus": ".models",
    "JsonWebKey": ".models",
    "JsonWebKeySet": ".models",
    "Link": ".models",
    "OAuthApp": ".models",
    "OAuthConnection": ".models",
    "ProvisioningConnection": ".models",
    "RotationMode": ".models",
    "SigningSettings": ".models",
    "TokenConnection": ".models",
    "RateLimitInfo": ".ratelimit",
    "RetryPolicy": ".retry",
    "ScaleOutReport": ".scale_out",
    "SharedBudget": ".shared",
    "ConnectionsService": ".services",
    "AiohttpTransport": ".transport",
    "MockTransport": ".transport",
    "ProxySettings": ".transport",
    "Transport": ".transport",
    "TransportRequest": ".transport",
    "TransportResponse": ".transport",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
