"""The table of operations: what each API call is, written once."""

from __future__ import annotations

import attrs

__all__ = ["Operation"]


@attrs.frozen
class Operation:
    """A static description of one API operation.

    Attributes:
        name: SDK name, e.g. ``"activate"``.
        method: HTTP method.
        path: Path template, for docs and logs.
        scope: The OAuth scope the operation needs.
        success: Status codes that mean success.
        idempotent: Whether a retry after the request may have reached Okta is safe.
        secret_params: Query parameters that are secrets (verify's one-time ``code``).
    """

    name: str
    method: str
    path: str
    scope: str
    success: frozenset[int]
    idempotent: bool = True
    secret_params: frozenset[str] = frozenset()
