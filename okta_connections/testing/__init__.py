"""A fake Okta org for tests and benchmarks: :class:`FakeOkta`.

It serves the Application Connections API (get, update, activate, deactivate, JWKS,
verify) plus ``GET /api/v1/apps`` from an ``aiohttp.web`` app on 127.0.0.1, with seeded
apps, Okta's error bodies, auth, headers and rate-limit windows. Run it standalone with
``python -m okta_connections.testing --port 8080 --apps 1000``.

For pytest, the package installs a plugin (``okta_connections.testing.pytest_plugin``)
with ``fake_okta``, ``okta_client`` and ``okta_app_factory`` fixtures and rate-limit and
fault markers; see docs/testing.md. :func:`mock_okta` registers Okta-shaped responses on
an ``aioresponses`` mock instead, and :func:`aioresponses` is that mock made to work on
aiohttp 3.14 and newer.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._aioresponses import (
        MockClientResponse,
        MockedApp,
        aioresponses,
        mock_okta,
        mock_okta_not_found,
    )
    from ._factory import AppFactory
    from ._fake import FakeOkta, FakeOktaSnapshot
    from ._log import RequestLog
    from ._model import FakeApp, RecordedRequest, RemoteHostError, UnknownAppError
    from ._state import OrgState
    from ._thread import ServingThread

__all__ = [
    "AppFactory",
    "FakeApp",
    "FakeOkta",
    "FakeOktaSnapshot",
    "MockClientResponse",
    "MockedApp",
    "OrgState",
    "RecordedRequest",
    "RemoteHostError",
    "RequestLog",
    "ServingThread",
    "UnknownAppError",
    "aioresponses",
    "mock_okta",
    "mock_okta_not_found",
]

# Imported on first use: the pytest plugin lives in this package and is loaded into every
# test session, so importing the package must not import aiohttp.web and the fake org.
_WHERE = {
    "MockClientResponse": "_aioresponses",
    "MockedApp": "_aioresponses",
    "aioresponses": "_aioresponses",
    "mock_okta": "_aioresponses",
    "mock_okta_not_found": "_aioresponses",
    "AppFactory": "_factory",
    "FakeOkta": "_fake",
    "FakeOktaSnapshot": "_fake",
    "RequestLog": "_log",
    "FakeApp": "_model",
    "RecordedRequest": "_model",
    "RemoteHostError": "_model",
    "UnknownAppError": "_model",
    "OrgState": "_state",
    "ServingThread": "_thread",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
