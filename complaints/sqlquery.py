"""`complaints sql`: run one read-only query on the published file and render the result.

The connection is read-only, has DuckDB's external access disabled (no file, URL or extension
outside the published file: read_csv, COPY ... TO, EXPORT DATABASE, ATTACH, INSTALL/LOAD all fail)
and its configuration locked (no SET can undo that). No Dagster import here.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import duckdb
from rich.console import Console
from rich.table import Table

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
    """
    con = duckdb.connect(
        ":memory:",
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "allow_community_extensions": False,
        },
    )
    try:
        con.execute(f"attach {sql_literal(str(path))} as marts (read_only)")
        con.execute("use marts")
        con.execute("set enable_external_access = false")
        con.execute("set lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def run_query(path: Path, query: str, limit: int | None) -> QueryResult:
    """Run `query`; keep at most `limit` rows (None: all) and say whether more were left."""
    try:
        with connect_published(path) as con:
            cur = con.execute(query)
            columns = [d[0] for d in cur.description or []]
            types = [str(d[1]) for d in cur.description or []]
            rows = cur.fetchall() if limit is None else cur.fetchmany(limit + 1)
    except duckdb.PermissionException as exc:
        raise QueryError(f"{REFUSAL} ({_first_line(exc)})") from None
    except duckdb.InvalidInputException as exc:
        if "configuration has been locked" in str(exc) or "read-only mode" in str(exc):
            raise QueryError(f"{REFUSAL} ({_first_line(exc)})") from None
        raise QueryError(str(exc)) from None
    except duckdb.Error as exc:
        if "read-only mode" in str(exc):
            raise QueryError(f"{REFUSAL} ({_first_line(exc)})") from None
        raise QueryError(str(exc)) from None
    truncated = limit is not None and len(rows) > limit
    return QueryResult(columns, types, rows[:limit] if truncated else rows, truncated)


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
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([text_value(v) for v in row] for row in rows)
    return out.getvalue()


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


def _markdown_cell(value: object) -> str:
    return text_value(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>")


def render_markdown(
    columns: Sequence[str], types: Sequence[str], rows: Sequence[Sequence[object]]
) -> str:
    """A GitHub-flavoured Markdown table; numeric columns right-aligned."""
    header = "| " + " | ".join(_markdown_cell(c) for c in columns) + " |"
    rule = "|" + "|".join("---:" if t.upper().startswith(_NUMERIC) else "---" for t in types)
    lines = [header, rule + "|"]
    lines += ["| " + " | ".join(_markdown_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def render_table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:

    table = Table(*columns, show_lines=False)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    out = io.StringIO()
    Console(file=out, width=200, force_terminal=False, color_system=None).print(table)
    return out.getvalue()
