"""Client settings: timeouts, and where to connect from arguments, env or okta.yaml."""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from ._files import InputTooLargeError, decode_text, read_capped
from ._redact import unchained
from .errors import ConfigurationError

__all__ = ["AUTH_MODES", "Settings", "Timeouts", "config_paths", "load_settings"]


def _positive(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(
            f"timeouts.{attribute.name}", f"must be a number of seconds, not {value!r}"
        )
    if not math.isfinite(value) or value <= 0:
        raise ConfigurationError(
            f"timeouts.{attribute.name}",
            f"must be a positive, finite number of seconds (got {value!r}); "
            "'no timeout' is not offered because a hung server would hang the caller",
        )


@attrs.frozen
class Timeouts:
    """Timeouts, in seconds. None of them can be disabled.

    Args:
        connect: Establishing the TCP/TLS connection.
        total: One attempt, from sending the request to reading the whole body.
        deadline: One call, across all its attempts and the waits between them.

    Example:
        >>> Timeouts(connect=5, total=30)
        Timeouts(connect=5, total=30, deadline=180.0)
    """

    connect: float = attrs.field(default=10.0, validator=_positive)
    total: float = attrs.field(default=60.0, validator=_positive)
    deadline: float = attrs.field(default=180.0, validator=_positive)

    @classmethod
    def coerce(cls, value: Timeouts | float | None, base: Timeouts) -> Timeouts:
        """A per-call override: a Timeouts, a number (the per-attempt total), or None."""
        if value is None:
            return base
        if isinstance(value, Timeouts):
            return value
        return attrs.evolve(base, total=value)


# --------------------------------------------------------------------------- settings files

ENV_PREFIX = "OKTA_CLIENT_"

#: okta.yaml key -> (Settings field, environment variable)
_FIELDS: dict[str, tuple[str, str]] = {
    "orgUrl": ("org_url", "OKTA_CLIENT_ORGURL"),
    "token": ("token", "OKTA_CLIENT_TOKEN"),
    "authorizationMode": ("authorization_mode", "OKTA_CLIENT_AUTHORIZATIONMODE"),
    "clientId": ("client_id", "OKTA_CLIENT_CLIENTID"),
    "scopes": ("scopes", "OKTA_CLIENT_SCOPES"),
    "privateKey": ("private_key", "OKTA_CLIENT_PRIVATEKEY"),
    "kid": ("key_id", "OKTA_CLIENT_KEYID"),
}
#: okta.yaml key -> (Settings field, environment variable) for the numeric timeouts.
_TIMEOUT_FIELDS: dict[str, tuple[str, str]] = {
    "connectionTimeout": ("connect_timeout", "OKTA_CLIENT_CONNECTIONTIMEOUT"),
    "requestTimeout": ("request_timeout", "OKTA_CLIENT_REQUESTTIMEOUT"),
}
#: Keys of the ``proxy`` block, with the environment variable of each.
_PROXY_KEYS: dict[str, str] = {
    "host": "OKTA_CLIENT_PROXY_HOST",
    "port": "OKTA_CLIENT_PROXY_PORT",
    "username": "OKTA_CLIENT_PROXY_USERNAME",
    "password": "OKTA_CLIENT_PROXY_PASSWORD",
}
#: Keys of ``okta.client`` that the official SDKs define and this SDK does not use. They
#: are accepted silently; any other unknown key gets a warning naming it.
_OFFICIAL_UNUSED: dict[str, frozenset[str] | None] = {
    "userAgent": None,
    "cache": frozenset({"enabled", "defaultTtl", "defaultTti"}),
    "logging": frozenset({"enabled", "logLevel"}),
    "rateLimit": frozenset({"maxRetries", "sharedBudget"}),  # sharedBudget is ours
    "oauthTokenRenewalOffset": None,
    "dpopEnabled": None,
    "dpopKeyRotationInterval": None,
}
#: Keys this SDK adds to the official layout.
_OURS = {"caBundle": ("ca_bundle", "OKTA_CLIENT_CABUNDLE")}
#: ``rateLimit.sharedBudget`` (ours): the Redis URL of a budget shared across processes.
SHARED_BUDGET_VAR = "OKTA_CLIENT_RATELIMIT_SHAREDBUDGET"
_TOP_LEVEL = frozenset({"client", "profiles", "testing"})
_SECRET_KEYS = frozenset({"token", "privateKey", "clientSecret", "proxy"})
AUTH_MODES = ("SSWS", "Bearer", "PrivateKey")
DEFAULT_SCOPES = ("okta.apps.read", "okta.apps.manage")


@attrs.frozen
class Settings:
    """Where to connect and how to authenticate, resolved from every source.

    Attributes:
        org_url: The org URL.
        authorization_mode: ``SSWS``, ``Bearer`` or ``PrivateKey``.
        token: The API token (SSWS) or access token (Bearer). Hidden in ``repr``.
        client_id: The service app's client id (PrivateKey).
        scopes: OAuth scopes (PrivateKey).
        private_key: A PEM string or a path to one (PrivateKey). Hidden in ``repr``.
        key_id: The key's ``kid`` (PrivateKey), when the app has several keys.
        connect_timeout: ``connectionTimeout`` in seconds; 0 or unset means the default.
        request_timeout: ``requestTimeout`` in seconds, the whole call across retries (our
            ``Timeouts.deadline``); 0 or unset means the default (there is no "never").
        proxy: The proxy URL built from the ``proxy`` block (``host``, ``port``,
            ``username``, ``password``). Hidden in ``repr``.
        ca_bundle: Path of a CA bundle to trust (``caBundle``, this SDK's key).
        shared_budget: Redis URL of a rate budget shared across processes
            (``rateLimit.sharedBudget``, this SDK's key). Hidden in ``repr`` (a password).
        profile: The named profile used, if any.
        sources: For each field, where its value came from (for error messages).
    """

    org_url: str | None = None
    authorization_mode: str = "SSWS"
    token: str | None = attrs.field(default=None, repr=lambda v: "None" if v is None else "'***'")
    client_id: str | None = None
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    private_key: str | None = attrs.field(
        default=None, repr=lambda v: "None" if v is None else "'***'"
    )
    key_id: str | None = None
    connect_timeout: float | None = None
    request_timeout: float | None = None
    proxy: str | None = attrs.field(default=None, repr=lambda v: "None" if v is None else "'***'")
    ca_bundle: str | None = None
    shared_budget: str | None = attrs.field(
        default=None, repr=lambda v: "None" if v is None else "'***'"
    )
    profile: str | None = None
    sources: dict[str, str] = attrs.field(factory=dict, repr=False, eq=False)

    def timeouts(self, base: Timeouts | None = None) -> Timeouts:
        """``base`` (default :class:`Timeouts`) with ``connectionTimeout`` and
        ``requestTimeout`` applied; the official SDKs' 0 ("disabled") keeps the default."""
        base = base or Timeouts()
        changes: dict[str, float] = {}
        if self.connect_timeout:
            changes["connect"] = self.connect_timeout
        if self.request_timeout:
            changes["deadline"] = self.request_timeout
        return attrs.evolve(base, **changes) if changes else base


def _coerce_scopes(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        scopes = tuple(s for s in value.replace(",", " ").split() if s)
    elif isinstance(value, list | tuple) and all(isinstance(s, str) for s in value):
        scopes = tuple(s.strip() for s in value if s.strip())
    else:
        raise ConfigurationError("scopes", f"{where}: must be a list of strings or a string")
    if not scopes:
        raise ConfigurationError("scopes", f"{where}: must name at least one scope")
    return scopes


def _coerce_mode(value: Any, where: str) -> str:
    if isinstance(value, str):
        for mode in AUTH_MODES:
            if value.strip().lower() == mode.lower():
                return mode
    raise ConfigurationError(
        "authorization_mode", f"{where}: {value!r} is not one of {', '.join(AUTH_MODES)}"
    )


def _coerce_seconds(field: str, value: Any, where: str) -> float:
    if isinstance(value, str) and value.strip():
        with contextlib.suppress(ValueError):
            value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(field, f"{where}: must be a number of seconds")
    if not math.isfinite(value) or value < 0:
        raise ConfigurationError(field, f"{where}: must be 0 (the default) or more seconds")
    return float(value)


def _proxy_url(block: Mapping[str, Any], where: str) -> str | None:
    """``http://user:password@host:port`` from an okta.yaml ``proxy`` block (or None)."""
    values = {k: v for k, v in block.items() if k in _PROXY_KEYS and v not in (None, "")}
    if not values:
        return None
    host = values.get("host")
    if not isinstance(host, str) or not host.strip():
        raise ConfigurationError("proxy", f"{where}: proxy.host must be set with the other keys")
    port = values.get("port")
    if port is not None:
        if isinstance(port, str) and port.strip().isdecimal():
            port = int(port)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ConfigurationError("proxy", f"{where}: proxy.port must be 1-65535")
    import yarl

    host = host.strip()
    scheme = "http"
    if "://" in host:
        scheme, _, host = host.partition("://")
    if scheme not in ("http", "https") or not host or any(c in host for c in "@/:?#[] \t\r\n"):
        # Never echo the value: "user:password@proxy" is a common way to write it.
        raise ConfigurationError(
            "proxy",
            f"{where}: proxy.host must be a bare host name such as proxy.corp (the port goes "
            "in proxy.port, credentials in proxy.username and proxy.password)",
        )
    user, password = values.get("username"), values.get("password")
    for name, item in (("username", user), ("password", password)):
        if item is not None and not isinstance(item, str):
            raise ConfigurationError("proxy", f"{where}: proxy.{name} must be a string")
    try:
        url = yarl.URL.build(
            scheme=scheme,
            host=host,
            port=port,
            user=user if isinstance(user, str) else None,
            password=password if isinstance(password, str) else None,
        )
    except (TypeError, ValueError):
        raise ConfigurationError("proxy", f"{where}: proxy.host is not a host name") from None
    return str(url)


def _unknown_keys(section: Mapping[str, Any], where: str) -> list[str]:
    known = set(_FIELDS) | set(_TIMEOUT_FIELDS) | set(_OURS) | {"proxy"}
    unknown: list[str] = []
    for key, value in section.items():
        if key == "__where__" or key in known:
            if key == "proxy" and isinstance(value, Mapping):
                unknown += [f"{where}.proxy.{k}" for k in value if k not in _PROXY_KEYS]
            continue
        if key in _OFFICIAL_UNUSED:
            sub = _OFFICIAL_UNUSED[key]
            if sub is not None and isinstance(value, Mapping):
                unknown += [f"{where}.{key}.{k}" for k in value if k not in sub]
            continue
        unknown.append(f"{where}.{key}")
    return unknown


def _coerce(field: str, value: Any, where: str) -> Any:
    if field == "scopes":
        return _coerce_scopes(value, where)
    if field == "authorization_mode":
        return _coerce_mode(value, where)
    if not isinstance(value, str) or not value.strip():
        # Never echo the value: it may be a secret.
        raise ConfigurationError(field, f"{where}: must be a non-empty string")
    return value.strip()


def _warn_if_loose(path: Path, what: str) -> None:
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & 0o077:
        warnings.warn(
            f"{path} holds {what} and is readable by other users (mode {mode & 0o777:o}); "
            f"run: chmod 600 {path}",
            UserWarning,
            stacklevel=4,
        )


def _read_yaml(path: Path, profile: str | None) -> dict[str, Any]:
    """The client section of one okta.yaml (a named profile's, when asked for)."""
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - PyYAML is a dependency
        raise ConfigurationError("okta.yaml", "reading okta.yaml needs PyYAML") from exc
    try:
        document = _load_yaml(path)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigurationError("okta.yaml", f"{path} is not valid YAML{where}") from None
    except OSError as exc:
        raise ConfigurationError("okta.yaml", f"cannot read {path}: {exc.strerror}") from None
    except InputTooLargeError as exc:
        raise ConfigurationError("okta.yaml", f"{path} {exc}") from None
    except UnicodeDecodeError:
        raise ConfigurationError(
            "okta.yaml",
            f"{path} is not UTF-8 text (nor UTF-16 with a byte order mark); save it as UTF-8",
        ) from None
    except RecursionError:
        raise ConfigurationError("okta.yaml", f"{path} is nested too deeply") from None
    if document is None:
        return {}
    okta = document.get("okta") if isinstance(document, dict) else None
    if not isinstance(okta, dict):
        raise ConfigurationError("okta.yaml", f"{path} has no top-level 'okta:' section")
    for key in okta:
        if key not in _TOP_LEVEL:
            _warn_unknown(path, f"okta.{key}")
    if profile is None:
        section = okta.get("client", {})
        where = "okta.client"
    else:
        profiles = okta.get("profiles", {})
        if not isinstance(profiles, dict) or profile not in profiles:
            return {}
        section = profiles[profile]
        if isinstance(section, dict) and isinstance(section.get("client"), dict):
            section = section["client"]
        where = f"okta.profiles.{profile}"
    if not isinstance(section, dict):
        raise ConfigurationError("okta.yaml", f"{path}: {where} must be a mapping")
    if any(k in section for k in _SECRET_KEYS):
        _warn_if_loose(path, "a secret")
    for key in _unknown_keys(section, where):
        _warn_unknown(path, key)
    return {"__where__": f"{path} ({where})", **section}


def _load_yaml(path: Path) -> Any:
    """okta.yaml parsed: at most 1 MiB, UTF-8 or UTF-16 with a BOM (Notepad's "Unicode").

    Raises what reading, decoding and parsing raise (``OSError``, ``InputTooLargeError``,
    ``UnicodeDecodeError``, ``yaml.YAMLError``, ``RecursionError``); the caller words it.
    """
    import yaml

    return yaml.safe_load(decode_text(read_capped(path)))


def _warn_unknown(path: Path, key: str) -> None:
    warnings.warn(
        f"{path}: {key} is not a setting of okta.yaml (neither the official layout nor "
        "okta_connections defines it); it is ignored. A typo?",
        UserWarning,
        stacklevel=5,
    )


def profiles_in(paths: list[Path]) -> list[str]:
    """Names of the profiles defined in these okta.yaml files."""
    names: list[str] = []
    for path in paths:
        try:
            document = _load_yaml(path)
        except Exception:  # RecursionError included: the settings' own read says why
            continue
        okta = document.get("okta") if isinstance(document, dict) else None
        profiles = okta.get("profiles") if isinstance(okta, dict) else None
        if isinstance(profiles, dict):
            names.extend(n for n in profiles if isinstance(n, str) and n not in names)
    return names


def config_paths(cwd: Path | None = None, home: Path | None = None) -> list[Path]:
    """okta.yaml locations, lowest precedence first: ``~/.okta/okta.yaml``, ``./okta.yaml``."""
    cwd = Path.cwd() if cwd is None else cwd
    home = Path.home() if home is None else home
    return [home / ".okta" / "okta.yaml", cwd / "okta.yaml"]


def _no_profile(profile: str | None, paths: list[Path]) -> ConfigurationError:
    existing = [p for p in paths if p.is_file()]
    if not existing:  # nowhere a profile could be: say so, and where one goes
        return ConfigurationError(
            "profile",
            f"no profile named {profile!r}: neither {' nor '.join(map(str, paths))} exists; "
            f"a profile is okta.profiles.{profile} in one of them",
        )
    known = profiles_in(paths)
    hint = f"; known profiles: {', '.join(known)}" if known else ""
    return ConfigurationError(
        "profile", f"no profile named {profile!r} in {' or '.join(map(str, existing))}{hint}"
    )


@unchained
def load_settings(
    profile: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    home: Path | None = None,
    **overrides: Any,
) -> Settings:
    """Resolve settings: arguments > environment > ./okta.yaml > ~/.okta/okta.yaml.

    Each field is taken from the highest source that sets it. A named ``profile`` (or
    ``OKTA_CLIENT_PROFILE``) reads ``okta.profiles.<name>`` from the files instead of
    ``okta.client``; it must exist in at least one of them.

    Args:
        profile: A named profile (connection nickname), e.g. ``"prod-admin"``.
        env: The environment (default ``os.environ``).
        cwd: Where ``./okta.yaml`` is looked for (default the working directory).
        home: Where ``~/.okta/okta.yaml`` is looked for (default the home directory).
        **overrides: Field values that beat every other source (``org_url``, ``token``,
            ``authorization_mode``, ``client_id``, ``scopes``, ``private_key``, ``key_id``).

    Raises:
        ConfigurationError: an unknown profile or field, or a value of the wrong type.
    """
    env = os.environ if env is None else env
    profile = profile or env.get(ENV_PREFIX + "PROFILE") or None
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    paths = config_paths(cwd, home)
    found_profile = profile is None
    for path in paths:  # lowest precedence first; later ones overwrite
        if not path.is_file():
            continue
        section = _read_yaml(path, profile)
        if profile is not None and section:
            found_profile = True
        where = section.pop("__where__", str(path))
        for key, value in section.items():
            if key in _FIELDS:
                field = _FIELDS[key][0]
                values[field] = _coerce(field, value, f"{where} {key}")
            elif key in _TIMEOUT_FIELDS:
                field = _TIMEOUT_FIELDS[key][0]
                values[field] = _coerce_seconds(field, value, f"{where} {key}")
            elif key in _OURS:
                field = _OURS[key][0]
                values[field] = _coerce(field, value, f"{where} {key}")
            elif key == "proxy" and isinstance(value, Mapping):
                field = "proxy"
                values[field] = _proxy_url(value, f"{where} proxy")
            elif key == "proxy" and value is not None:
                raise ConfigurationError("proxy", f"{where}: proxy must be a mapping")
            elif key == "rateLimit" and isinstance(value, Mapping) and "sharedBudget" in value:
                field = "shared_budget"
                values[field] = _coerce(field, value["sharedBudget"], f"{where} {key}")
                key = "rateLimit.sharedBudget"
            else:
                continue  # official keys we do not use; unknown ones were warned about
            sources[field] = f"{where} {key}"
    if not found_profile:
        raise _no_profile(profile, paths)
    for _key, (field, var) in (*_FIELDS.items(), *_OURS.items()):
        if env.get(var):
            values[field] = _coerce(field, env[var], f"${var}")
            sources[field] = f"${var}"
    for _key, (field, var) in _TIMEOUT_FIELDS.items():
        if env.get(var):
            values[field] = _coerce_seconds(field, env[var], f"${var}")
            sources[field] = f"${var}"
    if env.get(SHARED_BUDGET_VAR):
        values["shared_budget"] = _coerce(
            "shared_budget", env[SHARED_BUDGET_VAR], f"${SHARED_BUDGET_VAR}"
        )
        sources["shared_budget"] = f"${SHARED_BUDGET_VAR}"
    proxy_env = {k: env[v] for k, v in _PROXY_KEYS.items() if env.get(v)}
    if proxy_env:
        values["proxy"] = _proxy_url(proxy_env, "$OKTA_CLIENT_PROXY_*")
        sources["proxy"] = "$OKTA_CLIENT_PROXY_*"
    valid = {f for f, _ in _FIELDS.values()}
    for field, value in overrides.items():
        if field not in valid:
            raise ConfigurationError(field, f"is not a setting; use one of {sorted(valid)}")
        if value is not None:
            values[field] = _coerce(field, value, f"argument {field}")
            sources[field] = f"argument {field}"
    key_source = values.get("private_key")
    if _looks_like_path(key_source):
        # A path to the key (the official SDKs' privateKey accepts both): the file is the
        # secret, so it gets the same permission check as okta.yaml. Whatever goes wrong
        # here is left to the key loader, whose errors never show the value.
        try:
            path = Path(str(key_source)).expanduser()
            is_file = path.is_file()
        except (OSError, ValueError):
            is_file = False
        if is_file:
            _warn_if_loose(path, "a private key")
    return Settings(profile=profile, sources=sources, **values)


def _looks_like_path(value: object) -> bool:
    """Whether a private-key setting could name a file rather than hold the key itself."""
    return (
        isinstance(value, str)
        and 0 < len(value) < 1024
        and "-----BEGIN" not in value
        and not value.startswith("{")
        and "\n" not in value
        and "\x00" not in value
    )
