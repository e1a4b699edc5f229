"""`key_rules`, the one test node holding a model's key rules (unique combination, unique columns,
relationships): it passes on real rows, and broken keys make it fail with every offending row
stored under the name of the rule it breaks."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.pipeline import copy_landing, dbt_in, load_raw


def test_broken_keys_fail_naming_each_rule_with_its_rows(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse"
    load_raw(copy_landing(tmp_path / "landing"), warehouse)
    db = warehouse / "build.duckdb"
    built = dbt_in(warehouse, "build", ["+dim_extract", "+dim_period"], tmp_path)
    assert built.returncode == 0, built.stdout[-2000:]
    assert "key_rules_dim_extract" in built.stdout

    with duckdb.connect(str(db)) as con:
        (first, period), (second, _) = con.execute(
            "select extract_id, period from main.dim_extract order by extract_id"
        ).fetchall()
        # A second row for one extract (unique) and a period no dim_period row has
        # (relationship); rebuilt without the contract's primary key, which would refuse the row.
        con.execute(
            "create table main.broken as select * from main.dim_extract "
            "union all select * from main.dim_extract where extract_id = ?",
            [first],
        )
        con.execute("update main.broken set period = '1999/00' where extract_id = ?", [second])
        con.execute("drop table main.dim_extract")
        con.execute("alter table main.broken rename to dim_extract")
    tested = dbt_in(warehouse, "test", ["dim_extract", "dim_period"], tmp_path)
    assert tested.returncode == 1
    with duckdb.connect(str(db), read_only=True) as con:
        ((schema, table),) = con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where table_name like 'key_rules_dim_extract%'"
        ).fetchall()
        failing = con.execute(
            f'select failing_rule, extract_id, period from "{schema}"."{table}" '
            "order by failing_rule, extract_id"
        ).fetchall()
    assert failing == [
        ("relationships(period -> dim_period.period)", second, "1999/00"),
        ("unique(extract_id)", first, period),
        ("unique(extract_id)", first, period),
    ]
