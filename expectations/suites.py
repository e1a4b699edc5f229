"""The gate's expectation suites, kept as code.

Each suite guards one table of the build database. The reconciliation arithmetic lives in dbt
(`recon_*` models compare each stated control total with the sum recomputed from the facts), so
the suites assert on simple columns. Rate formulas are recomputed here, in SQL columns the gate
adds to the table it validates (`Suite.derived`), independently of the dbt models that produced
them, and checked within 1e-9. The SQL is portable: the same suites run on DuckDB and PostgreSQL.

Great Expectations is imported only inside `build()` functions: its import costs seconds and
nothing else in the pipeline needs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ingest.vocabulary import (
    OUTCOME_NAMES,
    PASSING_STATUSES,
    RECON_STATUSES,
    TOTAL_MEASURE,
    UNCLASSIFIED_CATEGORY,
    levels_of,
)

RATE_TOLERANCE = 1e-9
# Failing rows of a reconciliation table: where the total is stated, and what it says.
RECON_ROW_COLUMNS = (
    "extract_id",
    "source_line",
    "level",
    "scope",
    "measure",
    "stated",
    "computed",
    "status",
)
OUTCOMES = OUTCOME_NAMES
RECON_STATUSES_PASSING = PASSING_STATUSES


@dataclass(frozen=True)
class GateContext:
    """Facts about the build the suites need: which extracts of which kind must have rows, and
    the canonical root-cause categories of the taxonomy seed dbt loaded."""

    extract_ids_by_kind: dict[str, list[str]]
    seed_categories: tuple[str, ...]
    # The schema holding the build's tables: `main` in DuckDB, the build schema on PostgreSQL.
    schema: str = "main"

    def known_root_cause_categories(self) -> list[str]:
        """The seed's categories plus the fallback for unmapped labels."""
        return sorted({*self.seed_categories, UNCLASSIFIED_CATEGORY})


@dataclass(frozen=True)
class Suite:
    name: str
    table: str
    description: str
    # Columns shown for failing rows: always the extract and the source line, then the grain.
    row_columns: tuple[str, ...]
    build: Callable[[GateContext], list[Any]]
    # Columns computed in SQL beside the table's own (name, portable SQL expression).
    derived: tuple[tuple[str, str], ...] = ()
    blocking: bool = True
    order_by: tuple[str, ...] = field(default=())


def _named(expectation: Any, name: str) -> Any:
    expectation.meta = {**(expectation.meta or {}), "name": name}
    return expectation


def _unique_together(columns: list[str], skip_any_missing: bool = False) -> Any:
    """The rows whose combination of `columns` occurs more than once, as an unexpected-rows query.

    GX's compound-columns uniqueness expectation evaluates on a SQL data source but returns no
    failing rows there (only the offending values); this query returns the rows themselves, with
    their extract and source line, on DuckDB and PostgreSQL alike. Rows are skipped as GX would:
    where every key is missing, or with `skip_any_missing` where any is.
    """
    # start-up: GX takes seconds to import; it loads when a suite is built, not with the module.
    import great_expectations as gx

    missing = " and ".join(f"{c} is null" for c in columns)
    present = (
        " and ".join(f"{c} is not null" for c in columns)
        if skip_any_missing
        else f"not ({missing})"
    )
    query = (
        f"select * from (select *, count(*) over (partition by {', '.join(columns)}) "
        "as _rows_with_key from {batch}) as keyed "
        f"where _rows_with_key > 1 and {present}"
    )
    return gx.expectations.UnexpectedRowsExpectation(
        unexpected_rows_query=query,
        description=f"{' x '.join(columns)} is unique",
        # The query returns rows of the table: the runner counts and shows them as failing rows.
        meta={"row_level": True},
    )


def _rate_matches(rate: str, numerator: str, denominator: str) -> str:
    """True where the rate equals numerator/denominator (within tolerance), and is NULL exactly
    when the denominator is 0; false where the denominator is missing."""
    return (
        f"case when ({denominator}) is null then false "
        f"when ({denominator}) = 0 then {rate} is null "
        f"else {rate} is not null and coalesce(abs(cast({rate} as double precision) "
        f"- cast({numerator} as double precision) / cast({denominator} as double precision)) "
        f"<= {RATE_TOLERANCE!r}, false) end"
    )


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _integer_column(ctx: GateContext, table: str, column: str) -> Any:
    """`column` is an integer column, from the catalogue. GX's type-list expectation finds no
    column types on the query asset a suite validates (it fails on every column): the same check
    as an unexpected-rows query, on both targets."""
    # start-up: GX takes seconds to import; it loads when a suite is built, not with the module.
    import great_expectations as gx

    # {batch} keeps the query tied to the batch (GX warns otherwise); the count never filters.
    query = (
        "select column_name, data_type from information_schema.columns "
        f"where table_schema = {_quoted(ctx.schema)} and table_name = {_quoted(table)} "
        f"and column_name = {_quoted(column)} "
        "and upper(data_type) not in ('BIGINT', 'INTEGER', 'INT8', 'INT4') "
        "and (select count(*) from {batch}) >= 0"
    )
    return gx.expectations.UnexpectedRowsExpectation(
        unexpected_rows_query=query, description=f"{column} is an integer column"
    )


# ---------------------------------------------------------------------------------------------
# facts


def _facts_common(
    gx: Any, ctx: GateContext, table: str, keys: list[str], count: str, kind_ids: list[str]
) -> list[Any]:
    gxe = gx.expectations
    unique = (
        gxe.ExpectColumnValuesToBeUnique(column=keys[0])
        if len(keys) == 1
        else _unique_together(keys)
    )
    out = [
        _named(unique, f"grain {' x '.join(keys)} is unique"),
        _named(_integer_column(ctx, table, count), f"{count} is an integer"),
        _named(
            gxe.ExpectColumnValuesToBeBetween(column=count, min_value=0),
            f"{count} is non-negative",
        ),
    ]
    for key in ("extract_id", "council", "period", "source_line", *keys):
        out.append(_named(gxe.ExpectColumnValuesToNotBeNull(column=key), f"key {key} is not null"))
    if kind_ids:
        # A warehouse may hold no extract of this layout; then an empty fact is right.
        out.append(_named(gxe.ExpectTableRowCountToBeBetween(min_value=1), "the fact has rows"))
        out.append(
            _named(
                gxe.ExpectColumnDistinctValuesToContainSet(column="extract_id", value_set=kind_ids),
                "at least one row per extract",
            )
        )
    return out


def _build_outcomes(ctx: GateContext) -> list[Any]:
    # start-up: GX takes seconds to import; it loads when a suite is built, not with the module.
    import great_expectations as gx

    out = _facts_common(
        gx,
        ctx,
        "fct_complaint_outcomes",
        ["extract_id", "row_ordinal", "outcome"],
        "outcome_count",
        ctx.extract_ids_by_kind.get("outcome_matrix", []),
    )
    out.append(
        _named(
            gx.expectations.ExpectColumnValuesToBeInSet(column="outcome", value_set=list(OUTCOMES)),
            "outcome names are known",
        )
    )
    for key in ("department", "root_cause", "issue_type"):
        out.append(
            _named(
                gx.expectations.ExpectColumnValuesToNotBeNull(column=key), f"key {key} is not null"
            )
        )
    return out


def _build_instances(ctx: GateContext) -> list[Any]:
    # start-up: GX takes seconds to import; it loads when a suite is built, not with the module.
    import great_expectations as gx

    out = _facts_common(
        gx,
        ctx,
        "fct_complaint_instances",
        ["instance_key"],
        "instances",
        ctx.extract_ids_by_kind.get("root_cause_summary", []),
    )
    for key in ("department", "service_area", "cause_label", "root_cause_category"):
        out.append(
            _named(
                gx.expectations.ExpectColumnValuesToNotBeNull(column=key), f"key {key} is not null"
            )
        )
    out.append(
        _named(
            _unique_together(
                ["extract_id", "service_area_key", "cause_ordinal"], skip_any_missing=True
            ),
            "one row per stated cause of a service area",
        )
    )
    return out


# ---------------------------------------------------------------------------------------------
# reconciliation (arithmetic in dbt's recon_* models)


def _recon_levels(levels: dict[str, str]) -> Callable[[GateContext], list[Any]]:
    def build(ctx: GateContext) -> list[Any]:
        # start-up: GX takes seconds to import; it loads when a suite is built, not with the module.
        import great_expectations as gx
        from great_expectations.expectations.row_conditions import Column

        gxe = gx.expectations
        out = [
            _named(
                gxe.ExpectColumnValuesToBeInSet(column="status", value_set=list(RECON_STATUSES)),
                "status is ok, waived or failed",
            ),
            _named(
                gxe.ExpectColumnValuesToBeInSet(column="level", value_set=list(levels)),
                "control-total levels are known",
            ),
        ]
        for level, name in levels.items():
            out.append(
                _named(
                    gxe.ExpectColumnValuesToBeInSet(
                        column="status",
                        value_set=list(RECON_STATUSES_PASSING),
                        row_condition=Column("level") == level,
                    ),
                    name,
                )
            )
        return out

    return build


def _build_reconciliation(ctx: GateContext) -> list[Any]:
    # start-up: GX takes seconds to import; it loads when a suite is built, not with the module.
    import great_expectations as gx

    gxe = gx.expectations
    return [
        _named(
            gxe.ExpectColumnValuesToBeInSet(column="status", value_set=list(RECON_STATUSES)),
            "status is ok, waived or failed",
        ),
        _named(
            gxe.ExpectColumnValuesToBeInSet(
                column="status", value_set=list(RECON_STATUSES_PASSING)
            ),
            "every stated control total holds or is exactly waived",
        ),
        _named(
            gxe.ExpectColumnPairValuesToBeEqual(
                column_A="_difference_recomputed", column_B="difference"
            ),
            "difference = computed - stated",
        ),
    ]


RECONCILIATION_DERIVED = (("_difference_recomputed", "computed - stated"),)


# ---------------------------------------------------------------------------------------------
# marts


def _rate_expectations(gx: Any, rates: list[str]) -> list[Any]:
    gxe = gx.expectations
    out = []
    for rate in rates:
        out.append(
            _named(
                gxe.ExpectColumnValuesToBeBetween(column=rate, min_value=0, max_value=1),
                f"{rate} within [0, 1]",
            )
        )
        out.append(
            _named(
                gxe.ExpectColumnValuesToBeInSet(column=f"_{rate}_ok", value_set=[True]),
                f"{rate} equals its formula (within 1e-9), NULL exactly when the denominator is 0",
            )
        )
    return out


_DECIDED = "upheld + partly_upheld + not_upheld"
OUTCOME_RATES_DERIVED = (
    ("_decided_recomputed", _DECIDED),
    ("_total_recomputed", f"{_DECIDED} + withdrawn + rejected"),
    ("_fault_found_rate_ok", _rate_matches("fault_found_rate", "upheld + partly_upheld", _DECIDED)),
    ("_uphold_rate_ok", _rate_matches("uphold_rate", "upheld", _DECIDED)),
)


def _outcome_mart_common(gx: Any) -> list[Any]:
    gxe = gx.expectations
    out = _rate_expectations(gx, ["fault_found_rate", "uphold_rate"])
    out.append(
        _named(
            gxe.ExpectColumnPairValuesToBeEqual(column_A="decided", column_B="_decided_recomputed"),
            "decided = upheld + partly_upheld + not_upheld",
        )
    )
    out.append(
        _named(
            gxe.ExpectColumnPairValuesToBeEqual(column_A="total", column_B="_total_recomputed"),
            "total = the five outcomes",
        )
    )
    for column in (*OUTCOMES, TOTAL_MEASURE, "decided"):
        out.append(
            _named(
                gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0),
                f"{column} is non-negative",
            )
        )
    out.append(_named(gxe.ExpectColumnValuesToNotBeNull(column="council"), "council is not null"))
    return out


def _build_outcome_matrix(ctx: GateContext) -> list[Any]:
    # start-up: GX takes seconds to import; it loads when a suite is built, not with the module.
    import great_expectations as gx

    gxe = gx.expectations
    return [
        *_outcome_mart_common(gx),
        _named(
            _unique_together(["period", "council", "department", "root_cause", "issue_type"]),
            "grain period x council x department x root cause x issue type is unique",
        ),
        _named(
            gxe.ExpectColumnValuesToBeInSet(
                column="root_cause_category", value_set=ctx.known_root_cause_categories()
            ),
            "root-cause categories are known",
        ),
    ]


def _build_scorecard(ctx: GateContext) -> list[Any]:
    # start-up: GX takes seconds to import; it loads when a suite is built, not with the module.
    import great_expectations as gx

    gxe = gx.expectations
    return [
        *_outcome_mart_common(gx),
        _named(
            _unique_together(["period", "council", "department"]),
            "grain period x council x department is unique",
        ),
        *_rate_expectations(gx, ["share_of_total"]),
        _named(
            gxe.ExpectColumnValuesToBeBetween(column="rank_by_total", min_value=1),
            "rank_by_total starts at 1",
        ),
    ]


SCORECARD_DERIVED = (
    *OUTCOME_RATES_DERIVED,
    (
        "_share_of_total_ok",
        _rate_matches("share_of_total", "total", "sum(total) over (partition by period, council)"),
    ),
)


def _build_service_uphold_rates(ctx: GateContext) -> list[Any]:
    # start-up: GX takes seconds to import; it loads when a suite is built, not with the module.
    import great_expectations as gx

    gxe = gx.expectations
    return [
        *_rate_expectations(gx, ["upheld_or_partly_rate"]),
        _named(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="instances",
                column_B="upheld_or_partly_upheld",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
            ),
            "upheld or partly upheld never above instances",
        ),
        _named(
            # A section whose department is unresolved is a department of its own.
            _unique_together(
                [
                    "period",
                    "council",
                    "department",
                    "directorate",
                    "unresolved_section",
                    "service_area",
                ]
            ),
            "grain period x council x department x service area is unique",
        ),
        _named(
            gxe.ExpectColumnValuesToBeBetween(column="instances", min_value=0),
            "instances is non-negative",
        ),
        _named(gxe.ExpectColumnValuesToNotBeNull(column="council"), "council is not null"),
    ]


SERVICE_UPHOLD_RATES_DERIVED = (
    (
        "_upheld_or_partly_rate_ok",
        # No stated upheld figure: the rate must be NULL too.
        "case when upheld_or_partly_upheld is null then upheld_or_partly_rate is null else "
        + _rate_matches("upheld_or_partly_rate", "upheld_or_partly_upheld", "instances")
        + " end",
    ),
)


def _build_service_root_causes(ctx: GateContext) -> list[Any]:
    # start-up: GX takes seconds to import; it loads when a suite is built, not with the module.
    import great_expectations as gx

    gxe = gx.expectations
    return [
        *_rate_expectations(gx, ["share_of_service"]),
        _named(
            gxe.ExpectColumnValuesToBeInSet(
                column="root_cause_category", value_set=ctx.known_root_cause_categories()
            ),
            "root-cause categories are known",
        ),
        _named(
            gxe.ExpectColumnValuesToBeBetween(column="instances", min_value=0),
            "instances is non-negative",
        ),
        _named(gxe.ExpectColumnValuesToNotBeNull(column="council"), "council is not null"),
    ]


SERVICE_ROOT_CAUSES_DERIVED = (
    (
        "_share_of_service_ok",
        _rate_matches("share_of_service", "instances", "service_instances"),
    ),
)


def _per_resident_matches(rate: str, count: str) -> str:
    """True where the rate equals count * 10000 / residents (within tolerance), and is NULL
    exactly when residents is missing (no context row) or 0."""
    return (
        f"case when residents is null or residents = 0 then {rate} is null "
        f"else {rate} is not null and coalesce(abs(cast({rate} as double precision) "
        f"- cast({count} as double precision) * 10000 / cast(residents as double precision)) "
        f"<= {RATE_TOLERANCE!r}, false) end"
    )


PER_RESIDENT_RATES = {
    "complaints_per_10k_residents": "complaints",
    "fault_found_per_10k_residents": "fault_found",
}


def _build_council_comparison(ctx: GateContext) -> list[Any]:
    # start-up: GX takes seconds to import; it loads when a suite is built, not with the module.
    import great_expectations as gx

    gxe = gx.expectations
    out = [
        *_rate_expectations(gx, ["fault_found_rate"]),
        _named(_unique_together(["council", "period"]), "grain council x period is unique"),
        _named(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="decided", column_B="fault_found", or_equal=True
            ),
            "fault found never above decided",
        ),
        _named(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="complaints", column_B="decided", or_equal=True
            ),
            "decided never above complaints",
        ),
        _named(
            gxe.ExpectColumnValuesToBeBetween(column="residents", min_value=1),
            "residents is positive where given",
        ),
    ]
    for column in ("council", "period", "complaints", "decided", "fault_found"):
        out.append(
            _named(gxe.ExpectColumnValuesToNotBeNull(column=column), f"{column} is not null")
        )
    for column in ("complaints", "decided", "fault_found"):
        out.append(
            _named(
                _integer_column(ctx, "mart_council_comparison", column), f"{column} is an integer"
            )
        )
        out.append(
            _named(
                gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0),
                f"{column} is non-negative",
            )
        )
    for rate, count in PER_RESIDENT_RATES.items():
        out.append(
            _named(
                gxe.ExpectColumnValuesToBeBetween(column=rate, min_value=0),
                f"{rate} is non-negative",
            )
        )
        out.append(
            _named(
                gxe.ExpectColumnValuesToBeInSet(column=f"_{rate}_ok", value_set=[True]),
                f"{rate} equals {count} * 10000 / residents (within 1e-9), NULL exactly "
                "without residents",
            )
        )
    return out


COUNCIL_COMPARISON_DERIVED = (
    ("_fault_found_rate_ok", _rate_matches("fault_found_rate", "fault_found", "decided")),
    *(
        (f"_{rate}_ok", _per_resident_matches(rate, count))
        for rate, count in PER_RESIDENT_RATES.items()
    ),
)


SUITES: dict[str, Suite] = {
    suite.name: suite
    for suite in [
        Suite(
            name="fct_complaint_outcomes",
            table="fct_complaint_outcomes",
            description="Outcome fact: grain, keys, non-negative integer counts, one row per extract.",
            row_columns=("extract_id", "source_line", "department", "root_cause", "issue_type"),
            build=_build_outcomes,
        ),
        Suite(
            name="fct_complaint_instances",
            table="fct_complaint_instances",
            description="Instance fact: grain, keys, non-negative integer counts, one row per extract.",
            row_columns=("extract_id", "source_line", "department", "service_area", "cause_label"),
            build=_build_instances,
        ),
        Suite(
            name="recon_outcome_totals",
            table="recon_outcome_totals",
            description=(
                "Appendix 1 arithmetic: issue-type rows sum to each stated root-cause subtotal, "
                "root causes to each department, departments to the stated grand total."
            ),
            row_columns=RECON_ROW_COLUMNS,
            build=_recon_levels(levels_of("outcome_matrix", recomputed_in_dbt=True)),
        ),
        Suite(
            name="recon_instance_totals",
            table="recon_instance_totals",
            description=(
                "Appendix C arithmetic: causes sum to each service area's stated instances, service "
                "areas to each heading's stated total, upheld or partly upheld never above instances."
            ),
            row_columns=RECON_ROW_COLUMNS,
            build=_recon_levels(levels_of("root_cause_summary", recomputed_in_dbt=True)),
        ),
        Suite(
            name="mart_reconciliation",
            table="mart_reconciliation",
            description="Every control total the parser read holds or is exactly waived.",
            row_columns=(*RECON_ROW_COLUMNS, "explanation"),
            build=_build_reconciliation,
            derived=RECONCILIATION_DERIVED,
        ),
        Suite(
            name="mart_outcome_matrix",
            table="mart_outcome_matrix",
            description="Outcome matrix: rates within [0, 1] and equal to their formulas.",
            row_columns=("extract_id", "source_line", "department", "root_cause", "issue_type"),
            build=_build_outcome_matrix,
            derived=OUTCOME_RATES_DERIVED,
        ),
        Suite(
            name="mart_department_scorecard",
            table="mart_department_scorecard",
            description="Department scorecard: rates and shares equal to their formulas.",
            row_columns=("extract_id", "period", "council", "department"),
            build=_build_scorecard,
            derived=SCORECARD_DERIVED,
        ),
        Suite(
            name="mart_service_uphold_rates",
            table="mart_service_uphold_rates",
            description="Service uphold rates: coherent with instances, equal to the formula.",
            row_columns=("extract_id", "source_line", "department", "service_area"),
            build=_build_service_uphold_rates,
            derived=SERVICE_UPHOLD_RATES_DERIVED,
        ),
        Suite(
            name="mart_service_root_causes",
            table="mart_service_root_causes",
            description="Service root causes: known categories, shares equal to the formula.",
            row_columns=("extract_id", "source_line", "department", "service_area", "cause_label"),
            build=_build_service_root_causes,
            derived=SERVICE_ROOT_CAUSES_DERIVED,
        ),
        Suite(
            name="mart_council_comparison",
            table="mart_council_comparison",
            description=(
                "Councils compared: fault-found rate and both per-10,000-residents rates equal to "
                "their formulas, NULL exactly where their denominator is missing or 0."
            ),
            row_columns=("council", "period", "complaints", "fault_found", "residents"),
            build=_build_council_comparison,
            derived=COUNCIL_COMPARISON_DERIVED,
        ),
    ]
}
