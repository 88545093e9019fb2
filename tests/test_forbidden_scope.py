"""ForbiddenError.required_scope: the scope Okta names in a 403's WWW-Authenticate
(issue #25 item 1; okta-sdk-golang#145, terraform-provider-okta#2375), read from a
header that may be hostile, and the CLI hint that prefers it."""

from __future__ import annotations

import argparse
import random

import pytest
from multidict import CIMultiDict

from okta_connections import ApiError, ForbiddenError
from okta_connections._challenge import parse_challenges, required_scope
from okta_connections.cli._config import error_hint

BODY = {"errorCode": "E0000006", "errorSummary": "You do not have permission"}


def _forbidden(*challenges: str, secrets: tuple[str, ...] = ()) -> ForbiddenError:
    headers = CIMultiDict(("WWW-Authenticate", c) for c in challenges)
    error = ApiError.from_response(
        403, BODY, request_id="req1", operation="activate", headers=headers, secrets=secrets
    )
    assert isinstance(error, ForbiddenError)
    return error


def test_the_scope_okta_names_in_bearer_and_dpop_challenges() -> None:
    error = _forbidden(
        'Bearer error="insufficient_scope", scope="okta.apps.manage", '
        'resource="/api/v1/apps/0oa1/connections/default/lifecycle/activate"'
    )
    assert error.required_scope == "okta.apps.manage"
    assert error.error_code == "E0000006"  # kept
    # Okta's DPoP challenge, as quoted in okta-sdk-golang#554 (error and scope apart).
    dpop = _forbidden(
        'DPoP algs="RS256 RS384 RS512 ES256 ES384 ES512", '
        'authorization_uri="https://acme.okta.com/oauth2/v1/authorize", '
        'realm="https://acme.okta.com", scope="okta.apps.read okta.apps.manage", '
        'error="insufficient_scope", error_description="The access token provided does not '
        'contain the required scopes.", resource="/api/v1/apps/0oa1/connections/default"'
    )
    assert dpop.required_scope == "okta.apps.read okta.apps.manage"


def test_no_challenge_no_scope() -> None:
    assert _forbidden().required_scope is None
    assert ForbiddenError(status=403).required_scope is None
    empty = ApiError.from_response(403, None, request_id=None, operation=None)
    assert isinstance(empty, ForbiddenError) and empty.required_scope is None
    # Other statuses do not grow the attribute.
    other = ApiError.from_response(401, None, request_id=None, operation=None, headers={})
    assert not hasattr(other, "required_scope")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('Bearer error="insufficient_scope"', None),  # no scope
        ('Bearer scope="okta.apps.read"', "okta.apps.read"),  # no error: still the scope
        ('Basic realm="x", scope="okta.apps.read"', None),  # not a Bearer/DPoP challenge
        ('Bearer scope="a", Bearer error="insufficient_scope", scope="b"', "b"),
        ("Bearer error=insufficient_scope, scope=okta.apps.manage", "okta.apps.manage"),
        ('Bearer   error = "insufficient_scope" ,scope= "x.y"', "x.y"),
        ('BEARER ERROR="insufficient_scope", SCOPE="okta.apps.read"', "okta.apps.read"),
        ('Bearer scope="a", scope="b", error="insufficient_scope"', "a"),  # first wins
        ('Bearer scope="okta.apps.read', "okta.apps.read"),  # unterminated
        ('Bearer scope="has\\"quote"', None),  # a quote is no scope token
        ('Bearer scope="tab\there"', None),
        ('Bearer scope="line\nbreak"', None),
        ('Bearer scope="bell\x07"', None),
        ('Bearer scope=""', None),
        ('Bearer scope="  "', None),
        ('Bearer scope="' + "s" * 513 + '"', None),
        ('Bearer scope="' + "s" * 512 + '"', "s" * 512),
        ('Bearer scope="\u00e9t\u00e9"', None),  # not ASCII
        ("Bearer scope=", None),
        ("Bearer", None),
        ("", None),
        (',,,===""\'', None),
        ('Basic dXNlcjpwYXNz==, Bearer scope="okta.apps.read"', "okta.apps.read"),
    ],
)
def test_hostile_and_odd_headers(header: str, expected: str | None) -> None:
    assert _forbidden(header).required_scope == expected


def test_a_header_too_long_is_read_no_further_than_its_start() -> None:
    long = 'Bearer error="insufficient_scope", junk="' + "x" * 100_000 + '", scope="late"'
    assert _forbidden(long).required_scope is None
    first = 'Bearer scope="early", junk="' + "x" * 100_000 + '"'
    assert _forbidden(first).required_scope == "early"


def test_random_headers_never_raise() -> None:
    rng = random.Random(25)
    alphabet = 'Bearer DPoP scope error insufficient_scope = , " \\ \t\n\x00 é abc'
    pieces = [*alphabet.split(" "), " ", "=", ",", '"', "\\"]
    for _ in range(3000):
        header = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 40)))
        parse_challenges(header)
        scope = required_scope({"WWW-Authenticate": header})
        assert scope is None or (scope.isascii() and scope.isprintable() and '"' not in scope)


def test_a_secret_the_request_carried_is_not_echoed_as_a_scope() -> None:
    error = _forbidden('Bearer scope="s3cr3t-token"', secrets=("s3cr3t-token",))
    assert error.required_scope != "s3cr3t-token"
    assert "s3cr3t" not in repr(vars(error))


def test_the_cli_hint_prefers_the_scope_okta_named() -> None:
    named = _forbidden('Bearer error="insufficient_scope", scope="okta.apps.special"')
    hint = error_hint(named, argparse.Namespace())
    assert hint is not None and "okta.apps.special" in hint
    assert "okta.apps.manage" not in hint
    # Without a challenge, the operations table's scope, as before.
    table = error_hint(ForbiddenError(status=403, operation="activate"), argparse.Namespace())
    assert table is not None and "okta.apps.manage" in table
