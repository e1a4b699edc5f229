"""Server mode: the same warehouse on PostgreSQL (README, "Server mode on PostgreSQL").

Write-audit-publish on a server, with schemas instead of files:

1. **Load.** The raw tables (schema `raw`) get the extracts' rows by COPY; one extract's rows are
   replaced in one transaction, as in the build database.
2. **Write.** dbt builds every model, seed and test into the schema `build_marts`, dropped and
   built afresh each run (the profile's `postgres` target); a failed dbt test blocks. One name
   for every run keeps dbt's profile the same from run to run, so dbt reuses its parse of the
   project (a per-run name cost a full parse each run).
3. **Audit.** The Great Expectations suites run on that schema (expectations/postgres.py); any
   failed blocking suite blocks. A blocked run leaves `marts` untouched and keeps its build
   schema for inspection (until the next run).
4. **Publish.** The published tables move (ALTER TABLE ... SET SCHEMA, comments kept) into a new
   schema with the publication tables, readable by the analysts' role; then one short transaction
   takes ACCESS EXCLUSIVE locks on the current `marts` tables, renames `marts` to
   `marts_previous` and the new schema to `marts`. It runs with a lock timeout and is retried, so
   an analyst's open transaction delays the swap but never fails the run, and no query sees half
   of one publication and half of another.

`rollback` swaps `marts` and `marts_previous` the same way.

No Dagster import: the CLI, the tests and the benchmarks call `run_postgres` directly.
"""

from __future__ import annotations

import getpass
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from complaints.config import ComplaintsConfig
from complaints.dbt_paths import dbt_executable, dbt_project_dir
from complaints.publication import (
    LIBRARIES,
    PUBLICATION_COMMENTS,
    PUBLISHED_PREFIXES,
    Publication,
    new_publication,
    publication_values,
)
from complaints.raw_store import WAIVER_COLUMNS, raw_batches
from expectations.postgres import validate_schema
from expectations.waivers import load_waivers
from ingest.api import parse_entry
from ingest.errors import ExtractError
from ingest.manifest import CouncilContext, read_manifest
from ingest.raw_tables import (
    COUNCIL_CONTEXT_TABLE,
    RAW_TABLES,
    SIDE_TABLES,
    ExtractMeta,
    council_context_rows,
)
from ingest.records import ParsedExtract

MARTS = "marts"
PREVIOUS = "marts_previous"
RAW = "raw"
BUILD_PREFIX = "build_"
BUILD_SCHEMA = BUILD_PREFIX + "marts"
STAGE_PREFIX = "publish_"
ANALYST_ROLE_ENV = "COMPLAINTS_POSTGRES_ANALYST_ROLE"
DEFAULT_ANALYST_ROLE = "complaints_analyst"
# DuckDB's spelling -> PostgreSQL's, for the raw tables' declared types.
PG_TYPES = {"DOUBLE": "double precision"}


class PostgresError(Exception):
    """The server run cannot go on; `marts` was not changed."""


@dataclass(frozen=True)
class SwapPolicy:
    """How long one swap attempt waits for analysts' locks, and how often it is retried."""

    lock_timeout_ms: int = 5_000
    attempts: int = 60
    pause_s: float = 1.0


@dataclass
class PostgresRunSummary:
    success: bool
    build_schema: str
    extracts: list[str]
    published: bool = False
    publication_id: str | None = None
    dbt_ok: bool = False
    dbt_log: str = ""
    gate_results: dict[str, tuple[bool, str]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time per phase: load, dbt, gate, stage, swap (benchmarks/postgres_run.py)."""
    rows_per_table: dict[str, int] = field(default_factory=dict)
    swap_attempts: int = 0
    error: str | None = None
    run_id: str | None = None


# --- connection ------------------------------------------------------------------------------


SERVER_LOCK = 0x636F6D70
"""The PostgreSQL advisory lock a server run holds from its first write to its swap, and a
rollback for its swap: one writer per database, as one process writes a DuckDB warehouse."""


def take_server_lock(con: psycopg.Connection[Any]) -> None:
    """Hold SERVER_LOCK for as long as `con` is open, or raise PostgresError if another run or
    rollback holds it. Without it, two overlapping runs would build into the same schema and one
    could publish tables the other's gate never audited."""
    row = con.execute("select pg_try_advisory_lock(%s)", [SERVER_LOCK]).fetchone()
    con.commit()
    if not (row and row[0]):
        raise PostgresError(
            "another server run or rollback is writing to this database: `marts` unchanged; "
            "run again once it has finished"
        )


def require_dsn(config: ComplaintsConfig) -> str:
    if not config.postgres_dsn:
        raise PostgresError(
            "no PostgreSQL server: set COMPLAINTS_POSTGRES_DSN or pass --postgres-dsn "
            "(a libpq URL, e.g. postgresql://complaints_pipeline@db.example.org/complaints)"
        )
    return config.postgres_dsn


def connect(dsn: str, autocommit: bool = False) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(dsn, autocommit=autocommit, application_name="complaints")
    except psycopg.OperationalError as exc:
        raise PostgresError(f"cannot connect to the PostgreSQL server: {exc}") from None


def dbt_environment(dsn: str, build_schema: str) -> dict[str, str]:
    """The environment of a `dbt --target postgres` run: the profile reads the server from it;
    the password goes in a DBT_ENV_SECRET_ variable, which dbt scrubs from its logs."""
    parts = conninfo_to_dict(dsn)
    env = dict(os.environ)
    env.update(
        {
            "COMPLAINTS_PG_HOST": str(parts.get("host") or "localhost"),
            "COMPLAINTS_PG_PORT": str(parts.get("port") or "5432"),
            "COMPLAINTS_PG_USER": str(parts.get("user") or getpass.getuser()),
            "COMPLAINTS_PG_DBNAME": str(parts.get("dbname") or parts.get("user") or "postgres"),
            "COMPLAINTS_PG_SCHEMA": build_schema,
            "COMPLAINTS_PG_SSLMODE": str(parts.get("sslmode") or "prefer"),
            "DBT_ENV_SECRET_PG_PASSWORD": str(parts.get("password") or ""),
        }
    )
    return env


# --- load ------------------------------------------------------------------------------------


def _pg_type(duckdb_type: str) -> str:
    return PG_TYPES.get(duckdb_type, duckdb_type.lower())


def ensure_raw_schema(con: psycopg.Connection[Any]) -> None:
    with con.cursor() as cur:
        cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(RAW)))
        for table, columns in [
            *RAW_TABLES.items(),
            ("waivers", WAIVER_COLUMNS),
            *SIDE_TABLES.items(),
        ]:
            cols = sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(_pg_type(kind)))
                for name, kind in columns
            )
            cur.execute(
                sql.SQL("create table if not exists {}.{} ({})").format(
                    sql.Identifier(RAW), sql.Identifier(table), cols
                )
            )


def _copy(
    cur: psycopg.Cursor[Any], table: str, names: list[str], rows: Iterable[tuple[object, ...]]
) -> None:
    statement = sql.SQL("copy {}.{} ({}) from stdin").format(
        sql.Identifier(RAW), sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    with cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def replace_extracts(
    con: psycopg.Connection[Any], parsed: Iterable[tuple[ExtractMeta, ParsedExtract]]
) -> dict[str, int]:
    """Replace exactly these extracts' rows in every raw table by COPY, in one transaction."""
    ids, batches = raw_batches(parsed)
    with con.transaction(), con.cursor() as cur:
        ensure_raw_schema(con)
        _delete(cur, ids)
        for table, rows in batches.items():
            _copy(cur, table, [n for n, _ in RAW_TABLES[table]], rows)
    return {table: len(rows) for table, rows in batches.items()}


def remove_extracts(con: psycopg.Connection[Any], extract_ids: list[str]) -> None:
    with con.transaction(), con.cursor() as cur:
        ensure_raw_schema(con)
        _delete(cur, extract_ids)


def replace_waivers(con: psycopg.Connection[Any], rows: list[tuple[object, ...]]) -> None:
    with con.transaction(), con.cursor() as cur:
        ensure_raw_schema(con)
        cur.execute(sql.SQL("delete from {}.waivers").format(sql.Identifier(RAW)))
        _copy(cur, "waivers", [n for n, _ in WAIVER_COLUMNS], rows)


def replace_council_context(con: psycopg.Connection[Any], context: CouncilContext | None) -> None:
    """raw.council_context replaced whole with the manifest's context file (empty without one)."""
    with con.transaction(), con.cursor() as cur:
        ensure_raw_schema(con)
        cur.execute(
            sql.SQL("delete from {}.{}").format(
                sql.Identifier(RAW), sql.Identifier(COUNCIL_CONTEXT_TABLE)
            )
        )
        names = [n for n, _ in SIDE_TABLES[COUNCIL_CONTEXT_TABLE]]
        _copy(cur, COUNCIL_CONTEXT_TABLE, names, council_context_rows(context))


def _delete(cur: psycopg.Cursor[Any], ids: list[str]) -> None:
    if not ids:
        return
    for table in RAW_TABLES:
        cur.execute(
            sql.SQL("delete from {}.{} where extract_id = any(%s)").format(
                sql.Identifier(RAW), sql.Identifier(table)
            ),
            [ids],
        )


def load_raw(con: psycopg.Connection[Any], config: ComplaintsConfig) -> list[str]:
    """Sync the raw tables with the landing folder: drop extracts no longer listed, replace each
    listed extract's rows (one transaction per extract), replace the waivers."""

    try:
        manifest = read_manifest(config.landing_dir)
    except ExtractError as exc:
        raise PostgresError(str(exc)) from None
    entries = list(manifest.entries)
    ensure_raw_schema(con)
    con.commit()
    with con.cursor() as cur:
        cur.execute(sql.SQL("select extract_id from {}.extracts").format(sql.Identifier(RAW)))
        held = {r[0] for r in cur.fetchall()}
    con.commit()
    listed = [e.extract_id for e in entries]
    remove_extracts(con, sorted(held - set(listed)))
    for entry in entries:
        data = entry.read_bytes()
        try:
            result = parse_entry(entry, data)
        except ExtractError as exc:
            raise PostgresError(f"extract {entry.extract_id}: {exc}") from None
        replace_extracts(con, [(ExtractMeta.of(entry, data), result)])
    replace_waivers(con, [w.as_row() for w in load_waivers(config.waivers_file)])
    replace_council_context(con, manifest.council_context)
    return listed


# --- write: dbt ------------------------------------------------------------------------------


def run_dbt(config: ComplaintsConfig, dsn: str, build_schema: str) -> tuple[bool, str]:
    """`dbt build --target postgres` into `build_schema`; (success, dbt's console output)."""

    project = str(dbt_project_dir())
    target_path = config.warehouse_dir / "dbt_target_postgres"
    command = [
        dbt_executable(),
        "build",
        "--target",
        "postgres",
        "--project-dir",
        project,
        "--profiles-dir",
        project,
        "--target-path",
        str(target_path),
        # dbt's own log beside its artifacts, never into the (maybe installed) project folder.
        "--log-path",
        str(target_path),
    ]
    result = subprocess.run(
        command,
        env=dbt_environment(dsn, build_schema),
        cwd=project,
        capture_output=True,
        text=True,
    )
    return result.returncode == 0, result.stdout + result.stderr


# --- publish ---------------------------------------------------------------------------------


def published_tables(con: psycopg.Connection[Any], schema: str) -> list[str]:
    with con.cursor() as cur:
        cur.execute(
            "select table_name from information_schema.tables "
            "where table_schema = %s and table_type = 'BASE TABLE' order by table_name",
            [schema],
        )
        return [r[0] for r in cur.fetchall() if r[0].startswith(PUBLISHED_PREFIXES)]


def schema_exists(con: psycopg.Connection[Any], schema: str) -> bool:
    with con.cursor() as cur:
        cur.execute("select 1 from pg_namespace where nspname = %s", [schema])
        return cur.fetchone() is not None


def role_exists(con: psycopg.Connection[Any], role: str) -> bool:
    with con.cursor() as cur:
        cur.execute("select 1 from pg_roles where rolname = %s", [role])
        return cur.fetchone() is not None


def _publication_tables(
    cur: psycopg.Cursor[Any], stage: str, build: str, publication: Publication
) -> None:
    s, b = sql.Identifier(stage), sql.Identifier(build)
    library_columns = sql.SQL(", ").join(
        sql.SQL("{} varchar").format(sql.Identifier(c)) for c in LIBRARIES.values()
    )
    cur.execute(
        sql.SQL(
            "create table {}.publication (publication_id varchar not null, run_id varchar, "
            "published_at timestamp not null, project_version varchar, git_commit varchar, "
            "git_dirty boolean, storage_version varchar not null, python_version varchar not null, "
            "{}, extract_count integer not null, waiver_count integer not null)"
        ).format(s, library_columns)
    )
    cur.execute(
        sql.SQL(
            "create table {}.publication_extracts as select %s::varchar as publication_id, "
            "extract_id, council, period, kind, source_path, source_sha256 as sha256, source_url, "
            "title from {}.dim_extract order by extract_id"
        ).format(s, s),
        [publication.publication_id],
    )
    cur.execute(
        sql.SQL(
            "create table {}.publication_waivers as select %s::varchar as publication_id, "
            "waiver_id, extract_id, level, scope, measure, stated, computed, reason, reviewed_by, "
            "reviewed_on from {}.recon_waivers where matched order by waiver_id"
        ).format(s, b),
        [publication.publication_id],
    )
    counts = []
    for table in ("publication_extracts", "publication_waivers"):
        cur.execute(sql.SQL("select count(*) from {}.{}").format(s, sql.Identifier(table)))
        row = cur.fetchone()
        counts.append(int(row[0]) if row else 0)
    # No storage format on a server: the column says which engine holds this publication.
    engine = f"postgresql {cur.connection.info.server_version}"
    values = publication_values(publication, engine, *counts)
    cur.execute(
        sql.SQL("insert into {}.publication values ({})").format(
            s, sql.SQL(", ").join(sql.Placeholder() for _ in values)
        ),
        values,
    )
    for table, (text, columns) in PUBLICATION_COMMENTS.items():
        target = sql.SQL("{}.{}").format(s, sql.Identifier(table))
        cur.execute(sql.SQL("comment on table {} is {}").format(target, sql.Literal(text)))
        for column, comment in columns.items():
            cur.execute(
                sql.SQL("comment on column {}.{} is {}").format(
                    target, sql.Identifier(column), sql.Literal(comment)
                )
            )


def stage_publication(
    con: psycopg.Connection[Any], build: str, run_id: str | None, analyst_role: str | None
) -> tuple[str, Publication, dict[str, int]]:
    """Move the build's published tables into a new schema with the publication tables, readable
    by the analysts' role; one transaction. Returns (schema, publication, rows per table)."""
    publication = new_publication(run_id)
    stage = STAGE_PREFIX + publication.publication_id.replace("-", "_").lower()
    counts: dict[str, int] = {}
    with con.transaction(), con.cursor() as cur:
        cur.execute(sql.SQL("create schema {}").format(sql.Identifier(stage)))
        for table in published_tables(con, build):
            cur.execute(
                sql.SQL("alter table {}.{} set schema {}").format(
                    sql.Identifier(build), sql.Identifier(table), sql.Identifier(stage)
                )
            )
        _publication_tables(cur, stage, build, publication)
        for table in [*published_tables(con, stage), *PUBLICATION_COMMENTS]:
            cur.execute(
                sql.SQL("select count(*) from {}.{}").format(
                    sql.Identifier(stage), sql.Identifier(table)
                )
            )
            row = cur.fetchone()
            counts[table] = int(row[0]) if row else 0
        if analyst_role:
            role = sql.Identifier(analyst_role)
            cur.execute(
                sql.SQL("grant usage on schema {} to {}").format(sql.Identifier(stage), role)
            )
            cur.execute(
                sql.SQL("grant select on all tables in schema {} to {}").format(
                    sql.Identifier(stage), role
                )
            )
    return stage, publication, counts


def _lock_tables(cur: psycopg.Cursor[Any], schema: str) -> None:
    """ACCESS EXCLUSIVE on every table of `schema`: waits for (and then excludes) every
    analyst's transaction that has read one of them, so the rename is never seen mid-way."""
    cur.execute(
        "select tablename from pg_tables where schemaname = %s order by tablename", [schema]
    )
    tables = [r[0] for r in cur.fetchall()]
    if tables:
        cur.execute(
            sql.SQL("lock table {} in access exclusive mode").format(
                sql.SQL(", ").join(sql.Identifier(schema, t) for t in tables)
            )
        )


def _with_retries(
    con: psycopg.Connection[Any], policy: SwapPolicy, body: Callable[[psycopg.Cursor[Any]], None]
) -> int:
    """Run `body` in one transaction with a lock timeout, retried while locks are held.
    Returns the number of attempts it took."""
    for attempt in range(1, policy.attempts + 1):
        try:
            with con.transaction(), con.cursor() as cur:
                cur.execute(
                    sql.SQL("set local lock_timeout = {}").format(
                        sql.Literal(f"{policy.lock_timeout_ms}ms")
                    )
                )
                body(cur)
            return attempt
        except psycopg.errors.LockNotAvailable:
            if attempt == policy.attempts:
                raise PostgresError(
                    f"could not take the locks to swap the publication in after {attempt} "
                    f"attempts of {policy.lock_timeout_ms} ms: analysts' transactions held "
                    "them; `marts` is unchanged"
                ) from None
            time.sleep(policy.pause_s)
    raise AssertionError("unreachable")


def swap_in(
    con: psycopg.Connection[Any],
    stage: str,
    analyst_role: str | None,
    policy: SwapPolicy,
) -> int:
    """Make `stage` the `marts` schema; the current one becomes `marts_previous` (the one before
    is dropped). One transaction; returns the attempts it took."""

    def body(cur: psycopg.Cursor[Any]) -> None:
        for schema in (PREVIOUS, MARTS):
            _lock_tables(cur, schema)
        cur.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(PREVIOUS)))
        if schema_exists(con, MARTS):
            cur.execute(
                sql.SQL("alter schema {} rename to {}").format(
                    sql.Identifier(MARTS), sql.Identifier(PREVIOUS)
                )
            )
            if analyst_role:
                cur.execute(
                    sql.SQL("revoke usage on schema {} from {}").format(
                        sql.Identifier(PREVIOUS), sql.Identifier(analyst_role)
                    )
                )
        cur.execute(
            sql.SQL("alter schema {} rename to {}").format(
                sql.Identifier(stage), sql.Identifier(MARTS)
            )
        )

    return _with_retries(con, policy, body)


def rollback(
    config: ComplaintsConfig, policy: SwapPolicy | None = None, analyst_role: str | None = None
) -> str:
    """Swap `marts` and `marts_previous` (a second rollback rolls forward again); returns the
    publication id now in `marts`."""
    dsn = require_dsn(config)
    with connect(dsn) as con:
        take_server_lock(con)
        if not schema_exists(con, PREVIOUS):
            raise PostgresError(f"no previous publication (schema {PREVIOUS}) to roll back to")
        role = granted_role(con, analyst_role)
        tmp = f"marts_rollback_{uuid.uuid4().hex[:8]}"

        def body(cur: psycopg.Cursor[Any]) -> None:
            for schema in (PREVIOUS, MARTS):
                _lock_tables(cur, schema)
            rename = sql.SQL("alter schema {} rename to {}")
            cur.execute(rename.format(sql.Identifier(MARTS), sql.Identifier(tmp)))
            cur.execute(rename.format(sql.Identifier(PREVIOUS), sql.Identifier(MARTS)))
            cur.execute(rename.format(sql.Identifier(tmp), sql.Identifier(PREVIOUS)))
            if role:
                r = sql.Identifier(role)
                cur.execute(
                    sql.SQL("grant usage on schema {} to {}").format(sql.Identifier(MARTS), r)
                )
                cur.execute(
                    sql.SQL("revoke usage on schema {} from {}").format(sql.Identifier(PREVIOUS), r)
                )

        _with_retries(con, policy or SwapPolicy(), body)
        return current_publication_id(con) or ""


def current_publication_id(con: psycopg.Connection[Any]) -> str | None:
    if not schema_exists(con, MARTS):
        return None
    with con.cursor() as cur:
        cur.execute(
            sql.SQL("select publication_id from {}.publication").format(sql.Identifier(MARTS))
        )
        row = cur.fetchone()
    con.commit()
    return str(row[0]) if row else None


def granted_role(con: psycopg.Connection[Any], explicit: str | None) -> str | None:
    """The analysts' role publications are granted to ($COMPLAINTS_POSTGRES_ANALYST_ROLE, else
    complaints_analyst), or None when the server has no such role (nothing is granted)."""
    role = (
        explicit if explicit is not None else os.environ.get(ANALYST_ROLE_ENV, DEFAULT_ANALYST_ROLE)
    )
    exists = bool(role) and role_exists(con, role)
    con.commit()
    return role if exists else None


def drop_old_builds(con: psycopg.Connection[Any]) -> None:
    """Build and staging schemas of earlier runs (a blocked run's is kept until the next run)."""
    with con.cursor() as cur:
        cur.execute(
            "select nspname from pg_namespace where nspname like %s or nspname like %s",
            [BUILD_PREFIX + "%", STAGE_PREFIX + "%"],
        )
        stale = [r[0] for r in cur.fetchall()]
        for schema in stale:
            cur.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(schema)))
    con.commit()


@contextmanager
def _server(config: ComplaintsConfig) -> Iterator[tuple[str, psycopg.Connection[Any]]]:
    dsn = require_dsn(config)
    with connect(dsn) as con:
        yield dsn, con


def _lap(summary: PostgresRunSummary, phase: str, since: float) -> float:
    now = time.perf_counter()
    summary.seconds[phase] = round(now - since, 3)
    return now


def run_postgres(
    config: ComplaintsConfig,
    run_id: str | None = None,
    policy: SwapPolicy | None = None,
    analyst_role: str | None = None,
    before_swap: Callable[[str], None] | None = None,
    after_build: Callable[[str], None] | None = None,
) -> PostgresRunSummary:
    """Load, build, audit and publish on the server; see the module docstring.

    Hooks for tests: `after_build(build_schema)` runs between dbt and the gate (to inject a
    fault), `before_swap(stage_schema)` once the new publication is staged (to open an analyst's
    transaction right then).
    """
    policy = policy or SwapPolicy()
    build = BUILD_SCHEMA
    summary = PostgresRunSummary(False, build, [])
    config.ensure_folders()
    try:
        with _server(config) as (dsn, con):
            take_server_lock(con)
            drop_old_builds(con)
            clock = time.perf_counter()
            summary.extracts = load_raw(con, config)
            clock = _lap(summary, "load", clock)
            summary.dbt_ok, summary.dbt_log = run_dbt(config, dsn, build)
            clock = _lap(summary, "dbt", clock)
            log = config.log_dir / "last_postgres_dbt.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(summary.dbt_log)
            if not summary.dbt_ok:
                summary.error = (
                    f"dbt build failed on {build}: `marts` unchanged (log: {log})"
                    + "".join(f"\n  {line}" for line in dbt_failures(summary.dbt_log))
                )
                return summary
            if after_build is not None:
                after_build(build)

            results = validate_schema(dsn, build, config.warehouse_dir)
            clock = _lap(summary, "gate", clock)
            summary.gate_results = {
                f"gx_{name}": (r.success, r.summary()) for name, r in results.items()
            }
            if not all(r.success for r in results.values()):
                failed = [n for n, r in results.items() if not r.success]
                summary.error = (
                    f"Great Expectations gate failed ({', '.join(failed)}): `marts` unchanged; "
                    f"the build is kept in schema {build} until the next run"
                )
                return summary
            role = granted_role(con, analyst_role)
            stage, publication, summary.rows_per_table = stage_publication(con, build, run_id, role)
            clock = _lap(summary, "stage", clock)
            if before_swap is not None:
                before_swap(stage)
            clock = time.perf_counter()  # the hook's time is not the swap's
            summary.swap_attempts = swap_in(con, stage, role, policy)
            _lap(summary, "swap", clock)
            summary.publication_id = publication.publication_id
            summary.published = True
            summary.success = True
    except PostgresError as exc:
        summary.error = str(exc)
    except psycopg.Error as exc:
        summary.error = (
            f"PostgreSQL refused the run ({type(exc).__name__}): {exc}; `marts` unchanged"
        )
    return summary


def dbt_failures(output: str, limit: int = 10) -> list[str]:
    """The lines of dbt's output naming what failed (its summary repeats each failure)."""
    marks = ("Failure in ", "Error in ", "Compilation Error", "Database Error")
    lines = [line.strip() for line in output.splitlines() if any(m in line for m in marks)]
    return lines[:limit]
