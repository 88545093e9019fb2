"""The transport seam: a neutral request goes in, a neutral response comes out.

Everything above this module (auth, pacing, retries, error mapping) speaks only
:class:`TransportRequest` and :class:`TransportResponse`; only :class:`AiohttpTransport`
knows aiohttp. Swap the transport to test without sockets (:class:`MockTransport`) or to
put the SDK on another HTTP stack.

A transport's contract:

* :meth:`Transport.send` returns the whole response, its body read in full and at most
  ``request.max_body`` bytes long (after decompression), or raises one of the SDK's
  :class:`~okta_connections.errors.TransportError` subclasses. It never raises a third-party
  exception, and what it raises never carries request headers, a URL's query string or any
  of ``request.secrets``.
* It does not retry, pace or authenticate: the pipeline above it does.
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import os
import ssl as _ssl
import zlib
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs
import yarl
from multidict import CIMultiDict, CIMultiDictProxy

from ._redact import redact, unchained
from ._validation import is_loopback
from .errors import (
    ConfigurationError,
    OktaConnectionError,
    OktaTimeoutError,
    ResponseTooLargeError,
    TransportError,
)

if TYPE_CHECKING:
    import aiohttp

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

#: The default cap on a response body, after decompression: 8 MiB. The largest response the
#: connections API sends is a page of ``GET /api/v1/apps?limit=200``; at a generous 20 KB an
#: app that page is 4 MB, so the cap leaves it twice that.
DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024


@attrs.define(slots=True)
class TransportRequest:
    """One HTTP attempt, as the pipeline hands it to a transport. Treat it as read-only.

    Attributes:
        method: HTTP method, upper case.
        url: The absolute URL, query included.
        headers: Request headers (credentials included: never log them).
        body: The encoded body, or None.
        connect_timeout: Seconds allowed to establish the connection.
        total_timeout: Seconds allowed for the whole attempt, body included.
        max_body: Largest body, in bytes after decompression, the transport may read.
        secrets: Values that must not appear in anything the transport raises or logs
            (credentials, one-time codes); redacted by :func:`redact`.
    """

    method: str
    url: yarl.URL
    headers: Mapping[str, str]
    body: bytes | None = None
    connect_timeout: float = 10.0
    total_timeout: float = 60.0
    max_body: int = DEFAULT_MAX_RESPONSE_BYTES
    secrets: tuple[str, ...] = attrs.field(default=(), repr=False)

    def __repr__(self) -> str:  # never show headers, body or the query
        return f"TransportRequest({self.method} {self.url.path})"


@attrs.define(slots=True)
class TransportResponse:
    """A response read in full (also what auth strategies see, as ``AuthResponse``).
    Treat it as read-only.

    Attributes:
        status: HTTP status.
        headers: Response headers (case-insensitive).
        body: The body, decompressed.
    """

    status: int
    headers: CIMultiDictProxy[str] | Mapping[str, str]
    body: bytes = b""

    def __repr__(self) -> str:
        return f"TransportResponse({self.status}, {len(self.body)} bytes)"


@runtime_checkable
class Transport(Protocol):
    """What the client needs from an HTTP stack: one async method, and a close."""

    async def send(self, request: TransportRequest) -> TransportResponse:
        """Send one request and read the whole response (see the module's contract)."""
        ...

    async def aclose(self) -> None:
        """Release connections. Called once, when the client closes."""
        ...


# ------------------------------------------------------------------------------- mock


Handler = Callable[[TransportRequest], "TransportResponse | Awaitable[TransportResponse]"]


class MockTransport:
    """A transport that calls a function instead of opening sockets, for unit tests.

    The handler gets each :class:`TransportRequest` and returns (or awaits) a
    :class:`TransportResponse`; it may raise a :class:`TransportError` to simulate a
    network failure. Every request is kept in :attr:`requests`. Bodies longer than
    ``request.max_body`` raise :class:`ResponseTooLargeError`, as the real transport does.

    Example::

        def handler(request: TransportRequest) -> TransportResponse:
            return TransportResponse(200, {"Content-Type": "application/json"}, b"{...}")

        okta = OktaClient("https://acme.okta.com", auth=SSWSToken(token),
                          transport=MockTransport(handler))
    """

    def __init__(self, handler: Handler) -> None:
        if not callable(handler):
            raise ConfigurationError("handler", "must be a callable(request) -> response")
        self._handler = handler
        self.requests: list[TransportRequest] = []
        self.closed = False

    async def send(self, request: TransportRequest) -> TransportResponse:
        self.requests.append(request)
        result = self._handler(request)
        if inspect.isawaitable(result):
            result = await result
        if not isinstance(result, TransportResponse):
            raise TypeError("MockTransport's handler must return a TransportResponse")
        if len(result.body) > request.max_body:
            raise _too_large(request, len(result.body))
        headers = result.headers
        if not isinstance(headers, CIMultiDictProxy):
            headers = CIMultiDictProxy(CIMultiDict(headers))
        if not all(isinstance(v, str) for v in headers.values()):
            raise TypeError("MockTransport's handler returned a header value that is not a str")
        return TransportResponse(result.status, headers, result.body)

    async def aclose(self) -> None:
        self.closed = True


def _too_large(request: TransportRequest, size: int | None) -> ResponseTooLargeError:
    what = "more than" if size is None else f"{size} bytes,"
    return ResponseTooLargeError(
        f"the response to {request.method} {request.url.path} is {what} over the "
        f"{request.max_body}-byte cap (max_response_bytes); stopped reading",
        method=request.method,
        path=request.url.path,
        limit=request.max_body,
    )


# ------------------------------------------------------------------------------- proxies


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


# ------------------------------------------------------------------------------- aiohttp


SslSetting = _ssl.SSLContext | str | os.PathLike[str] | None
#: (proxy URL without credentials, its Proxy-Authorization value, its secrets)
_Route = tuple[yarl.URL | None, str | None, tuple[str, ...]]
_DIRECT: _Route = (None, None, ())


@unchained
def make_ssl_context(value: object) -> _ssl.SSLContext | None:
    """An ``ssl.SSLContext`` as given, or one trusting a CA bundle file; None for defaults.

    Raises:
        ConfigurationError: not a context or a readable CA bundle.
    """
    if value is None or isinstance(value, _ssl.SSLContext):
        return value
    if isinstance(value, str | os.PathLike) and not isinstance(value, bytes):
        path = os.fspath(value)
        try:
            return _ssl.create_default_context(cafile=path)
        except (OSError, _ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise ConfigurationError(
                "ssl", f"cannot load the CA bundle {path!r}: {reason}"
            ) from None
    raise ConfigurationError(
        "ssl",
        f"must be an ssl.SSLContext or the path of a CA bundle (PEM), not {type(value).__name__}",
    )


class AiohttpTransport:
    """The default transport: one ``aiohttp.ClientSession`` with a connection pool.

    Args:
        connector_limit: Most simultaneous connections (default 100).
        proxy: Proxy settings (default: the environment's, never for loopback hosts).
        ssl: An ``ssl.SSLContext``, or the path of a CA bundle to trust instead of the
            system's (for TLS-inspecting corporate proxies).
        session: Your own ``aiohttp.ClientSession``. The transport then uses it as it is
            (its connector, TLS and cookie settings), never closes it, and still caps
            bodies. Keep its ``auto_decompress=True`` (the default): with it off, compressed
            bodies reach the SDK undecoded and fail to decode.
    """

    def __init__(
        self,
        *,
        connector_limit: int = 100,
        proxy: ProxySettings | None = None,
        ssl: SslSetting = None,
        session: aiohttp.ClientSession | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if session is not None:
            import aiohttp

            if ssl is not None:
                raise ConfigurationError(
                    "ssl", "cannot be combined with session=: set it on your session's connector"
                )
            if not isinstance(session, aiohttp.ClientSession):
                raise ConfigurationError(
                    "session", f"must be an aiohttp.ClientSession, not {type(session).__name__}"
                )
        self._connector_limit = connector_limit
        self._proxy = proxy or ProxySettings()
        self._proxy_url: yarl.URL | None = None
        self._proxy_secrets: tuple[str, ...] = ()
        if self._proxy.url is not None:
            url = check_proxy_url(self._proxy.url)
            self._proxy_url, self._proxy_secrets = _split_proxy_auth(url)
            self._proxy_auth_header = _proxy_basic(url)
        else:
            self._proxy_auth_header = None
        self._ssl = make_ssl_context(ssl)
        # The proxy variables, read once, when the client is created; without any, every
        # request goes direct at no cost.
        environ = os.environ if env is None else env
        self._env_snapshot = {
            k: v for k, v in environ.items() if k.lower().endswith("_proxy") and v
        }
        self._env_proxies = self._proxy.trust_env and any(
            k.lower() in ("http_proxy", "https_proxy") for k in self._env_snapshot
        )
        self._env_cache: dict[tuple[str, str, int | None], _Route] = {}
        self._own_session = session is None
        self._session = session
        self._timeouts: dict[tuple[float, float], aiohttp.ClientTimeout] = {}

    def __repr__(self) -> str:
        return f"AiohttpTransport(proxy={self._proxy!r}, own_session={self._own_session})"

    @property
    def default_headers(self) -> dict[str, str]:
        """Headers the pipeline puts on every request for this transport (once, in its
        template, so they cost nothing per request): the encodings we inflate ourselves."""
        return {"Accept-Encoding": "gzip, deflate"} if self._own_session else {}

    @property
    def user_agent(self) -> str:
        """``aiohttp/<x.y>``, for the client's User-Agent."""
        import aiohttp

        return "aiohttp/" + ".".join(aiohttp.__version__.split(".")[:2])

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The aiohttp session, once the first request has created it."""
        return self._session

    def _route(self, url: yarl.URL) -> _Route:
        """(proxy URL without credentials, its Proxy-Authorization, its secrets)."""
        if self._proxy_url is not None:
            return self._proxy_url, self._proxy_auth_header, self._proxy_secrets
        if not self._env_proxies:
            return _DIRECT
        key = (url.scheme, url.raw_host or "", url.port)
        route = self._env_cache.get(key)
        if route is None:
            found = _env_proxy(key[0], key[1], self._env_snapshot, key[2])
            if found is not None and "://" not in found:
                found = "http://" + found  # "proxy.corp:3128", as curl and requests read it
            if found is None:
                route = _DIRECT
            else:
                try:
                    proxy = check_proxy_url(found, f"{key[0].upper()}_PROXY")
                except ConfigurationError:
                    # Never silently go direct past a mandated proxy: refuse the call.
                    raise ConfigurationError(
                        f"{key[0].upper()}_PROXY",
                        "(environment variable) is not a usable proxy URL, e.g. "
                        "http://proxy.corp:3128; nothing was sent",
                    ) from None
                else:
                    bare, secrets = _split_proxy_auth(proxy)
                    route = (bare, _proxy_basic(proxy), secrets)
            self._env_cache[key] = route
        return route

    def _open(self) -> aiohttp.ClientSession:
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connector_limit, ssl=self._ssl or True),
                # Bodies are inflated in _read_capped, bounded by the cap on every aiohttp
                # version (3.13 inflates up to 32 MiB per chunk); we offer only what it reads.
                auto_decompress=False,
                trust_env=False,  # proxies are resolved here, loopback excluded
            )
        return self._session

    def _timeout(self, request: TransportRequest) -> aiohttp.ClientTimeout:
        import aiohttp

        key = (request.total_timeout, request.connect_timeout)
        cached = self._timeouts.get(key)
        if cached is None:
            if len(self._timeouts) > 64:  # deadline-clipped timeouts vary: do not grow
                self._timeouts.clear()
            cached = self._timeouts[key] = aiohttp.ClientTimeout(
                total=request.total_timeout, sock_connect=request.connect_timeout
            )
        return cached

    async def send(self, request: TransportRequest) -> TransportResponse:
        import aiohttp

        session = self._open()
        if session.closed:
            raise OktaConnectionError(
                "the aiohttp session passed to the client is closed",
                method=request.method,
                path=request.url.path,
                request_sent=False,
            )
        proxy, proxy_auth, proxy_secrets = self._route(request.url)
        headers: Mapping[str, str] = request.headers
        if proxy_auth is not None and request.url.scheme == "http":
            # Plain-http requests go to the proxy in absolute form: the header rides along.
            merged = CIMultiDict(headers)
            merged["Proxy-Authorization"] = proxy_auth
            headers = merged
        proxy_headers = (
            {"Proxy-Authorization": proxy_auth}
            if proxy_auth is not None and request.url.scheme == "https"
            else None
        )
        failure: TransportError | None = None
        try:
            async with session.request(
                request.method,
                request.url,
                headers=headers,
                data=request.body,
                # aiohttp would add "Content-Type: application/octet-stream" to a bodyless POST
                skip_auto_headers=("Content-Type",) if request.body is None else None,
                timeout=self._timeout(request),
                allow_redirects=False,
                proxy=proxy,
                proxy_headers=proxy_headers,
            ) as resp:
                body = await _read_capped(resp, request, self._own_session)
                if body is None:
                    failure = _too_large(request, resp.content_length)
                else:
                    return TransportResponse(resp.status, resp.headers, body)
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError, zlib.error) as exc:
            # Never chained: aiohttp's exceptions carry the request's headers and full URL.
            failure = _translate(exc, request, (*request.secrets, *proxy_secrets), proxy)
        assert failure is not None
        raise failure

    async def aclose(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()


async def _read_capped(
    resp: aiohttp.ClientResponse, request: TransportRequest, decode: bool
) -> bytes | None:
    """The whole body, or None once it passes the cap (the connection is then dropped).

    With ``decode`` (the transport's own session, which leaves bodies compressed), gzip and
    deflate are inflated here, never more than the cap plus one network chunk at a time,
    whatever aiohttp version is installed.
    """
    cap = request.max_body
    if resp.status in (204, 304) or request.method == "HEAD":
        return b""  # no body, whatever Content-Length says
    length = resp.content_length
    encoding = resp.headers.get("Content-Encoding", "").strip().lower()
    if length is not None and length > cap and (not encoding or decode):
        resp.close()  # even compressed, a body that large is refused
        return None
    if length is not None and not encoding:
        return await resp.read()  # exactly Content-Length bytes: already bounded
    inflate = None
    if decode and encoding in ("gzip", "x-gzip", "deflate"):
        # 32 + MAX_WBITS reads a gzip or zlib header, as servers send either for "deflate".
        inflate = zlib.decompressobj(32 + zlib.MAX_WBITS)
    elif decode and encoding not in ("", "identity"):
        resp.close()
        raise ValueError(f"unsupported Content-Encoding {encoding[:20]!r}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_any():
        if inflate is not None:
            pieces = []
            data = chunk
            while data:
                piece = inflate.decompress(data, cap - size + 1)
                size += len(piece)
                if size > cap:
                    resp.close()
                    return None
                pieces.append(piece)
                data = inflate.unconsumed_tail
            chunk = b"".join(pieces)
        else:
            size += len(chunk)
            if size > cap:
                resp.close()
                return None
        chunks.append(chunk)
    if inflate is not None:
        tail = inflate.flush()
        size += len(tail)
        if size > cap:
            return None
        chunks.append(tail)
    return b"".join(chunks)


def _split_proxy_auth(url: yarl.URL) -> tuple[yarl.URL, tuple[str, ...]]:
    secrets = tuple(s for s in (url.password, url.raw_password) if s)
    return url.with_user(None), secrets


def _proxy_basic(url: yarl.URL) -> str | None:
    if url.user is None:
        return None
    import base64

    raw = f"{url.user}:{url.password or ''}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def _translate(
    exc: BaseException,
    request: TransportRequest,
    secrets: tuple[str, ...],
    proxy: yarl.URL | None,
) -> TransportError:
    """Our typed error for an aiohttp failure: its type name and a sanitised message."""
    import aiohttp

    path = request.url.path
    host = request.url.host
    where = f"{host}:{request.url.port}"
    via = f" via the proxy {proxy.host}:{proxy.port}" if proxy is not None else ""
    detail = _detail(exc, secrets)
    kind = type(exc).__name__
    common: dict[str, Any] = {"method": request.method, "path": path}
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        err: TransportError = OktaTimeoutError(
            f"connecting to {where}{via} timed out after {request.connect_timeout:g}s",
            request_sent=False,
            phase="connect",
            **common,
        )
    elif isinstance(exc, aiohttp.ClientProxyConnectionError):
        err = OktaConnectionError(
            f"cannot connect to the proxy {proxy.host if proxy else '?'}:"
            f"{proxy.port if proxy else '?'}: {detail}",
            request_sent=False,
            **common,
        )
    elif isinstance(exc, aiohttp.ClientSSLError | aiohttp.ClientConnectorCertificateError):
        hint = ""
        if request.url.scheme == "https" and is_loopback(host or ""):
            hint = (
                f"; {host} is a loopback host: if it is the fake org, use "
                f"http://{host}:{request.url.port} (it serves plain http)"
            )
        err = OktaConnectionError(
            f"TLS with {where}{via} failed: {detail}{hint}", request_sent=False, **common
        )
    elif isinstance(exc, aiohttp.ClientConnectorError):
        err = OktaConnectionError(
            f"cannot connect to {where}{via}: {detail}", request_sent=False, **common
        )
    elif isinstance(exc, aiohttp.ClientHttpProxyError):
        status = getattr(exc, "status", "?")
        err = OktaConnectionError(
            f"the proxy{via} refused the request with {status}", request_sent=False, **common
        )
    elif isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        err = OktaTimeoutError(
            f"no complete response from {where} within {request.total_timeout:g}s",
            request_sent=True,
            phase="read",
            **common,
        )
    elif isinstance(exc, aiohttp.ClientPayloadError) and "exceeds" in str(exc):
        # aiohttp's own bound on one compressed chunk's output (3.13: 32 MiB) came first.
        err = _too_large(request, None)
    elif isinstance(exc, aiohttp.ClientResponseError):
        err = OktaConnectionError(
            f"the response from {where} is not valid HTTP: {detail}", request_sent=True, **common
        )
    else:
        err = OktaConnectionError(
            f"the connection to {where} failed: {detail}", request_sent=True, **common
        )
    err.cause_type = f"{type(exc).__module__}.{kind}"
    err.cause_message = detail
    return err


def _detail(exc: BaseException, secrets: tuple[str, ...]) -> str:
    """A short description of a third-party exception with nothing secret in it."""
    import aiohttp

    kind = type(exc).__name__
    if isinstance(exc, aiohttp.ClientResponseError):
        text = str(exc.message or "")  # str(exc) would add the full URL
    elif isinstance(exc, aiohttp.ClientConnectorError):
        os_error = getattr(exc, "os_error", None)
        text = os_error.strerror if isinstance(os_error, OSError) and os_error.strerror else ""
    elif isinstance(exc, asyncio.TimeoutError):
        text = ""
    else:
        text = str(exc)
    text = redact(text, secrets) if text else ""
    return f"{kind}: {text}" if text else kind
