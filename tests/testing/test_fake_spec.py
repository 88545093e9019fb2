"""FakeOkta against Okta's OpenAPI spec: every response it gives conforms.

Each response is validated with jsonschema against the schema the spec declares for that
operation and status. The spec's error lists are incomplete (401 is declared only on
JWKS, 400 only on update; reference §7.7), so an undeclared error status is validated
against the ``Error`` schema, which every Okta error body uses.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from yarl import URL

from okta_connections.testing import FakeApp, FakeOkta
from tests.support.fake_http import Api, FakeClock, Reply

SPEC_PATH = Path(__file__).resolve().parents[1] / "data" / "connections-openapi.yaml"
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
BASE_URI = "urn:okta:connections-openapi"

# Spec path templates, to find an operation from a concrete request.
CONN = "/api/v1/apps/{appId}/connections/default"
JWKS = CONN + "/jwks"
ACTIVATE = CONN + "/lifecycle/activate"
DEACTIVATE = CONN + "/lifecycle/deactivate"
VERIFY = "/api/v1/apps/{appName}/{appId}/oauth2/callback"


def _widened_spec() -> dict[str, Any]:
    doc = copy.deepcopy(SPEC)
    # ProvisioningConnectionResponse.authScheme is declared as the 1-value enum [TOKEN],
    # but Okta returns "OAUTH2" there for Org2Org OAuth connections: the spec's own
    # example ProvisioningConnectionOAuthOrg2OrgWithRotationResponseEx does (reference
    # §7.4). Validate with that one field widened to the 3-value enum
    # ProvisioningConnectionAuthScheme; everything else is the spec verbatim.
    props = doc["components"]["schemas"]["ProvisioningConnectionResponse"]["properties"]
    props["authScheme"] = {"$ref": "#/components/schemas/ProvisioningConnectionAuthScheme"}
    return doc


def _validator(doc: dict[str, Any], pointer: str) -> jsonschema.protocols.Validator:
    # The whole document is one resource, so the spec's "#/components/..." refs resolve
    # against it. OAS 3.0 schemas are close enough to JSON Schema; readOnly and x-* keys
    # are annotations / unknown keywords that validation ignores.
    registry: Registry[Any] = Registry().with_resource(
        BASE_URI, Resource.from_contents(doc, default_specification=DRAFT202012)
    )
    return jsonschema.Draft202012Validator({"$ref": f"{BASE_URI}#{pointer}"}, registry=registry)


WIDE = _widened_spec()
ERROR_VALIDATOR = _validator(WIDE, "/components/schemas/Error")


def _deref(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def response_schema_pointer(template: str, method: str, status: int) -> str | None:
    """The JSON pointer of the declared response schema; None when the status has no body.

    Raises AssertionError for a success status the spec does not declare.
    """
    responses = SPEC["paths"][template][method.lower()]["responses"]
    declared = responses.get(str(status))
    if declared is None:
        assert status >= 400, f"{method} {template}: undeclared success status {status}"
        return "/components/schemas/Error"
    declared = _deref(declared)
    content = declared.get("content")
    if content is None:
        return None
    ref = content["application/json"]["schema"]["$ref"]
    assert isinstance(ref, str)
    return str(ref.removeprefix("#"))


def assert_conforms(template: str, method: str, reply: Reply) -> Any:
    pointer = response_schema_pointer(template, method, reply.status)
    if pointer is None:
        assert reply.body == b"", f"{method} {template} {reply.status} must have no body"
        assert "Content-Type" not in reply.headers
        return None
    assert reply.headers["Content-Type"] == "application/json"
    body = json.loads(reply.body)
    _validator(WIDE, pointer).validate(body)
    if reply.status >= 400:
        ERROR_VALIDATOR.validate(body)
        assert set(body) == {"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"}
    return body


# Fields the fake may send beyond the schema's: none. Checked so that a stray field
# (say, a leaked token) fails even where the schema allows extra properties.
CONNECTION_KEYS = {"authScheme", "baseUrl", "profile", "status", "_links"}
PROFILE_KEYS = {"authScheme", "signing", "clientId"}  # clientId: as in the spec's examples
LINK_KEYS = {"self", "activate", "deactivate", "authorize"}


def assert_connection_shape(body: dict[str, Any]) -> None:
    assert set(body) <= CONNECTION_KEYS, body
    assert set(body["profile"]) <= PROFILE_KEYS, body
    assert set(body["_links"]) <= LINK_KEYS, body


def key_structure(value: Any) -> Any:
    """Nested dict keys (and list element structure), with the leaf values dropped."""
    if isinstance(value, dict):
        return {k: key_structure(v) for k, v in value.items()}
    if isinstance(value, list):
        return [key_structure(v) for v in value[:1]]
    return type(value).__name__


def example(name: str) -> Any:
    return SPEC["components"]["examples"][name]["value"]


@pytest.fixture
async def org(clock: FakeClock) -> Any:
    async with FakeOkta(apps=60, seed=2, clock=clock) as fake:
        yield fake


def every_state(fake: FakeOkta) -> list[FakeApp]:
    """One app per app type and connection state."""
    return [
        fake.add_app("okta_org2org"),
        fake.add_app("okta_org2org", connection="token"),
        fake.add_app("okta_org2org", connection="token", status="ENABLED"),
        fake.add_app("okta_org2org", connection="oauth", rotation_mode="AUTO", status="ENABLED"),
        fake.add_app("okta_org2org", connection="oauth", rotation_mode="MANUAL"),
        fake.add_app("zscalerbyz"),
        fake.add_app("zscalerbyz", connection="token"),
        fake.add_app("zscalerbyz", connection="token", status="ENABLED"),
        *(
            fake.add_app(name, connection="oauth", consented=consented, status=status)  # type: ignore[arg-type]
            for name in ("google", "office365", "slack", "zoomus")
            for consented, status in ((False, "DISABLED"), (True, "DISABLED"), (True, "ENABLED"))
        ),
        *(fake.add_app(name) for name in ("google", "office365", "slack", "zoomus")),
        *(fake.add_app(name) for name in ("bookmark", "template_saml_2_0", "oidc_client")),
    ]


async def test_get_conforms_for_every_app_type_and_state(
    org: FakeOkta, http: aiohttp.ClientSession
) -> None:
    api = Api(org, http)
    apps = every_state(org) + org.apps[:60]  # and the whole seeded estate
    statuses = set()
    for app in apps:
        body = assert_conforms(CONN, "GET", await api.get(app.id))
        assert_connection_shape(body)
        statuses.add((body["profile"]["authScheme"], body["status"], "authorize" in body["_links"]))
    assert statuses >= {
        ("UNKNOWN", "UNKNOWN", False),
        ("TOKEN", "DISABLED", False),
        ("TOKEN", "ENABLED", False),
        ("OAUTH2", "DISABLED", True),
        ("OAUTH2", "DISABLED", False),
        ("OAUTH2", "ENABLED", False),
    }


async def test_update_activate_deactivate_jwks_verify_conform(
    org: FakeOkta, http: aiohttp.ClientSession
) -> None:
    api = Api(org, http)
    bodies: dict[str, list[dict[str, Any]]] = {
        "okta_org2org": [
            {"profile": {"authScheme": "TOKEN", "token": "t"}},
            {
                "profile": {
                    "authScheme": "OAUTH2",
                    "clientId": "0oa2h6su6bVFyJzIf1d7",
                    "signing": {"rotationMode": "AUTO"},
                }
            },
            {"profile": {"authScheme": "OAUTH2", "clientId": "0oa2h6su6bVFyJzIf1d7"}},
        ],
        "zscalerbyz": [
            {
                "baseUrl": "https://scim.zscalerbeta.net/1234567/890/scim",
                "profile": {"authScheme": "TOKEN", "token": "00NgAPZqUVy8cX9eh"},
            }
        ],
        "office365": [example("ProvisioningConnectionOauthO365RequestEx")],
        "google": [{"profile": {"authScheme": "OAUTH2"}}],
        "slack": [{"profile": {"authScheme": "OAUTH2"}}],
        "zoomus": [{"profile": {"authScheme": "OAUTH2"}}],
    }
    for name, variants in bodies.items():
        for body in variants:
            for activate in (None, "true", "false"):
                app = org.add_app(name)
                reply = await api.update(app.id, body, activate)
                assert reply.status == 200
                assert_connection_shape(assert_conforms(CONN, "POST", reply))
                assert_conforms(ACTIVATE, "POST", await api.activate(app.id))
                assert_conforms(DEACTIVATE, "POST", await api.deactivate(app.id))
                assert_conforms(JWKS, "GET", await api.jwks(app.id))  # 200 or 404
                if app.needs_consent:
                    href = org.consent(app.id)
                    path = URL(href).path
                    assert path == f"/api/v1/apps/{name}/{app.id}/oauth2/callback"
                    assert_conforms(VERIFY, "POST", await api.call("POST", href))
                    assert_conforms(VERIFY, "POST", await api.call("POST", href))  # reused: 400
                    assert_conforms(ACTIVATE, "POST", await api.activate(app.id))
                    assert_connection_shape(assert_conforms(CONN, "GET", await api.get(app.id)))


async def test_jwks_conforms(org: FakeOkta, http: aiohttp.ClientSession) -> None:
    api = Api(org, http)
    app = org.add_app("okta_org2org", connection="oauth", rotation_mode="AUTO")
    org.rotate_keys(app.id)
    body = assert_conforms(JWKS, "GET", await api.jwks(app.id))
    assert len(body["jwks"]["keys"]) == 2
    # Same fields as the spec example, minus its undeclared "alg": "RSA" (reference §7.5).
    example_key = example("UserProvisioningJsonWebKeysResponse")["jwks"]["keys"][0]
    for key in body["jwks"]["keys"]:
        assert set(key) == set(example_key) - {"alg"}


async def test_errors_conform(org: FakeOkta, http: aiohttp.ClientSession) -> None:
    api = Api(org, http)
    org.add_bearer_token("reader", ["okta.apps.read"])
    app = org.add_app("zscalerbyz", connection="token")
    slack = org.add_app("slack", connection="oauth", consented=False)
    cases = [
        (CONN, "GET", await api.get("0oaMISSING"), 404),
        (CONN, "GET", await api.get(app.id, auth=None), 401),  # undeclared: Error schema
        (CONN, "POST", await api.update(app.id, {"profile": {}}), 400),
        (CONN, "POST", await api.update(app.id, [1]), 400),
        (CONN, "POST", await api.update(app.id, {}, auth="Bearer reader"), 403),
        (ACTIVATE, "POST", await api.activate(slack.id), 400),  # undeclared: Error schema
        (ACTIVATE, "POST", await api.activate(app.id, auth="Bearer reader"), 403),
        (DEACTIVATE, "POST", await api.deactivate("0oaMISSING"), 404),
        (JWKS, "GET", await api.jwks(app.id), 404),
        (JWKS, "GET", await api.jwks(app.id, auth="SSWS wrong"), 401),  # declared here
        (VERIFY, "POST", await api.verify("google", slack.id, "c", "s"), 404),
        (VERIFY, "POST", await api.verify("slack", slack.id, "c", None), 400),
    ]
    org.set_rate_limit(0, 60)
    cases.append((CONN, "GET", await api.get(app.id), 429))
    for template, method, reply, status in cases:
        assert reply.status == status, (template, method, reply.body)
        assert_conforms(template, method, reply)


# ---------------------------------------------------------------- against the spec examples


async def test_org2org_oauth_response_has_the_spec_example_structure(
    org: FakeOkta, http: aiohttp.ClientSession
) -> None:
    api = Api(org, http)
    app = org.add_app("okta_org2org")
    # The example request has "authScheme": "OAUTH" (a typo, reference §7.5); fixed here.
    request = copy.deepcopy(example("ProvisioningConnectionOAuthOrg2OrgWithRotationRequestEx"))
    request["profile"]["authScheme"] = "OAUTH2"
    reply = await api.update(app.id, request, "true")
    body = assert_conforms(CONN, "POST", reply)
    spec_example = example("ProvisioningConnectionOAuthOrg2OrgWithRotationResponseEx")
    assert key_structure(body) == key_structure(spec_example)
    assert body["profile"] == {**spec_example["profile"], "clientId": "0oa2h6su6bVFyJzIf1d7"}
    # The unwidened spec rejects this (and the spec's own example): proof that the
    # validation is real and that the widening above is needed.
    with pytest.raises(jsonschema.ValidationError):
        _validator(SPEC, "/components/schemas/ProvisioningConnectionResponse").validate(body)


@pytest.mark.parametrize(
    ("name", "example_name"),
    [
        ("zscalerbyz", "ProvisioningConnectionTokenResponseWithProfileZscalerEx"),
        ("okta_org2org", "ProvisioningConnectionTokenResponseWithProfileOrg2OrgEx"),
    ],
)
async def test_token_responses_have_the_spec_example_structure(
    org: FakeOkta, http: aiohttp.ClientSession, name: str, example_name: str
) -> None:
    api = Api(org, http)
    spec_example = example(example_name)
    app = org.add_app(name, connection="token", status="ENABLED", base_url=spec_example["baseUrl"])
    body = assert_conforms(CONN, "GET", await api.get(app.id))
    assert key_structure(body) == key_structure(spec_example)
    assert body["baseUrl"] == spec_example["baseUrl"]


async def test_o365_response_matches_the_spec_example_except_documented_quirks(
    org: FakeOkta, http: aiohttp.ClientSession
) -> None:
    api = Api(org, http)
    spec_example = example("ProvisioningConnectionOauthResponseEx")
    app = org.add_app("office365")
    reply = await api.update(app.id, example("ProvisioningConnectionOauthO365RequestEx"))
    pending = assert_conforms(CONN, "POST", reply)
    # Top level and profile as in the example: no top-level authScheme.
    assert set(pending) == set(spec_example)
    assert pending["profile"] == spec_example["profile"]
    # The example shows ENABLED with an authorize link and "guidance" beside "hints"; the
    # schema (HrefHintsGuidanceObject) and the guide put guidance inside hints, and a link
    # set follows what each operation would do, so pending consent is DISABLED with
    # authorize and no activate (activate is refused until consent is verified).
    authorize = pending["_links"]["authorize"]
    assert set(authorize) == {"href", "hints"}
    assert set(authorize["hints"]) == {"allow", "guidance"}
    assert set(pending["_links"]) == {"self", "authorize"}


def test_spec_examples_validate_against_the_widened_schemas() -> None:
    """Sanity check of the validator set-up: the spec's own response examples pass."""
    conn = _validator(WIDE, "/components/schemas/ProvisioningConnectionResponse")
    for name in (
        "ProvisioningConnectionTokenResponseWithProfileZscalerEx",
        "ProvisioningConnectionTokenResponseWithProfileOrg2OrgEx",
        "ProvisioningConnectionOAuthOrg2OrgWithRotationResponseEx",
        "ProvisioningConnectionOauthResponseEx",
    ):
        conn.validate(example(name))
    _validator(WIDE, "/components/schemas/AppConnectionUserProvisionJWKResponse").validate(
        example("UserProvisioningJsonWebKeysResponse")
    )
    for name in ("ErrorAccessDenied", "ErrorResourceNotFound", "ErrorTooManyRequests"):
        ERROR_VALIDATOR.validate(example(name))


@pytest.mark.parametrize(
    "bad",
    [
        {"status": "ENABLED", "_links": {}},  # no profile
        {"profile": {"authScheme": "TOKEN"}},  # no status
        {"profile": {"authScheme": "BASIC"}, "status": "ENABLED"},
        {"profile": {"authScheme": "TOKEN"}, "status": "ON"},
        {"profile": {"authScheme": "TOKEN"}, "status": "ENABLED", "_links": {"self": {}}},
        {
            "profile": {"authScheme": "OAUTH2", "signing": {"rotationMode": "SOMETIMES"}},
            "status": "ENABLED",
        },
    ],
)
def test_validator_rejects_nonconforming_bodies(bad: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        _validator(WIDE, "/components/schemas/ProvisioningConnectionResponse").validate(bad)


def test_spec_copy_is_the_okta_spec_subset() -> None:
    text = SPEC_PATH.read_text(encoding="utf-8")
    assert text.startswith("# Source: https://github.com/okta/okta-management-openapi-spec")
    assert SPEC["info"]["version"] == "2026.06.3"
    assert {p for p in SPEC["paths"]} >= {CONN, JWKS, ACTIVATE, DEACTIVATE, VERIFY}
