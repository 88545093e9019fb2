"""The Application model, as far as picking bulk targets needs it."""

from __future__ import annotations

from typing import ClassVar

import attrs

from ._enum import LenientStrEnum

__all__ = ["AppStatus", "Application"]


class AppStatus(LenientStrEnum):
    """An app's lifecycle status. Unknown values are kept, not rejected."""

    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"
    DELETED = "DELETED"


@attrs.frozen
class Application:
    """An app in the org (``GET /api/v1/apps``); unknown fields are ignored.

    Attributes:
        id: The app id, e.g. ``0oafxqCAJWWGELFTYASJ``.
        name: The app's catalog name, e.g. ``okta_org2org``, ``zscalerbyz``, ``slack``.
        label: The display name an admin gave it.
        status: ACTIVE, INACTIVE (or a newer value).
        sign_on_mode: e.g. ``SAML_2_0``, ``BOOKMARK``, ``OPENID_CONNECT``.
        created: Creation timestamp as Okta sent it.
        last_updated: Last update timestamp as Okta sent it.
    """

    __okta_model__: ClassVar[bool] = True

    id: str
    name: str
    label: str | None = None
    status: AppStatus | None = None
    sign_on_mode: str | None = None
    created: str | None = None
    last_updated: str | None = None
