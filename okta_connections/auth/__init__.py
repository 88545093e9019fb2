"""Auth strategies. Pass one to ``OktaClient(auth=...)``; write your own by subclassing Auth."""

from ._base import Auth, AuthContext, AuthRequest, AuthResponse, SendFunc, SideRequest
from ._private_key import PrivateKeyJWT
from ._refresh_token import RefreshTokenAuth
from ._static import BearerToken, SSWSToken
from ._token import TokenState

__all__ = [
    "Auth",
    "AuthContext",
    "AuthRequest",
    "AuthResponse",
    "BearerToken",
    "PrivateKeyJWT",
    "RefreshTokenAuth",
    "SSWSToken",
    "SendFunc",
    "SideRequest",
    "TokenState",
]
