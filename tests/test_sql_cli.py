"""`complaints sql`: output formats and files, and every way out of the published tables refused."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from cli.main import app

pytestmark = pytest.mark.integration

QUERY = (
    "select department, total, fault_found_rate, extract_id is not null as has_extract "
    "from mart_department_scorecard order by rank_by_total, department"
)


@pytest.fixture(scope="module")
def warehouse(published_warehouse) -> Path:  # type: ignore[no-untyped-def]
    return published_warehouse[1]


def _sql(warehouse: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["sql", *args, "--warehouse", str(warehouse)])
    return result.exit_code, result.stdout, result.stderr


def _expected(warehouse: Path, query: str = QUERY) -> list[tuple]:
    with duckdb.connect(str(warehouse / "marts.duckdb"), read_only=True) as con:
        return con.execute(query).fetchall()


def test_csv(warehouse: Path) -> None:
    code, out, _ = _sql(warehouse, QUERY, "--format", "csv")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["department", "total", "fault_found_rate", "has_extract"]
    expected = _expected(warehouse)
    assert len(rows) == len(expected) + 1 == 16
    assert [(r[0], int(r[1]), float(r[2]), r[3]) for r in rows[1:]] == [
        (d, t, f, "true" if b else "false") for d, t, f, b in expected
    ]


def test_json(warehouse: Path) -> None:
    code, out, _ = _sql(warehouse, QUERY, "--format", "json")
    assert code == 0
    records = json.loads(out)
    assert [tuple(r.values()) for r in records] == _expected(warehouse)
    assert records[0] == {
        "department": "Housing",
        "total": 1014,
        "fault_found_rate": 0.45307068366164543,
        "has_extract": True,
    }


def test_json_dates_and_nulls(warehouse: Path) -> None:
    query = (
        "select waiver_reviewed_on, waiver_ids, source_line from mart_reconciliation "
        "where level = 'grand_total' order by extract_id, measure"
    )
    code, out, _ = _sql(warehouse, query, "-f", "json")
    assert code == 0
    records = json.loads(out)
    assert {r["waiver_reviewed_on"] for r in records} == {None, "2026-11-23"}
    assert any(r["waiver_ids"] is None for r in records)


def test_markdown(warehouse: Path) -> None:
    code, out, _ = _sql(warehouse, QUERY, "--format", "markdown")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "| department | total | fault_found_rate | has_extract |"
    assert lines[1] == "|---|---:|---:|---|"
    assert lines[2] == "| Housing | 1014 | 0.45307068366164543 | true |"
    assert len(lines) == 2 + 15
    # A pipe inside a value cannot break the table.
    code, out, _ = _sql(warehouse, "select 'a|b' as x", "-f", "markdown")
    assert out.splitlines()[2] == "| a\\|b |"


def test_table_and_limit(warehouse: Path) -> None:
    code, out, err = _sql(warehouse, QUERY, "--limit", "3")
    assert code == 0
    assert "Housing" in out and "Customer Access" in out and "3 row(s)" not in out
    assert "only the first 3 row(s)" in err
    code, out, _ = _sql(warehouse, QUERY)
    assert "15 row(s)" in out


def test_output_file(warehouse: Path, tmp_path: Path) -> None:
    target = tmp_path / "scorecard.csv"
    code, out, err = _sql(warehouse, QUERY, "--format", "csv", "--output", str(target))
    assert code == 0 and out == ""
    assert "15 row(s) written" in err
    assert len(list(csv.reader(target.open(encoding="utf-8")))) == 16
    # The published file itself is never an output.
    code, _, err = _sql(
        warehouse, QUERY, "--output", str(warehouse / "marts.duckdb"), "--format", "csv"
    )
    assert code == 2 and "is inside the warehouse folder" in err


def test_unknown_format(warehouse: Path) -> None:
    code, _, err = _sql(warehouse, QUERY, "--format", "xml")
    assert code == 2 and "table, csv, json, markdown" in err


ESCAPES = {
    "read a file": "select * from read_csv('/etc/hostname')",
    "read text": "select * from read_text('/etc/passwd')",
    "glob": "select * from glob('/etc/*')",
    "read parquet beside it": "select * from read_parquet('{warehouse}/exports/*.parquet')",
    "copy to a file": "copy mart_department_scorecard to '{tmp}/out.csv'",
    "copy a query": "copy (select 1) to '{tmp}/one.parquet' (format parquet)",
    "export database": "export database '{tmp}/dump'",
    "attach a file": "attach '{tmp}/other.duckdb' as other",
    "attach the build": "attach '{warehouse}/build.duckdb' as build (read_only)",
    "install": "install httpfs",
    "load": "load httpfs",
    "set external access": "set enable_external_access = true",
    "unlock": "set lock_configuration = false",
    "reset": "reset enable_external_access",
    "create": "create table x as select 1",
    "delete": "delete from mart_department_scorecard",
}


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_escape_is_refused(warehouse: Path, tmp_path: Path, name: str) -> None:
    query = ESCAPES[name].format(warehouse=warehouse, tmp=tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = _sql(warehouse, query, "--format", "csv")
    assert code == 1, (name, out, err)
    assert err.startswith("error: refused: `complaints sql` only reads the published tables"), err
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "a file was written"
    print(f"{name}: {err.strip()[:160]}")
    # The published tables stay reachable after each refusal.
    code, out, _ = _sql(
        warehouse, "select count(*) as n from mart_department_scorecard", "-f", "csv"
    )
    assert (code, out) == (0, "n\n15\n")


def test_plain_errors_are_not_called_refusals(warehouse: Path) -> None:
    code, _, err = _sql(warehouse, "select * from no_such_table")
    assert code == 1 and "refused" not in err and "no_such_table" in err


def test_a_connection_held_in_the_same_process_does_not_leak_its_snapshot(
    warehouse: Path, tmp_path: Path
) -> None:
    """DuckDB shares one instance per path in a process: an analyst's open connection must
    neither block the query tool (different configuration) nor hand it the replaced file."""
    import os

    from complaints.sqlquery import run_query

    path = tmp_path / "marts.duckdb"
    path.write_bytes((warehouse / "marts.duckdb").read_bytes())
    analyst = duckdb.connect(str(path), read_only=True)
    try:
        old = analyst.execute("select publication_id from publication").fetchall()
        with duckdb.connect(str(tmp_path / "next.duckdb")) as con:
            con.execute("create table publication as select 'the next one' as publication_id")
        os.replace(tmp_path / "next.duckdb", path)
        result = run_query(path, "select publication_id from publication", None)
        assert result.rows == [("the next one",)]
        assert analyst.execute("select publication_id from publication").fetchall() == old
    finally:
        analyst.close()
