"""Server mode: the same warehouse on PostgreSQL (docs/SERVER.md). Plain Python, no Dagster.

The same Dagster graph runs on both targets (orchestration/resources.py picks the target); this
module is what is different on a server, with schemas instead of files:

- **Raw store.** `PostgresRawStore`: the raw tables (schema `raw`) get each extract's rows by COPY,
  one extract's rows replaced in one transaction, with the fingerprint each was loaded from (the
  landing sensor reads them), as `complaints.raw_store.DuckDBRawStore` does in the build file.
- **Write.** dbt builds into the schema `build_marts` (the profile's `postgres` target, its
  connection from `dbt_environment`), dropped before each run: one name for every run keeps the
  rendered profile the same, so dbt reuses its parse of the project.
- **Publish.** `publish_schema`: the published tables move (ALTER TABLE ... SET SCHEMA, comments
  kept) into a new schema with the publication tables, readable by the analysts' role; then one
  short transaction locks every table of `marts` and `marts_previous` without waiting (NOWAIT),
  renames `marts` to `marts_previous` and the new schema to `marts`; a lock an analyst holds makes
  the attempt fail at once, and it is retried with a growing pause. So the swap never waits while
  holding a lock an analyst could then wait on (no deadlock: an analyst's transaction is never
  aborted), and no query sees half of one publication and half of another.
- **Local copy.** `snapshot_marts` copies the published `marts` schema into a DuckDB file (the
  warehouse folder's `marts.duckdb`), from which the exports and the report are built exactly as
  on the DuckDB target.

One writer per database: a run holds an advisory lock (`SERVER_LOCK`) from its first write to its
swap; `rollback` holds it for its swap.
"""

from __future__ import annotations

import getpass
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from complaints.config import ComplaintsConfig
from complaints.exports import sql_literal
from complaints.publication import (
    LIBRARIES,
    PUBLICATION_COMMENTS,
    PUBLISHED_PREFIXES,
    STORAGE_VERSION,
    Publication,
    new_publication,
    publication_values,
    publish_snapshot,
)
from complaints.raw_store import WAIVER_COLUMNS, raw_batches
from ingest.manifest import CouncilContext
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
    """How a swap waits for analysts' transactions: each attempt takes every lock it needs
    without waiting (NOWAIT), or gives them all back at once; the pause between attempts grows
    from `first_pause_s` to `max_pause_s`, and the swap gives up after `max_wait_s`.
    `lock_timeout_ms` bounds what the swap's DDL may wait for once it holds the tables' locks."""

    max_wait_s: float = 300.0
    first_pause_s: float = 0.05
    max_pause_s: float = 1.0
    lock_timeout_ms: int = 2_000


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


# --- raw store --------------------------------------------------------------------------------


def _pg_type(duckdb_type: str) -> str:
    return PG_TYPES.get(duckdb_type, duckdb_type.lower())


FINGERPRINTS = "extract_fingerprints"


class PostgresRawStore:
    """The raw tables on the server (complaints.raw_store.RawStore): each write is one
    transaction on `con`, the run's connection (which holds SERVER_LOCK)."""

    def __init__(self, con: psycopg.Connection[Any]) -> None:
        self.con = con
        with con.transaction(), con.cursor() as cur:
            self._ensure_schema(cur)

    @staticmethod
    def _ensure_schema(cur: psycopg.Cursor[Any]) -> None:
        cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(RAW)))
        tables = [
            *RAW_TABLES.items(),
            ("waivers", WAIVER_COLUMNS),
            (FINGERPRINTS, [("extract_id", "VARCHAR"), ("fingerprint", "VARCHAR")]),
            *SIDE_TABLES.items(),
        ]
        for table, columns in tables:
            cols = sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(_pg_type(kind)))
                for name, kind in columns
            )
            cur.execute(
                sql.SQL("create table if not exists {}.{} ({})").format(
                    sql.Identifier(RAW), sql.Identifier(table), cols
                )
            )
        # A raw store written before a record type gained a field lacks its column: add it.
        cur.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = %s",
            (RAW,),
        )
        present = {(t, c) for t, c in cur.fetchall()}
        for table, columns in RAW_TABLES.items():
            for name, kind in columns:
                if (table, name) not in present:
                    cur.execute(
                        sql.SQL("alter table {}.{} add column {} {}").format(
                            sql.Identifier(RAW),
                            sql.Identifier(table),
                            sql.Identifier(name),
                            sql.SQL(_pg_type(kind)),
                        )
                    )

    def held(self) -> set[str]:
        with self.con.transaction(), self.con.cursor() as cur:
            cur.execute(sql.SQL("select extract_id from {}.extracts").format(sql.Identifier(RAW)))
            return {str(r[0]) for r in cur.fetchall()}

    def replace(
        self,
        parsed: Iterable[tuple[ExtractMeta, ParsedExtract]],
        fingerprints: Mapping[str, str] | None = None,
    ) -> dict[str, int]:
        ids, batches = raw_batches(parsed)
        with self.con.transaction(), self.con.cursor() as cur:
            self._delete(cur, ids)
            for table, rows in batches.items():
                self._copy(cur, table, [n for n, _ in RAW_TABLES[table]], rows)
            self._copy(
                cur, FINGERPRINTS, ["extract_id", "fingerprint"], (fingerprints or {}).items()
            )
        return {table: len(rows) for table, rows in batches.items()}

    def remove(self, extract_ids: list[str]) -> None:
        with self.con.transaction(), self.con.cursor() as cur:
            self._delete(cur, extract_ids)

    def replace_waivers(self, rows: list[tuple[object, ...]]) -> None:
        with self.con.transaction(), self.con.cursor() as cur:
            cur.execute(sql.SQL("delete from {}.waivers").format(sql.Identifier(RAW)))
            self._copy(cur, "waivers", [n for n, _ in WAIVER_COLUMNS], rows)

    def replace_council_context(self, context: CouncilContext | None) -> int:
        rows = council_context_rows(context)
        names = [n for n, _ in SIDE_TABLES[COUNCIL_CONTEXT_TABLE]]
        with self.con.transaction(), self.con.cursor() as cur:
            cur.execute(
                sql.SQL("delete from {}.{}").format(
                    sql.Identifier(RAW), sql.Identifier(COUNCIL_CONTEXT_TABLE)
                )
            )
            self._copy(cur, COUNCIL_CONTEXT_TABLE, names, rows)
        return len(rows)

    def fingerprints(self) -> dict[str, str]:
        return loaded_fingerprints(self.con)

    @staticmethod
    def _copy(
        cur: psycopg.Cursor[Any], table: str, names: list[str], rows: Iterable[Sequence[object]]
    ) -> None:
        statement = sql.SQL("copy {}.{} ({}) from stdin").format(
            sql.Identifier(RAW),
            sql.Identifier(table),
            sql.SQL(", ").join(map(sql.Identifier, names)),
        )
        with cur.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)

    @staticmethod
    def _delete(cur: psycopg.Cursor[Any], ids: list[str]) -> None:
        if not ids:
            return
        for table in [*RAW_TABLES, FINGERPRINTS]:
            cur.execute(
                sql.SQL("delete from {}.{} where extract_id = any(%s)").format(
                    sql.Identifier(RAW), sql.Identifier(table)
                ),
                [ids],
            )


def loaded_fingerprints(con: psycopg.Connection[Any]) -> dict[str, str]:
    """Extract id -> the fingerprint it was loaded from, for every extract the server holds
    (what the landing sensor compares the folder with); nothing before the first load."""
    with con.transaction(), con.cursor() as cur:
        cur.execute("select to_regclass('raw.extract_fingerprints') is not null")
        row = cur.fetchone()
        if not (row and row[0]):
            return {}
        cur.execute(
            sql.SQL(
                "select f.extract_id, f.fingerprint from {}.{} f join {}.extracts e "
                "using (extract_id) order by 1"
            ).format(sql.Identifier(RAW), sql.Identifier(FINGERPRINTS), sql.Identifier(RAW))
        )
        return {str(k): str(v) for k, v in cur.fetchall()}


@contextmanager
def dbt_profile_environment(dsn: str) -> Iterator[None]:
    """The `postgres` profile's connection in this process's environment while dbt runs (its
    subprocess and dagster-dbt's in-process adapter read it there); restored afterwards. Nothing
    is written to disk: the password travels as DBT_ENV_SECRET_PG_PASSWORD, which dbt scrubs
    from its logs."""
    wanted = {k: v for k, v in dbt_environment(dsn, BUILD_SCHEMA).items() if os.environ.get(k) != v}
    saved = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# --- publish ---------------------------------------------------------------------------------


def published_tables(con: psycopg.Connection[Any], schema: str) -> list[str]:
    with con.cursor() as cur:
        cur.execute(
            "select table_name from information_schema.tables "
            "where table_schema = %s and table_type = 'BASE TABLE' order by table_name",
            [schema],
        )
        return [r[0] for r in cur.fetchall() if r[0].startswith(PUBLISHED_PREFIXES)]


def read_table(
    con: psycopg.Connection[Any], schema: str, table: str, order_by: str
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """One table whole: (column names, rows); the transaction ended before returning."""
    with con.transaction(), con.cursor() as cur:
        cur.execute(
            sql.SQL("select * from {}.{} order by {}").format(
                sql.Identifier(schema), sql.Identifier(table), sql.Identifier(order_by)
            )
        )
        return [d.name for d in cur.description or []], cur.fetchall()


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


def _lock_tables(cur: psycopg.Cursor[Any], schemas: Sequence[str]) -> None:
    """ACCESS EXCLUSIVE on every table of `schemas`, in one statement, without waiting (NOWAIT):
    if an analyst's transaction holds any of them, the statement fails at once and the
    transaction gives back every lock it took, so an analyst never waits on a lock of ours while
    we wait on one of theirs (a deadlock PostgreSQL would break by aborting one of the two). Once
    held, they exclude every analyst until the rename commits, so it is never seen mid-way."""
    cur.execute(
        "select schemaname, tablename from pg_tables where schemaname = any(%s) order by 1, 2",
        [list(schemas)],
    )
    tables = [(str(r[0]), str(r[1])) for r in cur.fetchall()]
    if tables:
        cur.execute(
            sql.SQL("lock table {} in access exclusive mode nowait").format(
                sql.SQL(", ").join(sql.Identifier(schema, t) for schema, t in tables)
            )
        )


def _with_retries(
    con: psycopg.Connection[Any], policy: SwapPolicy, body: Callable[[psycopg.Cursor[Any]], None]
) -> int:
    """Run `body` in one transaction, again after a growing pause while analysts hold locks it
    needs (LockNotAvailable: NOWAIT, or the lock timeout of its DDL). Returns the attempts."""
    deadline = time.monotonic() + policy.max_wait_s
    pause = policy.first_pause_s
    attempt = 0
    while True:
        attempt += 1
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
            if time.monotonic() + pause > deadline:
                raise PostgresError(
                    f"could not take the locks to swap the publication in: analysts' open "
                    f"transactions held them for {policy.max_wait_s:g} s ({attempt} attempts); "
                    "`marts` is unchanged"
                ) from None
            time.sleep(pause)
            pause = min(pause * 2, policy.max_pause_s)


def swap_in(
    con: psycopg.Connection[Any],
    stage: str,
    analyst_role: str | None,
    policy: SwapPolicy,
) -> int:
    """Make `stage` the `marts` schema; the current one becomes `marts_previous` (the one before
    is dropped). One transaction; returns the attempts it took."""

    def body(cur: psycopg.Cursor[Any]) -> None:
        _lock_tables(cur, [PREVIOUS, MARTS])
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
            _lock_tables(cur, [PREVIOUS, MARTS])
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


@dataclass(frozen=True)
class ServerPublication:
    publication: Publication
    rows: dict[str, int]
    swap_attempts: int


def publish_schema(
    con: psycopg.Connection[Any],
    run_id: str | None,
    policy: SwapPolicy | None = None,
    analyst_role: str | None = None,
    before_swap: Callable[[str], None] | None = None,
) -> ServerPublication:
    """Stage the build schema's published tables and swap them in as `marts` (see the module's
    docstring). `before_swap(stage_schema)` runs once the publication is staged (tests open an
    analyst's transaction right then)."""
    role = granted_role(con, analyst_role)
    stage, publication, rows = stage_publication(con, BUILD_SCHEMA, run_id, role)
    if before_swap is not None:
        before_swap(stage)
    attempts = swap_in(con, stage, role, policy or SwapPolicy())
    return ServerPublication(publication, rows, attempts)


# --- the local copy of the publication -------------------------------------------------------

# PostgreSQL's type names -> DuckDB's, for the local copy and the catalogue's column schemas.
DUCKDB_TYPES = {
    "character varying": "VARCHAR",
    "text": "VARCHAR",
    "bigint": "BIGINT",
    "integer": "INTEGER",
    "smallint": "SMALLINT",
    "double precision": "DOUBLE",
    "real": "FLOAT",
    "numeric": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp without time zone": "TIMESTAMP",
    "timestamp with time zone": "TIMESTAMP WITH TIME ZONE",
}


def duckdb_type(pg_type: str) -> str:
    return DUCKDB_TYPES.get(pg_type, pg_type.upper())


def snapshot_marts(con: psycopg.Connection[Any], target: Path) -> dict[str, int]:
    """Copy every table of `marts` (in one repeatable-read snapshot: one publication whole),
    its comments included, into the new DuckDB file `target`. Returns rows per table."""
    counts: dict[str, int] = {}
    con.commit()
    con.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    try:
        with con.transaction(), con.cursor() as cur, duckdb.connect() as out:
            out.execute(
                f"attach {sql_literal(str(target))} as pub "
                f"(storage_version {sql_literal(STORAGE_VERSION)})"
            )
            out.execute("begin transaction")
            cur.execute(
                "select c.relname, obj_description(c.oid, 'pg_class') from pg_class c join "
                "pg_namespace n on n.oid = c.relnamespace where n.nspname = %s and "
                "c.relkind = 'r' order by 1",
                [MARTS],
            )
            tables = [(str(t), comment) for t, comment in cur.fetchall()]
            for table, comment in tables:
                cur.execute(
                    "select a.attname, format_type(a.atttypid, null), "
                    "col_description(a.attrelid, a.attnum) from pg_attribute a "
                    "where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped "
                    "order by a.attnum",
                    [f'{MARTS}."{table}"'],
                )
                columns = [(str(n), str(t), c) for n, t, c in cur.fetchall()]
                names = [n for n, _, _ in columns]
                name = f'pub.main."{table}"'
                out.execute(
                    f"create table {name} ("
                    + ", ".join(f'"{n}" {duckdb_type(t)}' for n, t, _ in columns)
                    + ")"
                )
                # CSV through COPY: the server's exact text of every value (floats included),
                # a NULL unquoted and an empty string quoted, read back with the declared types.
                csv = target.with_name(f"{target.name}.{table}.csv")
                try:
                    with (
                        csv.open("wb") as f,
                        cur.copy(
                            sql.SQL(
                                "copy (select * from {}.{} order by {}) to stdout (format csv)"
                            ).format(
                                sql.Identifier(MARTS),
                                sql.Identifier(table),
                                sql.SQL(", ").join(map(sql.Identifier, names)),
                            )
                        ) as copy,
                    ):
                        for data in copy:
                            f.write(data)
                    types = ", ".join(
                        f"{sql_literal(n)}: {sql_literal(duckdb_type(t))}" for n, t, _ in columns
                    )
                    out.execute(
                        f"insert into {name} select * from read_csv({sql_literal(str(csv))}, "
                        f"columns = {{{types}}}, header = false, auto_detect = false, "
                        "allow_quoted_nulls = false, quote = '\"', escape = '\"')"
                    )
                finally:
                    csv.unlink(missing_ok=True)
                row = out.execute(f"select count(*) from {name}").fetchone()
                counts[table] = int(row[0]) if row else 0
                if comment:
                    out.execute(f"comment on table {name} is {sql_literal(comment)}")
                for column, _, text in columns:
                    if text:
                        out.execute(f'comment on column {name}."{column}" is {sql_literal(text)}')
            out.execute("commit")
            out.execute("checkpoint pub")
            out.execute("detach pub")
    finally:
        con.isolation_level = None
    return counts


def refresh_local_copy(con: psycopg.Connection[Any], config: ComplaintsConfig) -> Path:
    """The warehouse folder's `marts.duckdb` and exports made the copy of what `marts` holds
    now (after a rollback); the report is the caller's. Returns the published file."""
    publication_id = current_publication_id(con)
    if publication_id is None:
        raise PostgresError("no publication in schema marts to copy")
    publish_snapshot(lambda tmp: snapshot_marts(con, tmp), config.published_db)
    return config.published_db
