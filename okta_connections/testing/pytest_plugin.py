"""pytest plugin: a fake Okta org per test, a client bound to it, app factories, presets.

Installed with the package (``pytest11`` entry point ``okta_connections``); disable it with
``-p no:okta_connections``. Fixtures:

``fake_okta``
    A running :class:`FakeOkta` per test with a seeded estate (60 apps, seed 0), served
    from a background thread so that it works the same under pytest-asyncio (auto or
    strict mode), anyio's pytest plugin (asyncio backend) and plain ``asyncio.run`` in a
    sync test. Its rate limit is generous (1,000,000 per minute, not enforced) unless a
    marker asks otherwise.
``okta_client``
    An :class:`~okta_connections.OktaClient` bound to it (SSWS token, quick retries),
    closed when the test ends.
``okta_app_factory``
    An :class:`AppFactory`: apps of any type, token or OAuth, ENABLED or DISABLED.
``okta_org_options``
    The :class:`FakeOkta` keyword arguments; override it in a ``conftest.py`` to change
    the defaults of a whole directory.

Markers: ``okta_org(**FakeOkta options)``, ``okta_rate_limit(preset | limit=...)`` and
``okta_faults(preset | fail_rate=...)``; see :data:`RATE_LIMIT_PRESETS` and
:data:`FAULT_PRESETS`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import Any, Final

import pytest

from ..auth import SSWSToken
from ..client import OktaClient
from ..retry import RetryPolicy
from ._factory import AppFactory
from ._fake import FakeOkta
from ._thread import ServingThread

__all__ = [
    "DEFAULT_ORG_OPTIONS",
    "FAULT_PRESETS",
    "RATE_LIMIT_PRESETS",
    "fake_okta",
    "okta_app_factory",
    "okta_client",
    "okta_org_options",
]

#: What ``fake_okta`` is created with unless ``okta_org_options`` or a marker says otherwise.
#: The limit is generous because clients (ours included) pace themselves from the
#: ``X-Rate-Limit-*`` headers: Okta's real 100 per minute would make most tests crawl.
DEFAULT_ORG_OPTIONS: Final[dict[str, Any]] = {
    "apps": 60,
    "seed": 0,
    "rate_limit": 1_000_000,
    "rate_window": 60.0,
    "enforce_rate_limit": False,
}

#: ``@pytest.mark.okta_rate_limit("<name>")``: (limit, window seconds, enforce).
RATE_LIMIT_PRESETS: Final[dict[str, tuple[int, float, bool]]] = {
    # The fixture's default: headers count down, nothing is refused.
    "unlimited": (1_000_000, 60.0, False),
    # Okta's /api/v1/apps* bucket on One App, Enterprise and Workforce plans (ref. §8.3).
    "okta": (100, 60.0, True),
    # One token's default share (50%) of that bucket (ref. §8.4).
    "okta-token-share": (50, 60.0, True),
    # The Integrator Free Plan's /api/v1/apps* bucket.
    "integrator-free": (20, 60.0, True),
    # 429s within a second, and windows that reset quickly: for retry and pacing tests.
    "tight": (5, 1.0, True),
}

#: ``@pytest.mark.okta_faults("<name>")``: keyword arguments of :meth:`FakeOkta.set_faults`.
FAULT_PRESETS: Final[dict[str, dict[str, float]]] = {
    "none": {},
    # One request in five answered 500/502/503/504 before anything changes.
    "flaky": {"fail_rate": 0.2},
    # One in ten handled, then cut off without a response.
    "lossy": {"drop_rate": 0.1},
    # One in five held for a quarter of a second.
    "slow": {"slow_rate": 0.2, "slow_seconds": 0.25},
    # One 200 in five with its JSON body cut short.
    "malformed": {"malformed_rate": 0.2},
    # A bit of everything.
    "chaos": {
        "fail_rate": 0.1,
        "drop_rate": 0.05,
        "slow_rate": 0.05,
        "slow_seconds": 0.1,
        "malformed_rate": 0.05,
    },
}

_MARKERS: Final = (
    "okta_org(**options): FakeOkta keyword arguments for the fake_okta fixture "
    "(apps=, seed=, token=, clock=, rate_limit=, latency=, latency_jitter=...).",
    "okta_rate_limit(preset=None, *, limit=None, window=60.0, enforce=True, concurrency=None): "
    "rate-limit preset for fake_okta; presets: " + ", ".join(RATE_LIMIT_PRESETS) + ".",
    "okta_faults(preset=None, *, fail_rate=0, drop_rate=0, slow_rate=0, slow_seconds=2.0, "
    "malformed_rate=0, seed=0): random-fault preset for fake_okta; presets: "
    + ", ".join(FAULT_PRESETS)
    + ".",
)

#: Retries as the default policy, minus the waiting: tests stay fast.
_QUICK_RETRY: Final = RetryPolicy(backoff_base=0.0, backoff_max=0.0)


def pytest_configure(config: pytest.Config) -> None:
    for line in _MARKERS:
        config.addinivalue_line("markers", line)


def _marker_args(node: pytest.Item, name: str) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
    marker = node.get_closest_marker(name)
    return None if marker is None else (marker.args, dict(marker.kwargs))


def _apply_rate_limit(fake: FakeOkta, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if len(args) > 1:
        raise pytest.UsageError("okta_rate_limit takes at most one positional preset name")
    concurrency = kwargs.pop("concurrency", None)
    if args:
        try:
            limit, window, enforce = RATE_LIMIT_PRESETS[args[0]]
        except KeyError:
            raise pytest.UsageError(
                f"unknown okta_rate_limit preset {args[0]!r}; "
                f"choose from {', '.join(RATE_LIMIT_PRESETS)}"
            ) from None
        kwargs = {"limit": limit, "window": window, "enforce": enforce, **kwargs}
    unknown = set(kwargs) - {"limit", "window", "enforce"}
    if unknown:
        raise pytest.UsageError(f"okta_rate_limit: unknown arguments {sorted(unknown)}")
    if "limit" in kwargs:
        fake.set_rate_limit(
            kwargs["limit"], kwargs.get("window", 60.0), enforce=kwargs.get("enforce", True)
        )
    elif kwargs:
        raise pytest.UsageError("okta_rate_limit needs a preset name or limit=")
    if concurrency is not None:
        fake.set_concurrency_limit(concurrency)


def _apply_faults(fake: FakeOkta, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if len(args) > 1:
        raise pytest.UsageError("okta_faults takes at most one positional preset name")
    options: dict[str, Any] = {"seed": 0}
    if args:
        try:
            options.update(FAULT_PRESETS[args[0]])
        except KeyError:
            raise pytest.UsageError(
                f"unknown okta_faults preset {args[0]!r}; choose from {', '.join(FAULT_PRESETS)}"
            ) from None
    options.update(kwargs)
    try:
        fake.set_faults(**options)
    except TypeError as exc:
        raise pytest.UsageError(f"okta_faults: {exc}") from None


@pytest.fixture(scope="session")
def _okta_serving_thread() -> Iterator[ServingThread]:
    thread = ServingThread()
    yield thread
    thread.stop()


@pytest.fixture
def okta_org_options() -> dict[str, Any]:
    """Keyword arguments for the ``fake_okta`` org; override it to change the defaults."""
    return dict(DEFAULT_ORG_OPTIONS)


@pytest.fixture
def fake_okta(
    request: pytest.FixtureRequest,
    okta_org_options: dict[str, Any],
    _okta_serving_thread: ServingThread,
) -> Iterator[FakeOkta]:
    """A running FakeOkta for this test (see the module docstring for the markers)."""
    options = dict(okta_org_options)
    marked = _marker_args(request.node, "okta_org")
    if marked is not None:
        if marked[0]:
            raise pytest.UsageError("okta_org takes keyword arguments only")
        options.update(marked[1])
    latency = options.pop("latency", 0.0)
    jitter = options.pop("latency_jitter", 0.0)
    fake = FakeOkta(**options)
    fake.latency = latency
    fake.latency_jitter = jitter
    rate = _marker_args(request.node, "okta_rate_limit")
    if rate is not None:
        _apply_rate_limit(fake, *rate)
    faults = _marker_args(request.node, "okta_faults")
    if faults is not None:
        _apply_faults(fake, *faults)
    _okta_serving_thread.start(fake)
    try:
        yield fake
    finally:
        _okta_serving_thread.close(fake)


class _ClientCloser:
    """Closes a fixture's OktaClient on the loop the test used it on.

    The client opens its aiohttp session lazily, on the test's loop. At that moment a
    guard task is started on the same loop; whoever ends the loop first closes the
    client there: the loop's runner cancelling leftover tasks (pytest-asyncio >= 1,
    anyio, ``asyncio.run``), the loop being closed (older pytest-asyncio closes it
    without cancelling tasks), or this fixture's teardown while the loop is still open.
    """

    def __init__(self, client: OktaClient) -> None:
        self.client = client
        self.loop: asyncio.AbstractEventLoop | None = None
        self.guard: asyncio.Task[None] | None = None
        self._unwrap: Callable[[], None] | None = None
        session = client._session
        if session is None:  # pragma: no cover - set by OktaClient.__init__
            raise RuntimeError("OktaClient has no session")
        opener = session.open

        async def open_and_guard() -> None:
            await opener()
            if self.guard is None:
                loop = self.loop = asyncio.get_running_loop()
                self.guard = loop.create_task(self._close_when_cancelled())
                close_loop = loop.close

                def finish_then_close() -> None:
                    self._finish()
                    close_loop()

                had_own = "close" in vars(loop)
                setattr(loop, "close", finish_then_close)  # noqa: B010 (mypy: method assign)

                def unwrap() -> None:
                    # A loop shared by many tests must not collect one wrapper (and one
                    # client) per test: undo ours when the fixture ends, if still on top.
                    if vars(loop).get("close") is finish_then_close:
                        if had_own:
                            setattr(loop, "close", close_loop)  # noqa: B010
                        else:
                            delattr(loop, "close")

                self._unwrap = unwrap

        setattr(session, "open", open_and_guard)  # noqa: B010 (mypy: method assign)

    async def _close_when_cancelled(self) -> None:
        try:
            await asyncio.get_running_loop().create_future()
        finally:
            await self.client.close()

    def _finish(self) -> None:
        guard, loop = self.guard, self.loop
        if guard is None or loop is None:
            return
        if guard.done() or loop.is_closed() or loop.is_running():
            return
        guard.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(guard)

    def close(self) -> None:
        if self.guard is None:
            # Never used: nothing is bound to a loop; close it on a throwaway one.
            throwaway = asyncio.new_event_loop()
            try:
                throwaway.run_until_complete(self.client.close())
            finally:
                throwaway.close()
            return
        self._finish()
        if self._unwrap is not None:
            self._unwrap()


@pytest.fixture
def okta_client(fake_okta: FakeOkta) -> Iterator[OktaClient]:
    """An OktaClient for ``fake_okta`` (its SSWS token; retries without waiting)."""
    client = OktaClient(fake_okta.org_url, auth=SSWSToken(fake_okta.token), retry=_QUICK_RETRY)
    closer = _ClientCloser(client)
    try:
        yield client
    finally:
        closer.close()


@pytest.fixture
def okta_app_factory(fake_okta: FakeOkta) -> AppFactory:
    """Creates apps in ``fake_okta``: ``okta_app_factory.token("zscalerbyz")`` and so on."""
    return AppFactory(fake_okta)
