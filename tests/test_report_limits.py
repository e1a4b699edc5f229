"""The analysts' report on a publication far larger than any real appendix: every chart draws at
most MAX_CHART_ROWS rows (Vega-Lite refuses data past a few thousand rows, and thousands of bars
are unreadable), says what it leaves out, and its tables keep every row.

Real DuckDB tables shaped like the published marts, built with SQL; the real chart renderer."""

from __future__ import annotations

import re

import duckdb
import pytest

from complaints.report import sections
from complaints.report.sections import MAX_CHART_ROWS

DEPARTMENTS = 6_000  # past altair's 5,000-row limit, which a 10.9 MB generated extract reached


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    # Two periods of one council; department d has d+1 complaints, so the ranking is known.
    con.execute(
        f"""
        create table mart_department_scorecard as
        select 'Bigtown' as council, period, 'Dept ' || lpad(d::varchar, 5, '0') as department,
               {DEPARTMENTS} - d as rank_by_total, d + 1 as total, 0 as withdrawn, 0 as rejected,
               d + 1 as decided, 1 as upheld, 0 as partly_upheld, d as not_upheld,
               1 / (d + 1) as fault_found_rate
        from range({DEPARTMENTS}) t(d), (values ('2021/22'), ('2022/23')) p(period)
        """
    )
    con.execute(
        f"""
        create table mart_service_root_causes as
        select 'Bigtown' as council, '2022/23' as period,
               'Dept ' || lpad((d % 500)::varchar, 5, '0') as department,
               'Cause ' || (d // 500)::varchar as root_cause_category, 1 + d % 7 as instances
        from range({DEPARTMENTS}) t(d)
        """
    )
    con.execute(
        f"""
        create table mart_reconciliation as
        select 'x' || lpad(e::varchar, 5, '0') as extract_id, 'Bigtown' as council,
               '2022/23' as period, 'department' as level, 'scope' as scope, 'total' as measure,
               1 as source_line, 1 as stated, 1 as computed, 0 as difference,
               case when e = {DEPARTMENTS} - 1 then 'failed' else 'ok' end as status,
               null as explanation, null as waiver_ids, null as waiver_reason,
               null as waiver_reviewed_by, null as waiver_reviewed_on
        from range({DEPARTMENTS}) t(e)
        """
    )
    # The change section also looks at Appendix C rates and the extracts' layouts: none here.
    con.execute(
        "create table mart_service_uphold_rates (council varchar, period varchar, "
        "department varchar, parent_service_area varchar, instances bigint, "
        "upheld_or_partly_upheld bigint)"
    )
    con.execute("create table publication_extracts (council varchar, kind varchar, period varchar)")
    return con


def drawn_labels(svg: str, prefix: str) -> set[str]:
    return set(re.findall(rf">({prefix} [^<]+)</text>", svg))


def test_scorecard_draws_the_largest_departments_and_tables_keep_all(
    con: duckdb.DuckDBPyConnection,
) -> None:
    (figure,) = sections.scorecard_section(con, []).figures
    assert figure.svg is not None
    drawn = drawn_labels(figure.svg, "Dept")
    largest = {f"Dept {d:05d}" for d in range(DEPARTMENTS - MAX_CHART_ROWS, DEPARTMENTS)}
    assert drawn == largest
    assert any(f"first {MAX_CHART_ROWS} of {DEPARTMENTS} departments" in n for n in figure.notes)
    (table,) = figure.tables
    assert len(table.rows) == DEPARTMENTS + 1  # every department and the total row


def test_change_between_periods_draws_a_bounded_chart(con: duckdb.DuckDBPyConnection) -> None:
    section = sections.change_section(con)
    (figure,) = [f for f in section.figures if "change-outcomes" in f.key]
    assert figure.svg is not None
    assert len(drawn_labels(figure.svg, "Dept")) <= MAX_CHART_ROWS
    assert any(f"of {DEPARTMENTS} departments" in n for n in figure.notes)
    assert len(figure.tables[0].rows) == 2 * (DEPARTMENTS + 1)


def test_root_cause_heatmap_is_bounded_both_ways(con: duckdb.DuckDBPyConnection) -> None:
    (figure,) = sections.root_causes_section(con, []).figures
    assert figure.svg is not None
    assert len(drawn_labels(figure.svg, "Dept")) == MAX_CHART_ROWS
    assert any("of 500 departments" in n for n in figure.notes)
    # 12 categories: under the bound, all drawn and no note about them.
    assert len(drawn_labels(figure.svg, "Cause")) == DEPARTMENTS // 500
    assert not any("categories" in n for n in figure.notes)
    assert len(figure.tables[0].headers) == 500 + 2


def test_reconciliation_chart_shows_the_failed_extract_first(
    con: duckdb.DuckDBPyConnection,
) -> None:
    (figure,) = sections.reconciliation_section(con, []).figures
    assert figure.svg is not None
    drawn = set(re.findall(r">(x\d{5})</text>", figure.svg))
    assert len(drawn) == MAX_CHART_ROWS
    assert f"x{DEPARTMENTS - 1:05d}" in drawn  # the one extract with a failed total
    summary = figure.tables[0]
    assert len(summary.rows) == DEPARTMENTS + 1
