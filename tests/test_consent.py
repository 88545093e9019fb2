"""parse_continue_url: the code and state of Okta's continue_oauth_flow_url."""

from __future__ import annotations

import json

import pytest
import yarl

from okta_connections import ContinueUrl, InvalidArgumentError, parse_continue_url
from okta_connections.testing import FakeOkta

APP = "0oa0uIvtNmIBGd44f0SW"
URL = f"https://acme.okta.com/api/v1/apps/slack/{APP}/oauth2/callback?code=-Xa9c0de&state=st4te"


def test_code_state_and_app_from_the_url() -> None:
    found = parse_continue_url(f"  {URL}\n")  # as pasted
    assert found == ContinueUrl(code="-Xa9c0de", state="st4te", app_name="slack", app_id=APP)
    assert parse_continue_url(yarl.URL(URL)) == found
    # Okta's whole answer, or its continue_oauth_flow_url object
    answer = {"continue_oauth_flow_url": {"href": URL, "method": "POST"}}
    assert parse_continue_url(answer) == found
    assert parse_continue_url(answer["continue_oauth_flow_url"]) == found
    assert parse_continue_url(URL, app_id=APP, app_name="slack") == found


def test_okta_s_json_answer_is_taken_as_text_too() -> None:
    # What the consent link answers, pasted as it came (compact or pretty, with spaces).
    found = parse_continue_url(URL)
    answer = {"continue_oauth_flow_url": {"href": URL, "method": "POST"}}
    assert parse_continue_url(json.dumps(answer)) == found
    assert parse_continue_url("\n  " + json.dumps(answer, indent=2) + "\n") == found
    assert parse_continue_url(json.dumps(answer["continue_oauth_flow_url"])) == found
    assert parse_continue_url(json.dumps(answer), app_id=APP, app_name="slack") == found
    with pytest.raises(InvalidArgumentError, match="is for app"):
        parse_continue_url(json.dumps(answer), app_id="0oaOTHER")


def test_repr_hides_the_code_and_the_state() -> None:
    text = repr(parse_continue_url(URL))
    assert "-Xa9c0de" not in text and "st4te" not in text
    assert APP in text and "slack" in text


def test_a_path_without_okta_shape_gives_no_app() -> None:
    found = parse_continue_url("https://acme.okta.com/x/callback?code=a&state=b", app_id=APP)
    assert (found.code, found.state, found.app_name, found.app_id) == ("a", "b", None, None)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("http://[::1?code=a&state=b", "is not a URL"),
        ("acme.okta.com/callback?code=a&state=b", "not an http"),
        ("ftp://acme.okta.com/?code=a&state=b", "not an http"),
        ("https://acme.okta.com/callback?state=b", "has no code in its query"),
        ("https://acme.okta.com/callback?code=SECRETCODE", "has no state in its query"),
        ("https://acme.okta.com/callback", "has no code and state"),
        ({"href": 3}, "has no continue_oauth_flow_url.href"),
        (42, "must be a URL string"),
        ('{"continue_oauth_flow_url": {"href": "https://x/?code=SECRETCODE', "not valid JSON"),
        ('{"continue_oauth_flow_url": {"hre": "?code=SECRETCODE"}}', "has no continue_oauth"),
        ("{" * 100_000, "nested too deeply|not valid JSON"),
    ],
)
def test_bad_input_is_a_clear_error_without_the_code(value: object, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message) as info:
        parse_continue_url(value)  # type: ignore[arg-type]
    assert info.value.argument == "continue_url"
    assert "SECRETCODE" not in str(info.value)


def test_a_url_for_another_app_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match=f"is for app {APP} \\(slack\\), not 0oaOTHER"):
        parse_continue_url(URL, app_id="0oaOTHER")
    with pytest.raises(InvalidArgumentError, match="not .*\\(zoomus\\)") as info:
        parse_continue_url(URL, app_name="zoomus", argument="--continue-url")
    assert info.value.argument == "--continue-url"
    assert "-Xa9c0de" not in str(info.value)


async def test_the_fake_orgs_continue_url_verifies() -> None:
    from okta_connections import OAuthConnection, OktaClient, SSWSToken

    async with FakeOkta(apps=30, seed=2) as fake:
        slack = next(a for a in fake.apps if a.name == "slack")
        async with OktaClient(fake.org_url, auth=SSWSToken(fake.token)) as okta:
            await okta.connections.deactivate(slack.id)
            await okta.connections.update(slack.id, OAuthConnection())
            found = parse_continue_url(fake.consent(slack.id), app_id=slack.id)
            assert (found.app_name, found.app_id) == ("slack", slack.id)
            await okta.connections.verify("slack", slack.id, code=found.code, state=found.state)
        assert fake.count(operation="verify", status=204) == 1
