"""The default transport: one ``aiohttp.ClientSession`` with a connection pool."""

from __future__ import annotations

import asyncio
import os
import ssl as _ssl
import zlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import yarl
from multidict import CIMultiDict, CIMultiDictProxy

from .._redact import (
    basic_credential_forms,
    hide,
    holds_secret,
    redact,
    secret_forms,
    unchained,
)
from .._validation import is_loopback
from ..errors import (
    ConfigurationError,
    OktaConnectionError,
    OktaTimeoutError,
    TransportError,
)
from .base import TransportRequest, TransportResponse, _too_large
from .proxy import ProxySettings, _env_proxy, check_proxy_url

if TYPE_CHECKING:
    import aiohttp

__all__ = ["AiohttpTransport", "SslSetting", "make_ssl_context"]


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
                    response = TransportResponse(resp.status, resp.headers, body)
                    if proxy_secrets and request.url.scheme == "http":
                        # Absolute form: the proxy saw its credentials and may echo them.
                        response = _scrub(response, proxy_secrets)
                    return response
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
    """The proxy URL without credentials, and every form of them a proxy may echo (the
    password raw and URL-encoded, the ``Basic`` header value and its base64 alone)."""
    forms: list[str] = [s for s in (url.password, url.raw_password) if s]
    if url.user is not None:
        forms += basic_credential_forms(url.user, url.password or "")
    return url.with_user(None), tuple(dict.fromkeys(forms))


def _scrub(response: TransportResponse, secrets: tuple[str, ...]) -> TransportResponse:
    """The response with every form of ``secrets`` in its headers and body made ``***``:
    what a proxy carrying the request in absolute form echoes of its own credentials."""
    forms = sorted({f for s in secrets for f in secret_forms(s)}, key=len, reverse=True)
    body = response.body
    for form in forms:
        encoded = form.encode("utf-8", "replace")
        if encoded in body:
            body = body.replace(encoded, b"***")
    if holds_secret(body.decode("latin-1"), secrets):  # base64-encoded (ASCII) echoes
        body = hide(body.decode("latin-1"), secrets).encode("latin-1")
    headers: Any = response.headers
    if any(holds_secret(value, secrets) for value in headers.values()):
        cleaned: CIMultiDict[str] = CIMultiDict()
        for name, value in headers.items():
            cleaned.add(name, hide(value, secrets))
        headers = CIMultiDictProxy(cleaned)
    if body is response.body and headers is response.headers:
        return response
    return TransportResponse(response.status, headers, body)


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
