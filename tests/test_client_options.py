"""OktaClient's option objects (Pacing, Observability; AiohttpTransport for the
connection): the same settings as the keywords, and a clear error when both are given."""

from __future__ import annotations

from typing import Any

import pytest

from okta_connections import (
    ConfigurationError,
    MockTransport,
    Observability,
    OktaClient,
    Pacing,
    RequestEvent,
    SSWSToken,
    TransportRequest,
    TransportResponse,
)
from okta_connections.config import Settings
from tests.support.constants import APP_ID

ORG = "https://acme.okta.com"
BODY = (
    b'{"authScheme":"TOKEN","status":"ENABLED","profile":{"authScheme":"TOKEN"},'
    b'"_links":{"self":{"href":"x"}}}'
)


class Recorder:
    def __init__(self) -> None:
        self.requests: list[TransportRequest] = []

    async def __call__(self, request: TransportRequest) -> TransportResponse:
        self.requests.append(request)
        return TransportResponse(
            status=200, headers={"Content-Type": "application/json"}, body=BODY
        )


def client(**options: Any) -> OktaClient:
    options.setdefault("transport", MockTransport(Recorder()))
    return OktaClient(ORG, auth=SSWSToken("secret-token"), **options)


def test_pacing_object_sets_the_rate_limiter() -> None:
    okta = client(pacing=Pacing(max_capacity=0.5, max_in_flight=3, mode="smooth"))
    limiter = okta.rate_limiter
    assert (limiter.max_capacity, limiter.max_in_flight, limiter.pacing) == (0.5, 3, "smooth")


def test_keywords_build_the_same_pacing() -> None:
    by_keywords = client(max_capacity=0.5, max_in_flight=3, pacing="smooth").rate_limiter
    assert (by_keywords.max_capacity, by_keywords.max_in_flight, by_keywords.pacing) == (
        0.5,
        3,
        "smooth",
    )


@pytest.mark.parametrize(
    ("keyword", "value"),
    [("max_capacity", 0.5), ("max_in_flight", 3), ("shared_budget", "redis://127.0.0.1:1/0")],
)
def test_pacing_object_and_a_rate_keyword_is_an_error(keyword: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=f"^pacing: cannot be combined with {keyword}="):
        client(pacing=Pacing(), **{keyword: value})
    assert issubclass(ConfigurationError, ValueError)


def test_a_keyword_at_its_default_is_no_conflict() -> None:
    okta = client(pacing=Pacing(max_capacity=0.5), max_capacity=1.0, max_in_flight=64)
    assert okta.rate_limiter.max_capacity == 0.5


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"max_capacity": 0}, r"^max_capacity: must be a fraction in \(0, 1\]"),
        ({"max_capacity": True}, "^max_capacity: "),
        ({"max_in_flight": 0}, "^max_in_flight: must be a positive integer"),
        ({"mode": "fast"}, "^pacing: must be 'burst' or 'smooth', not 'fast'"),
        ({"shared_budget": 42}, "^shared_budget: must be a redis:// URL or a SharedBudget"),
        (
            {"shared_budget": "redis://h/0", "mode": "smooth"},
            r"^shared_budget: needs pacing='burst'",
        ),
    ],
)
def test_pacing_is_checked_as_the_keywords_are(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        Pacing(**options)


def test_pacing_hides_a_budget_url() -> None:
    shown = repr(Pacing(shared_budget="redis://:hidden-REDIS-pw@127.0.0.1:6379/0"))
    assert "hidden-REDIS-pw" not in shown and "shared_budget='***'" in shown


async def test_observability_object_sets_hooks_and_user_agent() -> None:
    seen: list[RequestEvent] = []
    recorder = Recorder()
    okta = client(
        transport=MockTransport(recorder),
        observability=Observability(
            on_request=seen.append, telemetry=False, user_agent_suffix="acme-sync/2"
        ),
    )
    async with okta:
        await okta.connections.get(APP_ID)
    assert len(seen) == 1
    assert recorder.requests[0].headers["User-Agent"].endswith(" acme-sync/2")


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("on_request", print),
        ("on_response", print),
        ("telemetry", False),
        ("tracer_provider", object()),
        ("meter_provider", object()),
        ("user_agent_suffix", "x/1"),
    ],
)
def test_observability_object_and_a_keyword_is_an_error(keyword: str, value: object) -> None:
    with pytest.raises(
        ConfigurationError, match=f"^observability: cannot be combined with {keyword}="
    ):
        client(observability=Observability(), **{keyword: value})


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"on_request": 3}, "^on_request: "),
        ({"telemetry": "yes"}, "^telemetry: must be True or False"),
        ({"user_agent_suffix": 3}, "^user_agent_suffix: must be a string or None"),
    ],
)
def test_observability_is_checked(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        Observability(**options)


def test_wrong_option_types_are_refused() -> None:
    with pytest.raises(
        ConfigurationError, match="^observability: must be an instance of Observability"
    ):
        client(observability={"telemetry": False})


@pytest.mark.parametrize(
    ("keyword", "value"),
    [("connector_limit", 10), ("trust_env", False), ("proxy", "http://127.0.0.1:3128")],
)
def test_transport_object_and_a_connection_keyword_is_an_error(keyword: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=f"^transport: cannot be combined with {keyword}"):
        client(**{keyword: value})


def test_from_config_puts_the_files_budget_into_a_pacing_object() -> None:
    pytest.importorskip("redis")
    settings = Settings(org_url=ORG, token="t", shared_budget="redis://127.0.0.1:1/0")
    okta = OktaClient._from_settings(
        settings, pacing=Pacing(max_capacity=0.5), transport=MockTransport(Recorder())
    )
    assert type(okta.rate_limiter).__name__ == "SharedRateLimiter"
    assert okta.rate_limiter.max_capacity == 0.5
