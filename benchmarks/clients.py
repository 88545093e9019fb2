"""The three clients compared in the benchmarks, each driven the way its users drive it."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import os
from collections.abc import Sequence
from typing import Any

import aiohttp

from okta_connections import OktaClient, OktaError, SSWSToken
from okta_connections.bulk import OutcomeStatus

# Imported up front, as okta_connections is, so that no client's CPU counts an import;
# only ours_redis needs it.
with contextlib.suppress(ImportError):
    import redis.asyncio  # noqa: F401

Result = dict[str, int]  # succeeded / failed / lost


def _client(url: str, token: str, pacing: str = "burst", shared: bool = False) -> OktaClient:
    # The default is not passed, so that an older checkout (bench_bulk --base) runs too.
    options: dict[str, Any] = {} if pacing == "burst" else {"pacing": pacing}
    if shared:
        # bench_pacing's "redis" scenario starts a redis-server and names it here.
        options["shared_budget"] = os.environ["OKC_BENCH_SHARED_BUDGET"]
    return OktaClient(url, auth=SSWSToken(token), **options)


async def _bulk(
    url: str,
    token: str,
    op: str,
    app_ids: Sequence[str],
    concurrency: int | None,
    pacing: str,
    shared: bool = False,
) -> Result:
    out = {"succeeded": 0, "failed": 0, "lost": 0}
    async with _client(url, token, pacing, shared) as okta:
        job = getattr(okta.bulk, op)(list(app_ids), concurrency=concurrency)
        async for outcome in job:
            if outcome.status is OutcomeStatus.SUCCEEDED:
                out["succeeded"] += 1
            else:
                out["failed"] += 1
    out["lost"] = len(app_ids) - out["succeeded"] - out["failed"]
    return out


async def ours(
    url: str, token: str, op: str, app_ids: Sequence[str], concurrency: int | None
) -> Result:
    """okta_connections' bulk runner (default burst pacing)."""
    return await _bulk(url, token, op, app_ids, concurrency, "burst")


async def ours_redis(
    url: str, token: str, op: str, app_ids: Sequence[str], concurrency: int | None
) -> Result:
    """okta_connections' bulk runner drawing on a shared budget on Redis."""
    return await _bulk(url, token, op, app_ids, concurrency, "burst", shared=True)


async def ours_smooth(
    url: str, token: str, op: str, app_ids: Sequence[str], concurrency: int | None
) -> Result:
    """okta_connections' bulk runner with ``pacing="smooth"``."""
    return await _bulk(url, token, op, app_ids, concurrency, "smooth")


async def ours_gather(
    url: str, token: str, op: str, app_ids: Sequence[str], concurrency: int | None
) -> Result:
    """okta_connections with plain ``asyncio.gather`` over single calls, no semaphore:
    the limiter alone paces them."""
    return await _calls(url, token, op, app_ids, None)


async def gather(
    url: str, token: str, op: str, app_ids: Sequence[str], concurrency: int | None
) -> Result:
    """okta_connections' individual calls under ``asyncio.gather``, bounded by a semaphore
    of ``concurrency`` as the bare loop is, for the CPU-per-request comparison."""
    return await _calls(url, token, op, app_ids, concurrency or 50)


async def _calls(
    url: str, token: str, op: str, app_ids: Sequence[str], bound: int | None
) -> Result:
    out = {"succeeded": 0, "failed": 0, "lost": 0}
    sem = asyncio.Semaphore(bound) if bound else None
    async with _client(url, token) as okta:
        method = getattr(okta.connections, op)

        async def call(app_id: str) -> None:
            try:
                await method(app_id)
            except OktaError:
                out["failed"] += 1
            else:
                out["succeeded"] += 1

        async def one(app_id: str) -> None:
            if sem is None:
                await call(app_id)
            else:
                async with sem:
                    await call(app_id)

        await asyncio.gather(*(one(a) for a in app_ids))
    out["lost"] = len(app_ids) - out["succeeded"] - out["failed"]
    return out


def _path(op: str, app_id: str) -> tuple[str, str]:
    base = f"/api/v1/apps/{app_id}/connections/default"
    return {
        "get": ("GET", base),
        "activate": ("POST", base + "/lifecycle/activate"),
        "deactivate": ("POST", base + "/lifecycle/deactivate"),
    }[op]


async def bare(url: str, token: str, op: str, app_ids: Sequence[str], concurrency: int) -> Result:
    """A bare aiohttp loop, as a careful user would write it: a semaphore, and on a 429 a
    sleep until X-Rate-Limit-Reset (measured against Date) before trying again. No other
    retries: a 5xx or a dropped connection is a visible failure."""
    out = {"succeeded": 0, "failed": 0, "lost": 0}
    sem = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"SSWS {token}", "Accept": "application/json"}

    async def one(session: aiohttp.ClientSession, app_id: str) -> None:
        method, path = _path(op, app_id)
        async with sem:
            for _ in range(10):
                try:
                    async with session.request(
                        method, url + path, headers=headers, data=b"" if method == "POST" else None
                    ) as resp:
                        await resp.read()
                        if resp.status == 429:
                            reset = float(resp.headers.get("X-Rate-Limit-Reset", "0"))
                            date = email.utils.parsedate_to_datetime(
                                resp.headers["Date"]
                            ).timestamp()
                            await asyncio.sleep(max(0.0, reset - date) + 0.05)
                            continue
                        if resp.status < 300:
                            out["succeeded"] += 1
                        else:
                            out["failed"] += 1
                        return
                except (TimeoutError, aiohttp.ClientError):
                    out["failed"] += 1
                    return
            out["failed"] += 1

    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await asyncio.gather(*(one(session, a) for a in app_ids))
    out["lost"] = len(app_ids) - out["succeeded"] - out["failed"]
    return out


async def official(
    url: str, token: str, op: str, app_ids: Sequence[str], concurrency: int
) -> Result:
    """The official okta 3.4.6 SDK with asyncio.gather, as its docs show a call, bounded by
    a semaphore. Its calls return (data, response, error) tuples; an exception that escapes
    counts as failed; a call that reports neither data nor error for a get counts as lost."""
    import os

    from okta.client import Client  # the benchmarks extra

    # The fake org is plain http on loopback; the SDK's only switch for that is this
    # variable (its constructor nests every key under "client").
    os.environ["OKTA_TESTING_TESTINGDISABLEHTTPSCHECK"] = "true"
    out = {"succeeded": 0, "failed": 0, "lost": 0}
    client = Client({"orgUrl": url, "token": token})
    # Finding: okta 3.4.6 builds the generated APIs' header as authorization_mode + token,
    # i.e. "SSWS<token>" with no space (okta/configuration.py, auth_settings), which a
    # server that follows Okta's documented "SSWS {token}" refuses with 401. We restore
    # the space so that the comparison measures the rest of the SDK.
    client.configuration.authorization_mode = "SSWS "
    method = {
        "get": client.get_default_provisioning_connection_for_application,
        "activate": client.activate_default_provisioning_connection_for_application,
        "deactivate": client.deactivate_default_provisioning_connection_for_application,
    }[op]
    sem = asyncio.Semaphore(concurrency)

    async def one(app_id: str) -> None:
        async with sem:
            try:
                result: Any = await method(app_id)
            except Exception:
                out["failed"] += 1
                return
        error = result[-1] if isinstance(result, tuple) else None
        if error is not None:
            out["failed"] += 1
        elif op == "get" and (not isinstance(result, tuple) or result[0] is None):
            out["lost"] += 1
        else:
            out["succeeded"] += 1

    await asyncio.gather(*(one(a) for a in app_ids))
    return out


def available() -> list[str]:
    """The clients this environment can run: the official SDK only when it is installed."""
    try:
        import okta  # noqa: F401
    except ImportError:
        print("(okta 3.4.6 not installed: pip install -e '.[benchmarks]')")
        return ["ours", "bare"]
    return ["ours", "bare", "official"]


async def bare_decoded(
    url: str, token: str, op: str, app_ids: Sequence[str], concurrency: int
) -> Result:
    """The bare loop plus what every typed SDK call must do with a response: parse the
    JSON, build the typed model, read the rate-limit headers. The floor of a typed client
    on aiohttp: no pacing, no retries, no error mapping, no redaction."""
    from okta_connections._json import loads
    from okta_connections.models import ProvisioningConnection
    from okta_connections.models._converter import converter
    from okta_connections.ratelimit import parse_rate_limit

    out = {"succeeded": 0, "failed": 0, "lost": 0}
    sem = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"SSWS {token}", "Accept": "application/json"}

    async def one(session: aiohttp.ClientSession, app_id: str) -> None:
        method, path = _path(op, app_id)
        async with sem:
            try:
                async with session.request(method, url + path, headers=headers) as resp:
                    body = await resp.read()
                    parse_rate_limit(resp.headers)
                    if resp.status < 300:
                        converter.structure(loads(body), ProvisioningConnection)
                        out["succeeded"] += 1
                    else:
                        out["failed"] += 1
            except (TimeoutError, aiohttp.ClientError):
                out["failed"] += 1

    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await asyncio.gather(*(one(session, a) for a in app_ids))
    out["lost"] = len(app_ids) - out["succeeded"] - out["failed"]
    return out
