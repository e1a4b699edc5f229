"""Parquet and CSV exports: equal to the published tables row for row, described by a manifest,
replaced whole (a reader never sees a mix of two publications; a reader holding a file open keeps
a complete file)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from complaints.exports import (
    EXPORTS_LINK,
    MANIFEST_NAME,
    VERSIONS_DIR,
    current_exports,
    read_manifest,
)
from complaints.publication import PublicationError, publish

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def exported(published_warehouse) -> tuple[Path, Path, dict[str, Any]]:  # type: ignore[no-untyped-def]
    _, warehouse, _ = published_warehouse
    folder = current_exports(warehouse)
    assert folder is not None
    return warehouse, folder, read_manifest(folder)


def _db_rows(warehouse: Path, table: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(warehouse / "marts.duckdb"), read_only=True) as con:
        return con.execute(f'select * from main."{table}"').fetchall()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_manifest_describes_every_table_and_file(exported) -> None:  # type: ignore[no-untyped-def]
    warehouse, folder, manifest = exported
    link = warehouse / EXPORTS_LINK
    assert link.is_symlink()
    assert os.readlink(link) == f"{VERSIONS_DIR}/{manifest['publication_id']}"
    with duckdb.connect(str(warehouse / "marts.duckdb"), read_only=True) as con:
        publication = con.execute("select publication_id, run_id from publication").fetchone()
        tables = con.execute(
            "select table_name, comment from duckdb_tables() order by table_name"
        ).fetchall()
        columns = {
            t: [
                {"name": n, "type": ty, "description": c}
                for n, ty, c in con.execute(
                    "select column_name, data_type, comment from duckdb_columns() "
                    "where table_name = ? order by column_index",
                    [t],
                ).fetchall()
            ]
            for t, _ in tables
        }
        counts = {t: con.execute(f'select count(*) from "{t}"').fetchall()[0][0] for t, _ in tables}
    assert (manifest["publication_id"], manifest["run_id"]) == publication
    assert manifest["storage_version"] == "v1.0.0"
    assert [(t["name"], t["description"]) for t in manifest["tables"]] == tables
    listed = {MANIFEST_NAME, "views.sql"}
    for table in manifest["tables"]:
        assert table["rows"] == counts[table["name"]]
        assert table["columns"] == columns[table["name"]]
        kinds = set(table["files"])
        assert kinds == ({"parquet", "csv"} if table["name"].startswith("mart_") else {"parquet"})
        for entry in table["files"].values():
            path = folder / entry["path"]
            assert entry["sha256"] == _sha256(path) and entry["bytes"] == path.stat().st_size
            listed.add(entry["path"])
        parquet = folder / table["files"]["parquet"]["path"]
        assert pq.read_metadata(parquet).metadata[b"publication_id"] == (
            manifest["publication_id"].encode()
        )
    assert {p.name for p in folder.iterdir()} == listed
    print(
        f"exports {manifest['publication_id']}: {len(manifest['tables'])} tables, "
        f"{len(listed) - 2} files, rows {sum(counts.values())}"
    )


def test_parquet_equals_published_tables_row_for_row(exported) -> None:  # type: ignore[no-untyped-def]
    warehouse, folder, manifest = exported
    with duckdb.connect() as con:
        for table in manifest["tables"]:
            path = folder / table["files"]["parquet"]["path"]
            expected = _db_rows(warehouse, table["name"])
            # DuckDB reading the Parquet file: same rows in the same order, same types.
            assert con.execute("select * from read_parquet(?)", [str(path)]).fetchall() == expected
            types = con.execute(
                "select column_name, column_type from (describe select * from read_parquet(?))",
                [str(path)],
            ).fetchall()
            assert types == [(c["name"], c["type"]) for c in table["columns"]], table["name"]
            # A second implementation (pyarrow, what pandas uses) reads the same values.
            arrow = pq.read_table(path)
            assert arrow.column_names == [c["name"] for c in table["columns"]]
            assert [tuple(r.values()) for r in arrow.to_pylist()] == expected, table["name"]


def test_csv_equals_published_marts_row_for_row(exported) -> None:  # type: ignore[no-untyped-def]
    warehouse, folder, manifest = exported
    marts = [t for t in manifest["tables"] if "csv" in t["files"]]
    assert {t["name"] for t in marts} == {
        "mart_council_comparison",
        "mart_department_scorecard",
        "mart_improvement_actions",
        "mart_outcome_matrix",
        "mart_reconciliation",
        "mart_service_root_causes",
        "mart_service_uphold_rates",
        "mart_unverified_numbers",
        "mart_verification_coverage",
    }
    with duckdb.connect() as con:
        for table in marts:
            path = folder / table["files"]["csv"]["path"]
            text = path.read_bytes().decode("utf-8")  # strict: UTF-8 or an error
            names = [c["name"] for c in table["columns"]]
            records = list(csv.reader(io.StringIO(text)))
            assert records[0] == names and len(records) == table["rows"] + 1
            types = {c["name"]: c["type"] for c in table["columns"]}
            rows = con.execute(
                "select * from read_csv(?, header = true, columns = ?)", [str(path), types]
            ).fetchall()
            assert rows == _db_rows(warehouse, table["name"]), table["name"]
            for index, name in enumerate(names):
                if types[name] == "DATE":
                    values = [r[index] for r in records[1:] if r[index]]
                    assert values and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", v) for v in values)
    # Non-ASCII text survives as UTF-8 (en dashes and curly quotes of the source).
    actions = (folder / "mart_improvement_actions.csv").read_text(encoding="utf-8")
    assert any(ord(ch) > 127 for ch in actions)


@pytest.fixture
def private_warehouse(published_warehouse, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """A copy of the published warehouse (link kept as a link) to publish into again."""
    _, warehouse, _ = published_warehouse
    dest = tmp_path / "warehouse"
    shutil.copytree(
        warehouse, dest, symlinks=True, ignore=shutil.ignore_patterns("gx", "dbt_target", "logs")
    )
    return dest


def _republish(warehouse: Path, marker: str) -> None:
    """Publish again with one department renamed to `marker`, so every publication differs."""
    with duckdb.connect(str(warehouse / "build.duckdb")) as con:
        con.execute(
            "update main.mart_department_scorecard set department = ? where rank_by_total = 1",
            [marker],
        )
    publish(warehouse / "build.duckdb", warehouse / "marts.duckdb", run_id=marker)


def test_reader_holding_a_parquet_file_keeps_a_complete_file(private_warehouse: Path) -> None:
    warehouse = private_warehouse
    first = current_exports(warehouse)
    assert first is not None
    manifest = read_manifest(first)
    entry = next(t for t in manifest["tables"] if t["name"] == "mart_department_scorecard")
    path = first / entry["files"]["parquet"]["path"]
    expected = _db_rows(warehouse, "mart_department_scorecard")
    with path.open("rb") as handle:
        reader = pq.ParquetFile(handle)  # footer read now, row groups later
        for cycle in (1, 2):
            _republish(warehouse, f"cycle {cycle}")
        # Two publications later the reader's folder is gone from the directory...
        assert not first.exists()
        assert current_exports(warehouse) != first
        # ...and the open file is still whole: every row, and the bytes the manifest hashed.
        rows = [tuple(r.values()) for r in reader.read().to_pylist()]
        handle.seek(0)
        assert hashlib.sha256(handle.read()).hexdigest() == entry["files"]["parquet"]["sha256"]
    assert rows == expected and len(rows) == 15
    now = _db_rows(warehouse, "mart_department_scorecard")
    assert any(r[2] == "cycle 2" for r in now) and not any(r[2] == "cycle 2" for r in rows)
    # The previous publication's folder is kept for readers that resolved the link just before.
    assert len([p for p in (warehouse / VERSIONS_DIR).iterdir()]) == 2


READER = textwrap.dedent(
    """
    import hashlib, json, os, sys, time
    import duckdb
    link, stop = sys.argv[1], sys.argv[2]
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    seen, reads, problems = set(), 0, []
    while not os.path.exists(stop):
        folder = os.path.realpath(link)  # resolve once, read everything from there
        try:
            manifest = json.load(open(os.path.join(folder, "manifest.json")))
            pid = manifest["publication_id"]
            for table in manifest["tables"]:
                for entry in table["files"].values():
                    data = open(os.path.join(folder, entry["path"]), "rb").read()
                    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
                        problems.append(f"{pid} {entry['path']}: hash differs")
                kv = con.execute(
                    "select value::varchar from parquet_kv_metadata(?) where key::varchar = 'publication_id'",
                    [os.path.join(folder, table["files"]["parquet"]["path"])],
                ).fetchall()
                if kv != [(pid,)]:
                    problems.append(f"{pid} {table['name']}: parquet of publication {kv}")
            seen.add(pid)
            reads += 1
        except (OSError, duckdb.Error) as exc:
            problems.append(f"{folder}: {exc}")
    print("RESULT " + json.dumps({"reads": reads, "seen": sorted(seen), "problems": problems}))
    """
)


def test_concurrent_reader_never_sees_a_mix(private_warehouse: Path, tmp_path: Path) -> None:
    """A reader re-reading the exports in a loop while five publications replace them: every
    read is one complete publication (hashes match its manifest, every Parquet file carries its
    id), and it sees more than one publication."""
    warehouse = private_warehouse
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(warehouse / EXPORTS_LINK), str(stop)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        for cycle in range(1, 6):
            _republish(warehouse, f"cycle {cycle}")
        stop.write_text("")
        out, _ = reader.communicate(timeout=120)
    finally:
        if reader.poll() is None:
            reader.kill()
    results = [line for line in out.splitlines() if line.startswith("RESULT ")]
    assert len(results) == 1, out
    result = json.loads(results[0].removeprefix("RESULT "))
    print(f"reader: {result['reads']} complete reads of {len(result['seen'])} publications")
    assert result["problems"] == []
    assert len(result["seen"]) >= 2 and result["reads"] >= 5


def test_a_folder_in_place_of_the_link_is_refused(private_warehouse: Path) -> None:
    """`exports` replaced by a real folder (e.g. copied with links followed): publication stops
    with a clear error before anything is written; the published file is unchanged."""
    warehouse = private_warehouse
    published = warehouse / "marts.duckdb"
    before = _sha256(published)
    target = (warehouse / EXPORTS_LINK).resolve()
    (warehouse / EXPORTS_LINK).unlink()
    shutil.copytree(target, warehouse / EXPORTS_LINK)
    with pytest.raises(PublicationError, match="not the link"):
        publish(warehouse / "build.duckdb", published, run_id="refused")
    assert _sha256(published) == before


def test_views_sql_reads_the_parquet_folder(exported) -> None:  # type: ignore[no-untyped-def]
    warehouse, folder, manifest = exported
    with duckdb.connect() as con:
        con.execute(f"set file_search_path = '{folder}'")
        con.execute((folder / "views.sql").read_text(encoding="utf-8"))
        for table in manifest["tables"]:
            got = con.execute(f'select * from "{table["name"]}"').fetchall()
            assert got == _db_rows(warehouse, table["name"])
