"""What the `complaints` commands say when something goes wrong, and their exit codes.

Every failure is a few lines: what went wrong, naming the path or the entry, and what to do.
Tracebacks go to the log file (printed only with --verbose). The exit codes are documented in
docs/cli.md ("Failures and exit codes") and each stands for one kind of problem, so a scheduler can react.
"""

from __future__ import annotations

import errno
import os
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
