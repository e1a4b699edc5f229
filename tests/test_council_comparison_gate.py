"""The gate's suite for mart_council_comparison can fail: the per-resident rates must equal their
arithmetic from the row's own counts and residents, and be NULL exactly without residents, as the
uphold rates must equal theirs. On a copy of the bundled build (Brent 2022/23, no residents),
tampered with as tests/test_gate_suites.py tampers."""

from __future__ import annotations

import duckdb

from tests.test_gate_suites import (  # noqa: F401 - the fixtures, shared
    Tamper,
    build_db,
    con,
    failed_names,
    scratch,
    tamper,
    warehouse,
)

MART = "mart_council_comparison"
PER_10K = "equals {} * 10000 / residents (within 1e-9), NULL exactly without residents"
BRENT = "council = 'Brent' and period = '2022/23'"


def test_residents_with_their_rates_pass(con: duckdb.DuckDBPyConnection, tamper: Tamper) -> None:  # noqa: F811
    assert con.execute(f"select residents from main.{MART} where {BRENT}").fetchone() == (None,)
    result = tamper(
        MART,
        f"update main.{MART} set residents = 339800, "
        "complaints_per_10k_residents = complaints * 10000.0 / 339800, "
        f"fault_found_per_10k_residents = fault_found * 10000.0 / 339800 where {BRENT}",
    )
    assert result.success, result.summary()


def test_a_rate_off_its_arithmetic_fails(con: duckdb.DuckDBPyConnection, tamper: Tamper) -> None:  # noqa: F811
    result = tamper(
        MART,
        f"update main.{MART} set residents = 339800, "
        "complaints_per_10k_residents = complaints * 10000.0 / 339800 + 0.001, "
        f"fault_found_per_10k_residents = fault_found * 10000.0 / 339800 where {BRENT}",
    )
    assert failed_names(result) == ["complaints_per_10k_residents " + PER_10K.format("complaints")]
    assert result.failing_rows["council"].tolist() == ["Brent"]


def test_a_rate_without_residents_fails(con: duckdb.DuckDBPyConnection, tamper: Tamper) -> None:  # noqa: F811
    result = tamper(
        MART, f"update main.{MART} set fault_found_per_10k_residents = 1.0 where {BRENT}"
    )
    assert failed_names(result) == [
        "fault_found_per_10k_residents " + PER_10K.format("fault_found")
    ]


def test_fault_found_above_decided_fails(con: duckdb.DuckDBPyConnection, tamper: Tamper) -> None:  # noqa: F811
    result = tamper(
        MART,
        f"update main.{MART} set fault_found = decided + 1, "
        f"fault_found_rate = (decided + 1) * 1.0 / decided where {BRENT}",
    )
    assert failed_names(result) == [
        "fault found never above decided",
        "fault_found_rate within [0, 1]",
    ]
