"""mock_okta's rate-limit headers count down per one-minute window and then start afresh."""

from __future__ import annotations

import time

import pytest

from okta_connections.testing import FakeApp, MockedApp, _aioresponses


def test_remaining_resets_with_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [time.time()]  # the window opens on the real clock (attrs captured time.time)
    monkeypatch.setattr(_aioresponses.time, "time", lambda: now[0])
    mocked = MockedApp(
        FakeApp(id="0oaMOCK", name="okta_org2org", label="x"), "https://acme.okta.com",
        rate_limit=3,
    )  # fmt: skip
    remaining = [mocked._headers(200)["X-Rate-Limit-Remaining"] for _ in range(4)]
    assert remaining == ["2", "1", "0", "0"]
    now[0] += 61  # the window has reset: a paced client must see budget again
    headers = mocked._headers(200)
    assert headers["X-Rate-Limit-Remaining"] == "2"
    assert int(headers["X-Rate-Limit-Reset"]) == int(now[0] + 60)
