"""Scripted faults: arguments are checked in the caller, and a scripted 429's Reset
(issue #25, item 11)."""

from __future__ import annotations

import sys

import pytest

from okta_connections.testing import FakeOkta
from tests.support.fake_http import Api, FakeClock


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"times": None}, TypeError, "times=sys.maxsize"),
        ({"times": 0}, ValueError, "times must be >= 1"),
        ({"times": True}, TypeError, "times must be an int"),
        ({"status": 200}, ValueError, "400-599"),
        ({"status": "503"}, TypeError, "status must be an int"),
        ({"operation": "activte"}, ValueError, "operation must be one of"),
        ({"reset_in": 0}, ValueError, "reset_in must be >= 1"),
    ],
)
async def test_fault_arguments_are_checked_where_given(
    fake: FakeOkta, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    args: dict[str, object] = {"status": 503, "times": 1} | kwargs
    with pytest.raises(error, match=message):
        fake.fail_next(**args)  # type: ignore[arg-type]
    operation = args.pop("operation", None)
    with pytest.raises(error, match=message):
        fake.fail(None, operation, **args)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="app_id"):
        fake.fail(42, None)  # type: ignore[arg-type]
    assert fake.faults.scripted == []


async def test_times_sys_maxsize_fails_for_ever(api: Api, fake: FakeOkta) -> None:
    app = fake.apps[0]
    fake.fail(app.id, "get", status=503, times=sys.maxsize)
    for _ in range(5):
        assert (await api.get(app.id)).status == 503


async def test_a_scripted_429_resets_at_the_next_second(
    api: Api, fake: FakeOkta, clock: FakeClock
) -> None:
    clock.advance(0.4)
    app = fake.apps[0]
    assert (await api.get(app.id)).status == 200  # opens the 60 s window
    window_end = int(clock()) + 60
    fake.fail_next(429)
    refused = await api.get(app.id)
    assert refused.status == 429
    assert refused.headers["X-Rate-Limit-Remaining"] == "0"
    assert refused.headers["X-Rate-Limit-Reset"] == str(int(clock()) + 1)
    fake.fail_next(429, reset_in=30)
    assert (await api.get(app.id)).headers["X-Rate-Limit-Reset"] == str(int(clock()) + 30)
    # The org's own window is untouched: the next answer shows it.
    assert (await api.get(app.id)).headers["X-Rate-Limit-Reset"] == str(window_end)
