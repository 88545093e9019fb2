"""Input checks that run before any request is sent.

Messages never echo a value that could be a credential (for example URL userinfo).
"""

from __future__ import annotations

import ipaddress

import yarl

from ._redact import unchained
from .errors import ConfigurationError, InvalidArgumentError
from .models.connections import OAuthApp

__all__ = ["check_app_id", "check_app_name", "check_query_value", "normalize_org_url"]

APP_ID_MAX_LEN = 64
_LOOPBACK_NAMES = frozenset({"localhost"})
_EXAMPLE = "https://acme.okta.com"


def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1."""
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@unchained
def normalize_org_url(org_url: str) -> str:
    """Validate an Okta org URL and return its origin, e.g. ``https://acme.okta.com``.

    Accepts ``https://acme.okta.com``, a custom domain, or a bare ``acme.okta.com`` (https is
    assumed). ``http://`` is allowed only for loopback hosts, where the fake org runs.
    Whitespace or control characters anywhere, leading and trailing included, are refused.

    Raises:
        ConfigurationError: naming what is wrong and how to fix it.
    """
    if not isinstance(org_url, str) or not org_url.strip():
        raise ConfigurationError("org_url", f"is empty; give your Okta domain, e.g. {_EXAMPLE}")
    bad = next((c for c in org_url if c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F), None)
    if bad is not None:
        # "https://acme.okta.com\n.evil.example" would otherwise reach another host.
        raise ConfigurationError(
            "org_url",
            f"contains whitespace or a control character ({bad!r}); give only the domain, "
            f"e.g. {_EXAMPLE}",
        )
    raw = org_url
    if "{" in raw or "}" in raw or "yourOktaDomain" in raw:
        raise ConfigurationError(
            "org_url",
            "still holds the {yourOktaDomain} placeholder; replace it with your org's "
            f"domain, e.g. {_EXAMPLE}",
        )
    if "://" not in raw:
        raw = "https://" + raw
    try:
        url = yarl.URL(raw)
        url.port  # noqa: B018  (yarl checks the port's range when it is read)
    except (ValueError, TypeError) as exc:
        what = "has a port out of range (1-65535)" if "port" in str(exc).lower() else ""
        raise ConfigurationError(
            "org_url", f"{what or 'is not a valid URL'}; give your Okta domain, e.g. {_EXAMPLE}"
        ) from None
    if url.user is not None or url.password is not None:
        # Never echo the URL: the userinfo may hold a password.
        raise ConfigurationError(
            "org_url",
            "must not contain credentials (user:password@); pass them through auth= "
            f"and give only the domain, e.g. {_EXAMPLE}",
        )
    if url.scheme not in ("https", "http"):
        raise ConfigurationError(
            "org_url", f"has scheme {url.scheme!r}; use https, e.g. {_EXAMPLE}"
        )
    host = url.raw_host or ""
    if not host:
        raise ConfigurationError("org_url", f"has no host; give your Okta domain, e.g. {_EXAMPLE}")
    if url.scheme == "http" and not is_loopback(host):
        raise ConfigurationError(
            "org_url",
            f"uses http:// for {host}; Okta requires https, use https://{host} "
            "(plain http is allowed only for loopback, where the fake org runs)",
        )
    labels = host.split(".")
    if labels[0].lower().endswith("-admin"):
        fixed = ".".join([labels[0][: -len("-admin")], *labels[1:]])
        raise ConfigurationError(
            "org_url",
            f"points at the admin console domain {host}; the API lives on {fixed}, "
            f"use https://{fixed}",
        )
    if url.raw_path not in ("", "/"):
        raise ConfigurationError(
            "org_url",
            f"has the path {url.raw_path!r}; give only the origin, "
            f"e.g. {url.scheme}://{url.raw_authority}",
        )
    if url.raw_query_string or "?" in raw:
        raise ConfigurationError("org_url", "must not have a query string (?...); remove it")
    if url.raw_fragment or "#" in raw:
        raise ConfigurationError("org_url", "must not have a fragment (#...); remove it")
    return f"{url.scheme}://{url.raw_authority}".lower()


def check_app_id(app_id: object, argument: str = "app_id") -> str:
    """Return ``app_id`` if it is a plausible Okta app id (1-64 letters and digits).

    Raises:
        InvalidArgumentError: naming the argument. The value is shown with repr, truncated,
            so control characters are visible.
    """
    if not isinstance(app_id, str):
        raise InvalidArgumentError(argument, f"must be a string, not {type(app_id).__name__}")
    if not app_id:
        raise InvalidArgumentError(argument, "must not be empty")
    if len(app_id) > APP_ID_MAX_LEN:
        raise InvalidArgumentError(
            argument,
            f"is {len(app_id)} characters long; Okta app ids are at most "
            f"{APP_ID_MAX_LEN} (for example 0oafxqCAJWWGELFTYASJ)",
        )
    if not (app_id.isascii() and app_id.isalnum()):  # [A-Za-z0-9]+, without a regex
        shown = repr(app_id[:40])
        raise InvalidArgumentError(
            argument,
            f"{shown} is not an Okta app id: only letters and digits are allowed "
            "(no '/', '..', '?', '#', '%' or whitespace), for example 0oafxqCAJWWGELFTYASJ",
        )
    return app_id


def check_app_name(app_name: object) -> OAuthApp:
    """Return the OAuthApp for ``app_name`` (an OAuthApp or one of its string values).

    Raises:
        InvalidArgumentError: for anything but google, office365, slack or zoomus.
    """
    choices = ", ".join(m.value for m in OAuthApp)
    if isinstance(app_name, OAuthApp) and app_name.is_known:
        return app_name
    if isinstance(app_name, str) and app_name in OAuthApp.__members__.values():
        return OAuthApp(app_name)
    raise InvalidArgumentError("app_name", f"{app_name!r} is not one of {choices}")


def check_query_value(value: object, argument: str) -> str:
    """A required, non-empty query value (verify's code and state). Never echoed."""
    if not isinstance(value, str):
        raise InvalidArgumentError(argument, f"must be a string, not {type(value).__name__}")
    if not value.strip():
        raise InvalidArgumentError(argument, "must not be empty")
    return value
