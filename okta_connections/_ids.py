"""Identifiers read off the wire: Okta's request ids, and the app id in a request path."""

from __future__ import annotations

import re

__all__ = ["app_id_of"]


def app_id_of(path: str) -> str | None:
    """The app id of an ``/api/v1/apps/{id}/...`` path, else None."""
    if path.startswith("/api/v1/apps/"):
        app = path[13:].split("/", 1)[0]
        return app or None
    return None


_REQUEST_ID = re.compile(r"[A-Za-z0-9_.:@+=-]{1,128}")


def _plain_request_id(value: str) -> bool:
    """Whether an ``X-Okta-Request-Id`` looks like Okta's (so it is safe to repeat)."""
    return _REQUEST_ID.fullmatch(value) is not None
