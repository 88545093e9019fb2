"""A real HTTP forward proxy on 127.0.0.1 that records what it carried.

It speaks both proxy forms: absolute-form requests (``GET http://host/path``) are forwarded
to loopback targets one request per connection; ``CONNECT`` tunnels are opened to loopback
targets only, and refused with 502 for anything else, so nothing ever leaves the machine.
With ``credentials`` set it answers 407 unless ``Proxy-Authorization`` matches.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib

import attrs
import yarl

from okta_connections._validation import is_loopback
from tests.support.tcp import LoopbackServer

PROXY_PASSWORD = "proxy-PASSWORD-s3cr3t-9d2"


@attrs.define
class Carried:
    method: str
    target: str
    headers: dict[str, str]


class ForwardProxy(LoopbackServer):
    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        self.credentials = credentials
        self.carried: list[Carried] = []
        self.refused: list[str] = []

    def _authorized(self, headers: dict[str, str]) -> bool:
        if self.credentials is None:
            return True
        user, password = self.credentials
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        return headers.get("proxy-authorization") == expected

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers: dict[str, str] = {}
            for line in lines[1:]:
                if ":" in line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            self.carried.append(Carried(method, target, headers))
            if not self._authorized(headers):
                self.refused.append(target)
                writer.write(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                    b'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n'
                    b"Connection: close\r\n\r\n"
                )
                await writer.drain()
                return
            if method == "CONNECT":
                await self._tunnel(target, reader, writer)
            else:
                await self._forward(method, target, headers, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _tunnel(
        self, target: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        host, _, port = target.rpartition(":")
        if not is_loopback(host):
            self.refused.append(target)
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return
        up_reader, up_writer = await asyncio.open_connection(host.strip("[]"), int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    async def _forward(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        url = yarl.URL(target)
        if not url.is_absolute() or not is_loopback(url.host or ""):
            self.refused.append(target)
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return
        length = int(headers.get("content-length", "0") or 0)
        body = await reader.readexactly(length) if length else b""
        up_reader, up_writer = await asyncio.open_connection(url.host, url.port)
        forwarded = {k: v for k, v in headers.items() if k not in ("proxy-authorization",)}
        forwarded["connection"] = "close"
        request = f"{method} {url.raw_path_qs} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in forwarded.items()
        )
        up_writer.write(request.encode("latin-1") + b"\r\n" + body)
        await up_writer.drain()
        response = await up_reader.read()
        up_writer.close()
        head, _, rest = response.partition(b"\r\n\r\n")
        kept = [
            line
            for line in head.split(b"\r\n")
            if not line.lower().startswith((b"connection:", b"keep-alive:"))
        ]
        writer.write(b"\r\n".join([*kept, b"Connection: close"]) + b"\r\n\r\n" + rest)
        await writer.drain()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
