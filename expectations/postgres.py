"""The Great Expectations gate on a PostgreSQL build schema (server mode, orchestration/postgres.py).

The same suites (expectations/suites.py) as on DuckDB. A suite that validates the table as it is
runs through a GX SQL data source on the server (`add_postgres`, a table asset in the build
schema): GX evaluates its expectations as SQL in PostgreSQL. A suite that first derives columns
in pandas (`Suite.derive`: recomputed rates, shares) reads its table from the server and is
validated as a dataframe, exactly as on DuckDB. Either way a failed suite blocks publication.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
from psycopg import sql

from expectations.runner import (
    MAX_FAILING_ROWS,
    ExpectationOutcome,
    SuiteResult,
    _outcomes,
    data_docs_index,
    gx_root,
    open_context,
    validate_frame,
)
from expectations.suites import SUITES, GateContext, Suite

SOURCE_NAME = "postgres_build"
# The suites name pandas dtypes; on a SQL data source GX compares SQLAlchemy type names instead.
SQL_TYPE_NAMES = {
    "int64": ["BIGINT", "INTEGER", "SMALLINT"],
    "int32": ["INTEGER", "SMALLINT"],
    "float64": ["DOUBLE_PRECISION", "FLOAT", "NUMERIC"],
    "object": ["VARCHAR", "TEXT"],
    "bool": ["BOOLEAN"],
}


def _sql_expectations(expectations: list[Any]) -> list[Any]:
    """The suite's expectations, type lists given their SQL names too (the same meaning)."""
    import great_expectations.expectations as gxe

    for expectation in expectations:
        if isinstance(expectation, gxe.ExpectColumnValuesToBeInTypeList):
            names = list(expectation.type_list or [])
            for name in list(names):
                names += [n for n in SQL_TYPE_NAMES.get(name.lower(), []) if n not in names]
            expectation.type_list = names
    return expectations


def _frame(con: psycopg.Connection[Any], schema: str, table: str) -> pd.DataFrame:
    with con.cursor() as cur:
        cur.execute(
            sql.SQL("select * from {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
        )
        names = [d.name for d in cur.description or []]
        return pd.DataFrame(cur.fetchall(), columns=names)


def gate_context(con: psycopg.Connection[Any], schema: str) -> GateContext:
    s = sql.Identifier(schema)
    with con.cursor() as cur:
        cur.execute(
            sql.SQL("select kind, extract_id from {}.dim_extract order by extract_id").format(s)
        )
        by_kind: dict[str, list[str]] = {}
        for kind, extract_id in cur.fetchall():
            by_kind.setdefault(kind, []).append(extract_id)
        cur.execute(
            sql.SQL(
                "select distinct root_cause_category from {}.root_cause_categories order by 1"
            ).format(s)
        )
        categories = tuple(r[0] for r in cur.fetchall())
    return GateContext(extract_ids_by_kind=by_kind, seed_categories=categories)


def _sqlalchemy_url(dsn: str) -> str:
    """GX's PostgreSQL data source goes through SQLAlchemy with psycopg2 (installed with
    dbt-postgres); a libpq URL is already an SQLAlchemy URL for it."""
    if dsn.startswith("postgres://"):
        dsn = "postgresql://" + dsn[len("postgres://") :]
    return dsn


def _postgres_source(context: Any, dsn: str) -> Any:
    """A fresh PostgreSQL data source (each run builds into a new schema: the old assets go)."""
    with contextlib.suppress(KeyError, ValueError):
        context.data_sources.delete(SOURCE_NAME)
    return context.data_sources.add_postgres(SOURCE_NAME, connection_string=_sqlalchemy_url(dsn))


def _table_batch(source: Any, schema: str, table: str) -> Any:
    asset = source.add_table_asset(name=table, table_name=table, schema_name=schema)
    return asset.add_batch_definition_whole_table("whole_table")


def validate_in_database(
    suite: Suite, source: Any, schema: str, ctx: GateContext, context: Any, row_count: int
) -> SuiteResult:
    """One suite evaluated as SQL on the server through GX's PostgreSQL data source."""
    import great_expectations as gx

    expectation_suite = context.suites.add_or_update(
        gx.ExpectationSuite(
            name=suite.name,
            expectations=_sql_expectations(list(suite.build(ctx))),
            meta={"description": suite.description},
        )
    )
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(
            name=suite.name,
            data=_table_batch(source, schema, suite.table),
            suite=expectation_suite,
        )
    )
    validation = definition.run(result_format={"result_format": "SUMMARY"})
    outcomes: list[ExpectationOutcome] = _outcomes(validation)[0]
    return SuiteResult(
        suite=suite.name,
        table=suite.table,
        success=all(o.success for o in outcomes),
        row_count=row_count,
        outcomes=outcomes,
        failing_rows=_unexpected_values(validation),
        failing_row_count=sum(o.unexpected_count or 0 for o in outcomes if not o.success),
        extra={"evaluated": "postgresql"},
    )


def _unexpected_values(validation: Any) -> pd.DataFrame:
    """Evaluated in the database, GX returns sample offending values, not row positions: one row
    per failed expectation and sample value (at most MAX_FAILING_ROWS)."""
    rows = []
    for result in validation.results:
        if result.success:
            continue
        config = result.expectation_config
        name = (config.meta or {}).get("name", config.type)
        for value in (result.result or {}).get("partial_unexpected_list") or [None]:
            rows.append({"failed": name, "column": config.kwargs.get("column"), "value": value})
    return pd.DataFrame(rows[:MAX_FAILING_ROWS], columns=["failed", "column", "value"])


def validate_schema(
    dsn: str, schema: str, warehouse_dir: Path | None = None, suite_names: list[str] | None = None
) -> dict[str, SuiteResult]:
    """Every suite (or those named) on the tables of `schema`; Data Docs built once at the end."""
    suites = [SUITES[n] for n in (suite_names or list(SUITES))]
    with psycopg.connect(dsn) as con:
        ctx = gate_context(con, schema)
        frames = {s.table: _frame(con, schema, s.table) for s in suites if s.derive is not None}
        counts: dict[str, int] = {}
        for s in suites:
            with con.cursor() as cur:
                cur.execute(
                    sql.SQL("select count(*) from {}.{}").format(
                        sql.Identifier(schema), sql.Identifier(s.table)
                    )
                )
                row = cur.fetchone()
                counts[s.table] = int(row[0]) if row else 0
    root = gx_root(warehouse_dir) if warehouse_dir is not None else None
    if warehouse_dir is not None:
        uncommitted = gx_root(warehouse_dir) / "gx" / "uncommitted"
        for folder in ("validations", "data_docs"):
            shutil.rmtree(uncommitted / folder, ignore_errors=True)
    context = open_context(root)
    source = _postgres_source(context, dsn)
    results: dict[str, SuiteResult] = {}
    for suite in suites:
        if suite.derive is None:
            results[suite.name] = validate_in_database(
                suite, source, schema, ctx, context, counts[suite.table]
            )
        else:
            results[suite.name] = validate_frame(suite, frames[suite.table], ctx, context)
    if warehouse_dir is not None:
        context.build_data_docs()
        for result in results.values():
            result.docs_index = data_docs_index(warehouse_dir)
    return results
