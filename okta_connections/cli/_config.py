"""Settings as the command sees them: worded in flags and variables, shown by ``config show``."""

from __future__ import annotations

import argparse
from typing import Any

import attrs
import yarl

from .._validation import is_loopback
from ..config import Settings, Timeouts, config_paths, load_settings
from ..errors import (
    ConfigurationError,
    ForbiddenError,
    OktaConnectionError,
    UnauthorizedError,
)
from ..operations import TABLE
from ._output import Output, render_fields

__all__ = [
    "cmd_config_show",
    "connect_hint",
    "credential_hint",
    "error_hint",
    "scope_hint",
    "server_hint",
    "resolve_settings",
    "source_of",
]

# Settings field -> (what a person calls it, its variable, its okta.yaml key, a flag or None)
_NEEDED: dict[str, tuple[str, str, str, str | None]] = {
    "org_url": ("org URL", "OKTA_CLIENT_ORGURL", "orgUrl", "--org URL"),
    "token": ("API token", "OKTA_CLIENT_TOKEN", "token", None),
    "client_id": ("client id", "OKTA_CLIENT_CLIENTID", "clientId", None),
    "private_key": ("private key", "OKTA_CLIENT_PRIVATEKEY", "privateKey", None),
}
_SECRET_FIELDS = frozenset({"token", "private_key", "proxy"})


def _section(settings: Settings) -> str:
    return f"okta.profiles.{settings.profile}" if settings.profile else "okta.client"


def _missing(settings: Settings, field: str) -> ConfigurationError:
    what, var, key, flag = _NEEDED[field]
    argument = flag.split()[0] if flag else f"${var}"
    ways = [f"pass {flag}"] if flag else []
    ways += [f"set ${var}", f"add {key} under {_section(settings)} in ./okta.yaml or "
             "~/.okta/okta.yaml"]  # fmt: skip
    text = f"no {what}: " + ", ".join(ways[:-1]) + ", or " + ways[-1]
    if field == "token":
        text += " (there is no --token flag: other users can read argv in ps)"
    return ConfigurationError(argument, text)


def resolve_settings(args: argparse.Namespace) -> Settings:
    """The settings for this run (--org, --profile, OKTA_CLIENT_*, okta.yaml), checked, with
    errors worded for the command line; kept on ``args`` for the error hints."""
    settings = with_flags(
        load_settings(getattr(args, "profile", None), org_url=getattr(args, "org", None)), args
    )
    needed = ["org_url"]
    if settings.authorization_mode in ("SSWS", "Bearer"):
        needed.append("token")
    else:
        needed += ["client_id", "private_key"]
    for field in needed:
        if not getattr(settings, field):
            raise _missing(settings, field)
    args.resolved_settings = settings
    return settings


def with_flags(settings: Settings, args: argparse.Namespace) -> Settings:
    """Settings with the global flags that are not okta.yaml fields applied."""
    budget = getattr(args, "shared_budget", None)
    if budget is None:
        return settings
    sources = {**settings.sources, "shared_budget": "--shared-budget"}
    return attrs.evolve(settings, shared_budget=budget, sources=sources)


def source_of(settings: Settings, field: str) -> str:
    where = settings.sources.get(field)
    if where is None:
        return "default" if field in ("authorization_mode", "scopes") else "not set"
    if where == "argument org_url":
        return "--org"
    return where


def _credential_sources(settings: Settings) -> str:
    if settings.authorization_mode == "PrivateKey":
        return (
            f"the client id came from {source_of(settings, 'client_id')} and the private key "
            f"from {source_of(settings, 'private_key')}"
        )
    return f"the {settings.authorization_mode} token came from {source_of(settings, 'token')}"


def credential_hint(args: argparse.Namespace) -> str | None:
    """Where the credential of this run came from, for a 401 (None before settings)."""
    settings: Settings | None = getattr(args, "resolved_settings", None)
    if settings is None:
        return None
    profile = f" (profile {settings.profile})" if settings.profile else ""
    return (
        f"{_credential_sources(settings)}{profile}; check that it is valid for "
        f"{settings.org_url} and not revoked (okta-connections config show)"
    )


def error_hint(exc: BaseException, args: argparse.Namespace) -> str | None:
    """What to check next: for a 401, where the credential came from; for a 403, the scope
    the operation needs (from the table of operations). (TLS spoken to a plain-HTTP
    loopback server already says to use http://, from the transport.)"""
    if isinstance(exc, UnauthorizedError):
        return credential_hint(args)
    if isinstance(exc, ForbiddenError):
        return scope_hint(exc.operation, exc.required_scope)
    if isinstance(exc, OktaConnectionError) and not exc.request_sent:
        return connect_hint(exc, args)
    return None


def connect_hint(exc: OktaConnectionError, args: argparse.Namespace) -> str | None:
    """For a connection nobody answered (refused, no such host): is the server running, and
    is the org URL right? (Not for a proxy or TLS failure: their messages say what to fix.)"""
    if not str(exc).partition(": ")[2].startswith("cannot connect to "):
        return None
    if "via the proxy" in str(exc):
        return None
    return server_hint(args)


def server_hint(args: argparse.Namespace) -> str | None:
    """Is the server at the org URL running, and is the URL right (and where it came from)."""
    settings: Settings | None = getattr(args, "resolved_settings", None)
    if settings is None:
        return None
    host = yarl.URL(settings.org_url or "").host or ""
    fake = " (okta-connections fake-server prints its URL)" if is_loopback(host) else ""
    return (
        f"nothing answered at {settings.org_url}: is the server running{fake}, and is the org "
        f"URL right? It came from {source_of(settings, 'org_url')} (okta-connections config show)"
    )


def scope_hint(operation: str | None, required_scope: str | None = None) -> str | None:
    """For a 403: the OAuth scope the operation needs: the one Okta named in its
    ``WWW-Authenticate`` challenge when it did, else the table's (None if unknown)."""
    op = TABLE.get(operation or "")
    scope = required_scope or (op.scope if op is not None else None)
    if not scope:
        return None
    name = op.name if op is not None else "the call"
    return (
        f"{name} needs the {scope} scope: an OAuth service app must be granted it and "
        "request it (scopes); an API token's admin needs a role that allows it"
    )


def _shown(settings: Settings, field: str) -> Any:
    value = getattr(settings, field)
    if value is None:
        return None
    if field in _SECRET_FIELDS:
        return "*** (hidden)"
    if field == "shared_budget":
        from ..ratelimit.budget import masked_url

        return masked_url(value)  # the host is useful, the password is hidden
    if isinstance(value, tuple):
        return " ".join(value)
    return value


_SHOW: tuple[tuple[str, str], ...] = (
    ("orgUrl", "org_url"),
    ("authorizationMode", "authorization_mode"),
    ("token", "token"),
    ("clientId", "client_id"),
    ("scopes", "scopes"),
    ("privateKey", "private_key"),
    ("kid", "key_id"),
    ("connectionTimeout", "connect_timeout"),
    ("requestTimeout", "request_timeout"),
    ("proxy", "proxy"),
    ("caBundle", "ca_bundle"),
    ("rateLimit.sharedBudget", "shared_budget"),
)


async def cmd_config_show(args: argparse.Namespace, out: Output) -> int:
    """Print the resolved settings and where each came from; secrets are never shown."""
    settings = with_flags(
        load_settings(getattr(args, "profile", None), org_url=getattr(args, "org", None)), args
    )
    timeouts = settings.timeouts(Timeouts())
    rows: list[tuple[str, Any, str]] = [
        (key, _shown(settings, field), source_of(settings, field)) for key, field in _SHOW
    ]
    files = [(str(p), p.is_file()) for p in reversed(config_paths())]
    profile_source = (
        "--profile" if getattr(args, "profile", None) else "$OKTA_CLIENT_PROFILE"
    ) if settings.profile else "none"  # fmt: skip
    if out.json:
        out.data(
            {
                "profile": {"value": settings.profile, "source": profile_source},
                "settings": {k: {"value": v, "source": s} for k, v, s in rows},
                "timeouts": {
                    "connect": timeouts.connect,
                    "total": timeouts.total,
                    "deadline": timeouts.deadline,
                },
                "files": [{"path": p, "exists": e} for p, e in files],
            }
        )
        return 0
    fields: list[tuple[str, Any]] = [("profile", f"{settings.profile or '-'}  ({profile_source})")]
    for key, value, source in rows:
        fields.append((key, f"{'-' if value is None else value}  ({source})"))
    fields.append(
        ("timeouts", f"connect {timeouts.connect:g} s, attempt {timeouts.total:g} s, "
         f"call {timeouts.deadline:g} s")
    )  # fmt: skip
    out.text(render_fields(fields))
    out.text("files, highest first:")
    for path, exists in files:
        out.text(f"  {path}  ({'read' if exists else 'not found'})")
    return 0
