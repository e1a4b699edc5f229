"""`column_rules`, the one test node holding a model's not-null, accepted-values and
accepted-range rules: it passes on real rows, and each broken rule fails it with the offending
row stored under the rule's name and its column."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.pipeline import copy_landing, dbt_in, load_raw

EXTRACTS = ["stg_raw__extracts"]


def stored_failures(db: Path, test_name: str) -> list[tuple[str, str, str]]:
    """(failing_rule, failing_column, extract_id) of the rows `test_name` stored."""
    with duckdb.connect(str(db), read_only=True) as con:
        ((schema, table),) = con.execute(
            "select schema_name, table_name from duckdb_tables() where table_name = ?",
            [test_name],
        ).fetchall()
        return con.execute(
            f'select failing_rule, failing_column, extract_id from "{schema}"."{table}" '
            "order by all"
        ).fetchall()


def test_a_null_and_an_unknown_value_fail_naming_their_rules(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse"
    load_raw(copy_landing(tmp_path / "landing"), warehouse)
    db = warehouse / "build.duckdb"
    built = dbt_in(warehouse, "build", EXTRACTS, tmp_path)
    assert built.returncode == 0, built.stdout[-2000:]
    assert "column_rules_stg_raw__extracts" in built.stdout

    with duckdb.connect(str(db)) as con:
        con.execute(
            "insert into raw.extracts by name select 'no_council' as extract_id, "
            "'2019/20' as period, 'outcome_matrix' as kind"
        )
        con.execute(
            "insert into raw.extracts by name select 'odd_kind' as extract_id, "
            "'Brent' as council, '2019/20' as period, 'pdf_table' as kind"
        )
    tested = dbt_in(warehouse, "test", EXTRACTS, tmp_path)
    assert tested.returncode == 1
    assert stored_failures(db, "column_rules_stg_raw__extracts") == [
        ("accepted_values(kind)", "kind", "odd_kind"),
        ("not_null(council)", "council", "no_council"),
    ]


def test_a_value_out_of_range_fails_naming_its_rule(tmp_path: Path) -> None:
    """A negative count reaches a mart (raw rows edited by hand; the parser never writes one)."""
    warehouse = tmp_path / "warehouse"
    load_raw(copy_landing(tmp_path / "landing"), warehouse)
    db = warehouse / "build.duckdb"
    with duckdb.connect(str(db)) as con:
        ((extract_id, line),) = con.execute(
            "select extract_id, min(line) from raw.service_areas where instances > 0 group by 1 "
            "order by 1 limit 1"
        ).fetchall()
        con.execute(
            "update raw.service_areas set instances = -1 where extract_id = ? and line = ?",
            [extract_id, line],
        )
    mart = "mart_service_uphold_rates"
    built = dbt_in(warehouse, "build", [f"+{mart}"], tmp_path)
    assert built.returncode == 1
    assert " FAIL " in built.stdout and f"column_rules_{mart}" in built.stdout
    # The rate of that row leaves [0, 1] too; only the edited extract's rows fail.
    failures = stored_failures(db, f"column_rules_{mart}")
    assert ("accepted_range(instances)", "instances", extract_id) in failures
    assert {rule for rule, _, _ in failures} <= {
        "accepted_range(instances)",
        "accepted_range(upheld_or_partly_rate)",
    }, failures
    assert {extract for _, _, extract in failures} == {extract_id}
