"""The log fields of an auth strategy's records: the same as the pipeline's."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .._ids import _plain_request_id, app_id_of
from .._redact import holds_secret
from ..ratelimit.headers import header_remaining

if TYPE_CHECKING:
    from ._base import AuthResponse

__all__ = ["auth_log_fields"]


def auth_log_fields(
    operation: str | None,
    *,
    path: str | None = None,
    response: AuthResponse | None = None,
    bucket: str | None = None,
    secrets: Iterable[str] = (),
    **more: Any,
) -> dict[str, Any]:
    """The ``extra`` of an auth strategy's log record: the same fields as the pipeline's.

    The request id is left out unless it is Okta's and holds none of ``secrets``."""
    request_id = None if response is None else response.headers.get("X-Okta-Request-Id")
    if request_id and holds_secret(request_id, secrets):
        request_id = None
    return {
        "operation": operation,
        "app_id": None if path is None else app_id_of(path),
        "status": None if response is None else response.status,
        "attempt": None,
        "request_id": request_id if request_id and _plain_request_id(request_id) else None,
        "bucket": bucket,
        "remaining": None if response is None else header_remaining(response.headers),
        **more,
    }
