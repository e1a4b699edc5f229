"""Every gate suite passes on the real build database, and each kind of expectation fails when the
data is wrong, naming the failed expectation and the failing row's extract and source line.

The passing run goes through `validate_table` against the published warehouse (so Data Docs are
built); the failing runs change a copy of the build database with SQL (`tamper`) and validate
that copy in the database, as the gate does, with an ephemeral GX context.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Protocol

import duckdb
import pytest

from expectations.runner import (
    MAX_FAILING_ROWS,
    SuiteResult,
    data_docs_index,
    validate_table,
)
from expectations.suites import SUITES

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
    "mart_council_comparison": 1,
}


def formula(rate: str) -> str:
    return f"{rate} equals its formula (within 1e-9), NULL exactly when the denominator is 0"


@pytest.fixture(scope="module")
def warehouse(published_warehouse) -> Path:  # type: ignore[no-untyped-def]
    return published_warehouse[1]


@pytest.fixture(scope="module")
def build_db(warehouse: Path) -> Path:
    return warehouse / "build.duckdb"


class Tamper(Protocol):
    def __call__(self, suite_name: str, *statements: str) -> SuiteResult: ...


def only(con: duckdb.DuckDBPyConnection, table: str, where: str) -> str:
    """`where`, checked to match exactly one row of `table`."""
    (count,) = con.execute(f"select count(*) from main.{table} where {where}").fetchone() or (0,)
    assert count == 1, f"{count} rows of {table} match {where}"
    return where


def value(con: duckdb.DuckDBPyConnection, table: str, expression: str, where: str) -> object:
    row = con.execute(f"select {expression} from main.{table} where {only(con, table, where)}")
    return (row.fetchone() or (None,))[0]


@pytest.fixture
def scratch(build_db: Path, tmp_path: Path) -> Path:
    """A copy of the build database this test may change."""
    copy = tmp_path / "build.duckdb"
    shutil.copyfile(build_db, copy)
    return copy


@pytest.fixture
def con(scratch: Path):  # type: ignore[no-untyped-def]
    """A connection to the copy, to look at it before tampering (closed before validation)."""
    connection = duckdb.connect(str(scratch), read_only=True)
    yield connection
    connection.close()


@pytest.fixture
def tamper(scratch: Path, con: duckdb.DuckDBPyConnection) -> Tamper:
    """Run `statements` on the copy (the suite's table first loses dbt's constraints, so a test
    can store what a contract would refuse), then validate the copy as the gate does."""

    def run(suite_name: str, *statements: str) -> SuiteResult:
        suite = SUITES[suite_name]
        con.close()
        writer = duckdb.connect(str(scratch))
        try:
            (count,) = writer.execute(f"select count(*) from main.{suite.table}").fetchone() or (0,)
            assert count == ROW_COUNTS[suite_name]
            writer.execute(
                f"create or replace table main.{suite.table} as select * from main.{suite.table}"
            )
            for statement in statements:
                writer.execute(statement)
        finally:
            writer.close()
        return validate_table(scratch, suite_name)

    return run


def failed_names(result: SuiteResult) -> list[str]:
    return sorted(o.name for o in result.failed)


def failing(result: SuiteResult, *columns: str) -> list[list[object]]:
    """The failing rows' `columns`, sorted by them; "failed" as the sorted list of names."""
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

MATRIX = "mart_outcome_matrix"


@pytest.mark.parametrize(("delta", "fails"), [(1e-6, True), (1e-10, False)])
def test_rate_off_by_a_millionth_fails(
    con: duckdb.DuckDBPyConnection, tamper: Tamper, delta: float, fails: bool
) -> None:
    assert value(con, MATRIX, "[fault_found_rate, decided]", "source_line = 175") == [0.0, 1]
    result = tamper(
        MATRIX,
        f"update main.{MATRIX} set fault_found_rate = fault_found_rate + {delta!r} "
        "where source_line = 175",
    )
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
def test_zero_rate_where_nothing_was_decided_fails(
    con: duckdb.DuckDBPyConnection, tamper: Tamper, rate: str
) -> None:
    """A real row with decided = 0 (line 87: one withdrawn complaint): its rates must be NULL."""
    undecided = con.execute(
        f"select count(*), min(source_line) from main.{MATRIX} where decided = 0"
    ).fetchone()
    assert undecided == (28, 87)
    assert value(con, MATRIX, rate, "source_line = 87") is None
    result = tamper(MATRIX, f"update main.{MATRIX} set {rate} = 0.0 where source_line = 87")
    assert failed_names(result) == [formula(rate)]
    assert failing(result, "extract_id", "source_line", "issue_type") == [
        [APPENDIX_1, 87, "Contact Centre Call Waiting Times"]
    ]


def test_zero_rate_on_a_constructed_empty_row_fails(tamper: Tamper) -> None:
    """The same failure on a row made empty: every count 0, uphold_rate NULL, fault_found_rate 0."""
    counts = ["withdrawn", "not_upheld", "partly_upheld", "rejected", "upheld", "total", "decided"]
    result = tamper(
        MATRIX,
        f"update main.{MATRIX} set {', '.join(f'{c} = 0' for c in counts)}, "
        "uphold_rate = null, fault_found_rate = 0.0 where source_line = 175",
    )
    assert failed_names(result) == [formula("fault_found_rate")]
    assert failing(result, "extract_id", "source_line") == [[APPENDIX_1, 175]]


def test_rate_above_one_and_wrong_decided_fail(tamper: Tamper) -> None:
    result = tamper(
        MATRIX,
        f"update main.{MATRIX} set uphold_rate = 1.5 where source_line = 175",
        f"update main.{MATRIX} set decided = 1 where source_line = 87",
    )
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

OUTCOMES = "fct_complaint_outcomes"
INSTANCES = "fct_complaint_instances"


def test_negative_count_fails(con: duckdb.DuckDBPyConnection, tamper: Tamper) -> None:
    row = "source_line = 175 and outcome = 'not_upheld'"
    assert value(con, OUTCOMES, "outcome_count", row) == 1
    result = tamper(OUTCOMES, f"update main.{OUTCOMES} set outcome_count = -1 where {row}")
    assert failed_names(result) == ["outcome_count is non-negative"]
    assert failing(result, "failed", "extract_id", "source_line", "issue_type") == [
        [["outcome_count is non-negative"], APPENDIX_1, 175, "Highways & Infrastructure - Other"]
    ]
    assert f"| outcome_count is non-negative | {APPENDIX_1} | 175 |" in (
        result.failing_rows_markdown()
    )


def test_non_integer_count_fails(tamper: Tamper) -> None:
    result = tamper(OUTCOMES, f"alter table main.{OUTCOMES} alter outcome_count type double")
    assert failed_names(result) == ["outcome_count is an integer"]
    # A column-type expectation has no failing rows to show.
    assert result.failing_row_count == 0 and result.failing_rows.empty


def test_null_key_and_unknown_outcome_fail(con: duckdb.DuckDBPyConnection, tamper: Tamper) -> None:
    withdrawn = only(con, OUTCOMES, "source_line = 175 and outcome = 'withdrawn'")
    upheld = only(con, OUTCOMES, "source_line = 87 and outcome = 'upheld'")
    result = tamper(
        OUTCOMES,
        f"update main.{OUTCOMES} set outcome = 'dismissed' where {withdrawn}",
        f"update main.{OUTCOMES} set department = null where {upheld}",
    )
    assert failed_names(result) == ["key department is not null", "outcome names are known"]
    assert failing(result, "failed", "extract_id", "source_line") == [
        [["key department is not null"], APPENDIX_1, 87],
        [["outcome names are known"], APPENDIX_1, 175],
    ]


def test_duplicate_grain_row_fails(con: duckdb.DuckDBPyConnection, tamper: Tamper) -> None:
    row = only(con, INSTANCES, "service_area = 'Repairs' and cause_label = 'Service Delayed'")
    result = tamper(
        INSTANCES, f"insert into main.{INSTANCES} select * from main.{INSTANCES} where {row}"
    )
    names = ["grain instance_key is unique", "one row per stated cause of a service area"]
    assert failed_names(result) == names
    assert result.failing_row_count == 2
    assert (
        failing(result, "failed", "extract_id", "source_line", "service_area", "cause_label")
        == [[names, APPENDIX_C, 10, "Repairs", "Service Delayed"]] * 2
    )


def add_extract(con: duckdb.DuckDBPyConnection) -> str:
    """A build whose dim_extract lists a 2023/24 matrix with no fact rows."""
    kinds = con.execute("select kind, extract_id from main.dim_extract order by 1").fetchall()
    assert kinds == [("outcome_matrix", APPENDIX_1), ("root_cause_summary", APPENDIX_C)]
    return (
        "insert into main.dim_extract select * replace "
        f"('{MISSING_EXTRACT}' as extract_id) from main.dim_extract where kind = 'outcome_matrix'"
    )


def test_missing_extract_fails(con: duckdb.DuckDBPyConnection, tamper: Tamper) -> None:
    result = tamper(OUTCOMES, add_extract(con))
    assert failed_names(result) == ["at least one row per extract"]
    (outcome,) = result.failed
    assert (outcome.expectation_type, outcome.column) == (
        "expect_column_distinct_values_to_contain_set",
        "extract_id",
    )
    # A missing extract has no row to show.
    assert result.failing_row_count == 0 and result.failing_rows.empty


def test_missing_extract_is_named_in_the_result(
    con: duckdb.DuckDBPyConnection, tamper: Tamper
) -> None:
    result = tamper(OUTCOMES, add_extract(con))
    (outcome,) = result.failed
    assert MISSING_EXTRACT in f"{outcome.observed} {result.summary()}"


def test_empty_fact_fails(tamper: Tamper) -> None:
    result = tamper(INSTANCES, f"delete from main.{INSTANCES}")
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
    con: duckdb.DuckDBPyConnection,
    tamper: Tamper,
    level: str,
    scope: str,
    measure: str,
    line: int,
    stated: int,
    name: str,
) -> None:
    row = only(
        con,
        "recon_outcome_totals",
        f"level = '{level}' and scope = '{scope}' and measure = '{measure}'",
    )
    result = tamper(
        "recon_outcome_totals",
        f"update main.recon_outcome_totals set status = 'failed' where {row}",
    )
    assert failed_names(result) == [name]
    rows = failing(result, "failed", "extract_id", "source_line", "scope", "stated", "status")
    assert [r[:5] for r in rows] == [[[name], APPENDIX_1, line, scope, stated]]
    assert rows[0][5] == "failed"
    assert f"| {APPENDIX_1} | {line} | {level} | {scope} | {measure} | {stated} |" in (
        result.failing_rows_markdown()
    )


def test_unknown_status_and_level_fail(con: duckdb.DuckDBPyConnection, tamper: Tamper) -> None:
    table = "recon_outcome_totals"
    grand = only(con, table, "level = 'grand_total' and measure = 'withdrawn'")
    root = only(con, table, "level = 'root_cause' and source_line = 6 and measure = 'upheld'")
    result = tamper(
        table,
        f"update main.{table} set status = 'skipped' where {grand}",
        f"update main.{table} set level = 'sub_total' where {root}",
    )
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
    con: duckdb.DuckDBPyConnection,
    tamper: Tamper,
    level: str,
    measure: str,
    stated: int,
    name: str,
) -> None:
    table = "recon_instance_totals"
    row = only(con, table, f"level = '{level}' and scope = '{REPAIRS_SCOPE}'")
    result = tamper(table, f"update main.{table} set status = 'failed' where {row}")
    assert failed_names(result) == [name]
    assert failing(
        result, "failed", "extract_id", "source_line", "level", "scope", "measure", "stated"
    ) == [[[name], APPENDIX_C, 10, level, REPAIRS_SCOPE, measure, stated]]


def test_failed_heading_total_is_named(con: duckdb.DuckDBPyConnection, tamper: Tamper) -> None:
    table = "recon_instance_totals"
    row = only(con, table, "level = 'heading' and source_line = 7")
    result = tamper(table, f"update main.{table} set status = 'failed' where {row}")
    assert failed_names(result) == ["service areas sum to each heading's stated total"]
    assert failing(result, "extract_id", "source_line", "stated") == [[APPENDIX_C, 7, 780]]


def test_failed_control_total_in_reconciliation_mart(
    con: duckdb.DuckDBPyConnection, tamper: Tamper
) -> None:
    table = "mart_reconciliation"
    grand = only(con, table, "level = 'grand_total' and measure = 'total'")
    result = tamper(table, f"update main.{table} set status = 'failed' where {grand}")
    assert failed_names(result) == ["every stated control total holds or is exactly waived"]
    assert failing(result, "extract_id", "source_line", "scope", "stated", "computed") == [
        [APPENDIX_1, 539, "Grand Total", 1929, 1945]
    ]


def test_wrong_difference_and_unknown_status_in_reconciliation_mart(
    con: duckdb.DuckDBPyConnection, tamper: Tamper
) -> None:
    table = "mart_reconciliation"
    heading = only(con, table, "level = 'heading' and source_line = 7")
    grand = only(con, table, "level = 'grand_total' and measure = 'rejected'")
    result = tamper(
        table,
        f"update main.{table} set difference = 1 where {heading}",
        f"update main.{table} set status = 'unknown' where {grand}",
    )
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

UPHOLD = "mart_service_uphold_rates"
CAUSES = "mart_service_root_causes"
SCORECARD = "mart_department_scorecard"
REPAIRS_DELAYED = "service_area = 'Repairs' and cause_label = 'Service Delayed'"


def test_upheld_above_instances_fails(con: duckdb.DuckDBPyConnection, tamper: Tamper) -> None:
    assert value(con, UPHOLD, "instances", "service_area = 'Repairs'") == 200
    # The formula still holds.
    result = tamper(
        UPHOLD,
        f"update main.{UPHOLD} set upheld_or_partly_upheld = 201, "
        "upheld_or_partly_rate = 201 / 200 where service_area = 'Repairs'",
    )
    assert failed_names(result) == [
        "upheld or partly upheld never above instances",
        "upheld_or_partly_rate within [0, 1]",
    ]
    assert failing(result, "extract_id", "source_line", "service_area") == [
        [APPENDIX_C, 10, "Repairs"]
    ]


def test_uphold_rate_without_a_stated_figure_fails(
    con: duckdb.DuckDBPyConnection, tamper: Tamper
) -> None:
    unstated = "upheld_or_partly_upheld is null"
    assert value(con, UPHOLD, "upheld_or_partly_rate", unstated) is None
    result = tamper(
        UPHOLD, f"update main.{UPHOLD} set upheld_or_partly_rate = 0.0 where {unstated}"
    )
    assert failed_names(result) == [formula("upheld_or_partly_rate")]
    assert result.failing_row_count == 1
    assert result.failing_rows["extract_id"].tolist() == [APPENDIX_C]


def test_unknown_root_cause_category_fails(con: duckdb.DuckDBPyConnection, tamper: Tamper) -> None:
    assert value(con, CAUSES, "root_cause_category", REPAIRS_DELAYED) == "Delay"
    result = tamper(
        CAUSES, f"update main.{CAUSES} set root_cause_category = 'Delays' where {REPAIRS_DELAYED}"
    )
    assert failed_names(result) == ["root-cause categories are known"]
    assert failing(result, "extract_id", "source_line", "service_area", "cause_label") == [
        [APPENDIX_C, 10, "Repairs", "Service Delayed"]
    ]


def test_share_of_service_off_fails(con: duckdb.DuckDBPyConnection, tamper: Tamper) -> None:
    share = value(con, CAUSES, "share_of_service", REPAIRS_DELAYED)
    assert share == pytest.approx(71 / 200, abs=1e-12)
    result = tamper(
        CAUSES, f"update main.{CAUSES} set share_of_service = 0.36 where {REPAIRS_DELAYED}"
    )
    assert failed_names(result) == [formula("share_of_service")]
    assert failing(result, "extract_id", "source_line", "cause_label") == [
        [APPENDIX_C, 10, "Service Delayed"]
    ]


def test_share_of_total_off_fails(con: duckdb.DuckDBPyConnection, tamper: Tamper) -> None:
    adult = "department = 'Adult Social Care'"
    assert value(con, SCORECARD, "share_of_total", adult) == pytest.approx(157 / 1945, abs=1e-12)
    # The stated, not the computed, grand total.
    result = tamper(
        SCORECARD, f"update main.{SCORECARD} set share_of_total = 157 / 1929 where {adult}"
    )
    assert failed_names(result) == [formula("share_of_total")]
    assert failing(result, "failed", "extract_id", "period", "council", "department") == [
        [[formula("share_of_total")], APPENDIX_1, "2022/23", "Brent", "Adult Social Care"]
    ]


def test_scorecard_rank_and_total_fail(con: duckdb.DuckDBPyConnection, tamper: Tamper) -> None:
    hr = only(con, SCORECARD, "department = 'HR'")
    legal = only(con, SCORECARD, "department = 'Legal'")
    result = tamper(
        SCORECARD,
        f"update main.{SCORECARD} set rank_by_total = 0 where {hr}",
        f"update main.{SCORECARD} set total = 5 where {legal}",
    )
    # Legal's total feeds every share of 2022/23, so every share is off too.
    assert failed_names(result) == [
        "rank_by_total starts at 1",
        formula("share_of_total"),
        "total = the five outcomes",
    ]
    assert result.failing_row_count == 15


# ---------------------------------------------------------------------------------------------
# the report


def test_failing_rows_are_capped_at_twenty(con: duckdb.DuckDBPyConnection, tamper: Tamper) -> None:
    """The first twenty failing rows in table order, and the count of them all."""
    expected = [
        list(row)
        for row in con.execute(
            f"select extract_id, source_line from main.{OUTCOMES} order by rowid limit 20"
        ).fetchall()
    ]
    result = tamper(OUTCOMES, f"update main.{OUTCOMES} set outcome_count = -5 where rowid < 30")
    assert failed_names(result) == ["outcome_count is non-negative"]
    assert result.failing_row_count == 30
    assert MAX_FAILING_ROWS == 20
    assert len(result.failing_rows) == 20
    assert result.failing_rows[["extract_id", "source_line"]].values.tolist() == expected
    assert len(result.failing_rows_markdown().splitlines()) == 2 + 20  # header, rule, 20 rows
    assert "outcome_count is non-negative (30 rows)" in result.summary()


def test_the_gate_leaves_the_build_database_free(scratch: Path) -> None:
    """The gate reads through GX's SQL data source, read-only, and closes every connection: a
    writer can open the build database in the same process as soon as it returns."""
    con = duckdb.connect(str(scratch), read_only=True)
    con.close()
    result = validate_table(scratch, "fct_complaint_outcomes")
    assert result.success and result.extra == {"evaluated": "duckdb"}
    writer = duckdb.connect(str(scratch))
    try:
        writer.execute("create table main.after_gate as select 1 as x")
    finally:
        writer.close()
