"""An org that echoes the credential it was sent in another encoding (URL-encoded,
JSON-escaped, in a header treated as plain, in a request id): no error, chain, header or
summary shows it."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from okta_connections import MockTransport, OktaClient, OktaError, SSWSToken
from okta_connections.transport import TransportRequest, TransportResponse
from tests.support.chains import chain_text
from tests.support.retry import fast_retry

#: A token whose URL-encoded and JSON-escaped forms differ from it.
TOKEN = "00t0k+en/with=signs+and/slashes"

FORMS = {
    "quoted": urllib.parse.quote(TOKEN, safe=""),
    "quoted-path": urllib.parse.quote(TOKEN),
    "plus": urllib.parse.quote_plus(TOKEN),
    "as-sent": TOKEN,
}


def _answer(where: str, echo: str) -> TransportResponse:
    headers = {"Content-Type": "application/json"}
    summary = "denied"
    if where == "body":
        summary = f"Invalid token provided: {echo}"
    elif where == "header":
        headers["WWW-Authenticate"] = f'SSWS realm="{echo}"'
        headers["Location"] = f"https://acme.okta.com/login?t={echo}"
    elif where == "request-id":
        headers["X-Okta-Request-Id"] = echo
    body = {
        "errorCode": "E0000011",
        "errorSummary": summary,
        "errorCauses": [{"errorSummary": echo}],
    }
    return TransportResponse(401, headers, json.dumps(body).encode())


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("where", ["body", "header", "request-id"])
async def test_an_org_echoing_the_token_in_another_encoding_leaks_nothing(
    form: str, where: str
) -> None:
    echo = FORMS[form]

    def org(request: TransportRequest) -> TransportResponse:
        return _answer(where, echo)

    async with OktaClient(
        "https://acme.okta.com",
        auth=SSWSToken(TOKEN),
        transport=MockTransport(org),
        retry=fast_retry(),
    ) as okta:
        with pytest.raises(OktaError) as info:
            await okta.connections.get("0oa1234567890abcdef")
    error = info.value
    text = chain_text(error) + repr(getattr(error, "headers", None))
    text += repr(getattr(error, "error_causes", None)) + repr(getattr(error, "request_id", None))
    for shown in FORMS.values():
        assert shown not in text, f"{form} echo in {where} leaked"
