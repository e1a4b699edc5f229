"""DuckDB I/O for the build database: the raw tables and their per-extract replacement.

No Dagster import here, so scripts and benchmarks can load raw tables the same way the assets do.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import pandas as pd

from ingest.raw_tables import RAW_TABLES, ExtractMeta, raw_rows
from ingest.records import ParsedExtract

WAIVER_COLUMNS: list[tuple[str, str]] = [
    ("waiver_id", "VARCHAR"),
    ("extract_id", "VARCHAR"),
    ("level", "VARCHAR"),
    ("scope", "VARCHAR"),
    ("measure", "VARCHAR"),
    ("stated", "BIGINT"),
    ("computed", "BIGINT"),
    ("reason", "VARCHAR"),
    ("reviewed_by", "VARCHAR"),
    ("reviewed_on", "DATE"),
]


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    for table, columns in [*RAW_TABLES.items(), ("waivers", WAIVER_COLUMNS)]:
        cols = ", ".join(f'"{name}" {sql_type}' for name, sql_type in columns)
        con.execute(f"create table if not exists raw.{table} ({cols})")


def raw_batches(
    parsed: Iterable[tuple[ExtractMeta, ParsedExtract]],
) -> tuple[list[str], dict[str, list[tuple[object, ...]]]]:
    """The extracts' ids and their rows per raw table (this module's and the server's loads)."""
    batches: dict[str, list[tuple[object, ...]]] = {t: [] for t in RAW_TABLES}
    ids: list[str] = []
    for meta, result in parsed:
        ids.append(meta.extract_id)
        for table, rows in raw_rows(result, meta).items():
            batches[table].extend(rows)
    return ids, batches


def replace_extracts(
    con: duckdb.DuckDBPyConnection, parsed: Iterable[tuple[ExtractMeta, ParsedExtract]]
) -> dict[str, int]:
    """Replace exactly these extracts' rows in every raw table, in one transaction.

    Returns the number of rows written per table.
    """
    ids, batches = raw_batches(parsed)
    ensure_raw_schema(con)
    counts: dict[str, int] = {}
    con.execute("begin transaction")
    try:
        _delete(con, ids)
        for table, rows in batches.items():
            counts[table] = len(rows)
            if rows:
                names = [n for n, _ in RAW_TABLES[table]]
                frame = pd.DataFrame.from_records(rows, columns=names)
                con.register("_incoming", frame)
                con.execute(f"insert into raw.{table} select * from _incoming")
                con.unregister("_incoming")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return counts


def replace_waivers(con: duckdb.DuckDBPyConnection, rows: list[tuple[object, ...]]) -> None:
    """The waivers table is replaced whole: it mirrors expectations/waivers.yml."""
    ensure_raw_schema(con)
    con.execute("begin transaction")
    try:
        con.execute("delete from raw.waivers")
        if rows:
            frame = pd.DataFrame.from_records(rows, columns=[n for n, _ in WAIVER_COLUMNS])
            con.register("_waivers", frame)
            con.execute("insert into raw.waivers select * from _waivers")
            con.unregister("_waivers")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def remove_extracts(con: duckdb.DuckDBPyConnection, extract_ids: list[str]) -> None:
    ensure_raw_schema(con)
    con.execute("begin transaction")
    try:
        _delete(con, extract_ids)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def _delete(con: duckdb.DuckDBPyConnection, ids: list[str]) -> None:
    if not ids:
        return
    frame = pd.DataFrame({"extract_id": ids})
    con.register("_ids", frame)
    for table in RAW_TABLES:
        con.execute(f"delete from raw.{table} where extract_id in (select extract_id from _ids)")
    con.unregister("_ids")
