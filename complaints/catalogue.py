"""The asset catalogue of the dbt models: row counts, column schemas and column lineage.

Read once per run after `dbt build` has exited, in two queries on the build database (its
`duckdb_columns()` and one UNION ALL of `count(*)` per model and seed), instead of one adapter
call per relation inside the event stream. Column lineage depends only on a model's compiled SQL
and the columns of the model and its parents, never on the rows, so it is computed once (sqlglot,
as dagster-dbt does) and cached under a key of exactly those inputs: every run, every test with a
fresh warehouse and every warehouse on the machine after the first reuse it. See
docs/DESIGN.md, "The asset catalogue".

No Dagster here: plain records keyed by dbt unique id, which orchestration/defs/transform/assets.py turns
into the metadata keys dagster-dbt uses.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import MappingSchema, exp, parse_one, to_table
from sqlglot.expressions import normalize_table_name
from sqlglot.lineage import lineage
from sqlglot.optimizer import optimize

# Bump when the lineage algorithm below changes what it returns: old cache entries are ignored.
_LINEAGE_VERSION = "1"
_CACHEABLE = ("model", "seed")


@dataclass(frozen=True)
class Relation:
    """Where a dbt node (model, seed or source) lives in the build database."""

    unique_id: str
    database: str
    schema: str
    name: str
    resource_type: str

    @property
    def sql_name(self) -> str:
        return ".".join(_quote(part) for part in (self.database, self.schema, self.name))


@dataclass(frozen=True)
class TableFacts:
    """What one run's build database holds for one model or seed."""

    row_count: int
    columns: list[tuple[str, str]]
    """(name, DuckDB type) in the table's column order."""


ColumnDeps = dict[str, list[tuple[str, str]]]
"""column -> [(parent unique id, parent column)] for one model."""


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def relations(manifest: Mapping[str, Any]) -> dict[str, Relation]:
    """Every model, seed and source of the manifest, by unique id."""
    found: dict[str, Relation] = {}
    for node in manifest.get("nodes", {}).values():
        if node["resource_type"] in _CACHEABLE:
            found[node["unique_id"]] = Relation(
                node["unique_id"],
                node["database"],
                node["schema"],
                node.get("alias") or node["name"],
                node["resource_type"],
            )
    for source in manifest.get("sources", {}).values():
        found[source["unique_id"]] = Relation(
            source["unique_id"],
            source["database"],
            source["schema"],
            source.get("identifier") or source["name"],
            "source",
        )
    return found


def read_columns(
    con: duckdb.DuckDBPyConnection, wanted: Iterable[Relation]
) -> dict[str, list[tuple[str, str]]]:
    """Columns of every relation in `wanted` that exists, in one query."""
    by_name = {(r.database, r.schema, r.name): r.unique_id for r in wanted}
    rows = con.execute(
        "select database_name, schema_name, table_name, column_name, data_type "
        "from duckdb_columns() order by database_name, schema_name, table_name, column_index"
    ).fetchall()
    columns: dict[str, list[tuple[str, str]]] = {}
    for database, schema, table, column, data_type in rows:
        unique_id = by_name.get((database, schema, table))
        if unique_id is not None:
            columns.setdefault(unique_id, []).append((column, data_type))
    return columns


def read_row_counts(con: Any, wanted: Sequence[Relation]) -> dict[str, int]:
    """Row counts of `wanted` (tables and views alike), in one query, on a DuckDB or a psycopg
    connection (both have `execute(...).fetchall()`)."""
    if not wanted:
        return {}
    query = " union all ".join(
        f"select {i} as relation, count(*) as row_count from {r.sql_name}"
        for i, r in enumerate(wanted)
    )
    return {wanted[i].unique_id: int(n) for i, n in con.execute(query).fetchall()}


def read_table_facts(database: Path, manifest: Mapping[str, Any]) -> dict[str, TableFacts]:
    """Row count and columns of every model and seed the build database holds, plus the columns
    of the sources (for lineage), read-only and closed again before the gate opens the file."""
    every = relations(manifest)
    with duckdb.connect(str(database), read_only=True) as con:
        columns = read_columns(con, every.values())
        built = [
            r for r in every.values() if r.resource_type in _CACHEABLE and r.unique_id in columns
        ]
        counts = read_row_counts(con, built)
    return {
        uid: TableFacts(row_count=counts.get(uid, -1), columns=cols)
        for uid, cols in columns.items()
    }


def read_server_table_facts(
    con: Any, manifest: Mapping[str, Any], type_name: Callable[[str], str]
) -> dict[str, TableFacts]:
    """`read_table_facts` on a PostgreSQL build (a psycopg connection, its transaction ended
    before returning): the same two queries, the columns from information_schema, each type
    spelt as `type_name` gives it (DuckDB's spelling, so both targets show the same schemas)."""
    every = relations(manifest)
    by_name = {(r.database, r.schema, r.name): r.unique_id for r in every.values()}
    schemas = sorted({r.schema for r in every.values()})
    try:
        rows = con.execute(
            "select table_catalog, table_schema, table_name, column_name, data_type "
            "from information_schema.columns where table_schema = any(%s) "
            "order by table_catalog, table_schema, table_name, ordinal_position",
            [schemas],
        ).fetchall()
        columns: dict[str, list[tuple[str, str]]] = {}
        for database, schema, table, column, data_type in rows:
            unique_id = by_name.get((database, schema, table))
            if unique_id is not None:
                columns.setdefault(unique_id, []).append((column, type_name(data_type)))
        built = [
            r for r in every.values() if r.resource_type in _CACHEABLE and r.unique_id in columns
        ]
        counts = read_row_counts(con, built)
    finally:
        con.commit()
    return {
        uid: TableFacts(row_count=counts.get(uid, -1), columns=cols)
        for uid, cols in columns.items()
    }


# --- column lineage -------------------------------------------------------------------------


def compiled_sql(target_dir: Path, node: Mapping[str, Any]) -> str | None:
    """The SQL dbt compiled for `node` in its last run (None when it did not compile it)."""
    path = target_dir / "compiled" / str(node["package_name"]) / str(node["original_file_path"])
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def lineage_key(
    sql: str, dialect: str, schemas: Mapping[str, Sequence[tuple[str, str]]], sqlglot_version: str
) -> str:
    """Everything a model's lineage depends on: its SQL and the columns of the relations it and
    its parents are (keyed by relation name, so the same project in any folder shares it)."""
    payload = json.dumps(
        [_LINEAGE_VERSION, sqlglot_version, dialect, sql, sorted(schemas.items())],
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def model_lineage(
    sql: str,
    dialect: str,
    schemas: Mapping[str, Sequence[tuple[str, str]]],
    own_columns: Sequence[str],
) -> dict[str, list[tuple[str, str]]]:
    """column -> [(parent relation name, parent column)] from the compiled SQL (sqlglot's
    optimiser qualifies every column against `schemas`, then `lineage` walks each one to the
    tables it reads; the same method as dagster-dbt's `fetch_column_metadata`)."""

    mapping = MappingSchema(dialect=dialect)
    for relation_name, columns in schemas.items():
        mapping.add_table(
            table=to_table(relation_name, dialect=dialect),
            column_mapping=dict(columns),
            dialect=dialect,
        )
    optimized = optimize(parse_one(sql, dialect=dialect), schema=mapping, dialect=dialect)
    # lineage() re-derives CTE structure from text; an optimised AST may hold plain-string aliases.
    optimized_sql = optimized.sql(dialect=dialect)
    selected = {name.lower(): name for name in optimized.named_selects}
    deps: dict[str, list[tuple[str, str]]] = {}
    for column in own_columns:
        found: set[tuple[str, str]] = set()
        name = selected.get(column.lower())
        if name is not None:
            for node in lineage(
                column=name, sql=optimized_sql, schema=mapping, dialect=dialect
            ).walk():
                if node.downstream:
                    continue  # only the leaves name the tables read
                table = node.expression.find(exp.Table)
                if table is None:
                    continue
                found.add(
                    (
                        normalize_table_name(table, dialect=dialect),
                        exp.to_column(node.name).name.lower(),
                    )
                )
        deps[column.lower()] = sorted(found)
    return deps


class LineageCache:
    """Content-addressed lineage entries (one small JSON file each) in the first writable folder
    of `folders`; a folder that cannot be read or written is skipped, never an error."""

    def __init__(self, folders: Sequence[Path]) -> None:
        self.folders = list(folders)
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> dict[str, list[tuple[str, str]]] | None:
        for folder in self.folders:
            try:
                data = json.loads((folder / f"{key}.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            self.hits += 1
            return {column: [(dep[0], dep[1]) for dep in deps] for column, deps in data.items()}
        self.misses += 1
        return None

    def put(self, key: str, deps: Mapping[str, Sequence[tuple[str, str]]]) -> None:
        text = json.dumps({column: [list(dep) for dep in d] for column, d in deps.items()})
        for folder in self.folders:
            try:
                folder.mkdir(parents=True, exist_ok=True)
                # Written whole then renamed: concurrent runs never read half an entry.
                fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(text)
                os.replace(tmp, folder / f"{key}.json")
                return
            except OSError:
                continue


def column_lineage(
    manifest: Mapping[str, Any],
    target_dir: Path,
    facts: Mapping[str, TableFacts],
    cache: LineageCache,
    models: Collection[str] | None = None,
) -> dict[str, ColumnDeps]:
    """Lineage of every model built in this run (or of `models`), by unique id: from the cache
    when the model's SQL and the columns around it are unchanged, else computed and stored."""

    dialect = manifest["metadata"]["adapter_type"]
    every = relations(manifest)
    result: dict[str, ColumnDeps] = {}
    for unique_id, node in manifest.get("nodes", {}).items():
        if node["resource_type"] != "model" or unique_id not in facts:
            continue
        if models is not None and unique_id not in models:
            continue
        sql = compiled_sql(target_dir, node)
        if sql is None:
            continue
        parents = [p for p in manifest.get("parent_map", {}).get(unique_id, []) if p in every]
        schemas = {
            every[uid].sql_name: facts[uid].columns for uid in [*parents, unique_id] if uid in facts
        }
        key = lineage_key(sql, dialect, schemas, sqlglot.__version__)
        deps = cache.get(key)
        if deps is None:
            own = [name for name, _ in facts[unique_id].columns]
            deps = model_lineage(sql, dialect, schemas, own)
            cache.put(key, deps)
        result[unique_id] = _by_parent_id(deps, parents, every, dialect)
    return result


def _by_parent_id(
    deps: Mapping[str, Sequence[tuple[str, str]]],
    parents: Sequence[str],
    every: Mapping[str, Relation],
    dialect: str,
) -> ColumnDeps:
    """Relation names (as sqlglot normalises them) -> the parents' unique ids; a table the SQL
    reads that is not a dbt parent (none here) is dropped, as dagster-dbt does."""

    ids = {
        normalize_table_name(to_table(every[p].sql_name, dialect=dialect), dialect=dialect): p
        for p in parents
    }
    return {
        column: sorted((ids[table], name) for table, name in found if table in ids)
        for column, found in deps.items()
    }
