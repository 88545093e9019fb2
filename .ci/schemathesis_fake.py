"""CI: schemathesis (a checker we did not write) against ``fake-server`` (issue #12, part 8).

    python .ci/schemathesis_fake.py [--examples 100] [--seed 1]

Starts ``python -m okta_connections.testing`` on 127.0.0.1 (a free port, the default
generous limit), points schemathesis at it with the spec in tests/data, all checks and
all phases, a bounded number of examples per operation and a fixed seed, and the seeded
estate's app ids as a dictionary for ``appId`` (so that most requests reach real apps).

Every failure schemathesis reports is matched against :data:`KNOWN`, the documented spec
defects, each with its reference line (shared/reference/okta-connections-api.md). The
script prints one summary line and exits 1 on any failure that is not a known defect, on
any schemathesis error, or when schemathesis ran too few test cases to mean anything.
Nothing but 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "tests" / "data" / "connections-openapi.yaml"
APPS = 60
SEED = 0


class Defect(NamedTuple):
    """A documented spec defect: the failures it explains, as narrowly as they can be told.

    A failure is this defect only if its check code, operation and status are listed and
    the response's ``errorCode`` and ``errorSummary`` (its cause) are too; None means any
    only where the cause is in the message (``message``, a substring of schemathesis's).
    """

    key: str
    reference: str
    codes: frozenset[str]
    operations: frozenset[str] | None  # None: any
    statuses: frozenset[int] | None
    message: str | None  # a substring of schemathesis's message
    causes: frozenset[tuple[str, str]] | None = None  # (errorCode, errorSummary); None: any


CONN = "POST /api/v1/apps/{appId}/connections/default"
GET_CONN = "GET /api/v1/apps/{appId}/connections/default"
ACTIVATE = "POST /api/v1/apps/{appId}/connections/default/lifecycle/activate"
DEACTIVATE = "POST /api/v1/apps/{appId}/connections/default/lifecycle/deactivate"
VERIFY = "POST /api/v1/apps/{appName}/{appId}/oauth2/callback"
JWKS = "GET /api/v1/apps/{appId}/connections/default/jwks"
STATEFUL = "Stateful tests"


def _invalid(*fields: str) -> frozenset[tuple[str, str]]:
    return frozenset(("E0000001", f"Api validation failed: {field}") for field in fields)


#: The fake's named refusals (docs/testing.md, "What the fake invents"), by operation.
LIFECYCLE_CAUSES = _invalid("connection", "provisioning")
VERIFY_CAUSES = _invalid("code", "state")
#: Update's refusals of a schema-valid body: which app takes which scheme and fields.
UPDATE_CAUSES = _invalid(
    "profile.authScheme",
    "profile.token",
    "profile.clientId",
    "profile.settings",
    "profile.settings.adminUsername",
    "profile.settings.adminPassword",
    "provisioning",
)
BAD_CREDENTIAL = frozenset({("E0000011", "Invalid token provided")})

#: The documented spec defects a failure may be. Anything else fails the run.
KNOWN: tuple[Defect, ...] = (
    Defect(
        "authScheme-enum",
        "reference §4.1 and §7.4: ProvisioningConnectionResponse.authScheme is declared "
        "enum [TOKEN]; Okta returns OAUTH2 there for Org2Org OAuth (the spec's own example)",
        frozenset({"ST108"}),
        frozenset({GET_CONN, CONN}),
        frozenset({200}),
        '"OAUTH2" is not one of "TOKEN"',
    ),
    Defect(
        "lifecycle-400-undocumented",
        "reference §7.7 and §3.3: activate/deactivate list no 400, yet an unconfigured, "
        "consent-pending or provisioning-less connection cannot be activated (the fake's "
        "named refusals activate_unconfigured, activate_pending_consent, "
        "lifecycle_without_provisioning)",
        frozenset({"ST103", "ST202"}),
        frozenset({ACTIVATE, DEACTIVATE}),
        frozenset({400}),
        None,
        LIFECYCLE_CAUSES,
    ),
    Defect(
        "lifecycle-400-stateful",
        "reference §7.7 and §3.3: the same refusals, reached by a stateful sequence",
        frozenset({"ST202"}),
        frozenset({STATEFUL}),
        frozenset({400}),
        None,
        LIFECYCLE_CAUSES,
    ),
    Defect(
        "verify-code-state",
        "reference §7.6 and §7.7: verify lists no 400 and code and state are optional in "
        "the spec, yet the flow needs both and a code the third party did not issue is "
        "refused (verify_bad_code)",
        frozenset({"ST103", "ST202"}),
        frozenset({VERIFY}),
        frozenset({400}),
        None,
        VERIFY_CAUSES,
    ),
    Defect(
        "update-app-rules",
        "reference §3.2 'Support notes' and §4.3: which app takes which scheme and fields "
        "is not in the schema (oneOf without discriminator), so a schema-valid body can "
        "get 400 E0000001 naming the field",
        frozenset({"ST202"}),
        frozenset({CONN}),
        frozenset({400}),
        None,
        UPDATE_CAUSES,
    ),
    Defect(
        "401-undocumented",
        "reference §4.15 and §7.7: the spec lists 401 only on JWKS, yet every operation "
        "answers 401 E0000011 to a missing or bad credential",
        frozenset({"ST103"}),
        frozenset({GET_CONN, CONN, ACTIVATE, DEACTIVATE, VERIFY}),
        frozenset({401}),
        None,
        BAD_CREDENTIAL,
    ),
    Defect(
        "jwks-org2org-only",
        "reference §3.5: the JWKS exists only for Org2Org OAuth connections; schemathesis "
        "infers a link from every update to the JWKS",
        frozenset({"ST302"}),
        None,
        frozenset({404}),
        "jwks",
    ),
)


class Failure(NamedTuple):
    code: str
    operation: str
    status: int | None
    message: str
    cause: tuple[str, str] | None = None  # the response's (errorCode, errorSummary)


def classify(failure: Failure) -> Defect | None:
    """The known defect ``failure`` is, or None."""
    for defect in KNOWN:
        if failure.code not in defect.codes:
            continue
        if defect.operations is not None and failure.operation not in defect.operations:
            continue
        if defect.statuses is not None and failure.status not in defect.statuses:
            continue
        if defect.message is not None and defect.message not in failure.message:
            continue
        if defect.causes is not None and failure.cause not in defect.causes:
            continue
        return defect
    return None


def cause_of(response: dict[str, Any]) -> tuple[str, str] | None:
    """(errorCode, errorSummary) of an Okta error body as schemathesis records it, or None."""
    content = response.get("content")
    try:
        if isinstance(content, dict) and "$base64" in content:
            raw: Any = base64.b64decode(content["$base64"])
        else:
            raw = content
        body = json.loads(raw) if raw else None
    except (ValueError, TypeError):
        return None
    if not isinstance(body, dict):
        return None
    code, summary = body.get("errorCode"), body.get("errorSummary")
    if isinstance(code, str) and isinstance(summary, str):
        return code, summary
    return None


def failures_in(events: list[dict[str, Any]]) -> Iterator[Failure]:
    """Every failed check in schemathesis's NDJSON events."""
    for event in events:
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        recorder = finished.get("recorder") or {}
        statuses: dict[str, int | None] = {}
        causes: dict[str, tuple[str, str] | None] = {}
        for case_id, interaction in (recorder.get("interactions") or {}).items():
            response = (interaction or {}).get("response") or {}
            statuses[case_id] = response.get("status_code")
            causes[case_id] = cause_of(response)
        for case_id, checks in (recorder.get("checks") or {}).items():
            for check in checks:
                if check.get("status") != "failure":
                    continue
                info = (check.get("failure_info") or {}).get("failure") or {}
                yield Failure(
                    code=str(info.get("code", "?")),
                    operation=str(info.get("operation", "?")),
                    status=statuses.get(case_id),
                    message=str(info.get("message", "")),
                    cause=causes.get(case_id),
                )


def _start_fake(token: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "okta_connections.testing",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--apps",
            str(APPS),
            "--seed",
            str(SEED),
            "--token",
            token,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("OKTA_CLIENT_ORGURL="):
            url = line.split("=", 1)[1].strip()
            if not url.startswith("http://127.0.0.1:"):
                proc.terminate()
                raise SystemExit(f"schemathesis: fake-server is not on 127.0.0.1: {url}")
            return proc, url
    proc.terminate()
    raise SystemExit("schemathesis: fake-server did not start")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100, help="per operation and phase")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=int, default=240, help="seconds before giving up")
    args = parser.parse_args(argv)

    from okta_connections.testing import FakeOkta

    # The same seed as the server's: the same app ids.
    app_ids = [app.id for app in FakeOkta(apps=APPS, seed=SEED).apps]
    token = "00" + secrets.token_urlsafe(30)
    proc, url = _start_fake(token)
    try:
        with tempfile.TemporaryDirectory() as work:
            config = Path(work, "schemathesis.toml")
            config.write_text(
                "[dictionaries.app_ids]\n"
                f"values = {json.dumps(app_ids)}\n\n"
                "[parameters]\n"
                '"path.appId" = { dictionary = "app_ids", probability = 0.9 }\n'
            )
            report = Path(work, "report")
            command = [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "--config-file",
                str(config),
                "run",
                str(SPEC),
                "--url",
                url,
                "--header",
                f"Authorization: SSWS {token}",
                "--checks",
                "all",
                "--max-examples",
                str(args.examples),
                "--seed",
                str(args.seed),
                "--workers",
                "1",
                # Without it an operation stops at its first failure: once a documented
                # defect fails it, a new wrong answer after it would never be seen.
                "--continue-on-failure",
                "--report",
                "ndjson,json",
                "--report-dir",
                str(report),
            ]
            env = dict(os.environ, NO_COLOR="1", SCHEMATHESIS_TELEMETRY="false")
            started = time.monotonic()
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                env=env,
                timeout=args.timeout,
                cwd=work,  # its crash cache stays out of the tree and out of later runs
            )
            elapsed = time.monotonic() - started
            ndjson = next(report.glob("*.ndjson"), None)
            summary = next(report.glob("*.json"), None)
            if ndjson is None or summary is None:
                sys.stdout.write(done.stdout[-4000:] + done.stderr[-4000:])
                print("schemathesis: no report was written")
                return 1
            events = [json.loads(line) for line in ndjson.read_text().splitlines() if line]
            run = json.loads(summary.read_text())
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    failures = list(failures_in(events))
    # The run's own tally, to check that every failure was read from the events.
    reported = sum(int(f.get("count", 0)) for f in run.get("failures") or [])
    known: Counter[str] = Counter()
    unknown: list[Failure] = []
    for failure in failures:
        defect = classify(failure)
        if defect is None:
            unknown.append(failure)
        else:
            known[defect.key] += 1
    cases = int(run.get("test_cases", {}).get("generated", 0))
    errors = run.get("errors") or []
    tested = int(run.get("operations", {}).get("tested", 0))
    ok = not unknown and not errors and tested == 6 and cases >= 100
    if reported and not failures:
        ok = False
        print(f"schemathesis: {reported} failures reported but none read from the events")
    print(
        f"schemathesis {run.get('schemathesis_version')}: {tested} operations, {cases} test "
        f"cases, {len(unknown)} failures, {sum(known.values())} known spec defects "
        f"({', '.join(f'{k} x{n}' for k, n in sorted(known.items())) or 'none'}), "
        f"{len(errors)} errors, seed {args.seed}, {elapsed:.0f} s"
    )
    for defect in KNOWN:
        if known[defect.key]:
            print(f"  known: {defect.key}: {defect.reference}")
    for failure in unknown[:20]:
        first = failure.message.splitlines()[0] if failure.message else ""
        print(
            f"  FAILURE {failure.code} {failure.operation} -> {failure.status} "
            f"{failure.cause}: {first}"
        )
    if not ok:
        print("  schemathesis output (end):")
        for line in (done.stdout + done.stderr).splitlines()[-80:]:
            print("  | " + line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
