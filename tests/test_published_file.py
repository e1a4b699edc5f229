"""The published file opens in older DuckDB clients with every table, row, type and comment, and
says which publication it is."""

from __future__ import annotations

import hashlib
import struct
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from complaints.publication import LIBRARIES, OLDEST_READER, STORAGE_VERSION
from tests.duckdb_clients import client_python, read_here, read_with

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def published(published_warehouse) -> Path:  # type: ignore[no-untyped-def]
    _, warehouse, _ = published_warehouse
    return warehouse / "marts.duckdb"


@pytest.mark.parametrize("spec", ["1.4.*", OLDEST_READER])
def test_older_duckdb_reads_every_table(
    published: Path, spec: str, request: pytest.FixtureRequest
) -> None:
    """DuckDB 1.4 (what BI tools, DBeaver, R and Node bundle) and the oldest version docs/exports.md
    names read the same tables, rows, column types and comments as DuckDB 2.0."""
    python = client_python(request.config.cache.mkdir("duckdb-clients"), spec)
    seen = read_with(python, published)
    reference = read_here(published)
    assert seen["version"].startswith(spec.rstrip("*").rstrip(".")), seen["version"]
    assert set(seen["tables"]) == set(reference["tables"])
    counts = {name: len(t["rows"]) for name, t in seen["tables"].items()}
    print(f"DuckDB {seen['version']} reads {len(counts)} tables: {counts}")
    for name, table in reference["tables"].items():
        assert seen["tables"][name]["comment"] == table["comment"], name
        assert seen["tables"][name]["columns"] == table["columns"], name
        assert seen["tables"][name]["rows"] == table["rows"], name
    assert counts["mart_reconciliation"] == 462 and counts["publication"] == 1
    assert all(table["comment"] for table in reference["tables"].values())


def test_a_version_before_the_oldest_cannot(
    published: Path, request: pytest.FixtureRequest
) -> None:
    """The documented floor is real: 0.10.2, the release before it, fails to open the file."""
    python = client_python(request.config.cache.mkdir("duckdb-clients"), "0.10.2")
    with pytest.raises(RuntimeError, match="Serialization Error"):
        read_with(python, published)


def test_file_header_has_the_storage_number_1x_reads(published: Path) -> None:
    """DuckDB 1.x reads storage numbers 64 to 67; 2.0 writes 999 by default (the build file)."""
    header = published.read_bytes()[:20]
    assert header[8:12] == b"DUCK"
    assert struct.unpack("<Q", header[12:20]) == (64,)
    build = (published.parent / "build.duckdb").read_bytes()[:20]
    assert struct.unpack("<Q", build[12:20]) != (64,)
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select storage_version from publication").fetchone() == (
            STORAGE_VERSION,
        )


def test_publication_tables(published_warehouse) -> None:  # type: ignore[no-untyped-def]
    summary, warehouse, landing = published_warehouse
    with duckdb.connect(str(warehouse / "marts.duckdb"), read_only=True) as con:
        cur = con.execute("select * from publication")
        names = [d[0] for d in cur.description or []]
        rows = cur.fetchall()
        extracts = con.execute(
            "select publication_id, extract_id, council, period, kind, source_path, sha256 "
            "from publication_extracts order by extract_id"
        ).fetchall()
        waivers = con.execute(
            "select publication_id, waiver_id, extract_id, level, measure, stated, computed "
            "from publication_waivers order by waiver_id"
        ).fetchall()
        comments = con.execute(
            "select count(*) filter (where comment is null) from duckdb_columns() "
            "where table_name like 'publication%'"
        ).fetchone()
    assert len(rows) == 1
    row = dict(zip(names, rows[0], strict=True))
    print(f"publication row: {row}")
    assert row["run_id"] == summary.run_id
    pid = row["publication_id"]
    assert pid[:16] == row["published_at"].strftime("%Y%m%dT%H%M%SZ")
    assert row["project_version"] == "0.1.0"
    assert row["duckdb_version"] == duckdb.__version__
    assert all(row[col] for col in LIBRARIES.values())
    assert row["python_version"] == ".".join(map(str, sys.version_info[:3]))
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).parent
    ).stdout.strip()
    assert row["git_commit"] == (commit or None)
    assert (row["extract_count"], row["waiver_count"]) == (2, 4)
    assert [e[1:6] for e in extracts] == [
        (
            "brent_2019_20_root_causes",
            "Brent",
            "2019/20",
            "root_cause_summary",
            "brent_2019-20_appendix_c_root_causes.txt",
        ),
        (
            "brent_2022_23_outcome_matrix",
            "Brent",
            "2022/23",
            "outcome_matrix",
            "brent_2022-23_appendix_1_outcome_matrix.txt",
        ),
    ]
    for e in extracts:
        assert e[0] == pid
        assert e[6] == hashlib.sha256((landing / e[5]).read_bytes()).hexdigest()
    assert [w[1:] for w in waivers] == [
        ("brent-2022-23-grand-total-not-upheld", "brent_2022_23_outcome_matrix", "grand_total")
        + ("not_upheld", 924, 932),
        ("brent-2022-23-grand-total-partly-upheld", "brent_2022_23_outcome_matrix", "grand_total")
        + ("partly_upheld", 341, 345),
        ("brent-2022-23-grand-total-total", "brent_2022_23_outcome_matrix", "grand_total")
        + ("total", 1929, 1945),
        ("brent-2022-23-grand-total-upheld", "brent_2022_23_outcome_matrix", "grand_total")
        + ("upheld", 445, 449),
    ]
    assert all(w[0] == pid for w in waivers)
    assert comments == (0,)
