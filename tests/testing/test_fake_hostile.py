"""FakeOkta fed what it cannot decode, and asked to serve beyond loopback.

A token request whose body does not decode (bad percent-encoding, bytes that are not
UTF-8, another content type) is a 400 ``invalid_request``, as Okta answers, never a 500
nor a logged traceback. ``FakeOkta(host=)`` refuses a host that is not loopback unless
``allow_remote=True``; these tests never bind beyond loopback.
"""

from __future__ import annotations

import logging

import aiohttp
import pytest

from okta_connections.testing import FakeOkta

FORM = "application/x-www-form-urlencoded"

BAD_BODIES = [
    (FORM, b"grant_type=client_credentials&scope=%zz"),
    (FORM, b"grant_type=client_credentials&scope=%"),
    (FORM, b"grant_type=client_credentials&scope=%f"),
    (FORM, b"grant_type=client_credentials&scope=%ff%fe"),
    (FORM, b"grant_type=client_credentials&scope=\xff\xfe"),
    (f"{FORM}; charset=utf-16", "grant_type=client_credentials".encode("utf-16")),
    (f"{FORM}; charset=no-such-charset", b"grant_type=client_credentials"),
    ("text/plain", b"grant_type=client_credentials"),
    ("application/json", b'{"grant_type": "client_credentials"}'),
    ("multipart/form-data; boundary=x", b"--x\r\nbroken"),
    ("multipart/form-data", b"no boundary"),
    (None, b"grant_type=client_credentials"),
    (FORM, b"\x00\x01\x02"),
]


@pytest.mark.parametrize(
    ("content_type", "body"), BAD_BODIES, ids=[f"{i}" for i in range(len(BAD_BODIES))]
)
async def test_an_undecodable_token_request_is_400_invalid_request(
    fake: FakeOkta,
    http: aiohttp.ClientSession,
    content_type: str | None,
    body: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    headers = {"Accept": "application/json"}
    skip = ()
    if content_type is None:
        skip = ("Content-Type",)
    else:
        headers["Content-Type"] = content_type
    async with http.post(
        f"{fake.org_url}/oauth2/v1/token", data=body, headers=headers, skip_auto_headers=skip
    ) as resp:
        status, answer = resp.status, await resp.json(content_type=None)
    assert status == 400, answer
    assert answer["error"] == "invalid_request"
    assert answer["error_description"]
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_good_form_still_reaches_the_grant_check(
    fake: FakeOkta, http: aiohttp.ClientSession
) -> None:
    async with http.post(
        f"{fake.org_url}/oauth2/v1/token",
        data={"grant_type": "password", "scope": "a b"},
    ) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"] == "unsupported_grant_type"


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe{}", "{}".encode("utf-16"), b"[" * 100_000 + b"]" * 100_000, b'{"a": "\\ud800"}'],
    ids=["not-utf8", "utf16", "deeply-nested", "lone-surrogate"],
)
async def test_an_undecodable_api_body_is_a_400_not_a_500(
    fake: FakeOkta, http: aiohttp.ClientSession, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = fake.apps[0]
    async with http.post(
        f"{fake.org_url}/api/v1/apps/{app.id}/connections/default",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"SSWS {fake.token}"},
    ) as resp:
        status = resp.status
    assert status == 400
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
