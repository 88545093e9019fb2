"""What one call through the pipeline is: its operation, and the exchange that carries it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs
import yarl

from .. import _json
from ..auth._base import AuthResponse, SideRequest
from ..config import Timeouts
from ..operations import Operation
from .retry import RetryPolicy

__all__ = ["HttpResponse", "Operation"]

TOKEN_BUCKET = "oauth2-token"


#: The token endpoint, as an operation of the pipeline: retried on 429, 5xx and transport
#: errors (a token request holds no state: a fresh assertion is signed for each attempt).
TOKEN = Operation("token", "POST", "/oauth2/v1/token", "", frozenset({200}))


@attrs.frozen
class HttpResponse:
    """A successful response, read in full."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    request_id: str | None
    attempts: int

    def json(self) -> Any:
        """The body decoded as JSON (raises ValueError when it is not JSON)."""
        return _json.loads(self.body)


@attrs.define(slots=True)
class _Exchange:
    """One call through the pipeline: what to send and how to retry it.

    API calls (``api=True``) are authorised by the strategy, shown to its ``on_response``
    hook, carry ``X-Okta-Retry-*`` headers on retries and raise their final error. Token
    requests carry their own credentials, built per attempt by ``prepare``, and return
    their final refusal for the strategy to read.
    """

    op: Operation
    url: yarl.URL
    bucket: str
    policy: RetryPolicy
    timeouts: Timeouts
    api: bool
    body: bytes | None = None
    content_type: str | None = None
    secrets: tuple[str, ...] = ()
    prepare: Callable[[], SideRequest] | None = None
    replay: Callable[[AuthResponse], bool] | None = None
    attempt: int = 0  # the attempt in progress, for log records
