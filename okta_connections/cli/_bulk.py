"""``okta-connections bulk {get,activate,deactivate,update}``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from .._files import InputTooLargeError, decode_text, read_capped
from .._redact import redact
from ..bulk.job import BulkJob
from ..bulk.outcomes import BulkReport, Outcome, OutcomeStatus, PlannedCall, stopped_reason
from ..bulk.service import connection_secrets
from ..client import OktaClient
from ..errors import InvalidArgumentError
from ..models.connections import OAuthConnection, ProvisioningConnection, TokenConnection
from ..operations import TABLE
from ._helpers import connection_from_args, make_client, stdin_binary
from ._output import Output, connection_to_json, describe_error, error_to_json, jsonable
from ._progress import ProgressBar

__all__ = ["cmd_bulk", "outcome_to_json", "parse_ids", "report_to_json"]


def parse_ids(lines: Iterable[str]) -> list[str]:
    """App ids, one a line, in order and without repeats.

    Blank lines and ``#`` comments are skipped; a line may be a JSON object with ``id``,
    ``appId`` or ``key`` (so ``apps list --json`` and bulk JSON lines pipe straight in),
    otherwise its first word is the id.
    """
    ids: dict[str, None] = {}
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except ValueError:
                raise InvalidArgumentError("ids", f"line {number} is not valid JSON") from None
            except RecursionError:
                raise InvalidArgumentError("ids", f"line {number} is nested too deeply") from None
            if not isinstance(record, dict):
                raise InvalidArgumentError("ids", f"line {number} is not a JSON object")
            if set(record) in ({"summary"}, {"error"}):
                continue  # the trailer of a bulk run's output (failed outcomes are kept)
            value = next(
                (record[k] for k in ("id", "appId", "key") if isinstance(record.get(k), str)),
                None,
            )
            if value is None:
                raise InvalidArgumentError("ids", f"line {number} has no id, appId or key")
            ids.setdefault(value, None)
        else:
            ids.setdefault(line.split()[0], None)
    return list(ids)


async def _select(args: argparse.Namespace, okta: OktaClient) -> list[str]:
    picks_by_query = args.filter is not None or args.q is not None
    if args.ids is not None and picks_by_query:
        raise InvalidArgumentError("ids", "give a file of app ids or --filter/--q, not both")
    if picks_by_query:
        return [app.id async for app in okta.apps.list(q=args.q, filter=args.filter, limit=200)]
    if args.ids is None or args.ids == "-":
        stdin = stdin_binary("ids")
        if args.ids is None and sys.stdin.isatty():
            raise InvalidArgumentError(
                "ids", "give a file of app ids, '-' to read them from stdin, or --filter"
            )
        return parse_ids(_read_file(stdin, "stdin").splitlines())
    return parse_ids(_read_file(args.ids, args.ids).splitlines())


#: The most read from a file (or stdin) of app ids: 64 MiB, a few million ids.
_MAX_IDS_BYTES = 64 * 1024 * 1024


def _read_file(source: str | BinaryIO, name: str) -> str:
    # A list of ids is small; reading it before the job starts blocks nothing that runs.
    try:
        return decode_text(read_capped(source, _MAX_IDS_BYTES))
    except InputTooLargeError as exc:
        raise InvalidArgumentError("ids", f"{name} {exc}") from None
    except UnicodeDecodeError:
        raise InvalidArgumentError("ids", f"{name} is not UTF-8 text") from None


def outcome_to_json(
    outcome: Outcome[Any], operation: str, secrets: tuple[str, ...] = ()
) -> dict[str, Any]:
    """One JSON line per outcome (never a request body; ``secrets`` the job sent are
    redacted from error text, whatever Okta echoed back)."""
    record: dict[str, Any] = {
        "appId": outcome.key,
        "operation": operation,
        "status": str(outcome.status),
        "attempts": outcome.attempts,
        "duration": round(outcome.duration, 4),
    }
    if outcome.changed is not None:
        record["changed"] = outcome.changed
    if outcome.previous is not None:
        record["previous"] = outcome.previous
    if outcome.error is not None and outcome.status is OutcomeStatus.FAILED:
        error = error_to_json(outcome.error)
        if secrets:
            error = _scrub(error, secrets)
        record["error"] = error
    if isinstance(outcome.result, ProvisioningConnection):
        record["connection"] = connection_to_json(outcome.key, outcome.result)
    elif isinstance(outcome.result, PlannedCall):
        record["calls"] = list(outcome.result.calls)
    return record


def report_to_json(report: BulkReport, operation: str, interrupted: bool) -> dict[str, Any]:
    """The job's counts, for the last JSON line."""
    summary: dict[str, Any] = jsonable(
        {
            "operation": operation,
            "succeeded": report.succeeded,
            "changed": report.changed,
            "unchanged": report.unchanged,
            "failed": report.failed,
            "failedByCode": dict(report.failed_by_code),
            "skipped": report.skipped,
            "skippedDone": report.skipped_done,
            "skippedFailed": report.skipped_failed,
            "planned": report.planned,
            "cancelled": report.cancelled,
            "notStarted": report.not_started,
            "elapsed": round(report.elapsed, 3),
            "interrupted": interrupted,
            "stoppedBy": None if report.stopped_by is None else error_to_json(report.stopped_by),
        }
    )
    return summary


def _scrub(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return redact(value, secrets, limit=2000)
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    return value


def _human_line(outcome: Outcome[Any], secrets: tuple[str, ...] = ()) -> str | None:
    status = outcome.status
    if status is OutcomeStatus.FAILED and outcome.error is not None:
        text = describe_error(outcome.error)
        if secrets:
            text = redact(text, secrets, limit=2000)
        return f"{outcome.key}  FAILED  {text}"
    if status is OutcomeStatus.PLANNED and isinstance(outcome.result, PlannedCall):
        return f"{outcome.key}  would call  {'; '.join(outcome.result.calls)}"
    if isinstance(outcome.result, ProvisioningConnection):
        conn = outcome.result
        return f"{outcome.key}  {conn.auth_scheme.value:<8} {conn.status.value}"
    return None


def _job(
    args: argparse.Namespace,
    okta: OktaClient,
    ids: list[str],
    connection: TokenConnection | OAuthConnection | None,
    **opts: Any,
) -> BulkJob[Any]:
    verb = args.bulk_command
    if verb in (TABLE["get"].name, TABLE["activate"].name, TABLE["deactivate"].name):
        job: BulkJob[Any] = getattr(okta.bulk, verb)(ids, **opts)  # one call per app, by id
        return job
    assert connection is not None  # built (and checked) by cmd_bulk before any request
    # The one connection of the whole job is its parameter: a resume with another body
    # (or another token) is refused. Secrets go into the fingerprint only as keyed hashes.
    wire = connection.to_wire()
    profile = dict(wire.get("profile", {}))
    profile.pop("token", None)
    settings = dict(profile.pop("settings", {}) or {})
    settings.pop("adminPassword", None)
    if settings:
        profile["settings"] = settings
    params = {"connection": {**wire, "profile": profile}}
    return okta.bulk.update(
        _Pairs(ids, connection),
        activate=args.activate,
        read_back=args.read_back,
        params=params,
        secret_params=connection_secrets(connection),
        **opts,
    )


class _Pairs:
    """``(app_id, connection)`` for each id, made as the job pulls them; it has a length."""

    def __init__(self, ids: list[str], connection: TokenConnection | OAuthConnection) -> None:
        self._ids = ids
        self._connection = connection

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[tuple[str, TokenConnection | OAuthConnection]]:
        for app_id in self._ids:
            yield app_id, self._connection


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


async def cmd_bulk(args: argparse.Namespace, out: Output) -> int:
    """Run one bulk operation; exit 0 all ok, 1 some failed (now or in an earlier run whose
    failures were skipped), 2 usage errors (a wrong or busy journal), 130 interrupted."""
    if args.concurrency is not None and args.concurrency < 1:
        raise InvalidArgumentError("--concurrency", "must be at least 1")
    if args.retry_failed and args.journal is None:
        raise InvalidArgumentError("--retry-failed", "needs --journal")
    connection = None
    if args.bulk_command == "update":
        reads_stdin = "-" in (args.token_file, args.body, args.admin_password_file)
        if reads_stdin and (args.ids in (None, "-")) and args.filter is None and args.q is None:
            raise InvalidArgumentError(
                "ids", "stdin carries the connection here; give the app ids in a file or --filter"
            )
        connection = connection_from_args(args)  # read once; usage errors before any request
    bar: ProgressBar | None = None
    if not args.no_progress and not args.dry_run and _isatty(sys.stderr):
        bar = ProgressBar(sys.stderr, args.bulk_command)
    shares_screen = _isatty(out.stdout)
    secrets = connection_secrets(connection) if connection is not None else ()
    interrupted = False
    async with make_client(args, max_capacity=args.max_capacity) as okta:
        ids: list[str] = []  # filled once the journal has been checked and locked
        job = _job(
            args,
            okta,
            ids,
            connection,
            concurrency=args.concurrency,
            journal=args.journal,
            retry_failed=args.retry_failed,
            dry_run=args.dry_run,
            on_progress=bar,
        )
        job.check()  # a wrong or busy journal fails here, before the apps are listed
        ids.extend(await _select(args, okta))
        job.total = len(ids)
        sigint = _Interrupt()
        told = False  # the reason the job stopped early was printed
        try:
            sigint.install()
            async with job:
                async for outcome in job:
                    line = _human_line(outcome, secrets) if not out.json else None
                    if out.json or line is not None:
                        # Only a terminal stdout shares the bar's screen: there the line
                        # goes above the bar, which comes straight back. A file or pipe
                        # leaves it be.
                        if shares_screen and bar is not None:
                            bar.clear()
                        if out.json:
                            out.data(outcome_to_json(outcome, job.operation, secrets))
                        else:
                            out.text(line or "")
                        if shares_screen and bar is not None:
                            bar.redraw()
                    if job.report.stopped_by is not None and not told:
                        told = True  # at once, not after the items still in flight
                        _tell_stopped(out, bar, job.report.stopped_by, args)
        except asyncio.CancelledError:
            # Ctrl-C: leaving the job's block recorded the in-flight items as cancelled
            # and closed its journal; report what happened and exit 130.
            interrupted = True
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
        finally:
            sigint.remove()
            if bar is not None:
                bar.close()
        # Ctrl-C cancels this task; where the cancellation lands inside the job's own task
        # group, leaving the block may absorb it, so the signal itself is what counts.
        interrupted = interrupted or sigint.seen
    return _finish(args, out, job, interrupted=interrupted, told=told)


def _finish(
    args: argparse.Namespace, out: Output, job: BulkJob[Any], *, interrupted: bool, told: bool
) -> int:
    """The summary, the hints a person needs next (resume, credentials, server), and the
    exit status: 0 all ok, 1 some failed or not run, 130 interrupted."""
    report = job.report
    if out.json:
        out.data({"summary": report_to_json(report, job.operation, interrupted)})
    else:
        out.text(f"{job.operation}: {report.summary()}" + (" (interrupted)" if interrupted else ""))
    if report.skipped_failed:
        out.info(
            f"{report.skipped_failed} app(s) failed in an earlier run and were skipped; "
            f"rerun with --journal {args.journal} --retry-failed to try them again"
        )
    elif args.journal and not report.all_succeeded and (not out.json or _isatty(out.stderr)):
        # For people: a terminal on stderr sees it even when stdout goes to a file or a pipe.
        out.info(f"rerun the same command with --journal {args.journal} to resume")
    if "E0000011" in report.failed_by_code and not told:  # a 401: the token is wrong
        from ._config import credential_hint

        hint = credential_hint(args)
        if hint:
            out.info(f"{report.failed_by_code['E0000011']} app(s) failed with 401: {hint}")
    unreachable = report.failed_by_code.get("OktaConnectionError", 0)
    if unreachable and not report.succeeded:  # not one app reached: the server, or the URL
        from ._config import server_hint

        hint = server_hint(args)
        if hint:
            out.info(f"{unreachable} app(s) failed to connect: {hint}")
    if args.bulk_command == "update" and args.read_back and not args.dry_run:
        out.info("read-back checked what Okta returns; a token cannot be read back")
    if interrupted:
        return 130
    if report.failed or report.skipped_failed or report.cancelled or report.not_started:
        return 1
    return 0


def _tell_stopped(
    out: Output, bar: ProgressBar | None, error: BaseException, args: argparse.Namespace
) -> None:
    """The job stopped because the credentials were refused: say so, and what to check."""
    from ._config import error_hint

    hint = error_hint(error, args)
    if bar is not None:
        bar.clear()
    out.info(
        f"stopped: {stopped_reason(error)}, so the apps left are not started"
        + (f"; {hint}" if hint else "")
    )
    if bar is not None:
        bar.redraw()


class _Interrupt:
    """Ctrl-C during a job: remembered, and the running task cancelled (as asyncio.run
    would), so that the job stops cleanly and the command exits 130 whatever absorbed the
    cancellation."""

    def __init__(self) -> None:
        self.seen = False
        self._installed = False

    def install(self) -> None:
        import signal

        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        if task is None:
            return

        def on_sigint() -> None:
            if self.seen:
                raise KeyboardInterrupt  # a second Ctrl-C: stop waiting for the cleanup
            self.seen = True
            task.cancel()

        try:
            loop.add_signal_handler(signal.SIGINT, on_sigint)
        except (NotImplementedError, RuntimeError, ValueError):
            return  # not the main thread, or no signals here: asyncio.run's own handling
        self._installed = True

    def remove(self) -> None:
        if self._installed:
            import signal

            asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)
            self._installed = False
