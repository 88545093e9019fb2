"""Typed models of the Okta API, and the one converter that maps them to JSON."""

from ._converter import converter
from ._enum import LenientStrEnum
from .apps import Application, AppStatus
from .connections import (
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

__all__ = [
    "AppStatus",
    "Application",
    "AuthScheme",
    "ConnectionLinks",
    "ConnectionProfile",
    "ConnectionStatus",
    "JsonWebKey",
    "JsonWebKeySet",
    "LenientStrEnum",
    "Link",
    "OAuthApp",
    "OAuthConnection",
    "ProvisioningConnection",
    "RotationMode",
    "SigningSettings",
    "TokenConnection",
    "converter",
]
