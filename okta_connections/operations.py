"""The table of operations: what each API call is, written once.

Each row says an operation's HTTP method, path template, OAuth scope, idempotency, success
statuses, response model, rate-limit bucket and secret query parameters. The services
build their paths from it (:meth:`Operation.path_for`), the bulk dry-run plans and the CLI
read it, and the README's table of operations is generated from it::

    python -m okta_connections.operations --markdown

The fake org (:mod:`okta_connections.testing`) and the conformance test keep their own
tables on purpose: they are there to catch a wrong row here. ``tests/test_operations.py``
compares this table with Okta's OpenAPI spec.
"""

from __future__ import annotations

import re
import sys
import urllib.parse
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import attrs

from .models.apps import Application
from .models.connections import JsonWebKeySet, ProvisioningConnection
from .ratelimit.headers import bucket_for

__all__ = ["TABLE", "Operation", "markdown_table"]

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _snake(name: str) -> str:
    """``appId`` -> ``app_id``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _segment(value: str) -> str:
    """One path parameter, percent-encoded unless it is plain letters and digits; never
    empty, ``.`` or ``..`` (a path that would mean another resource)."""
    if value.isascii() and value.isalnum():
        return value  # every valid app id and app name: nothing to encode
    if value in ("", ".", ".."):
        raise ValueError(f"{value!r} is not a path parameter")
    return urllib.parse.quote(value, safe="")


@attrs.frozen
class Operation:
    """A static description of one API operation.

    Attributes:
        name: SDK name, e.g. ``"activate"``.
        method: HTTP method.
        path: Path template in the spec's spelling, e.g.
            ``/api/v1/apps/{appId}/connections/default``; for docs, logs and spans.
        scope: The OAuth scope the operation needs.
        success: Status codes that mean success.
        idempotent: Whether a retry after the request may have reached Okta is safe.
        secret_params: Query parameters that are secrets (verify's one-time ``code``).
        response: The model a success decodes into (each item's, for a paged list), or
            None when a success has no body.
        bucket: The rate-limit bucket the operation draws from (by default the one of its
            path, :func:`okta_connections.ratelimit.bucket_for`).
        summary: One line for the docs.
        call: The SDK call, as the docs show it, e.g. ``connections.get(app_id)``.
        command: The ``okta-connections`` command that runs it, or ``""``.
        paged: Whether the answer is a list that continues at its ``Link: rel="next"``.
    """

    name: str
    method: str
    path: str
    scope: str
    success: frozenset[int]
    idempotent: bool = True
    secret_params: frozenset[str] = frozenset()
    response: type[Any] | None = attrs.field(default=None, kw_only=True)
    bucket: str = attrs.field(kw_only=True)
    summary: str = attrs.field(default="", kw_only=True)
    call: str = attrs.field(default="", kw_only=True)
    command: str = attrs.field(default="", kw_only=True)
    paged: bool = attrs.field(default=False, kw_only=True)
    # The template cut at its parameters: literal, parameter, literal, ... (for path_for).
    _pieces: tuple[str, ...] = attrs.field(init=False, repr=False, eq=False)

    @bucket.default
    def _bucket_of_path(self) -> str:
        return bucket_for(self.path)

    @_pieces.default
    def _cut_path(self) -> tuple[str, ...]:
        parts = _PLACEHOLDER.split(self.path)
        return tuple(_snake(p) if i % 2 else p for i, p in enumerate(parts))

    @property
    def path_params(self) -> tuple[str, ...]:
        """The keyword names :meth:`path_for` takes, in path order, e.g. ``("app_id",)``."""
        return self._pieces[1::2]

    def path_for(self, **params: str) -> str:
        """The request path with its parameters filled in, each percent-encoded.

        >>> TABLE["activate"].path_for(app_id="0oa1")
        '/api/v1/apps/0oa1/connections/default/lifecycle/activate'

        Raises:
            TypeError: a path parameter is missing, or one is given that the path has not.
            ValueError: a parameter is empty, ``.`` or ``..``.
        """
        pieces = self._pieces
        try:
            if len(pieces) == 3 and len(params) == 1:  # one parameter: the common case
                return pieces[0] + _segment(params[pieces[1]]) + pieces[2]
            if len(params) == len(pieces) // 2:
                out = [pieces[0]]
                for i in range(1, len(pieces), 2):
                    out += (_segment(params[pieces[i]]), pieces[i + 1])
                return "".join(out)
        except KeyError:
            pass
        raise TypeError(
            f"{self.name}: takes the path parameters {list(self.path_params)}, not {sorted(params)}"
        )

    def _app_path(self, app_id: str) -> str:
        """:meth:`path_for` of an operation whose one parameter is ``app_id``, for an id
        already checked as letters and digits (``check_app_id``): nothing to encode."""
        pieces = self._pieces
        return pieces[0] + app_id + pieces[2]

    def describe(self) -> str:
        """The line the service docstrings show, e.g.
        ``GET /api/v1/apps`` (scope ``okta.apps.read``; success 200)."""
        statuses = " or ".join(str(s) for s in sorted(self.success))
        scope = f"scope ``{self.scope}``; " if self.scope else ""
        return f"``{self.method} {self.path}`` ({scope}success {statuses})."


_CONN = "/api/v1/apps/{appId}/connections/default"

_ROWS: Sequence[Operation] = (
    Operation(
        "get",
        "GET",
        _CONN,
        "okta.apps.read",
        frozenset({200}),
        response=ProvisioningConnection,
        bucket="apps",
        summary="Retrieve the default provisioning connection of an app.",
        call="connections.get(app_id)",
        command="get",
    ),
    # Okta answers 200; older orgs and specs 201. Both are success.
    Operation(
        "update",
        "POST",
        _CONN,
        "okta.apps.manage",
        frozenset({200, 201}),
        response=ProvisioningConnection,
        bucket="apps",
        summary="Set (replace) the default provisioning connection of an app.",
        call="connections.update(app_id, conn, activate=None)",
        command="update",
    ),
    Operation(
        "activate",
        "POST",
        _CONN + "/lifecycle/activate",
        "okta.apps.manage",
        frozenset({204}),
        bucket="apps",
        summary="Activate the default provisioning connection of an app.",
        call="connections.activate(app_id)",
        command="activate",
    ),
    Operation(
        "deactivate",
        "POST",
        _CONN + "/lifecycle/deactivate",
        "okta.apps.manage",
        frozenset({204}),
        bucket="apps",
        summary="Deactivate the default provisioning connection of an app.",
        call="connections.deactivate(app_id)",
        command="deactivate",
    ),
    Operation(
        "get_jwks",
        "GET",
        _CONN + "/jwks",
        "okta.apps.read",
        frozenset({200}),
        response=JsonWebKeySet,
        bucket="apps",
        summary="Retrieve the JSON Web Key Set of an Org2Org OAuth connection.",
        call="connections.get_jwks(app_id)",
        command="jwks",
    ),
    # The code in the query is single-use: never repeat a verify that may have reached Okta.
    Operation(
        "verify",
        "POST",
        "/api/v1/apps/{appName}/{appId}/oauth2/callback",
        "okta.apps.manage",
        frozenset({204}),
        idempotent=False,
        secret_params=frozenset({"code", "state"}),
        bucket="apps",
        summary="Complete an OAuth consent flow with the third party's callback values.",
        call="connections.verify(app_name, app_id, code=, state=)",
        command="verify",
    ),
    Operation(
        "list_apps",
        "GET",
        "/api/v1/apps",
        "okta.apps.read",
        frozenset({200}),
        response=Application,
        bucket="apps",
        summary="Iterate over the org's apps, page by page.",
        call="apps.list(q=None, filter=None, limit=None)",
        command="apps list",
        paged=True,
    ),
)

#: Every operation of the API, by SDK name, in the order the docs show them.
TABLE: Mapping[str, Operation] = MappingProxyType({op.name: op for op in _ROWS})


def _returns(op: Operation) -> str:
    name = "None" if op.response is None else op.response.__name__
    if op.paged:
        return f"`AsyncIterator[{name}]`"
    statuses = " or ".join(str(s) for s in sorted(op.success))
    if op.response is None or len(op.success) > 1:
        return f"`{name}` ({statuses})"
    return f"`{name}`"


def markdown_table(ops: Mapping[str, Operation] = TABLE) -> str:
    """The README's table of operations, generated from ``ops`` (Markdown, one row each)."""
    lines = [
        "| Method | HTTP | Scope | Returns | CLI |",
        "|---|---|---|---|---|",
    ]
    for op in ops.values():
        command = f"`{op.command}`" if op.command else ""
        lines.append(
            f"| `{op.call or op.name}` | `{op.method} {op.path}` | `{op.scope}` "
            f"| {_returns(op)} | {command} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m okta_connections.operations --markdown``: print the README's table."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args != ["--markdown"]:
        print("usage: python -m okta_connections.operations --markdown", file=sys.stderr)
        return 2
    sys.stdout.write(markdown_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
