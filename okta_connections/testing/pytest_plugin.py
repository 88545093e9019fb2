"""pytest plugin: a fake Okta org per test, a client bound to it, app factories, presets.

Installed with the package (``pytest11`` entry point ``okta_connections``); disable it with
``-p no:okta_connections``. Fixtures:

``fake_okta``
    A running :class:`FakeOkta` per test with a seeded estate (60 apps, seed 0), served
    from a background thread so that it works the same under pytest-asyncio (auto or
    strict mode), anyio's pytest plugin (asyncio backend) and plain ``asyncio.run`` in a
    sync test. Its rate limit is generous (1,000,000 per minute, enforced, as every
    limit the fake advertises is) unless a marker asks otherwise.
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

The plugin is loaded into every pytest session of every user who installs the package,
so this module imports nothing heavy: the fake org, aiohttp and the client are imported
when a fixture is first used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

import pytest

if TYPE_CHECKING:
    from ..client import OktaClient
    from ._factory import AppFactory
    from ._fake import FakeOkta
    from ._thread import ServingThread

__all__ = [
    "DEFAULT_ORG_OPTIONS",
    "FAULT_PRESETS",
    "RATE_LIMIT_PRESETS",
    "RATE_LIMIT_PRESET_EXTRAS",
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
    "rate_window": 60,
    "enforce_rate_limit": True,
}

#: ``@pytest.mark.okta_rate_limit("<name>")``: (limit, window seconds, enforce); the
#: principal shares and concurrency of a preset are in :data:`RATE_LIMIT_PRESET_EXTRAS`.
RATE_LIMIT_PRESETS: Final[dict[str, tuple[int, float, bool]]] = {
    # The fixture's default: generous, and enforced like every limit the fake shows.
    "unlimited": (1_000_000, 60.0, True),
    # Okta's documented defaults: the /api/v1/apps* bucket on One App, Enterprise and
    # Workforce plans (ref. §8.3), each token's 50% share of it (§8.4) and 75 requests
    # in flight (§8.5), of which each token may hold half.
    "okta": (100, 60.0, True),
    # One token's default share (50%) of that bucket (ref. §8.4).
    "okta-token-share": (50, 60.0, True),
    # The Integrator Free Plan's /api/v1/apps* bucket.
    "integrator-free": (20, 60.0, True),
    # 429s within a second, and windows that reset quickly: for retry and pacing tests.
    "tight": (5, 1.0, True),
}

#: What a preset sets besides its limit: keyword arguments of ``okta_rate_limit``.
RATE_LIMIT_PRESET_EXTRAS: Final[dict[str, dict[str, Any]]] = {
    "okta": {"principal_share": 0.5, "concurrency": 75, "concurrency_share": 0.5},
}

_RATE_LIMIT_OPTIONS: Final = frozenset(
    {"limit", "window", "enforce", "principal_share", "concurrency_share", "headers"}
)

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
    "okta_rate_limit(preset=None, *, limit=None, window=60, enforce=True, concurrency=None, "
    "principal_share=None, concurrency_share=None, headers=None): rate-limit preset for "
    "fake_okta (headers: 'principal' or 'org'); presets: " + ", ".join(RATE_LIMIT_PRESETS) + ".",
    "okta_faults(preset=None, *, fail_rate=0, drop_rate=0, slow_rate=0, slow_seconds=2.0, "
    "malformed_rate=0, seed=0): random-fault preset for fake_okta; presets: "
    + ", ".join(FAULT_PRESETS)
    + ".",
)


def pytest_configure(config: pytest.Config) -> None:
    for line in _MARKERS:
        config.addinivalue_line("markers", line)


def _marker_args(node: pytest.Item, name: str) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
    marker = node.get_closest_marker(name)
    return None if marker is None else (marker.args, dict(marker.kwargs))


def _apply_rate_limit(fake: FakeOkta, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if len(args) > 1:
        raise pytest.UsageError("okta_rate_limit takes at most one positional preset name")
    if args:
        try:
            limit, window, enforce = RATE_LIMIT_PRESETS[args[0]]
        except KeyError:
            raise pytest.UsageError(
                f"unknown okta_rate_limit preset {args[0]!r}; "
                f"choose from {', '.join(RATE_LIMIT_PRESETS)}"
            ) from None
        kwargs = {
            "limit": limit,
            "window": window,
            "enforce": enforce,
            **RATE_LIMIT_PRESET_EXTRAS.get(args[0], {}),
            **kwargs,
        }
    concurrency = kwargs.pop("concurrency", None)
    unknown = set(kwargs) - _RATE_LIMIT_OPTIONS
    if unknown:
        raise pytest.UsageError(f"okta_rate_limit: unknown arguments {sorted(unknown)}")
    if "limit" not in kwargs and set(kwargs) & {"window", "enforce"}:
        raise pytest.UsageError("okta_rate_limit needs a preset name or limit=")
    limits = fake.limits
    try:
        if kwargs:
            # Without limit=, only the shares or the header mode change.
            fake.set_rate_limit(
                kwargs.get("limit", limits.limit),
                kwargs.get("window", 60 if "limit" in kwargs else limits.window),
                enforce=kwargs.get("enforce", True if "limit" in kwargs else limits.enforce),
                principal_share=kwargs.get("principal_share"),
                concurrency_share=kwargs.get("concurrency_share"),
                headers=kwargs.get("headers"),
            )
        if concurrency is not None:
            fake.set_concurrency_limit(concurrency)
    except ValueError as exc:
        raise pytest.UsageError(f"okta_rate_limit: {exc}") from None


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
    from ._thread import ServingThread

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
    from ._fake import FakeOkta

    options = dict(okta_org_options)
    marked = _marker_args(request.node, "okta_org")
    if marked is not None:
        if marked[0]:
            raise pytest.UsageError("okta_org takes keyword arguments only")
        options.update(marked[1])
        if "preset" in marked[1]:
            # The preset's limit and window, unless the marker gives its own: the
            # fixture's generous defaults must not override the preset.
            for name in ("rate_limit", "rate_window"):
                if name not in marked[1]:
                    options.pop(name, None)
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


@pytest.fixture
def okta_client(fake_okta: FakeOkta) -> Iterator[OktaClient]:
    """An OktaClient for ``fake_okta`` (its SSWS token; retries without waiting)."""
    from ..auth._static import SSWSToken
    from ..client import OktaClient
    from ..pipeline.retry import RetryPolicy
    from ._closer import ClientCloser

    # Retries as the default policy, minus the waiting: tests stay fast.
    quick = RetryPolicy(backoff_base=0.0, backoff_max=0.0)
    client = OktaClient(fake_okta.org_url, auth=SSWSToken(fake_okta.token), retry=quick)
    closer = ClientCloser(client)
    try:
        yield client
    finally:
        closer.close()


@pytest.fixture
def okta_app_factory(fake_okta: FakeOkta) -> AppFactory:
    """Creates apps in ``fake_okta``: ``okta_app_factory.token("zscalerbyz")`` and so on."""
    from ._factory import AppFactory

    return AppFactory(fake_okta)
