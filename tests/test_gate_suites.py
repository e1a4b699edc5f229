"""Every gate suite passes on the real build database, and each kind of expectation fails when the
data is wrong, naming the failing row's extract and source line."""

from __future__ import annotations

import pandas as pd
import pytest

from expectations.runner import MAX_FAILING_ROWS, load_table, validate_frame, validate_table
from expectations.suites import SUITES


@pytest.fixture(scope="module")
def build_db(published_warehouse):  # type: ignore[no-untyped-def]
    _, warehouse, _ = published_warehouse
    return warehouse / "build.duckdb"


def tampered(build_db, table: str, change) -> tuple[object, pd.DataFrame]:  # type: ignore[no-untyped-def]
    frame, ctx = load_table(build_db, table)
    frame = change(frame, ctx) if change.__code__.co_argcount == 2 else change(frame)
    return validate_frame(SUITES[table], frame, ctx), frame


def test_every_suite_passes_on_the_real_extracts(build_db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for name in SUITES:
        result = validate_table(build_db, name, tmp_path)
        assert result.success, result.summary() + "\n" + result.failing_rows_markdown()
        assert result.row_count > 0
    assert result.docs_index is not None and result.docs_index.exists()
    html = result.docs_index.read_text(encoding="utf-8")
    assert "mart_service_root_causes" in html


def test_rate_off_by_a_millionth_fails(build_db) -> None:  # type: ignore[no-untyped-def]
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        row = frame.index[frame["source_line"] == 175][0]
        frame.loc[row, "fault_found_rate"] += 1e-6
        return frame

    result, _ = tampered(build_db, "mart_outcome_matrix", change)
    assert [o.name for o in result.failed] == [
        "fault_found_rate equals its formula (within 1e-9), NULL exactly when the denominator is 0"
    ]
    assert result.failing_rows[["extract_id", "source_line"]].values.tolist() == [
        ["brent_2022_23_outcome_matrix", 175]
    ]
    assert "| brent_2022_23_outcome_matrix | 175 |" in result.failing_rows_markdown()


def test_zero_rate_on_zero_denominator_fails(build_db) -> None:  # type: ignore[no-untyped-def]
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        row = frame.index[frame["source_line"] == 211][0]
        assert frame.loc[row, "decided"] == 0 and pd.isna(frame.loc[row, "uphold_rate"])
        frame.loc[row, "uphold_rate"] = 0.0
        return frame

    result, _ = tampered(build_db, "mart_outcome_matrix", change)
    assert [o.name for o in result.failed] == [
        "uphold_rate equals its formula (within 1e-9), NULL exactly when the denominator is 0"
    ]
    assert result.failing_rows["source_line"].tolist() == [211]


def test_negative_count_and_missing_extract_fail(build_db) -> None:  # type: ignore[no-untyped-def]
    def change(frame: pd.DataFrame, ctx) -> pd.DataFrame:  # type: ignore[no-untyped-def]
        ctx.extract_ids_by_kind["outcome_matrix"].append("never_loaded_2030_31")
        row = frame.index[(frame["source_line"] == 175) & (frame["outcome"] == "not_upheld")][0]
        frame.loc[row, "outcome_count"] = -1
        return frame

    result, _ = tampered(build_db, "fct_complaint_outcomes", change)
    assert sorted(o.name for o in result.failed) == [
        "at least one row per extract",
        "outcome_count is non-negative",
    ]
    assert result.failing_rows["source_line"].tolist() == [175]


def test_duplicate_grain_fails(build_db) -> None:  # type: ignore[no-untyped-def]
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        return pd.concat([frame, frame[frame["source_line"] == 10].head(1)], ignore_index=True)

    result, _ = tampered(build_db, "fct_complaint_instances", change)
    assert sorted(o.name for o in result.failed) == [
        "grain instance_key is unique",
        "one row per stated cause of a service area",
    ]
    assert set(result.failing_rows["source_line"]) == {10}
    assert result.failing_row_count == 2


def test_failed_grand_total_is_named(build_db) -> None:  # type: ignore[no-untyped-def]
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[(frame["level"] == "grand_total") & (frame["measure"] == "total"), "status"] = (
            "failed"
        )
        return frame

    result, _ = tampered(build_db, "recon_outcome_totals", change)
    assert [o.name for o in result.failed] == ["departments sum to the stated grand total"]
    assert result.failing_rows[["source_line", "stated", "computed"]].values.tolist() == [
        [539, 1929, 1945]
    ]


def test_failed_service_area_is_named(build_db) -> None:  # type: ignore[no-untyped-def]
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        repairs = frame["scope"] == "Community Wellbeing Department - Housing Directorate / Repairs"
        frame.loc[(frame["level"] == "service_area") & repairs, "status"] = "failed"
        return frame

    result, _ = tampered(build_db, "recon_instance_totals", change)
    assert [o.name for o in result.failed] == ["causes sum to each service area's stated instances"]
    assert result.failing_rows["scope"].tolist() == [
        "Community Wellbeing Department - Housing Directorate / Repairs"
    ]


def test_failed_control_total_in_reconciliation_mart(build_db) -> None:  # type: ignore[no-untyped-def]
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        heading = (frame["level"] == "heading") & (frame["source_line"] == 7)
        assert heading.sum() == 1
        frame.loc[heading, "status"] = "failed"
        frame.loc[frame["measure"] == "upheld", "difference"] = 99
        return frame

    result, frame = tampered(build_db, "mart_reconciliation", change)
    assert sorted(o.name for o in result.failed) == [
        "difference = computed - stated",
        "every stated control total holds or is exactly waived",
    ]
    assert 7 in set(result.failing_rows["source_line"])
    assert set(result.failing_rows["extract_id"]) == {
        "brent_2019_20_root_causes",
        "brent_2022_23_outcome_matrix",
    }


def test_upheld_above_instances_fails(build_db) -> None:  # type: ignore[no-untyped-def]
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        row = frame.index[frame["service_area"] == "Repairs"][0]
        frame.loc[row, "upheld_or_partly_upheld"] = 201
        frame.loc[row, "upheld_or_partly_rate"] = 201 / 200
        return frame

    result, _ = tampered(build_db, "mart_service_uphold_rates", change)
    assert sorted(o.name for o in result.failed) == [
        "upheld or partly upheld never above instances",
        "upheld_or_partly_rate within [0, 1]",
    ]
    assert result.failing_rows["source_line"].tolist() == [10]


def test_unknown_category_fails(build_db) -> None:  # type: ignore[no-untyped-def]
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[frame["cause_label"] == "Service Delayed", "root_cause_category"] = "Vibes"
        return frame

    result, _ = tampered(build_db, "mart_service_root_causes", change)
    assert [o.name for o in result.failed] == ["root-cause categories are known"]
    assert 10 in set(result.failing_rows["source_line"])


def test_share_of_total_off_fails(build_db) -> None:  # type: ignore[no-untyped-def]
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[frame["department"] == "Adult Social Care", "share_of_total"] = 0.5
        return frame

    result, _ = tampered(build_db, "mart_department_scorecard", change)
    assert [o.name for o in result.failed] == [
        "share_of_total equals its formula (within 1e-9), NULL exactly when the denominator is 0"
    ]
    assert result.failing_rows["department"].tolist() == ["Adult Social Care"]


def test_failing_rows_are_capped(build_db) -> None:  # type: ignore[no-untyped-def]
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[frame.index[:30], "outcome_count"] = -5
        return frame

    result, _ = tampered(build_db, "fct_complaint_outcomes", change)
    assert result.failing_row_count == 30
    assert len(result.failing_rows) == MAX_FAILING_ROWS == 20
    assert result.failing_rows_markdown().count("\n") == 21  # header rule + 20 rows
