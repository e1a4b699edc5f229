"""The CSV exports cannot run as spreadsheet formulas: a text cell starting with `=`, `+`, `-`,
`@`, a tab or a carriage return gets a leading apostrophe (OWASP's CSV injection rule), in the
CSV files only; Parquet and the published DuckDB file keep the exact text, and numbers, dates and
other non-text values are written as they are."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import shutil
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from complaints.exports import (
    EXPORTS_LINK,
    FORMULA_TRIGGERS,
    current_exports,
    neutralise_formula,
    read_manifest,
    write_exports,
)
from complaints.publication import publish

pytestmark = pytest.mark.integration

FORMULAS = [
    '=HYPERLINK("http://evil.example","click")',
    "@SUM(A1:A9)",
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "=1+1\n=2+2",
]
HARMLESS = ["plain text", " =leading space", "'quoted", "a=b", "[=]"]


def _csv_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def test_neutralise_formula_rule() -> None:
    assert FORMULA_TRIGGERS == ("=", "+", "-", "@", "\t", "\r")
    for text in FORMULAS:
        assert neutralise_formula(text) == "'" + text
    for text in HARMLESS:
        assert neutralise_formula(text) == text


@pytest.fixture
def republished(published_warehouse, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """A copy of the session's warehouse, published again (the real publication code) with
    FORMULAS and HARMLESS as department names."""
    _, source, _ = published_warehouse
    dest = tmp_path / "warehouse"
    shutil.copytree(
        source, dest, symlinks=True, ignore=shutil.ignore_patterns("gx", "dbt_target", "logs")
    )
    labels = FORMULAS + HARMLESS
    with duckdb.connect(str(dest / "build.duckdb")) as con:
        departments = [
            r[0]
            for r in con.execute(
                "select distinct department from main.mart_department_scorecard order by 1"
            ).fetchall()
        ]
        assert len(departments) >= len(labels)
        for old, new in zip(departments, labels, strict=False):
            con.execute(
                "update main.mart_department_scorecard set department = ? where department = ?",
                [new, old],
            )
    publish(dest / "build.duckdb", dest / "marts.duckdb", run_id="formulas")
    return dest


def test_published_formulas_are_neutralised_in_csv_only(republished: Path) -> None:
    warehouse = republished
    folder = current_exports(warehouse)
    assert folder is not None and (warehouse / EXPORTS_LINK).is_symlink()
    labels = FORMULAS + HARMLESS
    # The published file and the Parquet export hold the exact text.
    with duckdb.connect(str(warehouse / "marts.duckdb"), read_only=True) as con:
        published = {
            r[0] for r in con.execute("select department from mart_department_scorecard").fetchall()
        }
    assert set(labels) <= published
    parquet = pq.read_table(folder / "mart_department_scorecard.parquet")
    assert set(labels) <= set(parquet.column("department").to_pylist())
    # The CSV export holds the neutralised text: every formula with a leading apostrophe.
    rows = _csv_rows(folder / "mart_department_scorecard.csv")
    column = rows[0].index("department")
    in_csv = {r[column] for r in rows[1:]}
    assert {"'" + f for f in FORMULAS} <= in_csv
    assert set(HARMLESS) <= in_csv
    assert not set(FORMULAS) & in_csv
    print(f"{len(FORMULAS)} formulas neutralised, {len(HARMLESS)} harmless labels unchanged")
    # No text cell of any CSV export starts a formula; numbers stay numbers.
    manifest = read_manifest(folder)
    for table in manifest["tables"]:
        if "csv" not in table["files"]:
            continue
        types = [c["type"] for c in table["columns"]]
        rows = _csv_rows(folder / table["files"]["csv"]["path"])
        for row in rows[1:]:
            for value, type_ in zip(row, types, strict=True):
                if type_ in {"VARCHAR", "JSON"}:
                    assert not value.startswith(FORMULA_TRIGGERS), (table["name"], value)


def test_only_text_values_are_neutralised(tmp_path: Path) -> None:
    """Negative numbers, dates and nested values are not text cells: written as they are; text
    of any text type (VARCHAR, ENUM, JSON) is neutralised."""
    database = tmp_path / "marts.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("create type mood as enum ('=ok', 'fine')")
        con.execute(
            """
            create table mart_types as select
                -5 as int_value, -1.5::double as double_value, -2.50::decimal(5, 2) as dec_value,
                date '2026-01-02' as date_value, true as flag,
                '-x' as text_value, '=ok'::mood as enum_value, '-5'::json as json_value,
                ['=a', 'b'] as list_value, {'k': '=v'} as struct_value
            """
        )
    folder, _ = write_exports(database, tmp_path, {"publication_id": "types"})
    rows = _csv_rows(folder / "mart_types.csv")
    header, values = rows[0], dict(zip(rows[0], rows[1], strict=True))
    assert header[0] == "int_value"
    assert values["int_value"] == "-5"
    assert values["double_value"] == "-1.5"
    assert values["dec_value"] == "-2.50"
    assert values["date_value"] == "2026-01-02"
    assert values["flag"] == "true"
    assert values["text_value"] == "'-x"
    assert values["enum_value"] == "'=ok"
    assert values["json_value"] == "'-5"  # JSON is text, even a number in it
    assert not values["list_value"].startswith(FORMULA_TRIGGERS)
    assert not values["struct_value"].startswith(FORMULA_TRIGGERS)
    # Parquet keeps every value and type exactly.
    with duckdb.connect() as con:
        got = con.execute(
            "select int_value, double_value, dec_value, date_value, text_value, "
            "enum_value::varchar, json_value::varchar, list_value from read_parquet(?)",
            [str(folder / "mart_types.parquet")],
        ).fetchall()
    assert got == [
        (
            -5,
            -1.5,
            decimal.Decimal("-2.50"),
            dt.date(2026, 1, 2),
            "-x",
            "=ok",
            "-5",
            ["=a", "b"],
        )
    ]
