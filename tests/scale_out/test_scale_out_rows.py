"""Untrusted rows in scale_out's aggregation: schema violations, extra fields, chunks that
overlap, repeated ids, secrets in failure text. A bad row is a failed outcome with a clear
cause, never a lost report."""

from __future__ import annotations

import json
from typing import Any

import pytest

from okta_connections import OktaClient, SSWSToken
from okta_connections.scale_out import failed_rows, run_chunk, summarize
from okta_connections.testing import FakeOkta

TOKEN = "00tok-SECRET-in-a-row-4411"
PASSWORD = "br0ker-PASS-77"

GOOD = {"app_id": "a", "status": "succeeded", "changed": True, "error_code": None}

BAD_ROWS: list[Any] = [
    {"app_id": "a", "status": "exploded"},
    {"app_id": "a", "status": None},
    {"app_id": "a"},
    {"app_id": "a", "status": "succeeded", "changed": "yes"},
    {"app_id": "a", "status": "succeeded", "attempts": "many"},
    {"app_id": "a", "status": "succeeded", "attempts": -1},
    {"app_id": "a", "status": "succeeded", "attempts": True},
    {"app_id": "a", "status": "failed", "error_code": ["E0000007"]},
    {"app_id": "a", "status": "failed", "error_code": f"E1 {TOKEN}"},
    {"app_id": "a", "status": "failed", "cause": 42},
    {"app_id": "a", "status": ["succeeded"]},
]


@pytest.mark.parametrize("bad", BAD_ROWS, ids=lambda r: json.dumps(r)[:60])
def test_a_bad_row_is_a_failed_outcome_not_a_lost_report(bad: dict[str, Any]) -> None:
    report = summarize([["a", "b"]], [[bad, {**GOOD, "app_id": "b"}]])
    assert sorted(report.rows) == ["a", "b"]
    row = report.rows["a"]
    assert row["status"] == "failed" and row["error_code"] == "InvalidRow"
    assert "row" in row["cause"]
    assert report.rows["b"]["status"] == "succeeded"
    assert report.report.failed == 1 and report.report.succeeded == 1
    assert TOKEN not in json.dumps(report.rows) + report.summary()


@pytest.mark.parametrize(
    "result",
    [
        ["not a row", 7, None, {"no": "app id"}, {"app_id": ["a"]}],
        "not a list",
        {"app_id": "a", "status": "succeeded"},
        42,
    ],
    ids=["junk-items", "a-string", "a-dict", "an-int"],
)
def test_a_result_that_is_not_rows_fails_its_apps_only(result: Any) -> None:
    report = summarize([["a"], ["b"]], [result, [{**GOOD, "app_id": "b"}]])
    assert sorted(report.rows) == ["a", "b"]
    assert report.rows["a"]["status"] == "failed"
    assert report.rows["b"]["status"] == "succeeded"


def test_extra_fields_are_not_copied() -> None:
    row = {**GOOD, "token": TOKEN, "headers": {"Authorization": f"SSWS {TOKEN}"}}
    report = summarize([["a"]], [[row]])
    assert set(report.rows["a"]) == {
        "app_id", "status", "changed", "error_code", "cause", "attempts",
    }  # fmt: skip
    assert TOKEN not in json.dumps(report.rows)


def test_a_failure_never_overwrites_a_success_across_overlapping_chunks() -> None:
    failed = {"app_id": "a", "status": "failed", "changed": None, "error_code": "E0000007"}
    for results in ([[GOOD], [failed]], [[failed], [GOOD]], [[GOOD], RuntimeError("x")],
                    [RuntimeError("x"), [GOOD]], [None, [GOOD]], [[GOOD], []]):  # fmt: skip
        report = summarize([["a"], ["a"]], results)
        assert report.rows["a"]["status"] == "succeeded", results
        assert report.report.succeeded == 1 and report.report.failed == 0
        assert report.missing == []


def test_a_failure_never_overwrites_a_success_inside_one_chunk() -> None:
    failed = {"app_id": "a", "status": "failed", "error_code": "E0000007"}
    for rows in ([GOOD, failed], [failed, GOOD], [GOOD, {"app_id": "a", "status": "bad"}]):
        report = summarize([["a"]], [rows])
        assert report.rows["a"]["status"] == "succeeded", rows
        assert report.accounted == 1


def test_a_repeated_success_keeps_the_change() -> None:
    # A chunk redelivered: its second run finds the app already in the state (changed False).
    again = {**GOOD, "changed": False}
    report = summarize([["a"], ["a"]], [[GOOD], [again]])
    assert report.rows["a"]["changed"] is True and report.report.changed == 1


@pytest.mark.parametrize(
    "text",
    [
        f"Error connecting to redis://:{PASSWORD}@broker:6379/0",
        f"Error connecting to redis://svc:{PASSWORD}@broker:6379/0: refused",
        f"amqp://guest:{PASSWORD}@rabbit//",
        f"https://user:{PASSWORD}@proxy.corp:3128 refused",
        f"redis://broker:6379/0?password={PASSWORD}",
    ],
)
def test_failure_text_naming_a_url_loses_its_userinfo(text: str) -> None:
    report = summarize([["a"], ["b"]], [RuntimeError(text), [
        {"app_id": "b", "status": "failed", "error_code": "X", "cause": text}
    ]])  # fmt: skip
    (row,) = failed_rows(["c"], RuntimeError(text))
    for shown in (report.rows["a"]["cause"], report.rows["b"]["cause"], row["cause"]):
        assert PASSWORD not in shown, shown


async def test_run_chunk_with_a_repeated_id_changes_the_app_once() -> None:
    async with FakeOkta(apps=0, seed=2) as fake:
        a = fake.add_app("okta_org2org", connection="token", status="DISABLED").id
        b = fake.add_app("okta_org2org", connection="token", status="DISABLED").id
        async with OktaClient(fake.org_url, auth=SSWSToken(fake.token)) as okta:
            rows = await run_chunk("ensure_activated", [a, b, a, a, b], client=okta)
        changes = [r for r in fake.requests() if r.method == "POST"]
    assert sorted(r["app_id"] for r in rows) == sorted([a, b])
    assert len(changes) == 2
