"""Secrets in every position of a shared budget's Redis URL (userinfo, query, unix
sockets): never in its display, the limiter's repr, the outage warning or ``config show``."""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path

import pytest

from okta_connections import OktaClient, SSWSToken
from okta_connections.ratelimit.budget import SharedBudget, check_budget_url, masked_url
from tests.support.cli import cli_env, run_cli

PASSWORD = "r3dis-PASS-w0rd-91f"

URLS = [
    f"redis://127.0.0.1:6379/0?password={PASSWORD}",
    f"redis://127.0.0.1:6379/0?db=1&password={PASSWORD}&socket_timeout=2",
    f"redis://127.0.0.1:6379/0?PASSWORD={PASSWORD}",
    f"rediss://cache.corp:6380/0?password={PASSWORD}",
    f"rediss://cache.corp:6380/0?username=svc&password={PASSWORD}",
    f"unix:///run/redis.sock?db=0&password={PASSWORD}",
    f"unix://:{PASSWORD}@/run/redis.sock?db=0",
    f"redis://svc:{PASSWORD}@127.0.0.1:6379/0",
    f"redis://{PASSWORD}@127.0.0.1:6379/0",  # a password written without its colon
    f"redis://127.0.0.1:6379/0?username={PASSWORD}",
    f"redis://127.0.0.1:6379/0?password={PASSWORD}#frag",
    f"redis://127.0.0.1:6379/0?password=%72{PASSWORD[1:]}",  # percent-encoded
    f"redis://:{PASSWORD.replace('-', '%2D')}@127.0.0.1:6379/0",
    f"redis://127.0.0.1:6379/0?x=1;password={PASSWORD}",
    f"redis://127.0.0.1:6379/0?auth={PASSWORD}",
]


def _decoded_forms() -> list[str]:
    return [PASSWORD, PASSWORD[1:], PASSWORD.replace("-", "%2D")]


@pytest.mark.parametrize("url", URLS)
def test_masked_url_hides_every_secret(url: str) -> None:
    shown = masked_url(url)
    for form in _decoded_forms():
        assert form not in shown, shown
    assert "***" in shown


def test_masked_url_keeps_what_helps() -> None:
    shown = masked_url(f"redis://svc:{PASSWORD}@cache.corp:6380/2?db=2&socket_timeout=1")
    assert shown == "redis://svc:***@cache.corp:6380/2?db=2&socket_timeout=1"
    assert masked_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert masked_url("unix:///run/redis.sock?db=1") == "unix:///run/redis.sock?db=1"


def test_masked_url_of_an_unparsable_url_shows_no_part_of_it() -> None:
    assert PASSWORD not in masked_url(f"redis://:{PASSWORD}@host:99999999/0")


@pytest.mark.parametrize("url", URLS)
def test_budget_and_limiter_reprs_hide_the_password(url: str) -> None:
    check_budget_url(url)
    budget = SharedBudget(url)
    for text in (repr(budget), budget.display):
        assert PASSWORD not in text and PASSWORD[1:] not in text


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_the_outage_warning_hides_a_password_in_the_query(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from okta_connections.testing import FakeOkta

    url = f"redis://127.0.0.1:{_closed_port()}/0?password={PASSWORD}"
    caplog.set_level(logging.DEBUG)
    async with (
        FakeOkta(apps=1, seed=1) as fake,
        OktaClient(fake.org_url, auth=SSWSToken(fake.token), shared_budget=url) as okta,
    ):
        await okta.connections.get(fake.apps[0].id)
        text = repr(okta.rate_limiter) + repr(okta)
    assert "did not answer" in caplog.text
    for record in caplog.records:
        text += record.getMessage() + repr(record.__dict__)
    assert PASSWORD not in text


@pytest.mark.slow
async def test_config_show_hides_a_password_in_the_query(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    env = cli_env(tmp_path, None, OKTA_CLIENT_ORGURL="https://acme.okta.com")
    for url in (URLS[0], URLS[5], URLS[8]):
        result = await run_cli(
            "--json", "config", "show", "--shared-budget", url, cwd=tmp_path, env=env
        )
        assert result.rc == 0, result.err
        setting = json.loads(result.out)["settings"]["rateLimit.sharedBudget"]
        assert "***" in setting["value"]
        assert PASSWORD not in result.out + result.err
