"""Every gate suite passes on the real build database, and each kind of expectation fails when the
data is wrong, naming the failed expectation and the failing row's extract and source line.

The passing run goes through `validate_table` against the published warehouse (so Data Docs are
built); the failing runs tamper with an in-memory copy of one table (`load_table`, change,
`validate_frame` with an ephemeral GX context) and never touch the build database.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from expectations.runner import (
    MAX_FAILING_ROWS,
    SuiteResult,
    data_docs_index,
    load_table,
    validate_frame,
    validate_table,
)
from expectations.suites import SUITES, GateContext

APPENDIX_1 = "brent_2022_23_outcome_matrix"
APPENDIX_C = "brent_2019_20_root_causes"
MISSING_EXTRACT = "brent_2023_24_outcome_matrix"
REPAIRS_SCOPE = "Community Wellbeing Department - Housing Directorate / Repairs"

# Rows of each table of the build database built from the two bundled extracts.
ROW_COUNTS = {
    "fct_complaint_outcomes": 2275,
    "fct_complaint_instances": 232,
    "recon_outcome_totals": 330,
    "recon_instance_totals": 131,
    "mart_reconciliation": 462,
    "mart_outcome_matrix": 455,
    "mart_department_scorecard": 15,
    "mart_service_uphold_rates": 75,
    "mart_service_root_causes": 232,
}


def formula(rate: str) -> str:
    return f"{rate} equals its formula (within 1e-9), NULL exactly when the denominator is 0"


@pytest.fixture(scope="module")
def warehouse(published_warehouse) -> Path:  # type: ignore[no-untyped-def]
    return published_warehouse[1]


@pytest.fixture(scope="module")
def build_db(warehouse: Path) -> Path:
    return warehouse / "build.duckdb"


def only(frame: pd.DataFrame, mask: pd.Series) -> int:
    """The index of the single row matching `mask` (fails unless exactly one row matches)."""
    matches = frame.index[mask]
    assert len(matches) == 1, f"{len(matches)} rows match"
    return int(matches[0])


def tamper(
    build_db: Path,
    suite_name: str,
    change: Callable[[pd.DataFrame], pd.DataFrame | None],
    ctx_change: Callable[[GateContext], GateContext] | None = None,
) -> SuiteResult:
    """Load the suite's table, change the frame (in place, or return a new one), validate it in
    memory."""
    suite = SUITES[suite_name]
    frame, ctx = load_table(build_db, suite.table)
    assert len(frame) == ROW_COUNTS[suite_name]
    changed = change(frame)
    if changed is not None:
        frame = changed
    if ctx_change is not None:
        ctx = ctx_change(ctx)
    return validate_frame(suite, frame, ctx)


def failed_names(result: SuiteResult) -> list[str]:
    return sorted(o.name for o in result.failed)


def failing(result: SuiteResult, *columns: str) -> list[list[object]]:
    """The failing rows' `columns`, sorted by them; "failed" as the sorted list of names (the
    report keeps the table's row order, which the build database does not fix)."""
    keys = [c for c in columns if c != "failed"]
    rows = result.failing_rows.sort_values(keys, kind="stable")[list(columns)]
    return [
        [
            sorted(value.split("; ")) if column == "failed" else value
            for column, value in zip(columns, row, strict=True)
        ]
        for row in rows.values.tolist()
    ]


# ---------------------------------------------------------------------------------------------
# the real build passes


def test_every_table_has_a_suite() -> None:
    assert sorted(SUITES) == sorted(ROW_COUNTS)
    assert all(suite.table == name for name, suite in SUITES.items())


@pytest.mark.parametrize("suite_name", list(SUITES))
def test_suite_passes_on_the_real_build(build_db: Path, warehouse: Path, suite_name: str) -> None:
    result = validate_table(build_db, suite_name, warehouse)
    assert result.success, result.summary() + "\n" + result.failing_rows_markdown()
    assert result.failed == []
    assert result.row_count == ROW_COUNTS[suite_name]
    assert result.failing_row_count == 0 and result.failing_rows.empty
    assert result.failing_rows_markdown() == "_no failing rows_"
    assert result.summary() == (
        f"{suite_name}: all {len(result.outcomes)} expectations passed "
        f"({ROW_COUNTS[suite_name]} rows)"
    )
    assert result.docs_index == data_docs_index(warehouse)
    assert result.docs_index.is_file()
    assert suite_name in result.docs_index.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# rates (mart_outcome_matrix)


@pytest.mark.parametrize(("delta", "fails"), [(1e-6, True), (1e-10, False)])
def test_rate_off_by_a_millionth_fails(build_db: Path, delta: float, fails: bool) -> None:
    def change(frame: pd.DataFrame) -> None:
        row = only(frame, frame["source_line"] == 175)
        assert frame.loc[row, "fault_found_rate"] == 0.0 and frame.loc[row, "decided"] == 1
        frame.loc[row, "fault_found_rate"] += delta

    result = tamper(build_db, "mart_outcome_matrix", change)
    if not fails:  # within the 1e-9 tolerance
        assert result.success, result.summary()
        return
    assert failed_names(result) == [formula("fault_found_rate")]
    assert failing(result, "failed", "extract_id", "source_line", "issue_type") == [
        [[formula("fault_found_rate")], APPENDIX_1, 175, "Highways & Infrastructure - Other"]
    ]
    markdown = result.failing_rows_markdown()
    assert markdown.splitlines()[0] == (
        "| failed | extract_id | source_line | department | root_cause | issue_type |"
    )
    assert f"| {APPENDIX_1} | 175 | Environment and Leisure | Communication |" in markdown
    assert result.summary() == (
        f"mart_outcome_matrix: 1 of {len(result.outcomes)} expectations failed: "
        f"{formula('fault_found_rate')} (1 rows)"
    )


@pytest.mark.parametrize("rate", ["fault_found_rate", "uphold_rate"])
def test_zero_rate_where_nothing_was_decided_fails(build_db: Path, rate: str) -> None:
    """A real row with decided = 0 (line 87: one withdrawn complaint): its rates must be NULL."""

    def change(frame: pd.DataFrame) -> None:
        undecided = frame[frame["decided"] == 0]
        assert len(undecided) == 28
        row = int(undecided["source_line"].idxmin())
        assert frame.loc[row, "source_line"] == 87
        assert pd.isna(frame.loc[row, rate])
        frame.loc[row, rate] = 0.0

    result = tamper(build_db, "mart_outcome_matrix", change)
    assert failed_names(result) == [formula(rate)]
    assert failing(result, "extract_id", "source_line", "issue_type") == [
        [APPENDIX_1, 87, "Contact Centre Call Waiting Times"]
    ]


def test_zero_rate_on_a_constructed_empty_row_fails(build_db: Path) -> None:
    """The same failure on a row made empty: every count 0, uphold_rate NULL, fault_found_rate 0."""

    def change(frame: pd.DataFrame) -> None:
        row = only(frame, frame["source_line"] == 175)
        counts = ["withdrawn", "not_upheld", "partly_upheld", "rejected", "upheld", "total"]
        frame.loc[row, [*counts, "decided"]] = 0
        frame.loc[row, "uphold_rate"] = float("nan")
        frame.loc[row, "fault_found_rate"] = 0.0

    result = tamper(build_db, "mart_outcome_matrix", change)
    assert failed_names(result) == [formula("fault_found_rate")]
    assert failing(result, "extract_id", "source_line") == [[APPENDIX_1, 175]]


def test_rate_above_one_and_wrong_decided_fail(build_db: Path) -> None:
    def change(frame: pd.DataFrame) -> None:
        row = only(frame, frame["source_line"] == 175)
        frame.loc[row, "uphold_rate"] = 1.5
        other = only(frame, frame["source_line"] == 87)
        frame.loc[other, "decided"] = 1

    result = tamper(build_db, "mart_outcome_matrix", change)
    assert failed_names(result) == [
        "decided = upheld + partly_upheld + not_upheld",
        formula("uphold_rate"),
        "uphold_rate within [0, 1]",
    ]
    assert failing(result, "failed", "source_line") == [
        [["decided = upheld + partly_upheld + not_upheld"], 87],
        [[formula("uphold_rate"), "uphold_rate within [0, 1]"], 175],
    ]


# ---------------------------------------------------------------------------------------------
# facts


def test_negative_count_fails(build_db: Path) -> None:
    def change(frame: pd.DataFrame) -> None:
        row = only(frame, (frame["source_line"] == 175) & (frame["outcome"] == "not_upheld"))
        assert frame.loc[row, "outcome_count"] == 1
        frame.loc[row, "outcome_count"] = -1

    result = tamper(build_db, "fct_complaint_outcomes", change)
    assert failed_names(result) == ["outcome_count is non-negative"]
    assert failing(result, "failed", "extract_id", "source_line", "issue_type") == [
        [["outcome_count is non-negative"], APPENDIX_1, 175, "Highways & Infrastructure - Other"]
    ]
    assert f"| outcome_count is non-negative | {APPENDIX_1} | 175 |" in (
        result.failing_rows_markdown()
    )


def test_non_integer_count_fails(build_db: Path) -> None:
    def change(frame: pd.DataFrame) -> None:
        frame["outcome_count"] = frame["outcome_count"].astype("float64")

    result = tamper(build_db, "fct_complaint_outcomes", change)
    assert failed_names(result) == ["outcome_count is an integer"]
    # A column-type expectation has no failing rows to show.
    assert result.failing_row_count == 0


def test_null_key_and_unknown_outcome_fail(build_db: Path) -> None:
    def change(frame: pd.DataFrame) -> None:
        row = only(frame, (frame["source_line"] == 175) & (frame["outcome"] == "withdrawn"))
        frame.loc[row, "outcome"] = "dismissed"
        other = only(frame, (frame["source_line"] == 87) & (frame["outcome"] == "upheld"))
        frame.loc[other, "department"] = None

    result = tamper(build_db, "fct_complaint_outcomes", change)
    assert failed_names(result) == ["key department is not null", "outcome names are known"]
    assert failing(result, "failed", "extract_id", "source_line") == [
        [["key department is not null"], APPENDIX_1, 87],
        [["outcome names are known"], APPENDIX_1, 175],
    ]


def test_duplicate_grain_row_fails(build_db: Path) -> None:
    def change(frame: pd.DataFrame) -> None:
        row = only(
            frame,
            (frame["service_area"] == "Repairs") & (frame["cause_label"] == "Service Delayed"),
        )
        frame.loc[len(frame)] = frame.loc[row]

    result = tamper(build_db, "fct_complaint_instances", change)
    names = ["grain instance_key is unique", "one row per stated cause of a service area"]
    assert failed_names(result) == names
    assert result.failing_row_count == 2
    assert (
        failing(result, "failed", "extract_id", "source_line", "service_area", "cause_label")
        == [[names, APPENDIX_C, 10, "Repairs", "Service Delayed"]] * 2
    )


def add_extract(ctx: GateContext) -> GateContext:
    """The context of a build whose dim_extract lists a 2023/24 matrix with no fact rows."""
    assert ctx.extract_ids_by_kind == {
        "outcome_matrix": [APPENDIX_1],
        "root_cause_summary": [APPENDIX_C],
    }
    ids = ctx.extract_ids_by_kind["outcome_matrix"]
    return dataclasses.replace(
        ctx,
        extract_ids_by_kind={**ctx.extract_ids_by_kind, "outcome_matrix": [*ids, MISSING_EXTRACT]},
    )


def test_missing_extract_fails(build_db: Path) -> None:
    result = tamper(build_db, "fct_complaint_outcomes", lambda frame: None, add_extract)
    assert failed_names(result) == ["at least one row per extract"]
    (outcome,) = result.failed
    assert (outcome.expectation_type, outcome.column) == (
        "expect_column_distinct_values_to_contain_set",
        "extract_id",
    )
    # A missing extract has no row to show.
    assert result.failing_row_count == 0 and result.failing_rows.empty


def test_missing_extract_is_named_in_the_result(build_db: Path) -> None:
    result = tamper(build_db, "fct_complaint_outcomes", lambda frame: None, add_extract)
    (outcome,) = result.failed
    assert MISSING_EXTRACT in f"{outcome.observed} {result.summary()}"


def test_empty_fact_fails(build_db: Path) -> None:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.iloc[0:0]

    result = tamper(build_db, "fct_complaint_instances", change)
    assert failed_names(result) == ["at least one row per extract", "the fact has rows"]
    assert result.row_count == 0


# ---------------------------------------------------------------------------------------------
# reconciliation


@pytest.mark.parametrize(
    ("level", "scope", "measure", "line", "stated", "name"),
    [
        (
            "grand_total",
            "Grand Total",
            "total",
            539,
            1929,
            "departments sum to the stated grand total",
        ),
        (
            "department",
            "Adult Social Care",
            "total",
            5,
            157,
            "root causes sum to each stated department subtotal",
        ),
        (
            "root_cause",
            "Adult Social Care / Communication",
            "partly_upheld",
            6,
            36,
            "issue-type rows sum to each stated root-cause subtotal",
        ),
    ],
)
def test_failed_outcome_control_total_is_named(
    build_db: Path, level: str, scope: str, measure: str, line: int, stated: int, name: str
) -> None:
    def change(frame: pd.DataFrame) -> None:
        row = only(
            frame,
            (frame["level"] == level) & (frame["scope"] == scope) & (frame["measure"] == measure),
        )
        frame.loc[row, "status"] = "failed"

    result = tamper(build_db, "recon_outcome_totals", change)
    assert failed_names(result) == [name]
    rows = failing(result, "failed", "extract_id", "source_line", "scope", "stated", "status")
    assert [r[:5] for r in rows] == [[[name], APPENDIX_1, line, scope, stated]]
    assert rows[0][5] == "failed"
    assert f"| {APPENDIX_1} | {line} | {level} | {scope} | {measure} | {stated} |" in (
        result.failing_rows_markdown()
    )


def test_unknown_status_and_level_fail(build_db: Path) -> None:
    def change(frame: pd.DataFrame) -> None:
        grand = (frame["level"] == "grand_total") & (frame["measure"] == "withdrawn")
        frame.loc[only(frame, grand), "status"] = "skipped"
        root = (frame["level"] == "root_cause") & (frame["source_line"] == 6)
        frame.loc[only(frame, root & (frame["measure"] == "upheld")), "level"] = "sub_total"

    result = tamper(build_db, "recon_outcome_totals", change)
    assert failed_names(result) == [
        "control-total levels are known",
        "departments sum to the stated grand total",
        "status is ok, waived or failed",
    ]
    assert failing(result, "extract_id", "source_line", "measure") == [
        [APPENDIX_1, 6, "upheld"],
        [APPENDIX_1, 539, "withdrawn"],
    ]


@pytest.mark.parametrize(
    ("level", "measure", "stated", "name"),
    [
        ("service_area", "instances", 200, "causes sum to each service area's stated instances"),
        (
            "service_area_upheld",
            "upheld_or_partly_upheld_within_instances",
            139,
            "upheld or partly upheld never above instances",
        ),
    ],
)
def test_failed_instance_control_total_is_named(
    build_db: Path, level: str, measure: str, stated: int, name: str
) -> None:
    def change(frame: pd.DataFrame) -> None:
        row = only(frame, (frame["level"] == level) & (frame["scope"] == REPAIRS_SCOPE))
        frame.loc[row, "status"] = "failed"

    result = tamper(build_db, "recon_instance_totals", change)
    assert failed_names(result) == [name]
    assert failing(
        result, "failed", "extract_id", "source_line", "level", "scope", "measure", "stated"
    ) == [[[name], APPENDIX_C, 10, level, REPAIRS_SCOPE, measure, stated]]


def test_failed_heading_total_is_named(build_db: Path) -> None:
    def fail_heading(frame: pd.DataFrame) -> None:
        row = only(frame, (frame["level"] == "heading") & (frame["source_line"] == 7))
        frame.loc[row, "status"] = "failed"

    result = tamper(build_db, "recon_instance_totals", fail_heading)
    assert failed_names(result) == ["service areas sum to each heading's stated total"]
    assert failing(result, "extract_id", "source_line", "stated") == [[APPENDIX_C, 7, 780]]


def test_failed_control_total_in_reconciliation_mart(build_db: Path) -> None:
    def change(frame: pd.DataFrame) -> None:
        grand = (frame["level"] == "grand_total") & (frame["measure"] == "total")
        frame.loc[only(frame, grand), "status"] = "failed"

    result = tamper(build_db, "mart_reconciliation", change)
    assert failed_names(result) == ["every stated control total holds or is exactly waived"]
    assert failing(result, "extract_id", "source_line", "scope", "stated", "computed") == [
        [APPENDIX_1, 539, "Grand Total", 1929, 1945]
    ]


def test_wrong_difference_and_unknown_status_in_reconciliation_mart(build_db: Path) -> None:
    def change(frame: pd.DataFrame) -> None:
        heading = (frame["level"] == "heading") & (frame["source_line"] == 7)
        frame.loc[only(frame, heading), "difference"] = 1
        grand = (frame["level"] == "grand_total") & (frame["measure"] == "rejected")
        frame.loc[only(frame, grand), "status"] = "unknown"

    result = tamper(build_db, "mart_reconciliation", change)
    assert failed_names(result) == [
        "difference = computed - stated",
        "every stated control total holds or is exactly waived",
        "status is ok, waived or failed",
    ]
    assert failing(result, "failed", "extract_id", "source_line", "measure") == [
        [["difference = computed - stated"], APPENDIX_C, 7, "instances"],
        [
            [
                "every stated control total holds or is exactly waived",
                "status is ok, waived or failed",
            ],
            APPENDIX_1,
            539,
            "rejected",
        ],
    ]


# ---------------------------------------------------------------------------------------------
# marts


def test_upheld_above_instances_fails(build_db: Path) -> None:
    def change(frame: pd.DataFrame) -> None:
        row = only(frame, frame["service_area"] == "Repairs")
        assert frame.loc[row, "instances"] == 200
        frame.loc[row, "upheld_or_partly_upheld"] = 201
        frame.loc[row, "upheld_or_partly_rate"] = 201 / 200  # the formula still holds

    result = tamper(build_db, "mart_service_uphold_rates", change)
    assert failed_names(result) == [
        "upheld or partly upheld never above instances",
        "upheld_or_partly_rate within [0, 1]",
    ]
    assert failing(result, "extract_id", "source_line", "service_area") == [
        [APPENDIX_C, 10, "Repairs"]
    ]


def test_uphold_rate_without_a_stated_figure_fails(build_db: Path) -> None:
    def change(frame: pd.DataFrame) -> None:
        row = only(frame, frame["upheld_or_partly_upheld"].isna())
        assert pd.isna(frame.loc[row, "upheld_or_partly_rate"])
        frame.loc[row, "upheld_or_partly_rate"] = 0.0

    result = tamper(build_db, "mart_service_uphold_rates", change)
    assert failed_names(result) == [formula("upheld_or_partly_rate")]
    assert result.failing_row_count == 1
    assert result.failing_rows["extract_id"].tolist() == [APPENDIX_C]


def test_unknown_root_cause_category_fails(build_db: Path) -> None:
    def change(frame: pd.DataFrame) -> None:
        row = only(
            frame,
            (frame["service_area"] == "Repairs") & (frame["cause_label"] == "Service Delayed"),
        )
        assert frame.loc[row, "root_cause_category"] == "Delay"
        frame.loc[row, "root_cause_category"] = "Delays"

    result = tamper(build_db, "mart_service_root_causes", change)
    assert failed_names(result) == ["root-cause categories are known"]
    assert failing(result, "extract_id", "source_line", "service_area", "cause_label") == [
        [APPENDIX_C, 10, "Repairs", "Service Delayed"]
    ]


def test_share_of_service_off_fails(build_db: Path) -> None:
    def change(frame: pd.DataFrame) -> None:
        row = only(
            frame,
            (frame["service_area"] == "Repairs") & (frame["cause_label"] == "Service Delayed"),
        )
        assert frame.loc[row, "share_of_service"] == pytest.approx(71 / 200, abs=1e-12)
        frame.loc[row, "share_of_service"] = 0.36

    result = tamper(build_db, "mart_service_root_causes", change)
    assert failed_names(result) == [formula("share_of_service")]
    assert failing(result, "extract_id", "source_line", "cause_label") == [
        [APPENDIX_C, 10, "Service Delayed"]
    ]


def test_share_of_total_off_fails(build_db: Path) -> None:
    def change(frame: pd.DataFrame) -> None:
        row = only(frame, frame["department"] == "Adult Social Care")
        assert frame.loc[row, "share_of_total"] == pytest.approx(157 / 1945, abs=1e-12)
        frame.loc[row, "share_of_total"] = 157 / 1929  # the stated, not the computed, grand total

    result = tamper(build_db, "mart_department_scorecard", change)
    assert failed_names(result) == [formula("share_of_total")]
    assert failing(result, "failed", "extract_id", "period", "council", "department") == [
        [[formula("share_of_total")], APPENDIX_1, "2022/23", "Brent", "Adult Social Care"]
    ]


def test_scorecard_rank_and_total_fail(build_db: Path) -> None:
    def change(frame: pd.DataFrame) -> None:
        frame.loc[only(frame, frame["department"] == "HR"), "rank_by_total"] = 0
        frame.loc[only(frame, frame["department"] == "Legal"), "total"] = 5

    result = tamper(build_db, "mart_department_scorecard", change)
    # Legal's total feeds every share of 2022/23, so every share is off too.
    assert failed_names(result) == [
        "rank_by_total starts at 1",
        formula("share_of_total"),
        "total = the five outcomes",
    ]
    assert result.failing_row_count == 15


# ---------------------------------------------------------------------------------------------
# the report


def test_failing_rows_are_capped_at_twenty(build_db: Path) -> None:
    expected: list[list[object]] = []

    def change(frame: pd.DataFrame) -> None:
        frame.loc[frame.index[:30], "outcome_count"] = -5
        expected.extend(frame.loc[frame.index[:20], ["extract_id", "source_line"]].values.tolist())

    result = tamper(build_db, "fct_complaint_outcomes", change)
    assert failed_names(result) == ["outcome_count is non-negative"]
    assert result.failing_row_count == 30
    assert MAX_FAILING_ROWS == 20
    assert len(result.failing_rows) == 20
    assert result.failing_rows[["extract_id", "source_line"]].values.tolist() == expected
    assert len(result.failing_rows_markdown().splitlines()) == 2 + 20  # header, rule, 20 rows
    assert "outcome_count is non-negative (30 rows)" in result.summary()
