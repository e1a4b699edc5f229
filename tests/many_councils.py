"""A published file of many councils without running the pipeline: the bundled publication's rows
copied under other council names (and extract ids), with residents for each council-period of
the comparison. The report reads the published file only, so this is all it needs."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb


def residents_of(n: int) -> int:
    """Council n's residents: distinct, so every per-resident rate differs."""
    return 100_000 + 7_919 * n


def many_councils(published: Path, out: Path, councils: int) -> list[str]:
    """Copy `published` to `out` holding `councils` councils ('Council 001', ...) in place of
    Brent, each with Brent's figures; returns the councils' names."""
    shutil.copy(published, out)
    names = [f"Council {n:03d}" for n in range(1, councils + 1)]
    with duckdb.connect(str(out)) as con:
        tables = con.execute(
            "select table_name, list(column_name) from information_schema.columns "
            "where table_schema = 'main' and table_name <> 'publication' group by table_name"
        ).fetchall()
        con.execute(
            "create temp table numbers as select range as n from range(1, ?)", [councils + 1]
        )
        for table, columns in tables:
            replaced = []
            if "council" in columns:
                replaced.append("'Council ' || lpad(n::varchar, 3, '0') as council")
            if "extract_id" in columns:
                replaced.append("extract_id || '_' || n as extract_id")
            if not replaced:
                continue
            con.execute(
                f"create temp table copied as select t.* replace ({', '.join(replaced)}) "
                f'from main."{table}" as t, numbers'
            )
            con.execute(f'delete from main."{table}"')
            con.execute(f'insert into main."{table}" select * from copied')
            con.execute("drop table copied")
        con.execute(
            "update mart_council_comparison set residents = 100000 + 7919 * "
            "cast(right(council, 3) as integer)"
        )
        con.execute(
            "update mart_council_comparison set "
            "complaints_per_10k_residents = complaints * 10000.0 / residents, "
            "fault_found_per_10k_residents = fault_found * 10000.0 / residents"
        )
    return names
