"""The gate's expectation suites, kept as code.

Each suite guards one table of the build database. The reconciliation arithmetic lives in dbt
(`recon_*` models compare each stated control total with the sum recomputed from the facts), so
the suites assert on simple columns. Rate formulas are recomputed here in pandas, independently
of the SQL that produced them, and checked within 1e-9.

Great Expectations is imported only inside `build()` functions: its import costs seconds and
nothing else in the pipeline needs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

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
    derive: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    blocking: bool = True
    order_by: tuple[str, ...] = field(default=())


def _named(expectation: Any, name: str) -> Any:
    expectation.meta = {"name": name}
    return expectation


def _rate_matches(
    frame: pd.DataFrame, rate: str, numerator: pd.Series, denominator: pd.Series
) -> pd.Series:
    """True where the rate equals numerator/denominator (within tolerance), and is NULL exactly
    when the denominator is 0."""
    actual = frame[rate].astype("float64")
    zero = denominator == 0
    expected = numerator.astype("float64") / denominator.where(~zero).astype("float64")
    close = (actual - expected).abs() <= RATE_TOLERANCE
    return (zero & actual.isna()) | (~zero & actual.notna() & close.fillna(False))


# ---------------------------------------------------------------------------------------------
# facts


def _facts_common(gx: Any, keys: list[str], count: str, kind_ids: list[str]) -> list[Any]:
    gxe = gx.expectations
    unique = (
        gxe.ExpectColumnValuesToBeUnique(column=keys[0])
        if len(keys) == 1
        else gxe.ExpectCompoundColumnsToBeUnique(column_list=keys)
    )
    out = [
        _named(unique, f"grain {' x '.join(keys)} is unique"),
        _named(
            gxe.ExpectColumnValuesToBeInTypeList(
                column=count, type_list=["int64", "Int64", "int32", "Int32"]
            ),
            f"{count} is an integer",
        ),
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
    import great_expectations as gx

    out = _facts_common(
        gx,
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
    import great_expectations as gx

    out = _facts_common(
        gx,
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
            gx.expectations.ExpectCompoundColumnsToBeUnique(
                column_list=["extract_id", "service_area_key", "cause_ordinal"],
                ignore_row_if="any_value_is_missing",
            ),
            "one row per stated cause of a service area",
        )
    )
    return out


# ---------------------------------------------------------------------------------------------
# reconciliation (arithmetic in dbt's recon_* models)


def _recon_levels(levels: dict[str, str]) -> Callable[[GateContext], list[Any]]:
    def build(ctx: GateContext) -> list[Any]:
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


def _derive_reconciliation(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(_difference_recomputed=frame["computed"] - frame["stated"])


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


def _derive_outcome_rates(frame: pd.DataFrame) -> pd.DataFrame:
    decided = frame["upheld"] + frame["partly_upheld"] + frame["not_upheld"]
    total = decided + frame["withdrawn"] + frame["rejected"]
    return frame.assign(
        _decided_recomputed=decided,
        _total_recomputed=total,
        _fault_found_rate_ok=_rate_matches(
            frame, "fault_found_rate", frame["upheld"] + frame["partly_upheld"], decided
        ),
        _uphold_rate_ok=_rate_matches(frame, "uphold_rate", frame["upheld"], decided),
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
    import great_expectations as gx

    gxe = gx.expectations
    return [
        *_outcome_mart_common(gx),
        _named(
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=["period", "council", "department", "root_cause", "issue_type"]
            ),
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
    import great_expectations as gx

    gxe = gx.expectations
    return [
        *_outcome_mart_common(gx),
        _named(
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["period", "council", "department"]),
            "grain period x council x department is unique",
        ),
        *_rate_expectations(gx, ["share_of_total"]),
        _named(
            gxe.ExpectColumnValuesToBeBetween(column="rank_by_total", min_value=1),
            "rank_by_total starts at 1",
        ),
    ]


def _derive_scorecard(frame: pd.DataFrame) -> pd.DataFrame:
    frame = _derive_outcome_rates(frame)
    grand = frame.groupby(["period", "council"])["total"].transform("sum")
    return frame.assign(
        _share_of_total_ok=_rate_matches(frame, "share_of_total", frame["total"], grand)
    )


def _build_service_uphold_rates(ctx: GateContext) -> list[Any]:
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
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=["period", "council", "department", "service_area"]
            ),
            "grain period x council x department x service area is unique",
        ),
        _named(
            gxe.ExpectColumnValuesToBeBetween(column="instances", min_value=0),
            "instances is non-negative",
        ),
        _named(gxe.ExpectColumnValuesToNotBeNull(column="council"), "council is not null"),
    ]


def _derive_service_uphold_rates(frame: pd.DataFrame) -> pd.DataFrame:
    numerator = frame["upheld_or_partly_upheld"]
    ok = _rate_matches(frame, "upheld_or_partly_rate", numerator, frame["instances"])
    # No stated upheld figure: the rate must be NULL too.
    ok = ok.where(numerator.notna(), frame["upheld_or_partly_rate"].isna())
    return frame.assign(_upheld_or_partly_rate_ok=ok)


def _build_service_root_causes(ctx: GateContext) -> list[Any]:
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


def _derive_service_root_causes(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(
        _share_of_service_ok=_rate_matches(
            frame, "share_of_service", frame["instances"], frame["service_instances"]
        )
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
            derive=_derive_reconciliation,
        ),
        Suite(
            name="mart_outcome_matrix",
            table="mart_outcome_matrix",
            description="Outcome matrix: rates within [0, 1] and equal to their formulas.",
            row_columns=("extract_id", "source_line", "department", "root_cause", "issue_type"),
            build=_build_outcome_matrix,
            derive=_derive_outcome_rates,
        ),
        Suite(
            name="mart_department_scorecard",
            table="mart_department_scorecard",
            description="Department scorecard: rates and shares equal to their formulas.",
            row_columns=("extract_id", "period", "council", "department"),
            build=_build_scorecard,
            derive=_derive_scorecard,
        ),
        Suite(
            name="mart_service_uphold_rates",
            table="mart_service_uphold_rates",
            description="Service uphold rates: coherent with instances, equal to the formula.",
            row_columns=("extract_id", "source_line", "department", "service_area"),
            build=_build_service_uphold_rates,
            derive=_derive_service_uphold_rates,
        ),
        Suite(
            name="mart_service_root_causes",
            table="mart_service_root_causes",
            description="Service root causes: known categories, shares equal to the formula.",
            row_columns=("extract_id", "source_line", "department", "service_area", "cause_label"),
            build=_build_service_root_causes,
            derive=_derive_service_root_causes,
        ),
    ]
}
