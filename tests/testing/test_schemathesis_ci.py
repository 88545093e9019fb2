"""The schemathesis CI step's classifier (.ci/schemathesis_fake.py): known spec defects
pass, anything else fails the run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

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
    assert ci.classify(f("ST108", ci.GET_CONN, 200, '"OAUTH2" is not one of "TOKEN"')).key == (
        "authScheme-enum"
    )
    assert ci.classify(f("ST103", ci.ACTIVATE, 400, "Received: 400")).key == "error-lists"
    assert ci.classify(f("ST202", ci.VERIFY, 400, "")).key == "verify-code-state"
    assert ci.classify(f("ST202", ci.CONN, 400, "")).key == "update-app-rules"
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
    ],
)
def test_anything_else_fails_the_run(ci: ModuleType, failure: tuple[str, str, int, str]) -> None:
    assert ci.classify(ci.Failure(*failure)) is None


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
