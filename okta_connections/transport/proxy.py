"""Forward proxies: the settings, the environment's variables and ``NO_PROXY``."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

import attrs
import yarl

from .._redact import unchained
from .._validation import is_loopback
from ..errors import ConfigurationError

__all__ = ["ProxySettings", "check_proxy_url"]


@attrs.frozen(repr=False)
class ProxySettings:
    """Where requests go through a forward proxy.

    Args:
        url: An explicit proxy for every request, loopback included, e.g.
            ``http://proxy.corp:3128``; its ``user:password@`` is sent as
            ``Proxy-Authorization`` and treated as a secret. None to use the environment.
        trust_env: Honour ``HTTPS_PROXY``, ``HTTP_PROXY`` and ``NO_PROXY`` (and their lower
            case forms) for hosts that are not loopback. Ignored when ``url`` is set.
    """

    url: str | None = None
    trust_env: bool = True

    def __repr__(self) -> str:
        shown = None if self.url is None else _mask_proxy(self.url)
        return f"ProxySettings(url={shown!r}, trust_env={self.trust_env!r})"


def _mask_proxy(url: str) -> str:
    """The proxy URL with its credentials, if any, shown as ``***:***@``."""
    try:
        parsed = yarl.URL(url)
    except (TypeError, ValueError):
        return "<invalid>"
    if parsed.user is None and parsed.password is None:
        return str(parsed)
    return f"{parsed.scheme}://***:***@{parsed.raw_authority.rpartition('@')[2]}"


@unchained
def check_proxy_url(value: object, argument: str = "proxy") -> yarl.URL:
    """An ``http://`` (or ``https://``) proxy URL with a host; never echoes the value."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(argument, "must be a proxy URL such as http://proxy.corp:3128")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ConfigurationError(argument, "contains whitespace or control characters")
    try:
        url = yarl.URL(value)
    except (TypeError, ValueError):
        raise ConfigurationError(argument, "is not a valid URL") from None
    if url.scheme not in ("http", "https") or not url.raw_host:
        raise ConfigurationError(
            argument, "must be an http:// proxy URL with a host, e.g. http://proxy.corp:3128"
        )
    return url


def _env_proxy(
    scheme: str, host: str, env: Mapping[str, str], port: int | None = None
) -> str | None:
    """The environment's proxy for ``scheme://host``, or None (loopback never proxied).

    Lower-case variables win over upper-case ones, as in curl and requests.
    """
    if is_loopback(host):
        return None
    found: dict[str, str] = {}
    for key in sorted(env, key=lambda k: k.islower()):  # lower case last: it wins
        if key.lower().endswith("_proxy") and env[key]:
            found[key.lower()] = env[key]
    no_proxy = found.get("no_proxy", "")
    if no_proxy and _bypassed(host, no_proxy, port):
        return None
    return found.get(f"{scheme}_proxy") or None


def _bypassed(host: str, no_proxy: str, port: int | None = None) -> bool:
    """Whether ``NO_PROXY`` exempts a host: names and their subdomains (``okta.com``,
    ``.okta.com``, ``*.okta.com``), ``*``, IP addresses and CIDR ranges (``10.0.0.0/8``),
    bracketed IPv6; an entry's ``:port``, when given, must match."""
    host = host.lower().strip("[]")
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for raw in no_proxy.replace(" ", ",").split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        entry_port: int | None = None
        if entry.startswith("["):
            inside, _, rest = entry[1:].partition("]")
            entry = inside
            if rest.startswith(":") and rest[1:].isdecimal():
                entry_port = int(rest[1:])
        elif entry.count(":") == 1:
            name, _, tail = entry.partition(":")
            if tail.isdecimal():
                entry, entry_port = name, int(tail)
        if entry_port is not None and port is not None and entry_port != port:
            continue
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        entry = entry.lstrip("*").lstrip(".")
        if entry and (host == entry or host.endswith("." + entry)):
            return True
    return False
