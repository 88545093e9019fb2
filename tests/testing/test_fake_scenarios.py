"""Scenario scripting on FakeOkta: the filtered request log, assertions, snapshot/restore."""

from __future__ import annotations

import asyncio
import re
import threading

import pytest

from okta_connections.testing import FakeOkta, FakeOktaSnapshot, RequestLog, ServingThread
from tests.support.fake_http import Api


async def test_requests_is_a_list_and_a_filter(fake: FakeOkta, api: Api) -> None:
    token_app = fake.add_app("zscalerbyz", connection="token")
    other = fake.add_app("okta_org2org", connection="token")
    await api.get(token_app.id)
    await api.activate(token_app.id)
    await api.activate(other.id)
    await api.activate("0oaMISSING")
    log = fake.requests
    assert isinstance(log, RequestLog) and isinstance(log, list)
    assert len(log) == 4 and log[0].operation == "get"
    assert fake.requests(operation="activate", app_id=token_app.id) == [log[1]]
    assert fake.requests("activate") == log[1:]
    assert fake.requests(status=404) == [log[3]]
    assert fake.requests(method="post", status=204) == log[1:3]
    assert fake.requests(app_id="0oaNOBODY") == []
    fake.requests.clear()
    assert fake.requests() == []
    fake.requests = []  # assignment keeps the callable log
    assert isinstance(fake.requests, RequestLog)


async def test_assert_called_passes_and_returns_matches(fake: FakeOkta, api: Api) -> None:
    app = fake.add_app("zscalerbyz", connection="token")
    await api.activate(app.id)
    await api.activate(app.id)
    assert len(fake.assert_called("activate", app_id=app.id, times=2)) == 2
    assert len(fake.assert_called("activate")) == 2  # at least once
    fake.assert_not_called("deactivate")
    fake.assert_not_called("activate", status=500)


async def test_assert_called_failure_shows_what_was_called(fake: FakeOkta, api: Api) -> None:
    app = fake.add_app("zscalerbyz", connection="token")
    await api.get(app.id)
    await api.update(app.id, {"profile": {"authScheme": "TOKEN", "token": "t"}}, "true")
    with pytest.raises(AssertionError) as info:
        fake.assert_called("activate", app_id=app.id, times=1)
    message = str(info.value)
    assert message.splitlines() == [
        f"expected activate for app {app.id} to be called 1 time, but it was called 0 times.",
        "The fake received 2 requests:",
        f"    GET /api/v1/apps/{app.id}/connections/default -> 200  (get, app {app.id})",
        f"    POST /api/v1/apps/{app.id}/connections/default?activate=true -> 200"
        f"  (update, app {app.id})",
    ]


async def test_assert_not_called_failure_stars_the_offenders(fake: FakeOkta, api: Api) -> None:
    app = fake.add_app("zscalerbyz", connection="token")
    await api.get(app.id)
    await api.deactivate(app.id)
    with pytest.raises(AssertionError, match="expected deactivate not to be called") as info:
        fake.assert_not_called("deactivate")
    lines = str(info.value).splitlines()
    assert lines[2].startswith("    GET ") and lines[3].startswith("  * POST ")


def test_assert_called_on_an_empty_log_says_so() -> None:
    fake = FakeOkta(apps=1)
    with pytest.raises(AssertionError, match=r"(?s)at least once.*no requests at all"):
        fake.assert_called(status=200)


def test_failure_message_is_capped() -> None:
    fake = FakeOkta(apps=1)
    from okta_connections.testing import RecordedRequest
    from okta_connections.testing._model import copy_headers

    for i in range(40):
        fake.requests.append(
            RecordedRequest("GET", f"/x/{i}", {}, copy_headers({}), b"", 200, None, None, "r")
        )
    with pytest.raises(AssertionError) as info:
        fake.assert_called("verify")
    assert str(info.value).splitlines()[-1] == "    ... and 15 more"


def test_snapshot_covers_every_state_field(fake: FakeOkta) -> None:
    """The snapshot is a copy of the whole OrgState: no field list to forget one in."""
    import attrs

    from okta_connections.testing._state import OrgState

    snap = fake.snapshot()
    saved = snap._state
    assert isinstance(saved, OrgState)
    for field in attrs.fields(OrgState):
        live, copied = getattr(fake.state, field.name), getattr(saved, field.name)
        if isinstance(live, int | float | str | bool):
            assert live == copied, field.name
        else:
            assert copied is not live, field.name  # a copy, not the live object


async def test_snapshot_and_restore(fake: FakeOkta, api: Api) -> None:
    app = fake.add_app("okta_org2org", connection="token", status="DISABLED")
    await api.get(app.id)
    snap = fake.snapshot()
    assert isinstance(snap, FakeOktaSnapshot)
    assert re.fullmatch(r"<FakeOktaSnapshot apps=41 requests=1>", repr(snap))
    before = [(a.id, a.connection_status, a.auth_scheme) for a in fake.apps]

    # Change everything a test might change.
    await api.activate(app.id)
    added = fake.add_app("slack", connection="oauth")
    removed = fake.remove_app(fake.apps[0].id)
    fake.fail(app.id, "get", status=503, times=5)
    fake.fail_next(500, times=3)
    fake.set_rate_limit(1, 60)
    fake.set_faults(fail_rate=1.0)
    fake.latency = 0.5
    fake.revoke_tokens(api_tokens=True)
    fake.add_bearer_token("later", ["okta.apps.read"])
    fake.set_principal_share(fake.token, 0.25)
    fake.set_refusal("verify_bad_code", 403)
    fake.set_concurrency_limit(3)
    fake.oauth.fail_next(503)
    assert app.connection_status == "ENABLED"

    fake.restore(snap)
    assert [(a.id, a.connection_status, a.auth_scheme) for a in fake.apps] == before
    assert app.connection_status == "DISABLED"  # restored in place: the object stays live
    assert fake.app(app.id) is app
    assert fake.apps[0].id == removed.id
    with pytest.raises(KeyError):
        fake.app(added.id)
    assert len(fake.requests) == 1 and fake.latency == 0.0
    assert fake.limits.concurrency is None and fake.limits.shares == {}
    assert fake.state.refusals["verify_bad_code"].status == 400
    assert fake.faults.scripted == [] and fake.oauth.faults is fake.faults
    reply = await api.get(app.id)  # token valid again, no faults, no 429
    assert reply.status == 200 and reply.json()["status"] == "DISABLED"
    assert (await api.get(app.id, auth="Bearer later")).status == 401
    assert reply.headers["X-Rate-Limit-Limit"] == "1000000"  # FakeOkta's default
    # A snapshot can be restored again: it is not consumed or changed by later state.
    await api.activate(app.id)
    fake.restore(snap)
    assert app.connection_status == "DISABLED" and len(fake.requests) == 1


def test_snapshot_keeps_the_seeded_stream(fake: FakeOkta) -> None:
    snap = fake.snapshot()
    first = fake.add_app("okta_org2org", connection="oauth").id
    fake.restore(snap)
    assert fake.add_app("okta_org2org", connection="oauth").id == first


def test_restore_rejects_other_objects(fake: FakeOkta) -> None:
    with pytest.raises(TypeError, match="FakeOktaSnapshot"):
        fake.restore({"apps": []})  # type: ignore[arg-type]


async def test_revoke_tokens_with_api_tokens(fake: FakeOkta, api: Api) -> None:
    fake.add_token("second")
    fake.add_bearer_token("bearer")
    assert fake.revoke_tokens() == 0  # OAuth-issued access tokens only, by default
    assert (await api.get(fake.apps[0].id)).status == 200
    assert fake.revoke_tokens(api_tokens=True) == 3
    for auth in (f"SSWS {fake.token}", "SSWS second", "Bearer bearer"):
        assert (await api.get(fake.apps[0].id, auth=auth)).error_code == "E0000011"


async def test_scenario_calls_from_another_thread_run_on_the_serving_loop() -> None:
    serving = ServingThread()
    fake = serving.start(FakeOkta(apps=3))
    seen: list[bool] = []
    original = fake.state.insert

    def spy(app: object) -> None:
        seen.append(threading.current_thread().name == "fake-okta")
        original(app)  # type: ignore[arg-type]

    fake.state.insert = spy  # type: ignore[method-assign]
    try:
        fake.add_app("zscalerbyz")  # from the test's thread: handed to the serving loop
        assert seen == [True]
        with pytest.raises(ValueError, match="no provisioning"):
            fake.add_app("bookmark", connection="token")  # exceptions come back
        # On the serving loop itself a call runs directly (no deadlock).
        app = serving.run(_add_on_loop(fake))
        assert app.name == "slack" and seen == [True, True]
    finally:
        serving.close(fake)
        serving.stop()
    fake.add_app("google")  # closed: runs directly
    assert seen == [True, True, False]


async def _add_on_loop(fake: FakeOkta) -> object:
    await asyncio.sleep(0)
    return fake.add_app("slack")


async def test_latency_jitter_spreads_each_wait_around_latency(
    fake: FakeOkta, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def record(delay: float, result: object = None) -> object:
        waits.append(delay)
        return await real_sleep(0, result)

    monkeypatch.setattr(asyncio, "sleep", record)
    app = fake.apps[0]
    fake.latency = 0.2
    await asyncio.gather(*(api.get(app.id) for _ in range(5)))
    assert waits == [0.2] * 5  # no jitter: every request waits exactly latency
    waits.clear()
    fake.latency_jitter = 0.5
    await asyncio.gather(*(api.get(app.id) for _ in range(200)))
    assert len(waits) == 200 and all(0.1 <= w <= 0.3 for w in waits)
    assert min(waits) < 0.12 and max(waits) > 0.28  # spread over the whole range
    assert len(set(waits)) == 200
    # Kept by snapshot/restore like latency.
    snap = fake.snapshot()
    fake.latency_jitter = 0
    fake.restore(snap)
    assert fake.latency_jitter == 0.5


@pytest.mark.parametrize("bad", [-0.1, 1.5, True, "0.5", None])
async def test_latency_jitter_refuses_values_outside_0_to_1(fake: FakeOkta, bad: object) -> None:
    with pytest.raises(ValueError, match="latency_jitter must be a number from 0 to 1"):
        fake.latency_jitter = bad  # type: ignore[assignment]
    assert fake.latency_jitter == 0
