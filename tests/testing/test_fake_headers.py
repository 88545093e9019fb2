"""FakeOkta: headers on every response, rate-limit windows, 429s, fault injection."""

from __future__ import annotations

import asyncio
import math
import re
import time
from email.utils import parsedate_to_datetime

import pytest

from okta_connections.testing import FakeOkta
from tests.support.fake_http import Api, FakeClock, Reply, first

REQUEST_ID = re.compile(r"^req[A-Za-z0-9]{23}$")
ERROR_ID = re.compile(r"^oae[A-Za-z0-9]{22}$")


def rate(reply: Reply) -> tuple[int, int, int]:
    h = reply.headers
    return (
        int(h["X-Rate-Limit-Limit"]),
        int(h["X-Rate-Limit-Remaining"]),
        int(h["X-Rate-Limit-Reset"]),
    )


def assert_okta_headers(reply: Reply, now: float) -> None:
    assert REQUEST_ID.match(reply.headers["X-Okta-Request-Id"]), reply.headers
    assert parsedate_to_datetime(reply.headers["Date"]).timestamp() == math.floor(now)
    rate(reply)  # all three present and integers


async def test_every_response_has_okta_headers(api: Api, fake: FakeOkta, clock: FakeClock) -> None:
    fake.add_bearer_token("read-only", ["okta.apps.read"])
    token_app = fake.add_app("zscalerbyz", connection="token")
    slack = fake.add_app("slack", connection="oauth", consented=False)
    replies = {
        "200 get": await api.get(token_app.id),
        "200 update": await api.update(
            token_app.id, {"profile": {"authScheme": "TOKEN", "token": "t"}}
        ),
        "204 activate": await api.activate(token_app.id),
        "204 deactivate": await api.deactivate(token_app.id),
        "200 list": await api.call("GET", "/api/v1/apps"),
        "200 consent page": await api.call("GET", f"/fake-consent/{slack.id}", auth=None),
        "400": await api.activate(slack.id),
        "400 malformed": await api.call(
            "POST", f"/api/v1/apps/{token_app.id}/connections/default", data=b"{"
        ),
        "401": await api.get(token_app.id, auth=None),
        "403": await api.activate(token_app.id, auth="Bearer read-only"),
        "404": await api.get("0oaMISSING"),
        "404 route": await api.call("GET", "/nope"),
        "405": await api.call("PUT", f"/api/v1/apps/{token_app.id}/connections/default"),
    }
    fake.set_rate_limit(0, 60)
    replies["429"] = await api.get(token_app.id)
    ids = set()
    for what, reply in replies.items():
        assert reply.status == int(what.split()[0]), what
        assert_okta_headers(reply, clock.now)
        ids.add(reply.headers["X-Okta-Request-Id"])
        if reply.status >= 400:
            body = reply.json()
            assert set(body) == {"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"}
            assert body["errorLink"] == body["errorCode"]
            assert ERROR_ID.match(body["errorId"]), body
            assert reply.headers["Content-Type"] == "application/json"
        elif reply.status == 204:
            assert reply.body == b""
        else:
            assert reply.headers["Content-Type"] == "application/json"
    assert len(ids) == len(replies)  # unique per request
    # The log holds the same request ids, in order.
    assert [r.request_id for r in fake.requests] == [
        r.headers["X-Okta-Request-Id"] for r in replies.values()
    ]


async def test_rate_limit_headers_count_down_and_reset(
    api: Api, fake: FakeOkta, clock: FakeClock
) -> None:
    fake.set_rate_limit(100, 60)
    clock.now = 1_800_000_000.5
    app = fake.apps[0]
    seen = [rate(await api.get(app.id)) for _ in range(5)]
    # The window opened on the whole second of its first request (reference §8.1), and
    # X-Rate-Limit-Reset is its exact end, not a rounded-up one.
    reset = 1_800_000_060
    assert seen == [(100, 99 - i, reset) for i in range(5)]

    clock.now = 1_800_000_059.99  # still inside the window
    assert rate(await api.get(app.id)) == (100, 94, reset)

    clock.now = 1_800_000_060.0  # the announced reset: a new window opens
    assert rate(await api.get(app.id)) == (100, 99, 1_800_000_120)

    # Windows are not aligned to the minute: the next one opens at the first request
    # after this one ended, however long the gap, on that request's whole second.
    clock.advance(125.3)
    assert rate(await api.get(app.id)) == (100, 99, math.floor(clock.now) + 60)


async def test_buckets_are_separate(api: Api, fake: FakeOkta) -> None:
    fake.set_rate_limit(100, 60)
    slack = first(fake, "slack")
    for _ in range(3):
        await api.get(slack.id)
    # verify lives under /api/v1/apps too: the apps bucket.
    reply = await api.verify("slack", slack.id, "c", "s")
    assert rate(reply)[1] == 100 - 4
    reply = await api.call("GET", "/api/v1/users")  # another bucket (and a 404)
    assert reply.status == 404
    assert rate(reply)[1] == 99
    reply = await api.call("GET", "/api/v1/apps")
    assert rate(reply)[1] == 100 - 5


async def test_remaining_never_below_zero_without_enforcement(api: Api, fake: FakeOkta) -> None:
    fake.set_rate_limit(2, 60, enforce=False)
    app = fake.apps[0]
    statuses = []
    for _ in range(4):
        reply = await api.get(app.id)
        statuses.append((reply.status, rate(reply)[1]))
    assert statuses == [(200, 1), (200, 0), (200, 0), (200, 0)]


async def test_429_when_enforced(api: Api, fake: FakeOkta, clock: FakeClock) -> None:
    fake.set_rate_limit(3, 10)
    app = fake.add_app("zscalerbyz", connection="token")
    for _ in range(3):
        assert (await api.get(app.id)).status == 200
    reply = await api.activate(app.id)
    assert reply.status == 429
    body = reply.json()
    assert body["errorCode"] == "E0000047"
    assert body["errorSummary"] == "API call exceeded rate limit due to too many requests."
    limit, remaining, reset = rate(reply)
    assert (limit, remaining) == (3, 0)
    assert reset == math.ceil(clock.now + 10)
    assert app.connection_status == "DISABLED"  # a refused request changes nothing
    assert fake.requests[-1].status == 429
    assert fake.count(status=429) == 1

    clock.now = reset  # the window is over
    assert (await api.activate(app.id)).status == 204
    assert fake.app(app.id).connection_status == "ENABLED"


async def test_429_counts_unauthenticated_requests_too(api: Api, fake: FakeOkta) -> None:
    fake.set_rate_limit(1, 60)
    assert (await api.get(fake.apps[0].id, auth=None)).status == 401
    assert (await api.get(fake.apps[0].id)).status == 429


async def test_constructor_rate_limit_arguments(api: Api, clock: FakeClock) -> None:
    async with FakeOkta(
        apps=3, clock=clock, rate_limit=2, rate_window=5, enforce_rate_limit=True
    ) as fake:
        api = Api(fake, api.session)
        app = fake.apps[0]
        replies = [await api.get(app.id) for _ in range(3)]
        assert [r.status for r in replies] == [200, 200, 429]
        assert rate(replies[0]) == (2, 1, math.ceil(clock.now + 5))


async def test_date_and_reset_follow_a_skewed_clock(api: Api) -> None:
    skew = -7200.0  # the server is two hours behind

    def clock() -> float:
        return time.time() + skew

    async with FakeOkta(apps=2, clock=clock) as fake:
        api = Api(fake, api.session)
        before = time.time() + skew
        reply = await api.get(fake.apps[0].id)
        after = time.time() + skew
        date = parsedate_to_datetime(reply.headers["Date"]).timestamp()
        assert math.floor(before) <= date <= after
        assert math.floor(before) + 60 <= rate(reply)[2] <= math.floor(after) + 60
        assert abs(date - time.time()) > 7000  # not the local wall clock


def test_bad_rate_limit_arguments() -> None:
    with pytest.raises(ValueError, match="rate limit"):
        FakeOkta(apps=0, rate_limit=-1)
    with pytest.raises(ValueError, match="window"):
        FakeOkta(apps=0, rate_window=0)
    with pytest.raises(ValueError, match="whole number of seconds"):
        FakeOkta(apps=0, rate_window=1.5)


async def test_fail_next_injects_errors(api: Api, fake: FakeOkta) -> None:
    app = fake.apps[0]
    fake.fail_next(503, times=2, operation="get")
    assert (await api.activate(app.id)).status in (204, 400)  # other operations unaffected
    replies = [await api.get(app.id) for _ in range(3)]
    assert [r.status for r in replies] == [503, 503, 200]
    assert replies[0].error_code == "E0000009"
    assert REQUEST_ID.match(replies[0].headers["X-Okta-Request-Id"])

    fake.fail_next(429)
    reply = await api.get(app.id)
    assert reply.status == 429
    assert reply.error_code == "E0000047"
    assert (await api.get(app.id)).status == 200

    # Unauthenticated requests still get 401, not the injected failure.
    fake.fail_next(500)
    assert (await api.get(app.id, auth=None)).status == 401
    assert (await api.get(app.id)).status == 500
    with pytest.raises(ValueError, match="400-599"):
        fake.fail_next(200)


@pytest.mark.looptime  # the delay is measured on the loop's clock, not the machine's
async def test_latency_delays_api_requests(api: Api, fake: FakeOkta) -> None:
    fake.latency = 0.05
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert (await api.get(fake.apps[0].id)).status == 200
    assert loop.time() - started >= 0.05


# The loop's time: every request reaches the fake while the first ones are held by its
# latency, however slowly a loaded machine sends them.
@pytest.mark.looptime
async def test_concurrency_limit_429_has_zero_limit_and_remaining(
    api: Api, fake: FakeOkta, clock: FakeClock
) -> None:
    fake.set_rate_limit(100, 60)
    fake.latency = 0.2
    fake.set_concurrency_limit(2)
    app = fake.apps[0]
    replies = await asyncio.gather(*(api.get(app.id) for _ in range(5)))
    statuses = sorted(r.status for r in replies)
    assert statuses == [200, 200, 429, 429, 429]
    for reply in replies:
        limit, remaining, reset = rate(reply)
        if reply.status == 429:
            assert reply.error_code == "E0000047"
            assert (limit, remaining) == (0, 0)
            assert reset == math.ceil(clock.now + 1)
        else:
            assert limit == 100
    fake.set_concurrency_limit(None)
    replies = await asyncio.gather(*(api.get(app.id) for _ in range(5)))
    assert {r.status for r in replies} == {200}
    with pytest.raises(ValueError, match="concurrency"):
        fake.set_concurrency_limit(0)
