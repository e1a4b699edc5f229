"""What the `complaints` commands say when something goes wrong, and their exit codes.

Every failure is a few lines: what went wrong, naming the path or the entry, and what to do.
Tracebacks go to the log file (printed only with --verbose). The exit codes are documented in
docs/cli.md ("Failures and exit codes") and each stands for one kind of problem, so a scheduler can react.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import tempfile
from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    """The run (or the check, the query) ran and something failed: nothing new was published."""
    INPUT = 2
    """An input cannot be used: the landing folder, the manifest, an extract, the waiver file,
    an option."""
    WAREHOUSE = 3
    """The warehouse folder or the Dagster home cannot be used (not writable, a file, corrupt)."""
    BUSY = 4
    """Another live run held the warehouse for longer than --wait."""
    INTERNAL = 5
    """An unexpected error (a bug): the full trace is in the log file."""
    INTERRUPTED = 130
    """Stopped with Ctrl-C (or SIGTERM); nothing half-published is left."""


class CliError(Exception):
    """A failure to report in a few lines and an exit code; `hint` says what to do."""

    def __init__(self, code: ExitCode, message: str, hint: str | None = None) -> None:
        self.code = code
        self.message = message
        self.hint = hint
        super().__init__(message)

    def lines(self) -> list[str]:
        return [f"error: {self.message}", *([f"  {self.hint}"] if self.hint else [])]


def _reason(exc: OSError) -> str:
    return exc.strerror or errno.errorcode.get(exc.errno or 0, "") or str(exc)


def usable_folder(path: Path, what: str, option: str) -> None:
    """Create `path` if missing and prove this process can write in it, or raise CliError
    (WAREHOUSE) naming it and what to do."""
    if path.exists() and not path.is_dir():
        raise CliError(
            ExitCode.WAREHOUSE,
            f"the {what} {path} is a file, not a folder",
            f"give a folder with {option} (it is created if missing), or move the file away",
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
        # os.access ignores read-only mounts and some ACLs: create (and drop) a file instead.
        with tempfile.TemporaryFile(dir=path, prefix=".complaints-write-test-"):
            pass
    except OSError as exc:
        raise CliError(
            ExitCode.WAREHOUSE,
            f"cannot write in the {what} {path}: {_reason(exc)}",
            f"give a folder you can write to with {option}, or fix its permissions",
        ) from None


def writable_file(path: Path, what: str) -> None:
    """An existing file the run rewrites in place must be writable."""
    if path.exists() and not os.access(path, os.W_OK):
        raise CliError(
            ExitCode.WAREHOUSE,
            f"cannot write the {what} {path}: permission denied",
            "fix its permissions (the pipeline rewrites it on every run)",
        )


# What the operating system says when a folder cannot take a write: the disk (or quota) is full,
# the filesystem is mounted read-only, the permissions refuse it.
_STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}
# Below this many bytes free, a filesystem counts as full (SQLite and DuckDB write in pages and
# blocks far larger than what is usually left when a write is refused).
_NEARLY_FULL = 1 << 20


def _free_bytes(path: Path) -> int | None:
    try:
        stat = os.statvfs(path)
    except OSError:
        return None
    return stat.f_bavail * stat.f_frsize


def _chain(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and link not in found and len(found) < 20:
        found.append(link)
        link = link.__cause__ or link.__context__
    return found


def _holder(path: str | None, folders: dict[str, Path]) -> tuple[str, Path] | None:
    """Which of `folders` (what -> folder) holds `path`."""
    if not path:
        return None
    resolved = Path(os.path.abspath(path))
    for what, folder in folders.items():
        if resolved.is_relative_to(Path(os.path.abspath(folder))):
            return what, folder
    return None


def storage_failure(exc: BaseException, folders: dict[str, Path]) -> CliError | None:
    """A failure to write in one of the run's folders (what -> folder: the warehouse folder, the
    Dagster home), said as a WAREHOUSE error naming the folder and the system's reason; None
    for anything else (a bug, reported as one).

    The Dagster instance keeps its runs and events in SQLite databases in the Dagster home, so a
    SQLite error that escapes the run is the Dagster home's; SQLite reports a full disk as "disk
    I/O error" as often as "database or disk is full", so the free space is looked up too."""
    home = folders.get("Dagster home")
    for link in _chain(exc):
        if isinstance(link, OSError) and link.errno in _STORAGE_ERRNOS:
            held = _holder(link.filename, folders) or _full_one(folders)
            if held is None:
                return None
            what, folder = held
            concerning = f" ({link.filename})" if link.filename else ""
            return _cannot_write(what, folder, _reason(link) + concerning)
        if isinstance(link, sqlite3.Error) and home is not None:
            return _cannot_write("Dagster home", home, f"its SQLite storage says {link}")
    return None


def _full_one(folders: dict[str, Path]) -> tuple[str, Path] | None:
    for what, folder in folders.items():
        free = _free_bytes(folder)
        if free is not None and free < _NEARLY_FULL:
            return what, folder
    return None


def _cannot_write(what: str, folder: Path, reason: str) -> CliError:
    free = _free_bytes(folder)
    if free is not None and free < _NEARLY_FULL:
        reason = (
            f"{os.strerror(errno.ENOSPC).lower()} ({free:,} bytes free on its filesystem); {reason}"
        )
        hint = "free space on that disk, or give a folder on another one"
    else:
        hint = "make it writable, or give another folder"
    option = "--dagster-home (DAGSTER_HOME)" if what == "Dagster home" else "--warehouse"
    return CliError(
        ExitCode.WAREHOUSE,
        f"cannot write in the {what} {folder}: {reason}",
        f"{hint} with {option}",
    )
