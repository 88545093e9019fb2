"""``okta-connections bulk`` with a wrong token: it stops after a few requests, says why at
once, and a rerun with the right token resumes from the journal (issue #26)."""

from __future__ import annotations

import pytest

from tests.support.cli import Cli, assert_no_secret

pytestmark = [pytest.mark.filterwarnings("error::ResourceWarning"), pytest.mark.slow]


async def test_a_wrong_token_stops_bulk_get_and_a_rerun_resumes(cli: Cli) -> None:
    ids = [a.id for a in cli.fake.apps]
    ids += [cli.fake.add_app("zscalerbyz", connection="token").id for _ in range(1000 - len(ids))]
    (cli.tmp / "ids").write_text("\n".join(ids))
    wrong = cli.env(OKTA_CLIENT_TOKEN="00revoked-SECRET")
    result = await cli("bulk", "get", "ids", "--journal", "get.jsonl", env=wrong)
    assert result.rc == 1
    sent = cli.fake.count(operation="get")
    assert sent <= 25, sent  # before: 1,000, each a 401
    hints = [line for line in result.err.splitlines() if line.startswith("stopped:")]
    assert hints == [
        "stopped: the credentials were refused (401 E0000011), so the apps left are not "
        "started; the SSWS token came from $OKTA_CLIENT_TOKEN; check that it is valid for "
        f"{cli.fake.org_url} and not revoked (okta-connections config show)"
    ]
    assert "failed with 401" not in result.err  # said once
    *lines, last = result.json_lines()  # stdout is a pipe: JSON lines
    assert len(lines) == sent and {line["status"] for line in lines} == {"failed"}
    summary = last["summary"]
    assert (summary["failed"], summary["notStarted"]) == (sent, 1000 - sent)
    assert summary["stoppedBy"]["errorCode"] == "E0000011"
    assert_no_secret(result, "00revoked-SECRET")

    again = await cli("bulk", "get", "ids", "--journal", "get.jsonl", "--json")
    assert again.rc == 0, again.err
    last = again.json_lines()[-1]["summary"]
    assert (last["succeeded"], last["skipped"], last["notStarted"]) == (1000, 0, 0)
    assert "stoppedBy" not in last  # only when the job stopped
    assert cli.fake.count(operation="get", status=200) == 1000


async def test_a_wrong_token_in_json_mode_names_the_error_that_stopped_the_job(cli: Cli) -> None:
    ids = [a.id for a in cli.fake.apps]
    (cli.tmp / "ids").write_text("\n".join(ids))
    wrong = cli.env(OKTA_CLIENT_TOKEN="00revoked-SECRET")
    result = await cli("bulk", "activate", "ids", "--json", env=wrong)
    assert result.rc == 1
    summary = result.json_lines()[-1]["summary"]
    assert summary["stoppedBy"]["errorCode"] == "E0000011"
    assert summary["notStarted"] == len(ids) - summary["failed"]
    assert cli.fake.count(operation="activate") == summary["failed"] <= 3
    assert_no_secret(result, "00revoked-SECRET")
