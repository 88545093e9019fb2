"""The schemathesis CI step's classifier (.ci/schemathesis_fake.py): known spec defects
pass, anything else fails the run."""

from __future__ import annotations

import base64
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

GET = "GET /api/v1/apps/{appId}/connections/default"
CONN = "POST /api/v1/apps/{appId}/connections/default"
ACT = "POST /api/v1/apps/{appId}/connections/default/lifecycle/activate"
JWKS = "GET /api/v1/apps/{appId}/connections/default/jwks"
SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "schemathesis_fake.py"


@pytest.fixture(scope="module")
def ci() -> ModuleType:
    spec = importlib.util.spec_from_file_location("schemathesis_fake", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["schemathesis_fake"] = module
    spec.loader.exec_module(module)
    return module


def test_known_defects_are_recognised(ci: ModuleType) -> None:
    f = ci.Failure
    oauth2 = '"OAUTH2" is not one of "TOKEN"'
    assert ci.classify(f("ST108", ci.GET_CONN, 200, oauth2)).key == "authScheme-enum"
    connection = ("E0000001", "Api validation failed: connection")
    assert ci.classify(f("ST103", ci.ACTIVATE, 400, "Received: 400", connection)).key == (
        "lifecycle-400-undocumented"
    )
    code = ("E0000001", "Api validation failed: code")
    assert ci.classify(f("ST202", ci.VERIFY, 400, "", code)).key == "verify-code-state"
    token = ("E0000001", "Api validation failed: profile.token")
    assert ci.classify(f("ST202", ci.CONN, 400, "", token)).key == "update-app-rules"
    bad = ("E0000011", "Invalid token provided")
    assert ci.classify(f("ST103", ci.GET_CONN, 401, "", bad)).key == "401-undocumented"
    for known in ci.KNOWN:
        assert "reference §" in known.reference


@pytest.mark.parametrize(
    "failure",
    [
        ("ST108", "GET /api/v1/apps/{appId}/connections/default", 200, '"x" is not of type'),
        ("ST103", "POST /api/v1/apps/{appId}/connections/default", 500, "Received: 500"),
        ("ST202", "POST /api/v1/apps/{appId}/connections/default", 403, ""),
        ("ST001", "GET /api/v1/apps/{appId}/connections/default", 500, "Server error"),
        ("ST202", "GET /api/v1/apps/{appId}/connections/default/jwks", 400, ""),
        # Issue #25, item 10: each allowance is narrowed to its operation, status and cause.
        ("ST103", GET, 400, "Received: 400", ("E0000001", "Api validation failed: connection")),
        ("ST103", ACT, 400, "Received: 400", ("E0000001", "Api validation failed: injected")),
        ("ST103", ACT, 400, "Received: 400", None),
        ("ST202", CONN, 400, "", ("E0000001", "Api validation failed: profile.label")),
        ("ST202", CONN, 400, "", ("E0000003", "The request body was not well-formed.")),
        ("ST202", CONN, 400, "", None),
        ("ST103", JWKS, 400, "Received: 400", ("E0000001", "Api validation failed: code")),
        ("ST103", GET, 401, "Received: 401", ("E0000001", "Api validation failed: x")),
        ("ST202", "Stateful tests", 400, "", ("E0000001", "Api validation failed: profile")),
    ],
)
def test_anything_else_fails_the_run(ci: ModuleType, failure: tuple[Any, ...]) -> None:
    assert ci.classify(ci.Failure(*failure)) is None


def test_the_cause_is_read_from_the_recorded_body(ci: ModuleType) -> None:
    body = json.dumps({"errorCode": "E0000001", "errorSummary": "Api validation failed: x"})
    encoded = {"content": {"$base64": base64.b64encode(body.encode()).decode()}}
    assert ci.cause_of(encoded) == ("E0000001", "Api validation failed: x")
    assert ci.cause_of({"content": body}) == ("E0000001", "Api validation failed: x")
    assert ci.cause_of({"content": None}) is None
    assert ci.cause_of({"content": {"$base64": "bm90IGpzb24="}}) is None  # "not json"
    assert ci.cause_of({"content": "[1]"}) is None


def test_failures_are_read_from_the_events(ci: ModuleType) -> None:
    events = [
        {"ScenarioStarted": {}},
        {
            "ScenarioFinished": {
                "recorder": {
                    "interactions": {"c1": {"response": {"status_code": 400}}},
                    "checks": {
                        "c1": [
                            {"name": "a", "status": "success"},
                            {
                                "name": "b",
                                "status": "failure",
                                "failure_info": {
                                    "failure": {"code": "ST103", "operation": "X", "message": "m"}
                                },
                            },
                        ]
                    },
                }
            }
        },
    ]
    assert list(ci.failures_in(events)) == [ci.Failure("ST103", "X", 400, "m")]
