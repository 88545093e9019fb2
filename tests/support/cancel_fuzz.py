"""Cancellation fuzzing (issue 24): every public coroutine of the client, the bulk jobs and
``scale_out``, cancelled at a random point or run under ``asyncio.timeout``.

- :func:`public_coroutines` finds what to run by introspection, so a new public
  coroutine is covered (or fails :data:`CASES`' completeness check) without anyone
  remembering to add it;
- :data:`CASES` says how to call each one against a FakeOkta (:class:`Ctx`);
- :func:`exercise` runs one case once, cancelled after a random number of event-loop
  turns or a random delay, or under ``asyncio.timeout`` of a random length, and returns
  what it raised;
- :func:`leftovers` lists what a cancelled call left behind: tasks, slots of the pacer,
  shared-budget leases (in the limiter and in Redis), open journals.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import random
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import attrs

from okta_connections import OktaClient, TokenConnection, scale_out
from okta_connections.bulk.job import BulkJob
from okta_connections.errors import OktaError
from okta_connections.testing import FakeOkta

#: Names of the entry points :func:`public_coroutines` finds.
CLIENT = "OktaClient"
JOB = "BulkJob"


def _is_async(fn: object) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn)


def _makes_job(fn: object) -> bool:
    try:
        annotation = inspect.signature(fn).return_annotation  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return JOB in str(annotation)


def public_coroutines(okta: OktaClient) -> set[str]:
    """Every public coroutine (or async generator) of the client, of each service object
    it holds (``connections.get``, ``apps.list``), every method of a service that makes a
    bulk job (``bulk.activate``), BulkJob's own public coroutines (``BulkJob.run``), and
    ``scale_out``'s public coroutines (``scale_out.run_chunk``)."""
    found: set[str] = set()
    for name, fn in inspect.getmembers(type(okta)):
        if not name.startswith("_") and _is_async(fn):
            found.add(f"{CLIENT}.{name}")
    for attr, service in vars(okta).items():
        if attr.startswith("_") or service is None or isinstance(service, str | int | float):
            continue
        for name, fn in inspect.getmembers(type(service)):
            if name.startswith("_") or not callable(fn):
                continue
            if _is_async(fn) or _makes_job(fn):
                found.add(f"{attr}.{name}")
    for name, fn in inspect.getmembers(BulkJob):
        if not name.startswith("_") and _is_async(fn):
            found.add(f"{JOB}.{name}")
    for name in scale_out.__all__:
        if _is_async(getattr(scale_out, name)):
            found.add(f"scale_out.{name}")
    return found


@attrs.define
class Ctx:
    """What a case runs against: the client, its org, the apps, a seeded random."""

    okta: OktaClient
    fake: FakeOkta
    ids: list[str]
    oauth_app: str
    rng: random.Random
    tmp: Path
    shared_budget: str | None = None
    jobs: list[BulkJob[Any]] = attrs.field(factory=list)

    def some(self, n: int | None = None) -> list[str]:
        n = self.rng.randint(1, len(self.ids)) if n is None else n
        return self.rng.sample(self.ids, n)

    def job_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.rng.random() < 0.5:
            options["journal"] = self.tmp / f"journal-{self.rng.randrange(1 << 30)}.jsonl"
        if self.rng.random() < 0.5:
            options["concurrency"] = self.rng.randint(1, 6)
        return options


async def _drain(items: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in items]


def _token() -> TokenConnection:
    return TokenConnection(token="cancel-fuzz-target-token-0123456789")


#: bulk.<name>: the job to run, from the context.
JOBS: dict[str, Callable[[Ctx], BulkJob[Any]]] = {
    "get": lambda c: c.okta.bulk.get(c.some(), **c.job_options()),
    "activate": lambda c: c.okta.bulk.activate(c.some(), **c.job_options()),
    "deactivate": lambda c: c.okta.bulk.deactivate(c.some(), **c.job_options()),
    "update": lambda c: c.okta.bulk.update(
        [(i, _token()) for i in c.some()],
        activate=c.rng.choice([None, True]),
        read_back=c.rng.random() < 0.5,
        **c.job_options(),
    ),
    "set_token": lambda c: c.okta.bulk.set_token(
        c.some(), "cancel-fuzz-rotated-token-0123456789", read_back=True, **c.job_options()
    ),
    "ensure_activated": lambda c: c.okta.bulk.ensure_activated(c.some(), **c.job_options()),
    "ensure_deactivated": lambda c: c.okta.bulk.ensure_deactivated(c.some(), **c.job_options()),
    "run": lambda c: c.okta.bulk.run(_custom, c.some(), **c.job_options()),
}


async def _custom(client: OktaClient, app_id: str) -> Any:
    conn = await client.connections.get(app_id)
    await asyncio.sleep(0)
    return conn


async def _run(job: BulkJob[Any]) -> Any:
    return await job.run()


async def _stream(job: BulkJob[Any]) -> Any:
    async with job:
        async for _ in job:
            pass
    return job.report


async def _bare_iter(job: BulkJob[Any]) -> Any:
    async for _ in job:
        pass
    return job.report


#: How a job is consumed: BulkJob's public coroutines, and streaming.
JOB_MODES: dict[str, Callable[[BulkJob[Any]], Awaitable[Any]]] = {
    "run": _run,
    "stream": _stream,
    "iter": _bare_iter,
}


def _job_case(name: str | None, mode: str | None) -> Callable[[Ctx], Awaitable[Any]]:
    """A job (``name``, or one drawn) consumed one way (``mode``, or one drawn)."""

    async def case(c: Ctx) -> Any:
        job = JOBS[name or c.rng.choice(sorted(JOBS))](c)
        c.jobs.append(job)
        return await JOB_MODES[mode or c.rng.choice(sorted(JOB_MODES))](job)

    return case


async def _run_chunk(c: Ctx) -> Any:
    action = c.rng.choice(scale_out.ACTIONS)
    ids = c.some()
    if c.rng.random() < 0.3:  # the chunk builds (and must close) a client of its own
        options: dict[str, Any] = {"org_url": c.fake.org_url, "token": c.fake.token}
        if c.shared_budget is not None:
            options["shared_budget"] = c.shared_budget
        return await scale_out.run_chunk(action, ids, **options)
    return await scale_out.run_chunk(action, ids, client=c.okta)


async def _concurrent(c: Ctx) -> Any:
    """Several calls at once, some of them cancelled on the way: a cancelled waiter must
    not strand the others (a probe, the pacer's lock, a wake-up, a shared refresh)."""
    singles = [n for n in CASES if n.startswith(("connections.", "apps."))]
    tasks = [
        asyncio.ensure_future(CASES[c.rng.choice(singles)](c)) for _ in range(c.rng.randint(2, 8))
    ]
    for task in tasks:
        if c.rng.random() < 0.4:
            asyncio.get_running_loop().call_later(c.rng.uniform(0, 1.0), task.cancel)
    try:
        done = await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for task in tasks:
            task.cancel()
    odd = [r for r in done if isinstance(r, BaseException) and not _allowed_alone(r)]
    if odd:
        raise AssertionError(f"a concurrent call raised {odd!r}") from odd[0]
    return done


def _allowed_alone(exc: BaseException) -> bool:
    return isinstance(exc, OktaError | asyncio.CancelledError) and not isinstance(
        exc, BaseExceptionGroup
    )


async def _close(c: Ctx) -> Any:
    """close(), sometimes with calls in flight (a token refresh, a pacing wait, a send):
    they end with ClientClosedError, their cancellation or another OktaError."""
    singles = [n for n in CASES if n.startswith("connections.")]
    calls = [
        asyncio.ensure_future(CASES[c.rng.choice(singles)](c)) for _ in range(c.rng.randint(0, 3))
    ]
    try:
        if calls:
            await asyncio.wait(calls, timeout=c.rng.uniform(0, 0.5))
        await c.okta.close()
    finally:
        done = await asyncio.gather(*calls, return_exceptions=True)
    odd = [r for r in done if isinstance(r, BaseException) and not _allowed_alone(r)]
    if odd:
        raise AssertionError(f"a call in flight at close() raised {odd!r}") from odd[0]


#: Every public coroutine: how to call it. ``test_every_public_coroutine_has_a_case``
#: fails on one that :func:`public_coroutines` finds and this table lacks.
CASES: dict[str, Callable[[Ctx], Awaitable[Any]]] = {
    f"{CLIENT}.open": lambda c: c.okta.open(),
    f"{CLIENT}.close": lambda c: _close(c),
    "connections.get": lambda c: c.okta.connections.get(c.rng.choice(c.ids)),
    "connections.update": lambda c: c.okta.connections.update(
        c.rng.choice(c.ids), _token(), activate=c.rng.choice([None, True, False])
    ),
    "connections.activate": lambda c: c.okta.connections.activate(c.rng.choice(c.ids)),
    "connections.deactivate": lambda c: c.okta.connections.deactivate(c.rng.choice(c.ids)),
    "connections.get_jwks": lambda c: c.okta.connections.get_jwks(c.oauth_app),
    "connections.verify": lambda c: c.okta.connections.verify(
        "slack", c.oauth_app, code="fuzz-code", state="fuzz-state"
    ),
    "apps.list": lambda c: _drain(c.okta.apps.list(limit=c.rng.randint(1, 5))),
    **{f"bulk.{name}": _job_case(name, None) for name in JOBS},
    **{f"{JOB}.{mode}": _job_case(None, mode) for mode in JOB_MODES},
    "scale_out.run_chunk": _run_chunk,
    # Beyond one public coroutine each: several at once, some cancelled.
    "concurrent": lambda c: _concurrent(c),
}


def case_seed(case: str, how: str, seed: int) -> int:
    """The random stream of one round: the case's and the mode's, from the run's seed."""
    return zlib.crc32(f"{case}|{how}|{seed}".encode())


@attrs.define
class Outcome:
    """How one round ended."""

    raised: BaseException | None
    cancelled: bool  # the cancellation (or the timeout) reached the call while it ran
    where: str  # the cancellation point, for the failure message

    @property
    def allowed(self) -> bool:
        exc = self.raised
        if exc is None or isinstance(exc, OktaError):
            # Cancelled while it ran, yet it returned (or raised its own error): the
            # cancellation was swallowed, and the caller goes on as if never cancelled.
            return not self.cancelled or isinstance(exc, TimeoutError)
        return isinstance(exc, asyncio.CancelledError | TimeoutError) and not isinstance(
            exc, BaseExceptionGroup
        )


async def exercise(
    fn: Callable[[Ctx], Awaitable[Any]], ctx: Ctx, how: str, *, horizon: float
) -> Outcome:
    """Run ``fn(ctx)`` once, cancelled at a random point (``how="cancel"``) or under
    ``asyncio.timeout`` (``how="timeout"``); ``horizon`` is the longest delay drawn."""
    rng = ctx.rng
    turns = rng.random() < 0.4
    delay = horizon * rng.random() ** 2 if rng.random() < 0.9 else 0.0  # mostly early
    k = rng.randrange(0, 300)
    if how == "cancel":
        task = asyncio.ensure_future(fn(ctx))
        if turns:
            where = f"after {k} loop turns"
            for _ in range(k):
                if task.done():
                    break
                await asyncio.sleep(0)
        else:
            where = f"after {delay:.4f} s"
            await asyncio.wait({task}, timeout=delay)
        hit = task.cancel()
        try:
            await task
        except BaseException as exc:
            return Outcome(exc, hit, where)
        return Outcome(None, hit, where)
    where = f"asyncio.timeout({delay:.4f})"
    cm = asyncio.timeout(delay)
    try:
        async with cm:
            await fn(ctx)
    except BaseException as exc:
        return Outcome(exc, cm.expired(), where)
    return Outcome(None, cm.expired(), where)


def log_outcome(case: str, how: str, seed: int, outcome: Outcome) -> None:
    """With ``OKC_FUZZ_LOG=path``, one line per round: where the cancellation landed and
    what the call raised (to see that the rounds cancel calls mid-flight)."""
    path = os.environ.get("OKC_FUZZ_LOG")
    if path:
        with open(path, "a") as log:
            name = "returned" if outcome.raised is None else type(outcome.raised).__name__
            print(case, how, seed, outcome.cancelled, name, outcome.where, file=log)


def _ours(task: asyncio.Task[Any]) -> bool:
    """A task of the SDK or of the test, not of the fake org's server (aiohttp's
    connection handlers live as long as a keep-alive connection)."""
    code = getattr(task.get_coro(), "cr_code", None)
    filename = "" if code is None else code.co_filename
    return "aiohttp/web_protocol" not in filename and "aiohttp/web_server" not in filename


def stray_tasks() -> list[asyncio.Task[Any]]:
    current = asyncio.current_task()
    return [t for t in asyncio.all_tasks() if t is not current and not t.done() and _ours(t)]


async def settle(seconds: float, *, bound: float = 10.0) -> None:
    """Let what a cancellation started finish (returns queued for Redis, a refresh):
    ``seconds``, then until no task of ours is left or ``bound`` more seconds have passed
    (a loaded machine can slow a Redis round trip past any fixed wait; what is still
    running then is reported by :func:`stray_tasks`)."""
    for _ in range(20):
        await asyncio.sleep(0)
    await asyncio.sleep(seconds)
    loop = asyncio.get_running_loop()
    until = loop.time() + bound
    for _ in range(5):  # a task may start another (a grant's return)
        strays = stray_tasks()
        if not strays or loop.time() >= until:
            break
        await asyncio.wait(strays, timeout=until - loop.time())
    for _ in range(20):
        await asyncio.sleep(0)


def limiter_leftovers(okta: OktaClient) -> list[str]:
    """Slots, waiters and locks the pacer still holds; the shared budget's grants."""
    limiter = okta.rate_limiter
    found = []
    for name, b in list(limiter._buckets.items()):
        if limiter.in_flight(name):
            found.append(f"{name}: {limiter.in_flight(name)} in flight")
        if b.lock.locked():
            found.append(f"{name}: the pacer's lock is held")
        if b.waiter is not None:
            found.append(f"{name}: a waiter is parked")
        if b.probing:
            found.append(f"{name}: a probe is marked in flight")
    if limiter._held:
        found.append(f"pacer: fleet grants held {limiter._held!r}")
    fleet = limiter.fleet_budget
    if fleet is not None:
        for attr in ("_takes", "_gives", "_tasks"):
            value = getattr(fleet, attr)  # AttributeError when the budget's shape changes
            if value:
                found.append(f"shared budget: {attr} = {value!r}")
    return found


async def redis_leftovers(okta: OktaClient, url: str) -> list[str]:
    """Leases and probes the shared budget still holds in Redis for this client's org."""
    import redis.asyncio as aioredis

    limiter = okta.rate_limiter
    if limiter.fleet_budget is None:
        return []
    keys = limiter.fleet_budget._keys
    r = aioredis.Redis.from_url(url, decode_responses=True)
    found = []
    try:
        for bucket in list(limiter._buckets):
            leases_key, probes_key = keys(bucket)[:2]
            leases = await r.zrange(leases_key, 0, -1)
            if leases:
                found.append(f"{bucket}: leases {leases} in Redis")
            probes = await r.get(probes_key)
            if probes not in (None, "0"):
                found.append(f"{bucket}: {probes} probes in Redis")
    finally:
        await r.aclose()
    return found


def job_leftovers(ctx: Ctx) -> list[str]:
    found = []
    for job in ctx.jobs:
        if job._inflight:
            found.append(f"{job.operation}: items still in flight {job._inflight}")
        journal = job._journal
        if journal is not None and journal.is_open:
            found.append(f"{job.operation}: its journal is still open")
    return found


__all__ = [
    "CASES",
    "CLIENT",
    "JOB",
    "JOBS",
    "JOB_MODES",
    "Ctx",
    "Outcome",
    "case_seed",
    "exercise",
    "job_leftovers",
    "limiter_leftovers",
    "log_outcome",
    "public_coroutines",
    "redis_leftovers",
    "settle",
    "stray_tasks",
]
