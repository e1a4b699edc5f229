"""`complaints sql`: run one read-only query on the published file and render the result.

The connection is read-only, has DuckDB's external access disabled (no file, URL or extension
outside the published file: read_csv, COPY ... TO, EXPORT DATABASE, ATTACH, INSTALL/LOAD all fail),
no temporary folder and no local file system once the file is open, and its configuration locked
(no SET can undo that). A query runs under a time limit. `--output` never lands in the warehouse
folder, whatever the path's spelling, and is written through a temporary file and a rename.
Cell text is data in every format: never markup, never HTML. No Dagster import here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import io
import json
import math
import os
import re
import stat
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import duckdb
from rich.console import Console
from rich.table import Table
from rich.text import Text

from complaints.exports import sql_literal

REFUSAL = (
    "refused: `complaints sql` only reads the published tables; reading or writing files, "
    "attaching databases, extensions and settings are disabled"
)


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    markdown = "markdown"


class QueryError(Exception):
    """The query failed or was refused; the message says which and why."""


class QueryTimeout(QueryError):
    """The query ran longer than its time limit and was interrupted."""


class OutputError(Exception):
    """`--output` names a path the tool must not or cannot write; the message says why."""


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool


def connect_published(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection that reaches nothing but the tables in `path`.

    The file is attached to a fresh in-memory database rather than opened with
    `duckdb.connect(path)`: DuckDB shares one database instance per path within a process, so a
    connection someone already holds (an analyst's, or a test's) would hand us its old snapshot
    of a replaced file, or refuse our different configuration. External access is disabled and
    the configuration locked after the attach, so nothing else can be attached, read or written.

    DuckDB keeps its temporary folder (`.tmp` under the caller's current folder unless set) among
    the directories still allowed with external access disabled, so it is switched off: no
    spilling, a query that outgrows memory fails instead. With the file attached (its handle is
    open), the local file system is disabled too, which also closes the paths DuckDB keeps
    allowed beside the attached file (its raw bytes, its `.wal` names).
    """
    con = duckdb.connect(
        ":memory:",
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "allow_community_extensions": False,
            "allow_persistent_secrets": False,
            "temp_directory": "",
            "max_temp_directory_size": "0B",
        },
    )
    try:
        con.execute(f"attach {sql_literal(str(path))} as marts (read_only)")
        con.execute("use marts")
        con.execute("set enable_external_access = false")
        con.execute("set disabled_filesystems = 'LocalFileSystem'")
        con.execute("set lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def run_query(
    path: Path, query: str, limit: int | None, timeout: float | None = None
) -> QueryResult:
    """Run `query`; keep at most `limit` rows (None: all) and say whether more were left.
    After `timeout` seconds (None: no limit) the query is interrupted: QueryTimeout."""
    timer: threading.Timer | None = None
    expired = threading.Event()
    try:
        with connect_published(path) as con:
            if timeout is not None:

                def stop() -> None:
                    expired.set()
                    con.interrupt()

                timer = threading.Timer(timeout, stop)
                timer.daemon = True
                timer.start()
            try:
                cur = con.execute(query)
                columns = [d[0] for d in cur.description or []]
                types = [str(d[1]) for d in cur.description or []]
                rows = cur.fetchall() if limit is None else cur.fetchmany(limit + 1)
            finally:
                if timer is not None:
                    timer.cancel()
    except duckdb.Error as exc:
        if expired.is_set():
            raise QueryTimeout(
                f"the query ran longer than {timeout:g} s and was stopped "
                "(--timeout SECONDS allows longer, 0 no limit)"
            ) from None
        raise _query_error(exc) from None
    truncated = limit is not None and len(rows) > limit
    return QueryResult(columns, types, rows[:limit] if truncated else rows, truncated)


def check_output(output: Path, warehouse: Path) -> Path:
    """The path `--output` will be written to (symbolic links followed), or OutputError.

    Refused: anything inside the warehouse folder however the path is spelled (`..`, symbolic
    links, a folder mounted elsewhere: folders are compared by device and inode, not by name),
    an existing file that is one of the warehouse's files under another name or has other names
    at all (a hard link), a folder, anything but a regular file, a read-only file, a folder that
    does not exist.
    """
    target, _ = _check_output(output, warehouse)
    return target


def _check_output(output: Path, warehouse: Path) -> tuple[Path, set[tuple[int, int]]]:
    target = Path(os.path.abspath(output)).resolve()
    home = warehouse.resolve()
    if target == home or target.is_relative_to(home):
        raise OutputError(f"{output} is inside the warehouse folder {home}: write elsewhere")
    parent = target.parent
    try:
        parent_stat = os.stat(parent)
    except OSError as exc:
        raise OutputError(f"cannot write {output}: folder {parent}: {exc.strerror}") from None
    if not stat.S_ISDIR(parent_stat.st_mode):
        raise OutputError(f"cannot write {output}: {parent} is not a folder")
    folders, files = _identities(home)
    if (parent_stat.st_dev, parent_stat.st_ino) in folders:
        raise OutputError(
            f"{output} is inside the warehouse folder {home} (reached another way): write elsewhere"
        )
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        return target, folders
    except OSError as exc:
        raise OutputError(f"cannot write {output}: {exc.strerror}") from None
    if stat.S_ISDIR(existing.st_mode):
        raise OutputError(f"{output} is a folder: name a file")
    if not stat.S_ISREG(existing.st_mode):
        raise OutputError(f"{output} is not a regular file")
    same = files.get((existing.st_dev, existing.st_ino))
    if same is not None:
        raise OutputError(f"{output} is the warehouse file {same} under another name")
    if existing.st_nlink > 1:
        raise OutputError(
            f"{output} has {existing.st_nlink} names (hard links): refusing to replace a file "
            "that is also elsewhere"
        )
    if not os.access(target, os.W_OK):
        raise OutputError(f"{output} is read-only")
    return target, folders


def _identities(home: Path) -> tuple[set[tuple[int, int]], dict[tuple[int, int], Path]]:
    """(device, inode) of every folder and every file in the warehouse, and of what its
    symbolic links point to."""
    folders: set[tuple[int, int]] = set()
    files: dict[tuple[int, int], Path] = {}

    def add(path: Path, follow: bool) -> None:
        try:
            st = os.stat(path, follow_symlinks=follow)
        except OSError:
            return
        key = (st.st_dev, st.st_ino)
        if stat.S_ISDIR(st.st_mode):
            folders.add(key)
        elif not stat.S_ISLNK(st.st_mode):
            files.setdefault(key, path)

    add(home, True)
    for root, dirs, names in os.walk(home):
        for name in [*dirs, *names]:
            path = Path(root, name)
            add(path, False)
            if path.is_symlink():
                add(path, True)
    return folders, files


def write_output(text: str, output: Path, warehouse: Path) -> Path:
    """Write `text` to `output` (checked again: the query ran in between) through a temporary
    file in the same folder and one rename, so a reader sees the old file or the new one and a
    failure leaves the old one. Returns the path written.

    The folder is opened once and every later step names files relative to that open folder:
    a folder swapped for a link into the warehouse after the check is not followed. The rename
    replaces a name, never writes through it, so no other file's content can change."""
    target, folders = _check_output(output, warehouse)
    try:
        folder = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise OutputError(
            f"cannot write {output}: folder {target.parent}: {exc.strerror}"
        ) from None
    tmp = f".{target.name}.{uuid.uuid4().hex}.tmp"
    created = False
    try:
        st = os.fstat(folder)
        if (st.st_dev, st.st_ino) in folders:
            raise OutputError(f"{output} is inside the warehouse folder: write elsewhere")
        try:
            mode = stat.S_IMODE(os.stat(target.name, dir_fd=folder).st_mode)
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(tmp, flags, 0o600, dir_fd=folder)
        except OSError as exc:
            raise OutputError(
                f"cannot write {output}: cannot create a file in {target.parent} ({exc.strerror})"
            ) from None
        created = True
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(tmp, target.name, src_dir_fd=folder, dst_dir_fd=folder)
        created = False
        os.fsync(folder)
    except OSError as exc:
        raise OutputError(f"cannot write {output}: {exc.strerror or exc}") from None
    finally:
        if created:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=folder)
        os.close(folder)
    return target


def _query_error(exc: duckdb.Error) -> QueryError:
    text = str(exc)
    refused = isinstance(exc, duckdb.PermissionException) or "read-only mode" in text
    if isinstance(exc, duckdb.InvalidInputException) and "configuration has been locked" in text:
        refused = True
    return QueryError(f"{REFUSAL} ({_first_line(exc)})" if refused else text)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0]


def render(result: QueryResult, fmt: OutputFormat) -> str:
    if fmt is OutputFormat.csv:
        return render_csv(result.columns, result.rows)
    if fmt is OutputFormat.json:
        return render_json(result.columns, result.rows)
    if fmt is OutputFormat.markdown:
        return render_markdown(result.columns, result.types, result.rows)
    return render_table(result.columns, result.rows)


def text_value(value: object) -> str:
    """A value as text: ISO dates and times, true/false, shortest float repr, NULL as ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def render_csv(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """RFC 4180 with `\\n` line ends. Written here rather than with the csv module, which leaves
    a field holding a lone carriage return unquoted (a reader would split the row there)."""
    lines = [_csv_row(columns)]
    lines += [_csv_row([text_value(v) for v in row]) for row in rows]
    return "".join(lines)


_CSV_QUOTE = re.compile('[,"\\r\\n]')


def _csv_row(fields: Sequence[str]) -> str:
    if len(fields) == 1 and fields[0] == "":
        return '""\n'  # a row of one empty field, not an empty line
    return (
        ",".join('"' + f.replace('"', '""') + '"' if _CSV_QUOTE.search(f) else f for f in fields)
        + "\n"
    )


def _json_value(value: object) -> object:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return str(value)


def render_json(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    records = [{name: _json_value(v) for name, v in zip(columns, row, strict=True)} for row in rows]
    return json.dumps(records, indent=2, ensure_ascii=False) + "\n"


_NUMERIC: tuple[str, ...] = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
)


# Control characters would drive the terminal (escape sequences) or vanish in Rich (which drops
# some of them) in the table and Markdown formats: shown as escapes instead; newline and tab
# keep their meaning.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


# Characters with a meaning in Markdown or HTML inside a table cell: escaped so a cell shows its
# text and nothing else (no link, emphasis, code span, tag or entity made from data).
_MARKDOWN_ESCAPES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "\\": "\\\\",
    "|": "\\|",
    "[": "\\[",
    "]": "\\]",
    "*": "\\*",
    "`": "\\`",
    "~": "\\~",
}
_MARKDOWN_SPECIAL = re.compile(
    "|".join(re.escape(c) for c in _MARKDOWN_ESCAPES)
    # An underscore between two letters or digits (snake_case) cannot start emphasis.
    + r"|(?<![^\W_])_|_(?![^\W_])"
)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _markdown_cell(value: object) -> str:
    text = _MARKDOWN_SPECIAL.sub(
        lambda m: _MARKDOWN_ESCAPES.get(m.group(), "\\_"), text_value(value)
    )
    text = _LINE_BREAK.sub("<br>", text)
    # Other control characters as character references: the rendered table shows them, a
    # terminal printing the Markdown is not driven by them.
    return _CONTROL.sub(lambda m: f"&#{ord(m.group())};", text)


def render_markdown(
    columns: Sequence[str], types: Sequence[str], rows: Sequence[Sequence[object]]
) -> str:
    """A GitHub-flavoured Markdown table; numeric columns right-aligned."""
    header = "| " + " | ".join(_markdown_cell(c) for c in columns) + " |"
    rule = "|" + "|".join("---:" if t.upper().startswith(_NUMERIC) else "---" for t in types)
    lines = [header, rule + "|"]
    lines += ["| " + " | ".join(_markdown_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _table_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def render_table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    # Text objects, never str: Rich would read a str as markup ("[/]" fails, "[x](...)" loses
    # its brackets) and highlight it.
    table = Table(show_lines=False)
    for column in columns:
        table.add_column(Text(_table_cell(column)))
    for row in rows:
        table.add_row(*(Text(_table_cell(v)) for v in row))
    out = io.StringIO()
    Console(
        file=out,
        width=200,
        force_terminal=False,
        color_system=None,
        markup=False,
        emoji=False,
        highlight=False,
    ).print(table)
    return out.getvalue()
