"""DuckDB I/O for the build database: the raw tables and their per-extract replacement.

No Dagster import here, so scripts and benchmarks can load raw tables the same way the assets do.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol

import duckdb
import pandas as pd

from ingest.manifest import CouncilContext, context_fingerprint
from ingest.raw_tables import (
    COUNCIL_CONTEXT_TABLE,
    RAW_TABLES,
    SIDE_TABLES,
    ExtractMeta,
    council_context_rows,
    raw_rows,
)
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

# What each loaded extract was loaded from: `ManifestEntry.fingerprint()` of the bytes parsed.
# Written in the same transaction as the extract's rows; not a dbt source.
FINGERPRINTS_TABLE = "raw.extract_fingerprints"
# A copy of that table next to the build database, rewritten after every commit, so the landing
# sensor can read it without opening the database (which would lock a run out of it).
LOADED_STATE_NAME = "loaded_extracts.json"
# The fingerprint of the council context raw.council_context was last loaded from, beside it for
# the same reason (ingest.manifest.context_fingerprint).
LOADED_CONTEXT_NAME = "loaded_council_context.json"


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    for table, columns in [
        *RAW_TABLES.items(),
        ("waivers", WAIVER_COLUMNS),
        *SIDE_TABLES.items(),
    ]:
        cols = ", ".join(f'"{name}" {sql_type}' for name, sql_type in columns)
        con.execute(f"create table if not exists raw.{table} ({cols})")
    # A raw store written before a record type gained a field lacks its column: add it (NULL in
    # the rows already there), so an upgrade keeps the extracts it loaded.
    present = set(
        con.execute(
            "select table_name, column_name from duckdb_columns() "
            "where schema_name = 'raw' and database_name = current_database()"
        ).fetchall()
    )
    for table, columns in RAW_TABLES.items():
        for name, sql_type in columns:
            if (table, name) not in present:
                con.execute(f'alter table raw.{table} add column "{name}" {sql_type}')
    con.execute(
        f"create table if not exists {FINGERPRINTS_TABLE} "
        "(extract_id VARCHAR not null, fingerprint VARCHAR not null)"
    )


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
    con: duckdb.DuckDBPyConnection,
    parsed: Iterable[tuple[ExtractMeta, ParsedExtract]],
    fingerprints: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """Replace exactly these extracts' rows in every raw table, in one transaction, with the
    fingerprint each was loaded from (extract id -> fingerprint) when given.

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
                named = ", ".join(f'"{name}"' for name in names)
                con.execute(f"insert into raw.{table} ({named}) select * from _incoming")
                con.unregister("_incoming")
        if fingerprints:
            frame = pd.DataFrame(
                {"extract_id": list(fingerprints), "fingerprint": list(fingerprints.values())}
            )
            con.register("_fingerprints", frame)
            con.execute(f"insert into {FINGERPRINTS_TABLE} select * from _fingerprints")
            con.unregister("_fingerprints")
        con.execute("commit")
    except BaseException:
        _rollback(con)
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
        _rollback(con)
        raise


def replace_council_context(con: duckdb.DuckDBPyConnection, context: CouncilContext | None) -> int:
    """Replace raw.council_context whole with the manifest's context file (emptied without one).
    Returns the rows written; the caller records what it was loaded from (write_context_state)."""
    rows = council_context_rows(context)
    columns = SIDE_TABLES[COUNCIL_CONTEXT_TABLE]
    ensure_raw_schema(con)
    con.execute("begin transaction")
    try:
        con.execute(f"delete from raw.{COUNCIL_CONTEXT_TABLE}")
        if rows:
            frame = pd.DataFrame.from_records(rows, columns=[n for n, _ in columns])
            con.register("_context", frame)
            con.execute(f"insert into raw.{COUNCIL_CONTEXT_TABLE} select * from _context")
            con.unregister("_context")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return len(rows)


def write_context_state(warehouse_dir: Path, fingerprint: str) -> None:
    path = Path(warehouse_dir) / LOADED_CONTEXT_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"fingerprint": fingerprint}), "utf-8")
    os.replace(tmp, path)


def read_context_state(warehouse_dir: Path) -> str:
    """The fingerprint raw.council_context was loaded from; a warehouse that never loaded one
    holds no context, which is what a manifest without a context file asks for."""
    path = Path(warehouse_dir) / LOADED_CONTEXT_NAME
    if not path.is_file():
        return context_fingerprint(None)
    return str(json.loads(path.read_text("utf-8"))["fingerprint"])


def remove_extracts(con: duckdb.DuckDBPyConnection, extract_ids: list[str]) -> None:
    ensure_raw_schema(con)
    con.execute("begin transaction")
    try:
        _delete(con, extract_ids)
        con.execute("commit")
    except BaseException:
        _rollback(con)
        raise


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back after a failure; a failed COMMIT (a full disk) has ended the transaction
    already, and the error to report is that one, not the rollback's "no transaction"."""
    with contextlib.suppress(duckdb.TransactionException):
        con.execute("rollback")


def _delete(con: duckdb.DuckDBPyConnection, ids: list[str]) -> None:
    if not ids:
        return
    frame = pd.DataFrame({"extract_id": ids})
    con.register("_ids", frame)
    for table in [*(f"raw.{t}" for t in RAW_TABLES), FINGERPRINTS_TABLE]:
        con.execute(f"delete from {table} where extract_id in (select extract_id from _ids)")
    con.unregister("_ids")


def loaded_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Extract id -> the fingerprint it was loaded from, for every extract the database holds
    (an extract loaded before fingerprints were kept has none, so it counts as changed)."""
    found = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'raw' "
        "and table_name = 'extract_fingerprints'"
    ).fetchone()
    if not found or not found[0]:
        return {}
    rows = con.execute(
        f"select f.extract_id, f.fingerprint from {FINGERPRINTS_TABLE} f "
        "join raw.extracts e using (extract_id) order by 1"
    ).fetchall()
    return {str(k): str(v) for k, v in rows}


def write_loaded_state(con: duckdb.DuckDBPyConnection, warehouse_dir: Path) -> None:
    """Copy the committed fingerprints to `LOADED_STATE_NAME` (atomically replaced)."""
    write_state_file(warehouse_dir, loaded_fingerprints(con))


def read_loaded_state(warehouse_dir: Path, build_db: Path) -> dict[str, str]:
    """What the warehouse holds, as the sensor sees it: the state file, or (a warehouse built
    before it existed) the build database opened read-only; nothing for a new warehouse.
    Raises duckdb.IOException while another process writes the database."""
    path = Path(warehouse_dir) / LOADED_STATE_NAME
    if path.is_file():
        state = json.loads(path.read_text("utf-8"))
        return {str(k): str(v) for k, v in state.items()}
    if not build_db.is_file():
        return {}
    with duckdb.connect(str(build_db), read_only=True) as con:
        return loaded_fingerprints(con)


class RawStore(Protocol):
    """The raw tables of one warehouse target, as the ingest assets write them: this module's
    `DuckDBRawStore` (the build file) or complaints.postgres.PostgresRawStore (the server)."""

    def held(self) -> set[str]:
        """Ids of the extracts whose rows the raw tables hold."""
        ...

    def replace(
        self,
        parsed: Iterable[tuple[ExtractMeta, ParsedExtract]],
        fingerprints: Mapping[str, str] | None = None,
    ) -> dict[str, int]:
        """Replace exactly these extracts' rows (and fingerprints) in one transaction."""
        ...

    def remove(self, extract_ids: list[str]) -> None: ...

    def replace_waivers(self, rows: list[tuple[object, ...]]) -> None: ...

    def replace_council_context(self, context: CouncilContext | None) -> int:
        """raw.council_context replaced whole (emptied without a context file); its rows."""
        ...

    def fingerprints(self) -> dict[str, str]:
        """Extract id -> the fingerprint it was loaded from (what the landing sensor compares)."""
        ...


class DuckDBRawStore:
    """The raw tables of the build database, on an open connection to it."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        ensure_raw_schema(con)

    def held(self) -> set[str]:
        return {
            str(r[0]) for r in self.con.execute("select extract_id from raw.extracts").fetchall()
        }

    def replace(
        self,
        parsed: Iterable[tuple[ExtractMeta, ParsedExtract]],
        fingerprints: Mapping[str, str] | None = None,
    ) -> dict[str, int]:
        return replace_extracts(self.con, parsed, fingerprints)

    def remove(self, extract_ids: list[str]) -> None:
        remove_extracts(self.con, extract_ids)

    def replace_waivers(self, rows: list[tuple[object, ...]]) -> None:
        replace_waivers(self.con, rows)

    def replace_council_context(self, context: CouncilContext | None) -> int:
        return replace_council_context(self.con, context)

    def fingerprints(self) -> dict[str, str]:
        return loaded_fingerprints(self.con)


def write_state_file(warehouse_dir: Path, fingerprints: Mapping[str, str]) -> None:
    """`LOADED_STATE_NAME` with these fingerprints (atomically replaced)."""
    path = Path(warehouse_dir) / LOADED_STATE_NAME
    # A server run launched by the daemon may be the first to use this warehouse folder.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(dict(fingerprints), indent=1, sort_keys=True), "utf-8")
    os.replace(tmp, path)
