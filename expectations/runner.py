"""Run one suite against one table of the build database with GX Core 1.x.

The table is read through a read-only DuckDB connection that is closed before validation, so a
check never holds the build database. Results are stored in a file data context under the
warehouse folder and rendered as static Data Docs there.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from expectations.suites import SUITES, GateContext, Suite

MAX_FAILING_ROWS = 20


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


def gate_context(con: duckdb.DuckDBPyConnection) -> GateContext:
    rows = con.execute(
        "select kind, extract_id from main.dim_extract order by extract_id"
    ).fetchall()
    by_kind: dict[str, list[str]] = {}
    for kind, extract_id in rows:
        by_kind.setdefault(kind, []).append(extract_id)
    categories = con.execute(
        "select distinct root_cause_category from main.root_cause_categories order by 1"
    ).fetchall()
    return GateContext(extract_ids_by_kind=by_kind, seed_categories=tuple(c for (c,) in categories))


def load_table(build_db: Path, table: str) -> tuple[pd.DataFrame, GateContext]:
    con = duckdb.connect(str(build_db), read_only=True)
    try:
        frame = con.execute(f'select * from main."{table}"').df()
        ctx = gate_context(con)
    finally:
        con.close()
    return frame, ctx


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
    import great_expectations as gx

    if root is None:
        context = gx.get_context(mode="ephemeral")
    else:
        root.mkdir(parents=True, exist_ok=True)
        context = gx.get_context(mode="file", project_root_dir=str(root))
    context.variables.progress_bars = {"globally": False}
    return context


def _batch_definition(context: Any, table: str) -> Any:
    """The whole-dataframe batch of `table` in the context's pandas data source, created once
    (each add_or_update rewrites the context's config file)."""
    try:
        source = context.data_sources.get("build_database")
    except (KeyError, ValueError):
        source = context.data_sources.add_pandas("build_database")
    try:
        asset = source.get_asset(table)
    except LookupError:
        asset = source.add_dataframe_asset(table)
    try:
        return asset.get_batch_definition("whole_table")
    except KeyError:
        return asset.add_batch_definition_whole_dataframe("whole_table")


def _outcomes(validation: Any) -> tuple[list[ExpectationOutcome], dict[int, list[str]]]:
    """Each expectation's outcome, and the failed expectations' names per failing row."""
    outcomes: list[ExpectationOutcome] = []
    failing_index: dict[int, list[str]] = {}
    for result in validation.results:
        config = result.expectation_config
        name = (config.meta or {}).get("name", config.type)
        details = result.result or {}
        outcomes.append(
            ExpectationOutcome(
                name=name,
                expectation_type=config.type,
                column=config.kwargs.get("column"),
                success=bool(result.success),
                observed=_jsonable(_observed(details)),
                unexpected_count=details.get("unexpected_count"),
            )
        )
        if not result.success:
            for index in details.get("unexpected_index_list") or []:
                position = index if isinstance(index, int) else None
                if isinstance(index, dict):
                    position = index.get("index")
                if position is not None:
                    failing_index.setdefault(int(position), []).append(name)
    return outcomes, failing_index


def validate_frame(
    suite: Suite,
    frame: pd.DataFrame,
    ctx: GateContext,
    context: Any = None,
) -> SuiteResult:
    """Validate an in-memory table against its suite. With a file `context` the result is stored
    there (for Data Docs); without one an ephemeral context is used."""
    import great_expectations as gx

    context = context if context is not None else open_context(None)
    if suite.derive is not None:
        frame = suite.derive(frame)
    frame = frame.reset_index(drop=True)
    # Built whole: add_expectation looks up the suite's store on every call.
    expectation_suite = gx.ExpectationSuite(
        name=suite.name,
        expectations=list(suite.build(ctx)),
        meta={"description": suite.description},
    )
    expectation_suite = context.suites.add_or_update(expectation_suite)
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(
            name=suite.name, data=_batch_definition(context, suite.table), suite=expectation_suite
        )
    )
    validation = definition.run(
        batch_parameters={"dataframe": frame}, result_format={"result_format": "COMPLETE"}
    )
    outcomes, failing_index = _outcomes(validation)
    positions = sorted(failing_index)
    columns = [c for c in suite.row_columns if c in frame.columns]
    failing = frame.loc[positions[:MAX_FAILING_ROWS], columns].copy()
    failing.insert(0, "failed", ["; ".join(failing_index[p]) for p in positions[:MAX_FAILING_ROWS]])
    return SuiteResult(
        suite=suite.name,
        table=suite.table,
        success=all(o.success for o in outcomes),
        row_count=len(frame),
        outcomes=outcomes,
        failing_rows=failing.reset_index(drop=True),
        failing_row_count=len(positions),
    )


def load_tables(build_db: Path, tables: list[str]) -> tuple[dict[str, pd.DataFrame], GateContext]:
    """Read tables through one read-only connection, closed before returning."""
    con = duckdb.connect(str(build_db), read_only=True)
    try:
        frames = {t: con.execute(f'select * from main."{t}"').df() for t in tables}
        ctx = gate_context(con)
    finally:
        con.close()
    return frames, ctx


def validate_tables(
    build_db: Path,
    suite_names: list[str],
    warehouse_dir: Path | None = None,
    build_docs: bool = True,
) -> dict[str, SuiteResult]:
    """Validate several suites with one GX context; Data Docs are built once at the end."""
    suites = [SUITES[name] for name in suite_names]
    frames, ctx = load_tables(build_db, [s.table for s in suites])
    if warehouse_dir is not None and build_docs:
        # Data Docs show the latest run only: rendering grows with every stored result otherwise
        # (the Dagster UI keeps the history of every check).
        uncommitted = gx_root(warehouse_dir) / "gx" / "uncommitted"
        for folder in ("validations", "data_docs"):
            shutil.rmtree(uncommitted / folder, ignore_errors=True)
    context = open_context(gx_root(warehouse_dir) if warehouse_dir is not None else None)
    results = {s.name: validate_frame(s, frames[s.table], ctx, context) for s in suites}
    if warehouse_dir is not None and build_docs:
        context.build_data_docs()
        for result in results.values():
            result.docs_index = data_docs_index(warehouse_dir)
    return results


def validate_table(
    build_db: Path, suite_name: str, warehouse_dir: Path | None = None, build_docs: bool = True
) -> SuiteResult:
    """Validate one table of the build database against its suite (see `SUITES`)."""
    return validate_tables(build_db, [suite_name], warehouse_dir, build_docs)[suite_name]
