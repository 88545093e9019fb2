"""Models against the official spec's examples, lenient parsing, and request shapes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from okta_connections import (
    ApiError,
    AuthScheme,
    ConnectionStatus,
    JsonWebKeySet,
    OAuthConnection,
    ProvisioningConnection,
    RotationMode,
    TokenConnection,
)
from okta_connections.models import Link, converter

SPEC = yaml.safe_load((Path(__file__).parent / "data" / "connections-openapi.yaml").read_text())


def _resolve(ref: str) -> Any:
    node: Any = SPEC
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _examples(schema_name: str) -> list[tuple[str, Any]]:
    """Every example value the spec attaches to responses with this schema."""
    found: dict[str, Any] = {}
    for item in SPEC["paths"].values():
        for op in item.values():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            for response in op["responses"].values():
                if "$ref" in response:
                    response = _resolve(response["$ref"])
                media = response.get("content", {}).get("application/json", {})
                if media.get("schema", {}).get("$ref", "").endswith("/" + schema_name):
                    for ex in media.get("examples", {}).values():
                        name = ex["$ref"].rsplit("/", 1)[-1]
                        found[name] = _resolve(ex["$ref"])["value"]
    return sorted(found.items())


CONNECTION_EXAMPLES = _examples("ProvisioningConnectionResponse")


def test_spec_has_the_examples_we_rely_on() -> None:
    names = [n for n, _ in CONNECTION_EXAMPLES]
    assert len(names) >= 4
    assert len(_examples("AppConnectionUserProvisionJWKResponse")) >= 1
    assert len(_examples("Error")) >= 4


@pytest.mark.parametrize(("name", "example"), CONNECTION_EXAMPLES)
def test_every_connection_example_parses(name: str, example: dict[str, Any]) -> None:
    conn = converter.structure(example, ProvisioningConnection)
    assert conn.status == example["status"]
    assert conn.profile.auth_scheme == example["profile"]["authScheme"]
    assert conn.auth_scheme == example.get("authScheme", example["profile"]["authScheme"])
    assert conn.base_url == example.get("baseUrl")
    links = example.get("_links", {})
    for key, attr in (
        ("self", "self_link"),
        ("activate", "activate"),
        ("deactivate", "deactivate"),
        ("authorize", "authorize"),
    ):
        link = getattr(conn.links, attr)
        if key in links:
            assert link is not None and link.href == links[key]["href"]
            assert list(link.allow) == links[key].get("hints", {}).get("allow", [])
        else:
            assert link is None


def test_o365_example_guidance_and_org2org_signing() -> None:
    by_name = dict(CONNECTION_EXAMPLES)
    o365 = converter.structure(
        by_name["ProvisioningConnectionOauthResponseEx"], ProvisioningConnection
    )
    assert o365.auth_scheme is AuthScheme.OAUTH2  # no top-level authScheme: taken from profile
    assert o365.needs_consent
    assert o365.links.authorize is not None and o365.links.authorize.guidance
    org2org = [
        converter.structure(v, ProvisioningConnection)
        for n, v in CONNECTION_EXAMPLES
        if "Org2OrgWithRotation" in n
    ]
    assert org2org and org2org[0].profile.signing is not None
    assert org2org[0].profile.signing.rotation_mode is RotationMode.AUTO
    assert org2org[0].profile.client_id


@pytest.mark.parametrize(("name", "example"), _examples("AppConnectionUserProvisionJWKResponse"))
def test_jwks_example_parses(name: str, example: dict[str, Any]) -> None:
    jwks = converter.structure(example, JsonWebKeySet)
    assert [k.kid for k in jwks.keys] == [k.get("kid") for k in example["jwks"]["keys"]]
    assert jwks.to_dict() == {"keys": example["jwks"]["keys"]}


@pytest.mark.parametrize(("name", "example"), _examples("Error"))
def test_error_examples_give_typed_errors(name: str, example: dict[str, Any]) -> None:
    status = {"E0000001": 400, "E0000011": 401, "E0000006": 403, "E0000007": 404, "E0000047": 429}[
        example["errorCode"]
    ]
    err = ApiError.from_response(status, example, request_id="req1", operation="get")
    assert err.error_code == example["errorCode"]
    assert err.error_summary == example["errorSummary"]
    assert err.error_causes == tuple(c["errorSummary"] for c in example.get("errorCauses", []))


def test_unknown_enum_values_and_fields_are_kept_or_ignored() -> None:
    conn = converter.structure(
        {
            "authScheme": "SAML_MAGIC",
            "status": "SUSPENDED",
            "profile": {"authScheme": "SAML_MAGIC", "newField": {"x": 1}},
            "_links": {
                "self": {"href": "h", "hints": {"allow": ["PATCH"]}},
                "other": {"href": "o"},
            },
            "brandNewTopLevel": [1, 2, 3],
        },
        ProvisioningConnection,
    )
    assert conn.status == "SUSPENDED"
    assert not conn.status.is_known
    assert conn.auth_scheme.value == "SAML_MAGIC"
    assert conn.links.self_link is not None and conn.links.self_link.allow == ("PATCH",)
    assert ConnectionStatus("ENABLED").is_known


def test_request_shapes_match_reference_section_3_2() -> None:
    assert TokenConnection(
        token="z", base_url="https://scim.zscalerbeta.net/1234567/890/scim"
    ).to_wire() == {
        "baseUrl": "https://scim.zscalerbeta.net/1234567/890/scim",
        "profile": {"authScheme": "TOKEN", "token": "z"},
    }
    assert TokenConnection(token="t").to_wire() == {
        "profile": {"authScheme": "TOKEN", "token": "t"}
    }
    assert OAuthConnection(client_id="c", rotation_mode=RotationMode.AUTO).to_wire() == {
        "profile": {"authScheme": "OAUTH2", "clientId": "c", "signing": {"rotationMode": "AUTO"}}
    }
    assert OAuthConnection().to_wire() == {"profile": {"authScheme": "OAUTH2"}}
    assert OAuthConnection(admin_username="u", admin_password="p").to_wire() == {
        "profile": {
            "authScheme": "OAUTH2",
            "settings": {"adminUsername": "u", "adminPassword": "p"},
        }
    }
    assert converter.unstructure(TokenConnection(token="t")) == TokenConnection(token="t").to_wire()


def test_request_examples_from_spec_round_trip() -> None:
    body = _resolve("#/components/examples/ProvisioningConnectionTokenRequestEx")["value"]
    req = TokenConnection(token=body["profile"]["token"], base_url=body.get("baseUrl"))
    assert req.to_wire() == body


def test_secrets_hidden_in_request_reprs() -> None:
    assert "s3cret" not in repr(TokenConnection(token="s3cret"))
    assert "hunter2" not in repr(OAuthConnection(admin_username="u", admin_password="hunter2"))
    assert "'***'" in repr(TokenConnection(token="s3cret"))


def test_models_are_frozen() -> None:
    conn = converter.structure(CONNECTION_EXAMPLES[0][1], ProvisioningConnection)
    with pytest.raises(AttributeError):
        conn.status = ConnectionStatus.DISABLED  # type: ignore[misc]


def test_a_bare_string_where_a_list_belongs_stays_one_value() -> None:
    link = converter.structure({"href": "https://x", "hints": {"allow": "GET"}}, Link)
    assert link.allow == ("GET",)
    link = converter.structure({"href": "https://x", "hints": {"allow": {"GET": 1}}}, Link)
    assert link.allow == ()


@pytest.mark.parametrize(
    "payload",
    [
        {"authScheme": "TOKEN", "status": "ENABLED", "profile": {"authScheme": "TOKEN"}},
        {"status": "DISABLED", "baseUrl": "https://x", "profile": {"authScheme": "OAUTH2"}},
        {
            "authScheme": "OAUTH2",
            "status": "SUSPENDED",
            "profile": {
                "authScheme": "OAUTH2",
                "clientId": "0oa1",
                "signing": {"rotationMode": "MANUAL"},
            },
            "_links": {
                "self": {"href": "https://a/x", "hints": {"allow": ["GET", 5]}},
                "authorize": {"href": "https://a/y", "guidance": "open it", "name": "n"},
            },
        },
        {"authScheme": "NEWSCHEME", "status": "ENABLED", "profile": {"authScheme": "TOKEN"}},
        {"status": "ENABLED", "newField": 1, "profile": {"authScheme": "TOKEN", "extra": 1}},
    ],
)
def test_the_hand_written_connection_decoder_matches_the_generated_one(
    payload: dict[str, Any],
) -> None:
    from okta_connections.models.connections import _fast_connection, _generated_connection

    fast = _fast_connection(payload, payload["profile"])
    prepared = dict(payload)
    prepared.setdefault("authScheme", payload["profile"]["authScheme"])
    prepared.setdefault("_links", {})
    assert fast is not None
    assert fast == _generated_connection(prepared, ProvisioningConnection)


@pytest.mark.parametrize(
    "payload",
    [
        {"status": 5, "profile": {"authScheme": "TOKEN"}},
        {"status": "ENABLED", "profile": {"authScheme": "TOKEN", "signing": {}}},
        {"status": "ENABLED", "baseUrl": 7, "profile": {"authScheme": "TOKEN"}},
    ],
)
def test_unusual_connections_fall_back_to_the_generated_decoder(payload: dict[str, Any]) -> None:
    from okta_connections.models.connections import _fast_connection

    assert _fast_connection(payload, payload["profile"]) is None
