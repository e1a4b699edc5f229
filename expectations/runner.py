"""Run the gate's suites as SQL validations with GX Core 1.x, in the database that holds the build.

Each suite's table is a GX query asset on a SQL data source: the table's rows, its position in
the table (`_gate_row`) and the suite's derived columns (`Suite.derived`), computed by the
database. GX evaluates every expectation there and returns counts and, per expectation, at most
`MAX_FAILING_ROWS` sample rows, so the gate's memory does not grow with the tables. DuckDB is
read through read-only SQLAlchemy connections (`expectations/duckdb_dialect.py`) closed when the
gate ends, so a check never holds the build database; PostgreSQL through `add_postgres`
(expectations/postgres.py). Results are stored in a file data context under the warehouse
folder and rendered as static Data Docs there.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import sqlalchemy as sa

from expectations import duckdb_dialect
from expectations.suites import SUITES, GateContext, Suite

MAX_FAILING_ROWS = 20
# The environment variable through which GX's PostgreSQL data source gets its URL (`_data_source`).
GX_POSTGRES_URL_ENV = "COMPLAINTS_GX_POSTGRES_URL"


@dataclass(frozen=True)
class ExpectationOutcome:
    name: str
    expectation_type: str
    column: str | None
    success: bool
    observed: Any
    unexpected_count: int | None


@dataclass
class SuiteResult:
    suite: str
    table: str
    success: bool
    row_count: int
    outcomes: list[ExpectationOutcome]
    failing_rows: pd.DataFrame
    failing_row_count: int
    docs_index: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]

    def failing_rows_markdown(self) -> str:
        if self.failing_rows.empty:
            return "_no failing rows_"
        return markdown_table(self.failing_rows)

    def summary(self) -> str:
        if self.success:
            return f"{self.suite}: all {len(self.outcomes)} expectations passed ({self.row_count} rows)"
        names = "; ".join(_describe(o) for o in self.failed)
        return (
            f"{self.suite}: {len(self.failed)} of {len(self.outcomes)} expectations failed: {names}"
        )


def _describe(outcome: ExpectationOutcome) -> str:
    if isinstance(outcome.observed, dict) and outcome.observed.get("missing"):
        return f"{outcome.name} (missing: {', '.join(map(str, outcome.observed['missing']))})"
    return f"{outcome.name} ({outcome.unexpected_count or 0} rows)"


def gx_root(warehouse_dir: Path) -> Path:
    return warehouse_dir / "gx"


def data_docs_index(warehouse_dir: Path) -> Path:
    return gx_root(warehouse_dir) / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


# The column holding each row's position in its table: failing rows are shown in table order,
# and two identical rows stay two rows.
ROW_ID = "_gate_row"


@dataclass(frozen=True)
class GateTarget:
    """Where the build's tables are: a SQLAlchemy URL, the schema, and the SQL giving each row's
    position in its table on that database."""

    kind: Literal["duckdb", "postgres"]
    url: str
    schema: str
    row_position: str


def duckdb_target(build_db: Path) -> GateTarget:
    duckdb_dialect.register()
    return GateTarget("duckdb", duckdb_dialect.read_only_url(str(build_db)), "main", "rowid")


def _table(target: GateTarget, table: str) -> str:
    return f'"{target.schema}"."{table}"'


@contextmanager
def _connection(target: GateTarget) -> Iterator[sa.Connection]:
    engine = sa.create_engine(target.url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as con:
            yield con
    finally:
        engine.dispose()


def gate_context(target: GateTarget) -> GateContext:
    with _connection(target) as con:
        rows = con.execute(
            sa.text(f"select kind, extract_id from {_table(target, 'dim_extract')} order by 2")
        ).all()
        categories = con.execute(
            sa.text(
                "select distinct root_cause_category from "
                f"{_table(target, 'root_cause_categories')} order by 1"
            )
        ).all()
    by_kind: dict[str, list[str]] = {}
    for kind, extract_id in rows:
        by_kind.setdefault(str(kind), []).append(str(extract_id))
    return GateContext(
        extract_ids_by_kind=by_kind,
        seed_categories=tuple(str(c) for (c,) in categories),
        schema=target.schema,
    )


def row_counts(target: GateTarget, tables: list[str]) -> dict[str, int]:
    with _connection(target) as con:
        return {
            t: int(con.execute(sa.text(f"select count(*) from {_table(target, t)}")).scalar_one())
            for t in tables
        }


def suite_query(target: GateTarget, suite: Suite) -> str:
    """The rows a suite validates: its table, each row's position, and the derived columns."""
    columns = ["*", f"{target.row_position} as {ROW_ID}"]
    columns += [f"{expression} as {name}" for name, expression in suite.derived]
    return f"select {', '.join(columns)} from {_table(target, suite.table)}"


def markdown_table(frame: pd.DataFrame) -> str:
    def cell(value: Any) -> str:
        if value is None or (isinstance(value, float) and pd.isna(value)):
            return ""
        # Names come from the extracts: HTML in one must show as text in Dagster's markdown.
        return html.escape(str(value), quote=False).replace("|", "\\|").replace("\n", " ")

    header = "| " + " | ".join(cell(c) for c in frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def _observed(details: dict[str, Any]) -> Any:
    """The observed value; for set expectations GX reports what is missing separately."""
    observed = details.get("observed_value")
    missing = details.get("partial_missing_list") or details.get("missing_list")
    if missing:
        return {"observed": observed, "missing": list(missing)}
    return observed


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except TypeError:
        return str(value)


def _import_gx() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    # start-up: the point of this function is to import GX off the main thread.
    import great_expectations  # noqa: F401
    from great_expectations.expectations.row_conditions import Column  # noqa: F401


def import_gx_in_background() -> threading.Thread:
    """Start importing Great Expectations (about 2-3 s of CPU) on a daemon thread.

    Called when the dbt step starts: dbt then runs in its own process for 15 s or more while this
    one mostly waits on its output, so the import overlaps with dbt instead of opening the gate
    step. The gate's own `import` simply waits for it (the import lock), so nothing changes
    if the thread has not finished; loading the definitions still never imports GX.
    """
    thread = threading.Thread(target=_import_gx, name="import-great-expectations", daemon=True)
    thread.start()
    return thread


def open_context(root: Path | None = None) -> Any:
    """A GX file context under `root` (results stored, Data Docs buildable), else ephemeral."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    # start-up: GX takes seconds to import; loading the definitions never imports it.
    import great_expectations as gx

    if root is None:
        context = gx.get_context(mode="ephemeral")
    else:
        root.mkdir(parents=True, exist_ok=True)
        context = gx.get_context(mode="file", project_root_dir=str(root))
    context.variables.progress_bars = {"globally": False}
    return context


def _data_source(context: Any, target: GateTarget) -> Any:
    """A fresh SQL data source for `target` (a PostgreSQL build is a new schema every run, and a
    DuckDB build may move with its warehouse: the stored assets of an earlier run go)."""
    name = f"{target.kind}_build"
    with suppress(KeyError, ValueError, LookupError):
        context.data_sources.delete(name)
    if target.kind == "postgres":
        # A file context stores its data sources in great_expectations.yml: the server's URL (its
        # password, too) stays in this process's environment, and the file holds a reference
        # to it, which GX substitutes each time it connects.
        os.environ[GX_POSTGRES_URL_ENV] = target.url
        return context.data_sources.add_postgres(
            name, connection_string="${" + GX_POSTGRES_URL_ENV + "}"
        )
    return context.data_sources.add_sql(name, connection_string=target.url)


def _unexpected_count(result: Any) -> int | None:
    """Failing rows of one expectation: GX's count for a row-wise expectation, the number of rows
    the query returned for an unexpected-rows query over the table's rows."""
    details = result.result or {}
    if (result.expectation_config.meta or {}).get("row_level"):
        return int(details.get("observed_value") or 0)
    return details.get("unexpected_count")


def _sample_rows(result: Any) -> list[dict[str, Any]]:
    """The failing rows GX returned (at most MAX_FAILING_ROWS, or 200 for a query)."""
    details = result.result or {}
    if (result.expectation_config.meta or {}).get("row_level"):
        return list((details.get("details") or {}).get("unexpected_rows") or [])
    return list(details.get("unexpected_index_list") or [])


def _name(result: Any) -> str:
    config = result.expectation_config
    return str((config.meta or {}).get("name", config.type))


def _outcomes(validation: Any) -> list[ExpectationOutcome]:
    return [
        ExpectationOutcome(
            name=_name(result),
            expectation_type=result.expectation_config.type,
            column=result.expectation_config.kwargs.get("column"),
            success=bool(result.success),
            observed=_jsonable(_observed(result.result or {})),
            unexpected_count=_unexpected_count(result),
        )
        for result in validation.results
    ]


def _failing_rows(validation: Any, suite: Suite) -> tuple[pd.DataFrame, int]:
    """The first failing rows in table order, each with the expectations it fails, and how many
    rows fail. GX returns at most MAX_FAILING_ROWS sample rows per expectation; when one
    expectation fails more rows than that, the count is its unexpected count (the exact union
    of every expectation's failing rows would need them all)."""
    names: dict[int, list[str]] = {}
    values: dict[int, dict[str, Any]] = {}
    largest = 0
    for result in validation.results:
        if result.success:
            continue
        largest = max(largest, _unexpected_count(result) or 0)
        for row in _sample_rows(result):
            position = int(row[ROW_ID])
            values.setdefault(position, {c: row.get(c) for c in suite.row_columns})
            if _name(result) not in names.setdefault(position, []):
                names[position].append(_name(result))
    positions = sorted(values)[:MAX_FAILING_ROWS]
    frame = pd.DataFrame(
        [{"failed": "; ".join(names[p]), **values[p]} for p in positions],
        columns=["failed", *suite.row_columns],
    )
    return frame, max(largest, len(values))


def validate_suite(
    suite: Suite, target: GateTarget, ctx: GateContext, context: Any, source: Any, row_count: int
) -> SuiteResult:
    """One suite evaluated as SQL in the build's database through GX's SQL data source."""
    # start-up: GX takes seconds to import; loading the definitions never imports it.
    import great_expectations as gx

    asset = source.add_query_asset(name=suite.name, query=suite_query(target, suite))
    # Built whole: add_expectation looks up the suite's store on every call.
    expectation_suite = context.suites.add_or_update(
        gx.ExpectationSuite(
            name=suite.name,
            expectations=list(suite.build(ctx)),
            meta={"description": suite.description},
        )
    )
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(
            name=suite.name,
            data=asset.add_batch_definition_whole_table("whole_table"),
            suite=expectation_suite,
        )
    )
    validation = definition.run(
        result_format={
            # On SQL, GX caps every list of failing rows at partial_unexpected_count (200 for
            # a query), COMPLETE included: COMPLETE adds the rows of unexpected-rows queries.
            "result_format": "COMPLETE",
            "unexpected_index_column_names": [ROW_ID, *suite.row_columns],
            "partial_unexpected_count": MAX_FAILING_ROWS,
        }
    )
    outcomes = _outcomes(validation)
    failing, failing_count = _failing_rows(validation, suite)
    return SuiteResult(
        suite=suite.name,
        table=suite.table,
        success=all(o.success for o in outcomes),
        row_count=row_count,
        outcomes=outcomes,
        failing_rows=failing,
        failing_row_count=failing_count,
        extra={"evaluated": target.kind},
    )


def validate_target(
    target: GateTarget,
    suite_names: list[str],
    warehouse_dir: Path | None = None,
    build_docs: bool = True,
) -> dict[str, SuiteResult]:
    """Validate several suites with one GX context; Data Docs are built once at the end."""
    suites = [SUITES[name] for name in suite_names]
    ctx = gate_context(target)
    counts = row_counts(target, [s.table for s in suites])
    if warehouse_dir is not None and build_docs:
        # Data Docs show the latest run only: rendering grows with every stored result otherwise
        # (the Dagster UI keeps the history of every check).
        uncommitted = gx_root(warehouse_dir) / "gx" / "uncommitted"
        for folder in ("validations", "data_docs"):
            shutil.rmtree(uncommitted / folder, ignore_errors=True)
    context = open_context(gx_root(warehouse_dir) if warehouse_dir is not None else None)
    source = _data_source(context, target)
    try:
        results = {
            s.name: validate_suite(s, target, ctx, context, source, counts[s.table]) for s in suites
        }
    finally:
        # Pooled connections would keep the build database open in this process (DuckDB then
        # refuses a writer here) or leave idle sessions on the server.
        source.get_execution_engine().engine.dispose()
        source.get_engine().dispose()
    if warehouse_dir is not None and build_docs:
        context.build_data_docs()
        for result in results.values():
            result.docs_index = data_docs_index(warehouse_dir)
    return results


def validate_tables(
    build_db: Path,
    suite_names: list[str],
    warehouse_dir: Path | None = None,
    build_docs: bool = True,
) -> dict[str, SuiteResult]:
    """The suites on the tables of a DuckDB build database."""
    return validate_target(duckdb_target(build_db), suite_names, warehouse_dir, build_docs)


def validate_table(
    build_db: Path, suite_name: str, warehouse_dir: Path | None = None, build_docs: bool = True
) -> SuiteResult:
    """Validate one table of the build database against its suite (see `SUITES`)."""
    return validate_tables(build_db, [suite_name], warehouse_dir, build_docs)[suite_name]
