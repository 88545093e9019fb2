"""The table of operations (okta_connections/operations.py) against Okta's spec and its readers.

The spec is tests/data/connections-openapi.yaml, Okta's own text: a wrong method, path,
success status, scope or secret query parameter in a row fails here. The README's table is
generated from ours and must match it.
"""

from __future__ import annotations

import collections.abc
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml

from okta_connections.operations import TABLE, Operation, markdown_table
from okta_connections.ratelimit.headers import bucket_for

ROOT = Path(__file__).resolve().parent.parent
SPEC: dict[str, Any] = yaml.safe_load(
    (ROOT / "tests" / "data" / "connections-openapi.yaml").read_text(encoding="utf-8")
)

#: Rows that the spec subset has not: the app list (outside the ApplicationConnections tag).
NOT_IN_SPEC = {"list_apps"}
#: Success statuses we accept beyond the spec's, and why.
EXTRA_SUCCESS = {"update": {201}}  # older orgs and specs answer 201 (reference §7)

README_START = "<!-- operations table: generated from okta_connections/operations.py"
README_END = "<!-- end of the operations table -->"
REGENERATE = (
    "regenerate it: python -m okta_connections.operations --markdown, and paste the output "
    "between the markers in README.md"
)


def _spec_operations() -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for path, item in SPEC["paths"].items():
        for method, body in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                found[(method.upper(), path)] = body
    return found


SPEC_OPS = _spec_operations()


def test_every_spec_operation_has_a_row_and_every_row_is_in_the_spec() -> None:
    ours = {(op.method, op.path) for op in TABLE.values() if op.name not in NOT_IN_SPEC}
    assert ours == set(SPEC_OPS)
    assert len(TABLE) == len(SPEC_OPS) + len(NOT_IN_SPEC)


@pytest.mark.parametrize("name", sorted(set(TABLE) - NOT_IN_SPEC))
def test_a_row_matches_the_spec(name: str) -> None:
    op = TABLE[name]
    spec = SPEC_OPS.get((op.method, op.path))
    assert spec is not None, f"{name}: {op.method} {op.path} is not in the spec"
    declared = {int(code) for code in spec["responses"] if str(code).startswith("2")}
    assert set(op.success) == declared | EXTRA_SUCCESS.get(name, set()), name
    scopes = {
        scope for requirement in spec.get("security", []) for scope in requirement.get("oauth2", [])
    }
    assert scopes == {op.scope}, name
    query = {p["name"] for p in spec.get("parameters", []) if p.get("in") == "query"}
    assert op.secret_params <= query, name
    # Okta's spec names path parameters as our templates do; path_for takes each one.
    assert sorted(op.path_params) == sorted(
        "_".join(w.lower() for w in _words(p)) for p in _placeholders(op.path)
    )


def _placeholders(path: str) -> list[str]:
    return [part.split("}")[0] for part in path.split("{")[1:]]


def _words(camel: str) -> list[str]:
    out = [""]
    for ch in camel:
        if ch.isupper():
            out.append(ch)
        else:
            out[-1] += ch
    return [w for w in out if w]


@pytest.mark.parametrize("name", sorted(TABLE))
def test_the_bucket_is_the_one_of_the_path(name: str) -> None:
    op = TABLE[name]
    path = op.path_for(**{p: "x1" for p in op.path_params})
    assert op.bucket == bucket_for(path)


def test_only_verify_is_not_idempotent_and_has_secret_params() -> None:
    assert {op.name for op in TABLE.values() if not op.idempotent} == {"verify"}
    assert {op.name for op in TABLE.values() if op.secret_params} == {"verify"}
    assert TABLE["verify"].secret_params == {"code", "state"}


def test_the_response_model_is_what_the_service_method_returns() -> None:
    from okta_connections.services.apps import AppsService
    from okta_connections.services.connections import ConnectionsService

    for op in TABLE.values():
        service, _, method = op.call.partition("(")[0].partition(".")
        cls = {"connections": ConnectionsService, "apps": AppsService}[service]
        returns = typing.get_type_hints(getattr(cls, method))["return"]
        if op.paged:
            assert typing.get_origin(returns) is collections.abc.AsyncIterator, op.name
            assert typing.get_args(returns) == (op.response,), op.name
        else:
            assert returns is (type(None) if op.response is None else op.response), op.name


def test_the_service_docstrings_show_their_row() -> None:
    from okta_connections.services.apps import AppsService
    from okta_connections.services.connections import ConnectionsService

    for op in TABLE.values():
        service, _, method = op.call.partition("(")[0].partition(".")
        cls = {"connections": ConnectionsService, "apps": AppsService}[service]
        doc = getattr(cls, method).__doc__
        assert op.describe() in doc, op.name
        assert f"``{op.scope}``" in op.describe()


def test_the_old_import_paths_give_the_table_rows() -> None:
    from okta_connections import services
    from okta_connections.pipeline import exchange
    from okta_connections.services import apps, connections

    assert exchange.Operation is Operation
    connection_ops = ("get", "update", "activate", "deactivate", "get_jwks", "verify")
    assert list(services.OPERATIONS) == list(connection_ops)
    assert all(services.OPERATIONS[name] is TABLE[name] for name in services.OPERATIONS)
    assert connections.GET is TABLE["get"] and connections.VERIFY is TABLE["verify"]
    assert apps.LIST_APPS is TABLE["list_apps"]
    # The positional form of before still builds an operation.
    op = Operation("x", "GET", "/api/v1/apps/{appId}/x", "okta.apps.read", frozenset({200}))
    assert op.bucket == "apps" and op.path_for(app_id="a1") == "/api/v1/apps/a1/x"


@pytest.mark.parametrize(
    "name", sorted(n for n, op in TABLE.items() if op.path_params == ("app_id",))
)
def test_the_services_app_path_is_path_for(name: str) -> None:
    # The services' shortcut for a checked app id builds what path_for builds.
    op = TABLE[name]
    assert op._app_path("0oa1X") == op.path_for(app_id="0oa1X")


def test_path_for_fills_and_encodes_parameters() -> None:
    assert (
        TABLE["verify"].path_for(app_name="google", app_id="0oa1")
        == "/api/v1/apps/google/0oa1/oauth2/callback"
    )
    assert TABLE["list_apps"].path_for() == "/api/v1/apps"
    assert TABLE["get"].path_for(app_id="a/b?c") == "/api/v1/apps/a%2Fb%3Fc/connections/default"
    for bad in ({}, {"app_id": "a", "app_name": "b"}, {"appId": "a"}):
        with pytest.raises(TypeError, match="path parameters"):
            TABLE["get"].path_for(**bad)
    with pytest.raises(TypeError, match="app_name"):
        TABLE["verify"].path_for(app_id="a")
    for odd in ("", ".", ".."):
        with pytest.raises(ValueError, match="not a path parameter"):
            TABLE["get"].path_for(app_id=odd)
    doc = Operation.path_for.__doc__ or ""
    assert TABLE["activate"].path_for(app_id="0oa1") in doc  # the docstring's example


def test_every_command_of_the_table_is_a_cli_command() -> None:
    from okta_connections.cli import build_parser

    parser = build_parser()
    for op in TABLE.values():
        assert op.command, op.name
        args = [*op.command.split(), *(["0oa1"] if "app_id" in op.path_params else [])]
        if op.name == "update":
            args += ["--token", "t"]
        if op.name == "verify":
            args += ["--app-name", "google", "--code", "c", "--state", "s"]
        parsed = parser.parse_args(args)
        assert parsed.command == op.command.split()[0], op.name


def test_the_readme_table_is_generated_from_the_table() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert README_START in text and README_END in text, f"README.md lost its markers; {REGENERATE}"
    start = text.index("\n", text.index(README_START)) + 1
    shown = text[start : text.index(README_END)]
    assert shown == markdown_table(), f"README.md's operations table is stale; {REGENERATE}"


def test_the_generator_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    from okta_connections.operations import main

    assert main(["--markdown"]) == 0
    assert capsys.readouterr().out == markdown_table()
    assert main([]) == 2


async def test_the_dry_run_plans_name_the_calls_of_the_table(okta: Any, server: Any) -> None:
    from okta_connections import TokenConnection

    key = "0oa1"
    jobs = {
        "get": okta.bulk.get([key], dry_run=True),
        "activate": okta.bulk.activate([key], dry_run=True),
        "deactivate": okta.bulk.deactivate([key], dry_run=True),
        "update": okta.bulk.update(
            [(key, TokenConnection(token="t"))], activate=True, read_back=True, dry_run=True
        ),
        "set_token": okta.bulk.set_token([key], "t", activate=False, dry_run=True),
        "ensure_activated": okta.bulk.ensure_activated([key], dry_run=True),
        "ensure_deactivated": okta.bulk.ensure_deactivated([key], dry_run=True),
    }
    conn = "/api/v1/apps/0oa1/connections/default"
    expected = {
        "get": (f"GET {conn}",),
        "activate": (f"POST {conn}/lifecycle/activate",),
        "deactivate": (f"POST {conn}/lifecycle/deactivate",),
        "update": (
            f"POST {conn}?activate=true",
            f"GET {conn} (if the update's status cannot tell)",
        ),
        "set_token": (f"POST {conn}?activate=false (token connection)",),
        "ensure_activated": (f"GET {conn}", f"POST {conn}/lifecycle/activate (unless ENABLED)"),
        "ensure_deactivated": (f"GET {conn}", f"POST {conn}/lifecycle/deactivate (if ENABLED)"),
    }
    for name, job in jobs.items():
        outcomes = [o async for o in job]
        assert [o.result.calls for o in outcomes] == [expected[name]], name
    assert server.seen == []


def test_a_403_in_the_cli_names_the_scope_of_the_table() -> None:
    import argparse

    from okta_connections.cli._config import error_hint
    from okta_connections.errors import ForbiddenError

    for op in TABLE.values():
        hint = error_hint(ForbiddenError(status=403, operation=op.name), argparse.Namespace())
        assert hint is not None and f"needs the {op.scope} scope" in hint, op.name
    unknown = ForbiddenError(status=403, operation="my_own_call")
    assert error_hint(unknown, argparse.Namespace()) is None
