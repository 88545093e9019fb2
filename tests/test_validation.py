"""Bad input is refused with a clear error before any request is sent."""

from __future__ import annotations

import pytest

from okta_connections import (
    BearerToken,
    ConfigurationError,
    InvalidArgumentError,
    OAuthConnection,
    OktaClient,
    SSWSToken,
    Timeouts,
    TokenConnection,
)
from tests.support.constants import APP_ID, SECRET
from tests.support.scripted import ScriptedServer

BAD_APP_IDS = [
    "",
    "0oa/../x",
    "..",
    "a/b",
    "a?b",
    "a#b",
    "a%2Fb",
    "a b",
    " 0oa1",
    "0oa\n1",
    "x" * 65,
    "é",
]


@pytest.mark.parametrize("app_id", BAD_APP_IDS)
@pytest.mark.parametrize("method", ["get", "activate", "deactivate", "get_jwks"])
async def test_bad_app_id_is_refused_before_sending(
    server: ScriptedServer, client: OktaClient, app_id: str, method: str
) -> None:
    with pytest.raises(ValueError, match="app_id") as info:
        await getattr(client.connections, method)(app_id)
    assert isinstance(info.value, InvalidArgumentError)
    assert info.value.argument == "app_id"
    assert server.seen == []


@pytest.mark.parametrize("app_id", BAD_APP_IDS)
async def test_bad_app_id_refused_for_update_and_verify(
    server: ScriptedServer, client: OktaClient, app_id: str
) -> None:
    with pytest.raises(InvalidArgumentError, match="app_id"):
        await client.connections.update(app_id, TokenConnection(token="t"))
    with pytest.raises(InvalidArgumentError, match="app_id"):
        await client.connections.verify("slack", app_id, code="c", state="s")
    assert server.seen == []


async def test_non_string_app_id(client: OktaClient, server: ScriptedServer) -> None:
    with pytest.raises(InvalidArgumentError, match="must be a string"):
        await client.connections.get(123)  # type: ignore[arg-type]
    assert server.seen == []


@pytest.mark.parametrize("name", ["github", "SLACK", "", "slack/../x", None])
async def test_unknown_app_name_for_verify(
    server: ScriptedServer, client: OktaClient, name: object
) -> None:
    with pytest.raises(InvalidArgumentError, match="app_name.*google, office365, slack, zoomus"):
        await client.connections.verify(name, APP_ID, code="c", state="s")  # type: ignore[arg-type]
    assert server.seen == []


@pytest.mark.parametrize(("code", "state", "argument"), [("", "s", "code"), ("c", "  ", "state")])
async def test_empty_code_or_state(
    server: ScriptedServer, client: OktaClient, code: str, state: str, argument: str
) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        await client.connections.verify("google", APP_ID, code=code, state=state)
    assert info.value.argument == argument
    assert server.seen == []


async def test_update_rejects_wrong_request_type(
    server: ScriptedServer, client: OktaClient
) -> None:
    with pytest.raises(InvalidArgumentError, match="connection"):
        await client.connections.update(APP_ID, {"profile": {}})  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="activate"):
        await client.connections.update(APP_ID, TokenConnection(token="t"), activate="yes")  # type: ignore[arg-type]
    assert server.seen == []


def test_request_model_checks() -> None:
    with pytest.raises(InvalidArgumentError, match="token"):
        TokenConnection(token="")
    with pytest.raises(InvalidArgumentError, match="base_url"):
        TokenConnection(token="t", base_url="")
    with pytest.raises(InvalidArgumentError, match="admin_password"):
        OAuthConnection(admin_username="admin")
    with pytest.raises(InvalidArgumentError, match="admin_username"):
        OAuthConnection(admin_password="pw")
    with pytest.raises(InvalidArgumentError, match="rotation_mode"):
        OAuthConnection(rotation_mode="SOMETIMES")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://acme.okta.com", "https://acme.okta.com"),
        ("https://acme.okta.com/", "https://acme.okta.com"),
        ("acme.okta.com", "https://acme.okta.com"),
        ("ACME.oktapreview.com", "https://acme.oktapreview.com"),
        ("https://login.acme.example:8443", "https://login.acme.example:8443"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://localhost:1", "http://localhost:1"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_org_url_accepted(url: str, expected: str) -> None:
    assert OktaClient(url, auth=SSWSToken(SECRET)).org_url == expected


@pytest.mark.parametrize(
    ("url", "fix"),
    [
        ("https://acme-admin.okta.com", "use https://acme.okta.com"),
        ("acme-admin.oktapreview.com", "use https://acme.oktapreview.com"),
        ("https://{yourOktaDomain}", "placeholder"),
        ("https://{yourOktaDomain}.okta.com", "placeholder"),
        ("https://admin:hunter2@acme.okta.com", "must not contain credentials"),
        ("https://acme.okta.com/api/v1", "give only the origin"),
        ("https://acme.okta.com/?a=1", "query"),
        ("https://acme.okta.com#top", "fragment"),
        ("http://acme.okta.com", "use https://acme.okta.com"),
        ("http://10.0.0.5", "Okta requires https"),
        ("ftp://acme.okta.com", "use https"),
        ("", "empty"),
        # Whitespace or control characters anywhere: refused, never a different host.
        ("https://acme.okta.com\n.evil.example", "control character"),
        ("https://acme.okta.com\r\nHost: evil.example", "control character"),
        ("https://acme.okta.com\t.evil.example", "whitespace"),
        ("https://acme.okta.com .evil.example", "whitespace"),
        ("https://acme\x00.okta.com", "control character"),
        ("https://acme.okta.com\x7f", "control character"),
        ("  acme.okta.com", "whitespace"),
        ("https://acme.okta.com\n", "control character"),
        ("https://acme.okta.com\u2028.evil.example", "whitespace"),
    ],
)
def test_org_url_refused_with_a_fix(url: str, fix: str) -> None:
    with pytest.raises(ConfigurationError, match="org_url") as info:
        OktaClient(url, auth=SSWSToken(SECRET))
    assert fix in str(info.value)
    assert "hunter2" not in str(info.value)


def test_bad_auth_and_settings() -> None:
    with pytest.raises(ConfigurationError, match="auth"):
        OktaClient("acme.okta.com", auth=SECRET)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="token"):
        SSWSToken("")
    with pytest.raises(ConfigurationError, match="whitespace"):
        SSWSToken("abc\n")
    with pytest.raises(ConfigurationError, match="token"):
        BearerToken(42)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"timeouts\.total"):
        Timeouts(total=0)
    with pytest.raises(ConfigurationError, match=r"timeouts\.connect"):
        Timeouts(connect=float("inf"))
    with pytest.raises(ConfigurationError, match="connector_limit"):
        OktaClient("acme.okta.com", auth=SSWSToken(SECRET), connector_limit=0)


@pytest.mark.parametrize("url", ["https://u:hunter2@[bad", "https://u:hunter2@acme.okta.com:99999"])
def test_an_unparseable_org_url_leaves_no_chain_with_its_password(url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        OktaClient(url, auth=SSWSToken(SECRET))
    assert info.value.__context__ is None and info.value.__cause__ is None
    assert "hunter2" not in str(info.value)
