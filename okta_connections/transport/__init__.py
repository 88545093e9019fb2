"""The transport seam: a neutral request goes in, a neutral response comes out.

- :mod:`.base`: the contract (:class:`Transport`, :class:`TransportRequest`,
  :class:`TransportResponse`);
- :mod:`.aiohttp`: the default transport, :class:`AiohttpTransport`;
- :mod:`.mock`: :class:`MockTransport`, a function instead of sockets, for unit tests;
- :mod:`.proxy`: forward proxies (:class:`ProxySettings`, ``HTTPS_PROXY``, ``NO_PROXY``).
"""

from .._redact import redact
from .aiohttp import AiohttpTransport
from .aiohttp import SslSetting as SslSetting
from .aiohttp import make_ssl_context as make_ssl_context
from .base import DEFAULT_MAX_RESPONSE_BYTES, Transport, TransportRequest, TransportResponse
from .mock import Handler as Handler
from .mock import MockTransport
from .proxy import ProxySettings
from .proxy import _bypassed as _bypassed  # (the proxy tests import these from here)
from .proxy import _env_proxy as _env_proxy
from .proxy import check_proxy_url as check_proxy_url

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "AiohttpTransport",
    "MockTransport",
    "ProxySettings",
    "Transport",
    "TransportRequest",
    "TransportResponse",
    "redact",
]
