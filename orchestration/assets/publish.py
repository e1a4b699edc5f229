"""Write-audit-publish: copy dims, facts and marts into a new file, then os.replace it over the
published database. A reader holding the old file keeps its snapshot until it reconnects."""

import os
import uuid
from pathlib import Path
from typing import Any

import duckdb
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from orchestration.resources import WarehouseResource

PUBLISHED_PREFIXES = ("dim_", "fct_", "mart_")


def published_tables(con: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    rows = con.execute(
        "select table_name from duckdb_tables() where database_name = ? and schema_name = 'main' "
        "order by table_name",
        [catalog],
    ).fetchall()
    return [r[0] for r in rows if r[0].startswith(PUBLISHED_PREFIXES)]


def _literal(text: str) -> str:
    # COMMENT ON takes no parameters: quote the text as a SQL string literal.
    return "'" + text.replace("'", "''") + "'"


def publish(build_db: Path, published_db: Path) -> dict[str, int]:
    """Copy the published tables (with their comments) into a new file and swap it in."""
    tmp = published_db.with_name(f".{published_db.name}.{uuid.uuid4().hex}.tmp")
    counts: dict[str, int] = {}
    try:
        with duckdb.connect(str(tmp)) as con:
            con.execute(f"attach {_literal(str(build_db))} as build (read_only)")
            for table in published_tables(con, "build"):
                columns = con.execute(
                    "select column_name, comment from duckdb_columns() "
                    "where database_name = 'build' and schema_name = 'main' and table_name = ? "
                    "order by column_index",
                    [table],
                ).fetchall()
                order = ", ".join(f'"{c}"' for c, _ in columns)
                # Deterministic row order: re-running with nothing changed gives the same table.
                con.execute(
                    f'create table main."{table}" as select * from build.main."{table}" order by {order}'
                )
                comment = con.execute(
                    "select comment from duckdb_tables() where database_name = 'build' "
                    "and schema_name = 'main' and table_name = ?",
                    [table],
                ).fetchone()
                if comment and comment[0]:
                    con.execute(f'comment on table main."{table}" is {_literal(comment[0])}')
                for column, text in columns:
                    if text:
                        con.execute(
                            f'comment on column main."{table}"."{column}" is {_literal(text)}'
                        )
                (counts[table],) = con.execute(f'select count(*) from main."{table}"').fetchall()[0]
            con.execute("detach build")
            con.execute("checkpoint")
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, published_db)
    finally:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
    return counts


def publish_deps() -> list[AssetKey]:
    """Every published model, and every model a blocking gate check guards: a blocking check
    stops only the assets directly downstream of the asset it checks."""
    from orchestration.checks import GATED_TABLES
    from orchestration.project import dbt_model_names

    return [
        AssetKey(name)
        for name in dbt_model_names()
        if name.startswith(PUBLISHED_PREFIXES) or name in GATED_TABLES
    ]


@asset(
    group_name="publish",
    kinds={"duckdb"},
    deps=publish_deps(),
    description=(
        "The analysts' database (warehouse/marts.duckdb): dims, facts and marts copied from the "
        "build database into a new file that atomically replaces the published one. Runs only "
        "when every blocking check upstream passed, so a failed run leaves the last good marts."
    ),
)
def published_marts(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> MaterializeResult[Any]:
    counts = publish(warehouse.build_db, warehouse.published_db)
    context.log.info(f"published {len(counts)} tables to {warehouse.published_db}")
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(warehouse.published_db)),
            "tables": len(counts),
            "rows_per_table": MetadataValue.json(counts),
            "dagster/row_count": sum(counts.values()),
        }
    )
