"""The reason a failed step gives its reader, in a line or a few, without Dagster's stack trace.

Dagster records a step's failure as a chain of errors (each with its class, message and cause):
the outermost is Dagster's own wrapper ("Error occurred while executing op ..."), the reason is
below it, and the root of the chain is often the operating system's word ("No space left on
device", "Read-only file system") with the file it concerns. A failed dbt build carries dbt's
error lines, a Python traceback among them when dbt itself crashed: those are condensed to the
count of failed nodes, the first of them and dbt's own reason.

A full disk names where it is: the folder of the run (warehouse, Dagster home) whose filesystem
has no space left.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol


class ErrorChain(Protocol):
    """What a serialised error (Dagster's SerializableErrorInfo) offers."""

    @property
    def message(self) -> str: ...

    @property
    def cls_name(self) -> str | None: ...

    @property
    def cause(self) -> ErrorChain | None: ...

    @property
    def context(self) -> ErrorChain | None: ...


# Messages of Dagster's own wrappers around the error that failed a step.
_WRAPPER = re.compile(r"^(Error occurred while (executing|yielding)|Execution of step)")
# dbt's result line of a failed node: "4 of 149 ERROR creating sql view model main.x ...".
_DBT_RESULT = re.compile(r"^\d+ of \d+ ERROR\b")
_DBT_DETAILS = 3
_FULL_DISK = re.compile(r"no space left on device|database or disk is full|disk quota", re.I)
ENOSPC_WORDS = os.strerror(errno.ENOSPC)


def links(error: ErrorChain | None) -> list[tuple[str, str]]:
    """(class name, message without its class path) of each error of the chain, outermost
    first, Dagster's wrappers left out."""
    found: list[tuple[str, str]] = []
    seen = 0
    while error is not None and seen < 20:
        seen += 1
        name = error.cls_name or ""
        text = _without_class_path(error.message or "", name).strip()
        text = text.split("\n\nStack Trace:", 1)[0].strip()
        if text and not _WRAPPER.match(text):
            found.append((name, text))
        error = error.cause or error.context
    return found


def _without_class_path(message: str, cls_name: str) -> str:
    """`pkg.module.Class: text` -> `text` (the class path is noise for the reader)."""
    if cls_name:
        match = re.match(rf"^[\w.]*\b{re.escape(cls_name)}: ?", message)
        if match:
            return message[match.end() :]
    return message


def step_failure_reason(error: ErrorChain | None) -> str:
    """The reason of a failed step: the first error below Dagster's wrapper, and the root of the
    chain when it says more (the system's words and the file)."""
    chain = links(error)
    if not chain:
        return "failed"
    name, reason = chain[0]
    reason = condense_dbt(reason) if name == "DagsterDbtCliRuntimeError" else reason
    root = chain[-1][1]
    if len(chain) > 1 and _plain(root) not in _plain(reason):
        reason = f"{reason} (cause: {root})"
    return reason


def _plain(text: str) -> str:
    return " ".join(text.split()).casefold()


def condense_dbt(text: str) -> str:
    """dagster-dbt's error for a failed dbt command in a few lines: the exit code, how many
    nodes failed and the first, dbt's reasons (never a traceback), the debug log's path."""
    head, _, errors = text.partition("Errors parsed from dbt logs:")
    code = re.search(r"exit code `?(\d+)`?", head)
    log = re.search(r"view the dbt debug log: (\S+?)\.?$", head.strip(), re.M)
    messages = [m.strip() for m in errors.split("\n\n") if m.strip()]
    results = [m.splitlines()[0] for m in messages if _DBT_RESULT.match(m)]
    details: list[str] = []
    for message in messages:
        if _DBT_RESULT.match(message) or message.startswith("Traceback"):
            continue
        lines = [line.strip() for line in message.splitlines() if line.strip()]
        lines = lines[: next((i for i, s in enumerate(lines) if s.startswith("Traceback")), None)]
        detail = " ".join(lines[:3])
        if detail and detail not in details:
            details.append(detail)
    parts = [f"dbt build failed (exit code {code.group(1) if code else '?'})"]
    if results:
        first = re.sub(r"\s*\.{3,}\s*", " ", results[0]).strip()
        parts.append(f"{len(results)} node(s) in error, the first: {first}")
    parts.extend(details[:_DBT_DETAILS])
    if len(details) > _DBT_DETAILS:
        parts.append(f"and {len(details) - _DBT_DETAILS} more dbt error(s)")
    if log:
        parts.append(f"dbt's log: {log.group(1)}")
    return "; ".join(parts)


def says_disk_full(text: str) -> bool:
    return bool(_FULL_DISK.search(text))


def full_folders(folders: Mapping[str, Path], below: int = 1 << 20) -> list[str]:
    """'the <what> <path> (<n> bytes free)' for each folder whose filesystem has less than
    `below` bytes left for this process."""
    found = []
    for what, folder in folders.items():
        try:
            stat = os.statvfs(folder)
        except OSError:
            continue
        free = stat.f_bavail * stat.f_frsize
        if free < below:
            found.append(f"the {what} {folder} ({free:,} bytes free on its filesystem)")
    return found


def with_location(reason: str, folders: Mapping[str, Path]) -> str:
    """A reason that says the disk is full, with where: the run's folders that are on a full
    filesystem (the reason alone often names no file, as when dbt reports it)."""
    if not says_disk_full(reason):
        return reason
    full = full_folders(folders)
    if not full:
        return (
            f"{ENOSPC_WORDS.lower()} (none of the run's folders is full now: the full one is "
            f"elsewhere, such as the temporary folder, or space was freed since): {reason}"
        )
    return f"{ENOSPC_WORDS.lower()} in {'; '.join(full)}: {reason}"
