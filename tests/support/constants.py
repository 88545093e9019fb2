"""The values the tests share: the SSWS token, an app id, a connection body, bulk ids."""

from __future__ import annotations

from typing import Any

SECRET = "00SECRETtokenValue-abcdefghijklmnopqrstu"
APP_ID = "0oafxqCAJWWGELFTYASJ"

CONNECTION_BODY: dict[str, Any] = {
    "authScheme": "TOKEN",
    "status": "ENABLED",
    "baseUrl": "https://scim.zscalerbeta.net/1234567/890/scim",
    "profile": {"authScheme": "TOKEN"},
    "_links": {
        "self": {
            "href": f"https://acme.okta.com/api/v1/apps/{APP_ID}/connections/default",
            "hints": {"allow": ["GET", "POST"]},
        },
        "deactivate": {
            "href": f"https://acme.okta.com/api/v1/apps/{APP_ID}/connections/default/lifecycle/deactivate",
            "hints": {"allow": ["POST"]},
        },
    },
}


def bulk_ids(n: int) -> list[str]:
    """``n`` distinct, valid app ids."""
    return [f"0oa{i:017d}" for i in range(n)]
