"""The journal of a bulk job: a header that names its job, an exclusive lock, JSONL outcomes.

The first line is the header::

    {"okta_connections_journal": 1, "op": "set_token", "fingerprint": "...", "salt": "..."}

``fingerprint`` is an HMAC-SHA256, keyed with the random ``salt``, over the job's
parameters (never its items: a rerun over more apps is a normal resume). Secret parameters
(a target token) go in only as their own keyed hash, so the file never holds them and a
guess cannot be checked without the salt *and* the journal. Every later line is one outcome.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets as _secrets
import stat
import time
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from .._redact import redact
from ..errors import InvalidArgumentError

if TYPE_CHECKING:
    from .outcomes import Outcome

try:  # POSIX; on Windows the lock is msvcrt's
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "FORMAT_VERSION",
    "Journal",
    "JournalError",
    "JournalLockedError",
    "JournalMismatchError",
    "JournalWarning",
    "fingerprint",
]

FORMAT_VERSION = 1
_MAGIC = "okta_connections_journal"
_MAX_ERROR = 500


class JournalError(InvalidArgumentError):
    """The journal cannot be used for this job; nothing was sent.

    Raised for a file that is not one of our journals, a missing parent directory, or a
    path that is not a regular file. Its subclasses say when the journal holds another job
    or is in use by another one.
    """

    def __init__(self, path: str | os.PathLike[str], message: str) -> None:
        super().__init__("journal", f"{os.fspath(path)}: {message}")
        self.path = Path(path)


class JournalMismatchError(JournalError):
    """The journal was written by another operation, or the same one with other parameters.

    Attributes:
        journal_operation: The operation the journal holds.
        operation: The operation of the job that was refused.
    """

    def __init__(
        self, path: str | os.PathLike[str], message: str, *, journal_operation: str, operation: str
    ) -> None:
        super().__init__(path, message)
        self.journal_operation = journal_operation
        self.operation = operation


class JournalLockedError(JournalError):
    """Another job (in this process or another) holds the journal's lock."""


class JournalWarning(UserWarning):
    """Some lines of a journal could not be read and were skipped (one warning per load)."""


def fingerprint(
    operation: str, params: Mapping[str, Any], secret_params: Iterable[str], salt: str
) -> str:
    """The keyed hash of a job's parameters; the same job gives the same value."""
    key = bytes.fromhex(salt)
    hashed = [hmac.new(key, s.encode("utf-8"), hashlib.sha256).hexdigest() for s in secret_params]
    canonical = json.dumps(
        {"op": operation, "params": dict(params), "secrets": hashed},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).hexdigest()


class Journal:
    """An append-only JSONL record of a job's outcomes, flushed after every line.

    A job opens the journal with :meth:`open`, which takes an exclusive lock (held until
    :meth:`close`; the OS drops it if the process dies, so a SIGKILL never leaves it stuck),
    checks the header against the job, and returns the last recorded status of each key.
    A torn last line (the process was killed mid-write) is ignored; other unreadable lines
    (garbage, non-UTF-8) are skipped, counted in :attr:`skipped_lines`, with one
    :class:`JournalWarning`.

    Args:
        path: The journal file. Its directory must exist.
        fsync: ``os.fsync`` after every line (slower; survives a power cut, not just a kill).
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self.skipped_lines = 0
        self.operation: str | None = None
        self._file: BinaryIO | None = None
        self._secrets: tuple[str, ...] = ()

    # ------------------------------------------------------------------ reading

    def load(self) -> dict[str, str]:
        """The last recorded status per key, read without a lock (empty if no file)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        return self._parse(data)[1]

    def _parse(self, data: bytes) -> tuple[dict[str, Any] | None, dict[str, str]]:
        lines = data.split(b"\n")
        torn = lines.pop()  # b"" when the file ends with a newline, else a torn write
        del torn
        statuses: dict[str, str] = {}
        if not lines:
            return None, statuses
        header = _header(lines[0])
        if header is None:
            raise JournalError(
                self.path,
                "is not an okta_connections journal (its first line is not a journal "
                "header); refusing to read or append to it. Give --journal a new file",
            )
        bad = 0
        for raw in lines[1:]:
            try:
                record = json.loads(raw.decode("utf-8"))
            except ValueError:  # UnicodeDecodeError is a ValueError
                bad += 1
                continue
            key = record.get("key") if isinstance(record, dict) else None
            status = record.get("status") if isinstance(record, dict) else None
            if not isinstance(key, str) or not isinstance(status, str):
                bad += 1
                continue
            if status == "failed" and record.get("refused") is True:
                continue  # the credentials were refused: the app was not really tried
            if status != "skipped":
                statuses[key] = status
        self.skipped_lines = bad
        if bad:
            warnings.warn(
                f"journal {self.path}: skipped {bad} unreadable line(s) (not UTF-8 JSON "
                "records); those apps count as not done",
                JournalWarning,
                stacklevel=3,
            )
        return header, statuses

    # ------------------------------------------------------------------ the job's side

    def open(
        self,
        operation: str,
        params: Mapping[str, Any] | None = None,
        secret_params: Iterable[str] = (),
        *,
        redact_secrets: Iterable[str] = (),
        create: bool = True,
    ) -> dict[str, str]:
        """Lock the journal for one job, check it holds that job, and load it.

        Args:
            operation: The job's operation, e.g. ``"activate"``.
            params: The job's parameters (JSON-able), fingerprinted into the header.
            secret_params: Secret parameters, fingerprinted only as keyed hashes.
            redact_secrets: Text removed from every error written (with ``secret_params``).
            create: False (dry run): only read and check; take no lock, create nothing.

        Returns:
            The last recorded status per key.

        Raises:
            JournalError: not a journal, not a regular file, or its directory is missing.
            JournalMismatchError: the journal holds another operation or other parameters.
            JournalLockedError: another job holds the lock.
        """
        params = dict(params or {})
        secret_params = tuple(secret_params)
        self._secrets = tuple({*secret_params, *redact_secrets})
        parent = self.path.parent
        if not parent.is_dir():
            raise JournalError(
                self.path, f"its directory {os.fspath(parent) or '.'} does not exist"
            )
        if self.path.exists() and not stat.S_ISREG(self.path.stat().st_mode):
            raise JournalError(self.path, "is not a regular file")
        if not create:
            try:
                data = self.path.read_bytes()
            except FileNotFoundError:
                return {}
            header, statuses = self._parse(data)
            if header is not None:
                self._check(header, operation, params, secret_params)
            return statuses
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        file = os.fdopen(fd, "r+b", buffering=0)
        try:
            _lock(file, self.path)
            file.seek(0)
            data = file.read()
            header, statuses = self._parse(data)
            if header is None:
                salt = _secrets.token_hex(16)
                record = {
                    _MAGIC: FORMAT_VERSION,
                    "op": operation,
                    "fingerprint": fingerprint(operation, params, secret_params, salt),
                    "salt": salt,
                    "created": round(time.time(), 3),
                }
                file.write(json.dumps(record, separators=(",", ":")).encode() + b"\n")
            else:
                self._check(header, operation, params, secret_params)
                if data and not data.endswith(b"\n"):
                    file.write(b"\n")  # a torn last line must not glue onto our first record
        except BaseException:
            file.close()
            raise
        self._file = file
        self.operation = operation
        return statuses

    def _check(
        self,
        header: dict[str, Any],
        operation: str,
        params: Mapping[str, Any],
        secret_params: tuple[str, ...],
    ) -> None:
        version = header.get(_MAGIC)
        if version != FORMAT_VERSION:
            raise JournalError(
                self.path,
                f"has journal format {version!r}; this version reads format {FORMAT_VERSION}. "
                "Give --journal a new file to start fresh",
            )
        held = str(header.get("op"))
        fresh = "give --journal a new file (or delete this one) to start fresh"
        if held != operation:
            raise JournalMismatchError(
                self.path,
                f"holds {_a(held)} {held!r} job, not {operation!r}; resuming it would skip apps "
                f"that were never {operation!r}-ed. Use that journal only with {held!r}, or "
                f"{fresh}",
                journal_operation=held,
                operation=operation,
            )
        salt = header.get("salt")
        expected = header.get("fingerprint")
        ok = isinstance(salt, str) and isinstance(expected, str)
        if ok:
            try:
                ok = hmac.compare_digest(
                    fingerprint(operation, params, secret_params, str(salt)), str(expected)
                )
            except ValueError:  # a salt that is not hex
                ok = False
        if not ok:
            shown = ", ".join(f"{k}={v!r}" for k, v in sorted(params.items())) or "no options"
            raise JournalMismatchError(
                self.path,
                f"holds {_a(held)} {held!r} job with other parameters (this job: {shown}"
                f"{', and a secret' if secret_params else ''}); {fresh}",
                journal_operation=held,
                operation=operation,
            )

    def write(
        self,
        outcome: Outcome[Any],
        operation: str | None = None,
        *,
        secrets: Iterable[str] = (),
        refused: bool = False,
    ) -> None:
        """Append one outcome and flush it to the OS.

        Error text has every secret of the job (and ``secrets``, those of this item)
        redacted, whatever the server echoed back. ``refused``: the item failed because
        the credentials were refused (a 401), not for the app's own sake; :meth:`load`
        counts it as not done, so that a rerun with good credentials tries it again.
        """
        if self._file is None:
            raise JournalError(self.path, "is not open (open() it for a job first)")
        record: dict[str, Any] = {
            "key": outcome.key,
            "status": str(outcome.status),
            "op": operation or self.operation,
            "attempts": outcome.attempts,
            "duration": round(outcome.duration, 4),
            "at": round(time.time(), 3),
        }
        if outcome.changed is not None:
            record["changed"] = outcome.changed
        if refused:
            record["refused"] = True
        if outcome.error is not None:
            hidden = (*self._secrets, *secrets)
            record["code"] = redact(str(outcome.error_code), hidden, limit=100)
            record["error"] = redact(str(outcome.error), hidden, limit=_MAX_ERROR)
        self._file.write(json.dumps(record, separators=(",", ":")).encode() + b"\n")
        if self.fsync:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        """Close the file; the lock goes with it."""
        if self._file is not None:
            self._file.close()
            self._file = None

    @property
    def is_open(self) -> bool:
        return self._file is not None


def _a(word: str) -> str:
    """The indefinite article before ``word``: "an 'activate' job", "a 'get' job"."""
    return "an" if word[:1].lower() in ("a", "e", "i", "o", "u") else "a"


def _header(line: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(line.decode("utf-8"))
    except ValueError:
        return None
    if isinstance(record, dict) and _MAGIC in record:
        return record
    return None


def _lock(file: BinaryIO, path: Path) -> None:
    busy = JournalLockedError(
        path,
        "is in use by another job (it holds the journal's lock). Wait for it to finish, "
        "or give this job its own --journal",
    )
    if fcntl is not None:
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy from None
        return
    import msvcrt  # pragma: no cover - Windows

    try:  # pragma: no cover - Windows
        msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)
    except OSError:  # pragma: no cover - Windows
        raise busy from None
