"""The whole graph materialised on the real extracts: exact mart figures worked out by reading the
two appendices, lineage, comments, idempotent re-runs and a reader that never blocks a run."""

from __future__ import annotations

import json

import duckdb
import pytest
from dagster import AssetKey

from orchestration.defs.gate.checks import GATED_TABLES
from tests.pipeline import SEED_ROWS_PER_MART

pytestmark = pytest.mark.integration

MARTS = (
    "mart_service_uphold_rates",
    "mart_service_root_causes",
    "mart_outcome_matrix",
    "mart_department_scorecard",
    "mart_improvement_actions",
    "mart_reconciliation",
)


@pytest.fixture(scope="module")
def marts(published_warehouse):  # type: ignore[no-untyped-def]
    _, warehouse, _ = published_warehouse
    con = duckdb.connect(str(warehouse / "marts.duckdb"), read_only=True)
    yield con
    con.close()


def test_run_summary(published_warehouse) -> None:  # type: ignore[no-untyped-def]
    summary, warehouse, _ = published_warehouse
    assert summary.extracts == ["brent_2019_20_root_causes", "brent_2022_23_outcome_matrix"]
    assert summary.published == warehouse / "marts.duckdb" and summary.published_updated
    assert summary.rows_per_mart == SEED_ROWS_PER_MART
    # Every gate suite ran and passed; dbt tests ran as checks too.
    assert len(summary.gate_results) == len(GATED_TABLES) + 1
    assert all(ok for ok, _ in summary.gate_results.values()), summary.gate_results
    # Every dbt data test (a model's column rules are one test, column_rules, its key rules
    # another, key_rules) and every gate suite ran as a check, and passed.
    manifest = json.loads((warehouse / "dbt_target" / "manifest.json").read_text())
    data_tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    assert not summary.checks_failed
    assert len(summary.checks_passed) == len(data_tests) + len(summary.gate_results)
    assert summary.data_docs is not None and summary.data_docs.name == "index.html"
    assert summary.data_docs.exists()


def test_published_tables(marts) -> None:  # type: ignore[no-untyped-def]
    tables = {r[0] for r in marts.execute("select table_name from duckdb_tables()").fetchall()}
    assert set(MARTS) <= tables
    assert {"fct_complaint_instances", "fct_complaint_outcomes"} <= tables
    assert {
        "dim_period",
        "dim_department",
        "dim_service_area",
        "dim_root_cause",
        "dim_issue_type",
        "dim_outcome",
    } <= tables
    # Staging, intermediate and recon models stay in the build database.
    assert not any(t.startswith(("stg_", "int_", "recon_")) for t in tables)


def test_appendix_c_housing_and_repairs(marts) -> None:  # type: ignore[no-untyped-def]
    housing = marts.execute(
        "select sum(instances), sum(upheld_or_partly_upheld), count(*) "
        "from mart_service_uphold_rates where directorate = 'Housing Directorate'"
    ).fetchone()
    assert housing == (780, 389, 23)
    repairs = marts.execute(
        "select period, council, department, directorate, department_inferred, instances, "
        "upheld_or_partly_upheld, upheld_or_partly_rate, source_line "
        "from mart_service_uphold_rates where service_area = 'Repairs'"
    ).fetchall()
    assert repairs == [
        (
            "2019/20",
            "Brent",
            "Community Wellbeing Department",
            "Housing Directorate",
            False,
            200,
            139,
            0.695,
            10,
        )
    ]
    causes = marts.execute(
        "select cause_label, root_cause_category, instances, share_of_service "
        "from mart_service_root_causes where service_area = 'Repairs' order by instances desc"
    ).fetchall()
    assert causes == [
        ("Service Delayed", "Delay", 71, 0.355),
        ("Service no up to standard/ as agreed", "Service quality or failure", 51, 0.255),
        ("Service not provided", "Service not provided", 42, 0.21),
        ("Poor communication", "Communication", 27, 0.135),
        ("Policy or procedure", "Policy or procedure", 6, 0.03),
        ("Other", "Other", 2, 0.01),
        ("Third party failure", "Third party", 1, 0.005),
    ]


def test_appendix_c_departments(marts) -> None:  # type: ignore[no-untyped-def]
    rows = marts.execute(
        "select department, directorate, department_inferred, sum(instances) "
        "from mart_service_uphold_rates where parent_service_area is null "
        "group by all order by all"
    ).fetchall()
    assert rows == [
        ("Brent Customer Services", None, True, 302),
        ("Chief Executive's Department", None, True, 41),
        ("Children and Young People Department", None, True, 100),
        ("Community Wellbeing Department", "Adult Social Care Directorate", False, 60),
        ("Community Wellbeing Department", "Culture Directorate", False, 36),
        ("Community Wellbeing Department", "Housing Directorate", False, 780),
        ("Regeneration and Environment Department", None, True, 474),
    ]
    # The nested italic sub-group keeps its parent.
    nested = marts.execute(
        "select service_area, parent_service_area, instances from mart_service_uphold_rates "
        "where parent_service_area is not null"
    ).fetchall()
    assert nested == [("Trees and Lighting", "Parking & Lighting", 26)]
    assert marts.execute("select sum(instances) from mart_service_root_causes").fetchone() == (
        1793,
    )


def test_appendix_1_scorecard(marts) -> None:  # type: ignore[no-untyped-def]
    asc = marts.execute(
        "select withdrawn, not_upheld, partly_upheld, rejected, upheld, total, decided, "
        "fault_found_rate, uphold_rate, rank_by_total, service_family "
        "from mart_department_scorecard where department = 'Adult Social Care'"
    ).fetchone()
    assert asc[:7] == (1, 54, 66, 5, 31, 157, 151)
    assert asc[7] == pytest.approx(97 / 151, abs=1e-12)
    assert asc[8] == pytest.approx(31 / 151, abs=1e-12)
    assert asc[9:] == (4, "adult social care")
    ranked = marts.execute(
        "select department, total from mart_department_scorecard order by rank_by_total, department"
    ).fetchall()
    assert ranked[:4] == [
        ("Housing", 1014),
        ("Customer Access", 419),
        ("Integration & Improved Outcomes", 171),
        ("Adult Social Care", 157),
    ]
    # The departments' rows add up to 1945, not the stated 1929 (Public Health left out).
    assert marts.execute(
        "select count(*), sum(total), sum(decided) from mart_department_scorecard"
    ).fetchone() == (15, 1945, 1726)
    assert marts.execute(
        "select total from mart_department_scorecard where department = 'Public Health'"
    ).fetchone() == (16,)


def test_appendix_1_rows_and_repairs(marts) -> None:  # type: ignore[no-untyped-def]
    # Line 175: the parser repaired upheld 1 -> 0 (the only change that reconciles).
    assert marts.execute(
        "select issue_type, withdrawn, not_upheld, partly_upheld, rejected, upheld, total "
        "from mart_outcome_matrix where source_line = 175"
    ).fetchall() == [("Highways & Infrastructure - Other", 0, 1, 0, 0, 0, 1)]
    # Line 174 was a noise row the arithmetic places nowhere: dropped.
    assert marts.execute(
        "select count(*) from mart_outcome_matrix where source_line = 174"
    ).fetchone() == (0,)
    # Line 211: nothing decided -> rates are NULL, never 0.
    assert marts.execute(
        "select decided, fault_found_rate, uphold_rate from mart_outcome_matrix "
        "where source_line = 211"
    ).fetchall() == [(0, None, None)]
    assert marts.execute("select count(*), sum(total) from mart_outcome_matrix").fetchone() == (
        455,
        1945,
    )


def test_reconciliation_mart(marts) -> None:  # type: ignore[no-untyped-def]
    assert marts.execute(
        "select status, count(*) from mart_reconciliation group by 1 order by 1"
    ).fetchall() == [("ok", 458), ("waived", 4)]
    waived = marts.execute(
        "select extract_id, level, scope, measure, stated, computed, difference, explanation "
        "from mart_reconciliation where status = 'waived' order by measure"
    ).fetchall()
    assert [(w[3], w[4], w[5], w[6]) for w in waived] == [
        ("not_upheld", 924, 932, 8),
        ("partly_upheld", 341, 345, 4),
        ("total", 1929, 1945, 16),
        ("upheld", 445, 449, 4),
    ]
    assert {w[:3] for w in waived} == {
        ("brent_2022_23_outcome_matrix", "grand_total", "Grand Total")
    }
    assert all("Public Health" in w[7] and "line 463" in w[7] for w in waived)


def test_council_in_every_mart_and_provenance(marts) -> None:  # type: ignore[no-untyped-def]
    for mart in MARTS:
        columns = {
            r[0]
            for r in marts.execute(
                "select column_name from duckdb_columns() where table_name = ?", [mart]
            ).fetchall()
        }
        assert {"council", "period", "extract_id"} <= columns, mart
        assert marts.execute(f"select count(*) from {mart} where council is null").fetchone() == (
            0,
        )
    for fact in ("fct_complaint_instances", "fct_complaint_outcomes"):
        assert marts.execute(
            f"select count(*) from {fact} where extract_id is null or source_line is null"
        ).fetchone() == (0,)


def test_comments_persisted(marts) -> None:  # type: ignore[no-untyped-def]
    missing = marts.execute(
        "select table_name, column_name from duckdb_columns() "
        "where (table_name like 'mart_%' or table_name like 'fct_%' or table_name like 'dim_%') "
        "and (comment is null or comment = '')"
    ).fetchall()
    assert missing == []
    comment = marts.execute(
        "select comment from duckdb_tables() where table_name = 'mart_outcome_matrix'"
    ).fetchone()[0]
    assert "fault_found_rate = (upheld + partly_upheld) / decided" in comment


def test_lineage_from_each_raw_asset_to_published() -> None:
    from orchestration.definitions import defs

    graph = defs().resolve_asset_graph()  # loaded lazily, as dagster dev and dg load it

    def descendants(key: AssetKey) -> set[AssetKey]:
        seen: set[AssetKey] = set()
        todo = [key]
        while todo:
            for child in graph.get(todo.pop()).child_keys:
                if child not in seen:
                    seen.add(child)
                    todo.append(child)
        return seen

    for raw in ("raw_extracts", "extract_registry", "reviewed_waivers"):
        below = descendants(AssetKey(raw))
        assert AssetKey("published_marts") in below, raw
    below = descendants(AssetKey("raw_extracts"))
    for mart in MARTS:
        assert AssetKey(mart) in below, mart
        assert AssetKey("published_marts") in descendants(AssetKey(mart)), mart
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert {"ingest", "staging", "core", "marts", "publish"} <= groups
    # Every gated table's suite is a blocking check.
    specs = {
        (k.asset_key.path[-1], k.name): graph.get_check_spec(k) for k in graph.asset_check_keys
    }
    for table in GATED_TABLES:
        assert specs[(table, f"gx_{table}")].blocking, table
    assert not specs[("recon_waivers", "waivers_not_stale")].blocking


def test_schedule_and_sensor_defined() -> None:
    from orchestration.definitions import defs

    loaded = defs()
    schedule = loaded.resolve_schedule_def("weekly_full_refresh")
    assert schedule.cron_schedule == "0 6 * * 1"
    assert schedule.execution_timezone == "Europe/London"
    sensor = loaded.resolve_sensor_def("landing_folder_sensor")
    assert sensor.minimum_interval_seconds == 30


def test_rerun_with_reader_open_is_identical(stock_storage_rerun) -> None:  # type: ignore[no-untyped-def]
    """An analyst's read-only connection stays open through a second run of the real extracts
    (the session's rerun, tests/conftest.py): the run succeeds, the reader keeps its snapshot,
    and the new file holds identical tables."""
    rerun = stock_storage_rerun
    assert rerun.summary.success, rerun.summary
    assert rerun.summary.published_updated
    assert rerun.seen_during == rerun.seen_before
    assert rerun.checksums_after == rerun.checksums_before


def contract_tables() -> dict[str, list[str]]:
    """docs/CONTRACT.md's table of tables: name -> columns in order (parenthesised notes off)."""
    import re

    from tests.pipeline import PROJECT_ROOT

    text = (PROJECT_ROOT / "docs" / "CONTRACT.md").read_text(encoding="utf-8")
    tables: dict[str, list[str]] = {}
    rows = re.findall(
        r"^\| `((?:mart|fct|dim)_\w+|publication\w*)` \| [^|]+ \| ([^|]+) \|$", text, re.MULTILINE
    )
    for name, columns in rows:
        plain = re.sub(r"\s*\([^)]*\)", "", columns)
        tables[name] = [c.strip() for c in plain.split(",")]
    return tables


def test_published_file_is_the_documented_contract(marts) -> None:  # type: ignore[no-untyped-def]
    documented = contract_tables()
    published = {
        t: [
            c
            for (c,) in marts.execute(
                "select column_name from duckdb_columns() where table_name = ? "
                "order by column_index",
                [t],
            ).fetchall()
        ]
        for (t,) in marts.execute("select table_name from duckdb_tables()").fetchall()
    }
    assert documented == published
