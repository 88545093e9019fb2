"""client.apps.list: Link pagination, laziness, loop protection, no foreign hosts."""

from __future__ import annotations

import pytest

from okta_connections import DecodeError, InvalidArgumentError, OktaClient
from okta_connections.services import parse_link_header
from tests.support.scripted import ScriptedServer


def app(i: int, name: str = "okta_org2org") -> dict[str, object]:
    return {
        "id": f"0oa{i:017d}",
        "name": name,
        "label": f"App {i}",
        "status": "ACTIVE",
        "signOnMode": "SAML_2_0",
        "unknownField": {"x": 1},
    }


def test_parse_link_header() -> None:
    links = parse_link_header(
        [
            '<https://acme.okta.com/api/v1/apps?limit=2>; rel="self"',
            '<https://acme.okta.com/api/v1/apps?after=0oa2&limit=2>; rel="next"',
        ]
    )
    assert links == {
        "self": "https://acme.okta.com/api/v1/apps?limit=2",
        "next": "https://acme.okta.com/api/v1/apps?after=0oa2&limit=2",
    }
    assert parse_link_header(['<a>; rel="self", <b>; rel=next']) == {"self": "a", "next": "b"}
    assert parse_link_header([]) == {}


async def test_follows_next_links_lazily(server: ScriptedServer, client: OktaClient) -> None:
    base = server.url + "/api/v1/apps"
    server.add(
        200,
        json_body=[app(1), app(2)],
        headers={"Link": f'<{base}?after=0oa2&limit=2>; rel="next"'},
    )
    server.add(
        200,
        json_body=[app(3), app(4)],
        headers={"Link": f'<{base}?after=0oa4&limit=2>; rel="next"'},
    )
    server.add(200, json_body=[app(5)], headers={"Link": f'<{base}?limit=2>; rel="self"'})
    pages = client.apps.list(q="Org", filter='status eq "ACTIVE"', limit=2)
    first = await anext(pages)
    assert first.id == "0oa00000000000000001"
    assert first.sign_on_mode == "SAML_2_0"
    assert len(server.seen) == 1  # no request for pages not yet consumed
    assert server.seen[0].query == {"q": "Org", "filter": 'status eq "ACTIVE"', "limit": "2"}
    rest = [a.id async for a in pages]
    assert len(rest) == 4
    assert [s.query.get("after") for s in server.seen] == [None, "0oa2", "0oa4"]
    assert len(server.seen) == 3


async def test_a_repeated_cursor_ends_instead_of_looping(
    server: ScriptedServer, client: OktaClient
) -> None:
    link = {"Link": f'<{server.url}/api/v1/apps?after=X>; rel="next"'}
    for _ in range(5):
        server.add(200, json_body=[app(1)], headers=link)
    found = [a async for a in client.apps.list()]
    assert len(found) == 2
    assert len(server.seen) == 2


async def test_never_follows_a_link_to_another_host(
    server: ScriptedServer, client: OktaClient
) -> None:
    server.add(
        200,
        json_body=[app(1)],
        headers={"Link": '<https://evil.example/api/v1/apps?after=1>; rel="next"'},
    )
    with pytest.raises(DecodeError, match="evil.example"):
        _ = [a async for a in client.apps.list()]
    assert len(server.seen) == 1


async def test_bad_limit_and_bad_page(server: ScriptedServer, client: OktaClient) -> None:
    with pytest.raises(InvalidArgumentError, match="limit"):
        await anext(client.apps.list(limit=0))
    assert server.seen == []
    server.add(200, json_body={"not": "a list"})
    with pytest.raises(DecodeError, match="page of apps"):
        await anext(client.apps.list())
