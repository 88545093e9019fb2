"""Helpers for the FakeOkta tests: a raw HTTP client for the fake, a settable clock.

The tests talk to the fake over 127.0.0.1 with a plain ``aiohttp.ClientSession`` (never
the SDK client), so that they pin down the wire behaviour the SDK is tested against.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiohttp
import attrs
from multidict import CIMultiDictProxy

from okta_connections.testing import FakeApp, FakeOkta

_DEFAULT = object()


@attrs.frozen
class Reply:
    """A response, fully read."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        assert self.headers.get("Content-Type", "").startswith("application/json"), self.headers
        return json.loads(self.body)

    @property
    def error_code(self) -> str:
        code = self.json()["errorCode"]
        assert isinstance(code, str)
        return code


class FakeClock:
    """A settable clock for the fake (epoch seconds)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Api:
    """Raw HTTP calls to a FakeOkta, authenticated with its SSWS token by default."""

    def __init__(self, fake: FakeOkta, session: aiohttp.ClientSession) -> None:
        self.fake = fake
        self.session = session

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = _DEFAULT,
        data: bytes | None = None,
        params: Mapping[str, str] | None = None,
        auth: str | object | None = _DEFAULT,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """``auth``: the whole Authorization value; None sends none; default SSWS token."""
        hdrs: dict[str, str] = {"Accept": "application/json"}
        if auth is _DEFAULT:
            hdrs["Authorization"] = f"SSWS {self.fake.token}"
        elif isinstance(auth, str):
            hdrs["Authorization"] = auth
        if headers:
            hdrs.update(headers)
        kwargs: dict[str, Any] = {"headers": hdrs, "params": params}
        if json_body is not _DEFAULT:
            kwargs["json"] = json_body
        elif data is not None:
            kwargs["data"] = data
        elif method == "POST":
            # Bodyless POSTs send Content-Length: 0, as Okta requires (else 411).
            kwargs["data"] = b""
            hdrs["Content-Length"] = "0"
        url = path if path.startswith("http") else self.fake.org_url + path
        async with self.session.request(method, url, **kwargs) as resp:
            return Reply(resp.status, resp.headers, await resp.read())

    # The six operations, by app id.
    async def get(self, app_id: str, **kw: Any) -> Reply:
        return await self.call("GET", f"/api/v1/apps/{app_id}/connections/default", **kw)

    async def update(self, app_id: str, body: Any, activate: str | None = None, **kw: Any) -> Reply:
        params = None if activate is None else {"activate": activate}
        return await self.call(
            "POST",
            f"/api/v1/apps/{app_id}/connections/default",
            json_body=body,
            params=params,
            **kw,
        )

    async def activate(self, app_id: str, **kw: Any) -> Reply:
        path = f"/api/v1/apps/{app_id}/connections/default/lifecycle/activate"
        return await self.call("POST", path, **kw)

    async def deactivate(self, app_id: str, **kw: Any) -> Reply:
        path = f"/api/v1/apps/{app_id}/connections/default/lifecycle/deactivate"
        return await self.call("POST", path, **kw)

    async def jwks(self, app_id: str, **kw: Any) -> Reply:
        return await self.call("GET", f"/api/v1/apps/{app_id}/connections/default/jwks", **kw)

    async def verify(
        self, app_name: str, app_id: str, code: str | None, state: str | None, **kw: Any
    ) -> Reply:
        params = {k: v for k, v in (("code", code), ("state", state)) if v is not None}
        path = f"/api/v1/apps/{app_name}/{app_id}/oauth2/callback"
        return await self.call("POST", path, params=params, **kw)


def first(fake: FakeOkta, name: str, **state: Any) -> FakeApp:
    """The first seeded app named ``name`` whose attributes match ``state``."""
    for app in fake.apps:
        if app.name == name and all(getattr(app, k) == v for k, v in state.items()):
            return app
    raise LookupError(f"no seeded {name} app with {state}")
