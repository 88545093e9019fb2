"""What the command prints: tables for people, JSON for scripts, errors without secrets."""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

import attrs

from ..errors import (
    ApiError,
    DecodeError,
    InvalidArgumentError,
    OAuthError,
    OktaError,
    OktaTimeoutError,
    TransportError,
)
from ..models._converter import converter
from ..models.apps import Application
from ..models.connections import JsonWebKeySet, ProvisioningConnection

__all__ = [
    "Output",
    "app_to_json",
    "connection_to_json",
    "error_to_json",
    "jsonable",
    "silence",
]


def jsonable(value: Any) -> Any:
    """A JSON-ready copy of an unstructured model: enums as strings, None and [] dropped."""
    if isinstance(value, Mapping):
        return {
            str(k): jsonable(v) for k, v in value.items() if v is not None and v != [] and v != ()
        }
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


def connection_to_json(app_id: str, conn: ProvisioningConnection) -> dict[str, Any]:
    """The connection in Okta's wire shape, with the app id first."""
    body = jsonable(converter.unstructure(conn))
    return {"appId": app_id, **body}


def app_to_json(app: Application) -> dict[str, Any]:
    """An app in Okta's wire shape (the fields this SDK reads)."""
    out: dict[str, Any] = jsonable(converter.unstructure(app))
    return out


def jwks_to_json(app_id: str, jwks: JsonWebKeySet) -> dict[str, Any]:
    """A standard ``{"keys": [...]}`` document, with the app id."""
    return {"appId": app_id, **jwks.to_dict()}


def error_to_json(exc: BaseException) -> dict[str, Any]:
    """The error fields a script needs. Built from the SDK's fields, never a credential."""
    out: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, ApiError):
        out.update(
            status=exc.status,
            errorCode=exc.error_code,
            errorSummary=exc.error_summary,
            errorId=exc.error_id,
            errorCauses=list(exc.error_causes),
            requestId=exc.request_id,
            operation=exc.operation,
        )
    elif isinstance(exc, DecodeError):
        out.update(status=exc.status, requestId=exc.request_id)
    elif isinstance(exc, OAuthError):
        out.update(status=exc.status, error=exc.error)
    elif isinstance(exc, OktaTimeoutError):
        out.update(phase=exc.phase, method=exc.method, path=exc.path)
    elif isinstance(exc, TransportError):
        out.update(method=exc.method, path=exc.path)
    elif isinstance(exc, InvalidArgumentError):
        out.update(argument=exc.argument)
    return {k: v for k, v in out.items() if v is not None}


def describe_error(exc: BaseException) -> str:
    """One line for a person: Okta's errorCode and summary first, then status and request id."""
    if isinstance(exc, ApiError):
        head = " ".join(p for p in (exc.error_code, exc.error_summary) if p) or "(no error body)"
        if exc.error_causes:
            head += " (" + "; ".join(exc.error_causes) + ")"
        tail = [f"HTTP {exc.status}"]
        if exc.operation:
            tail.insert(0, exc.operation)
        if exc.request_id:
            tail.append(f"request id {exc.request_id}")
        return f"{head} [{', '.join(tail)}]"
    if isinstance(exc, InvalidArgumentError):
        # The library names its arguments (org_url, app_id); a person typed flags.
        text, prefix = str(exc), f"{exc.argument}: "
        name = CLI_NAMES.get(exc.argument)
        if name is not None and text.startswith(prefix):
            return f"{name}: {text[len(prefix) :]}"
        return text
    if isinstance(exc, OktaError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


#: The library's argument names as the command line knows them.
CLI_NAMES: dict[str, str] = {
    "org_url": "org URL",
    "app_id": "APP_ID",
    "app_name": "--app-name",
    "code": "--code",
    "state": "--state",
    "continue_url": "--continue-url",
    "profile": "--profile",
    "authorization_mode": "authorization mode",
    "client_id": "client id",
    "private_key": "private key",
    "key_id": "key id",
    "scopes": "scopes",
    "connect_timeout": "connectionTimeout",
    "request_timeout": "requestTimeout",
    "ca_bundle": "caBundle",
}


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def render_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain text table with a header row, columns padded to fit."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.extend(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )
    return "\n".join(line.rstrip() for line in lines)


def render_fields(fields: Sequence[tuple[str, Any]]) -> str:
    """``key: value`` lines, keys aligned."""
    width = max((len(k) for k, _ in fields), default=0)
    return "\n".join(f"{k + ':':<{width + 1}} {_cell(v)}" for k, v in fields)


def describe_connection(app_id: str, conn: ProvisioningConnection) -> str:
    """A person-readable view of a connection."""
    fields: list[tuple[str, Any]] = [
        ("app", app_id),
        ("auth scheme", conn.auth_scheme),
        ("status", conn.status),
    ]
    if conn.base_url:
        fields.append(("base URL", conn.base_url))
    if conn.profile.client_id:
        fields.append(("client id", conn.profile.client_id))
    if conn.profile.signing is not None:
        fields.append(("key rotation", conn.profile.signing.rotation_mode))
    links = [
        name
        for name in ("activate", "deactivate", "authorize")
        if getattr(conn.links, name) is not None
    ]
    fields.append(("actions", ", ".join(links) or "none"))
    if conn.links.authorize is not None:
        fields.append(("authorize at", conn.links.authorize.href))
    return render_fields(fields)


def silence(stream: TextIO) -> None:
    """Point ``stream`` at the null device: Python's flush at exit then raises nothing."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (AttributeError, ValueError, OSError):  # not a real file
        pass


@attrs.define
class Output:
    """Where and how to print: JSON (``--json`` or stdout not a TTY) or text for people."""

    json: bool
    stdout: TextIO = attrs.field(factory=lambda: sys.stdout)
    stderr: TextIO = attrs.field(factory=lambda: sys.stderr)

    def data(self, obj: Any) -> None:
        """One JSON document (or JSON line) on stdout."""
        self.stdout.write(json.dumps(obj, separators=(",", ":"), default=str) + "\n")
        self.stdout.flush()

    def text(self, message: str = "") -> None:
        """Text for people on stdout."""
        self.stdout.write(message + "\n")
        self.stdout.flush()

    def emit(self, obj: Any, human: str) -> None:
        """``obj`` as JSON in JSON mode, else ``human``."""
        if self.json:
            self.data(obj)
        else:
            self.text(human)

    def info(self, message: str) -> None:
        """A status line for people on stderr (kept out of stdout, which scripts read)."""
        self.stderr.write(message + "\n")
        self.stderr.flush()

    def error(
        self, exc: BaseException, *, context: str | None = None, hint: str | None = None
    ) -> None:
        """Report an error: one line on stderr (``hint`` says what to check next), and in JSON
        mode ``{"error": ...}`` on stdout."""
        line = describe_error(exc)
        if context:
            line = f"{context}: {line}"
        if hint:
            line = f"{line}; {hint}"
        self.info(f"okta-connections: {self.red('error:')} {line}")
        if self.json:
            body = error_to_json(exc)
            if hint:
                body["hint"] = hint
            try:
                self.data({"error": body})
            except BrokenPipeError:
                # The reader left (a pipeline whose next command failed first): the error
                # is on stderr, and the exit code is the error's, not the pipe's.
                silence(self.stdout)

    def red(self, text: str) -> str:
        """``text`` in red when stderr is a colour terminal and ``NO_COLOR`` is not set."""
        if not self.color:
            return text
        return f"\x1b[31m{text}\x1b[0m"

    @property
    def color(self) -> bool:
        """Colour on stderr: a terminal, ``TERM`` not ``dumb``, and no ``NO_COLOR``
        (https://no-color.org: any non-empty value turns colour off)."""
        import os

        if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
            return False
        try:
            return bool(self.stderr.isatty())
        except (AttributeError, ValueError, OSError):
            return False
