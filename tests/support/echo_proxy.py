"""A hostile forward proxy on 127.0.0.1: it refuses every request and echoes the client's
``Proxy-Authorization`` back, in the body, a header, the reason phrase or a malformed
status line, in the encoding the test asks for (as sent, its base64 alone, the password
URL-encoded)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import urllib.parse

from tests.support.tcp import LoopbackServer

#: Where the echo goes.
PLACES = ("body", "header", "reason", "status_line", "request_id")
#: How it is encoded.
ENCODINGS = ("as_sent", "base64", "password_quoted", "password_plus", "decoded")


def encode(value: str, encoding: str) -> str:
    """``value`` (a ``Basic …`` header) in one of ``ENCODINGS``."""
    token = value.rsplit(" ", 1)[-1]
    password = base64.b64decode(token).decode().partition(":")[2]
    if encoding == "as_sent":
        return value
    if encoding == "base64":
        return token
    if encoding == "password_quoted":
        return urllib.parse.quote(password, safe="")
    if encoding == "password_plus":
        return urllib.parse.quote_plus(password)
    if encoding == "decoded":
        return base64.b64decode(token).decode()
    raise ValueError(encoding)


class EchoProxy(LoopbackServer):
    def __init__(self, place: str, encoding: str = "as_sent") -> None:
        self.place = place
        self.encoding = encoding
        self.seen: list[str] = []

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            value = ""
            for line in head.decode("latin-1").split("\r\n")[1:]:
                name, _, rest = line.partition(":")
                if name.strip().lower() == "proxy-authorization":
                    value = rest.strip()
            self.seen.append(value)
            echo = encode(value, self.encoding) if value else "none"
            writer.write(self._answer(echo).encode("latin-1"))
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    def _answer(self, echo: str) -> str:
        body = json.dumps(
            {
                "errorCode": "E0000011",
                "errorSummary": f"proxy refused credentials {echo}",
                "errorCauses": [{"errorSummary": f"got {echo}"}],
            }
        )
        reason = "Proxy Authentication Required"
        status = "HTTP/1.1 407"
        extra = ""
        if self.place == "header":
            extra = f'X-Echo: {echo}\r\nWWW-Authenticate: Basic realm="{echo}"\r\n'
            body = "{}"
        elif self.place == "reason":
            reason = f"Bad credentials {echo}"
            body = "{}"
        elif self.place == "status_line":
            status = f"HTTP/1.1 4x7 {echo}"
            body = "{}"
        elif self.place == "request_id":
            extra = f"X-Okta-Request-Id: {echo}\r\n"
            body = "{}"
        return (
            f'{status} {reason}\r\nProxy-Authenticate: Basic realm="t"\r\n{extra}'
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n{body}"
        )
