"""A fake Okta org for tests and benchmarks: :class:`FakeOkta`.

It serves the Application Connections API (get, update, activate, deactivate, JWKS,
verify) plus ``GET /api/v1/apps`` from an ``aiohttp.web`` app on 127.0.0.1, with seeded
apps, Okta's error bodies, auth, headers and rate-limit windows. Run it standalone with
``python -m okta_connections.testing --port 8080 --apps 1000``.
"""

from ._fake import FakeOkta
from ._model import FakeApp, RecordedRequest, UnknownAppError

__all__ = ["FakeApp", "FakeOkta", "RecordedRequest", "UnknownAppError"]
