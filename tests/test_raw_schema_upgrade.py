"""A raw store written before a record type gained a field (here `unresolved_section`) still
loads: the missing column is added, the rows already there keep their values with NULL in it."""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingest.raw_tables import RAW_TABLES
from tests.pipeline import load_raw
from tests.test_unresolved_sections_pipeline import _landing

NEW = "unresolved_section"


def test_loading_into_a_raw_store_without_a_new_column_adds_it(tmp_path: Path) -> None:
    truth = _landing(tmp_path / "landing")
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    old_columns = {t: [(n, k) for n, k in cols if n != NEW] for t, cols in RAW_TABLES.items()}
    with duckdb.connect(str(warehouse / "build.duckdb")) as con:
        con.execute("create schema raw")
        for table, columns in old_columns.items():
            cols = ", ".join(f'"{n}" {k}' for n, k in columns)
            con.execute(f"create table raw.{table} ({cols})")
        con.execute(
            "insert into raw.service_areas values "
            "('earlier', 7, 1, 'Housing', null, false, 'Repairs', null, 12, 3, 'upheld')"
        )

    load_raw(tmp_path / "landing", warehouse)

    with duckdb.connect(str(warehouse / "build.duckdb"), read_only=True) as con:
        earlier = con.execute(
            f"select service_area, instances, {NEW} from raw.service_areas "
            "where extract_id = 'earlier'"
        ).fetchall()
        loaded = con.execute(
            f"select extract_id, line, service_area, {NEW} from raw.service_areas "
            "where extract_id <> 'earlier'"
        ).fetchall()
        causes = con.execute(f"select count({NEW}) from raw.causes").fetchone()
    assert earlier == [("Repairs", 12, None)]
    want = {
        (extract_id, a.line, a.name, a.unresolved_section)
        for extract_id, (_, expected) in truth.items()
        for a in expected.areas
    }
    assert set(loaded) == want and len(loaded) == len(want)
    assert any(row[3] is not None for row in loaded)
    assert causes is not None and causes[0] > 0
