"""The manifest's council context file (`council_context:`): residents per council and period.

Every row is checked against the manifest's entries; a bad row is refused naming the file, the
line and the column, never skipped or fixed. The file is part of what a run reads (the manifest's
SHA-256 covers it) and of what the landing sensor compares with the warehouse.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dagster import DagsterInstance, SensorResult, SkipReason

from complaints.raw_store import read_context_state, replace_council_context, write_context_state
from ingest.errors import ManifestError
from ingest.manifest import context_fingerprint, read_manifest
from tests.pipeline import copy_landing, load_raw
from tests.test_sensor import evaluate

GOOD = "council,period,residents\nBrent,2022/23,339800\nBrent,2019/20,329800\n"


def landing_with(tmp_path: Path, csv_text: str | bytes, name: str = "context.csv") -> Path:
    landing = copy_landing(tmp_path / "landing")
    path = landing / name
    if isinstance(csv_text, bytes):
        path.write_bytes(csv_text)
    else:
        path.write_text(csv_text, encoding="utf-8")
    manifest = landing / "manifest.yml"
    manifest.write_text(
        f"council_context: {name}\n" + manifest.read_text(encoding="utf-8"), encoding="utf-8"
    )
    return landing


def refusal(tmp_path: Path, csv_text: str | bytes) -> ManifestError:
    landing = landing_with(tmp_path, csv_text)
    with pytest.raises(ManifestError) as caught:
        read_manifest(landing)
    return caught.value


def test_a_good_file_is_read_with_its_lines(tmp_path: Path) -> None:
    landing = landing_with(tmp_path, GOOD)
    manifest = read_manifest(landing)
    assert manifest.council_context is not None
    assert manifest.council_context.path == "context.csv"
    rows = [(r.council, r.period, r.residents, r.line) for r in manifest.council_context.rows]
    assert rows == [("Brent", "2022/23", 339800, 2), ("Brent", "2019/20", 329800, 3)]
    # Columns in any order, blank lines and spaces around cells, a byte-order mark: same rows.
    reordered = (
        "\ufeffresidents, council ,period\n\n 339800 ,Brent, 2022/23\n329800,Brent,2019/20\n"
    )
    (landing / "context.csv").write_text(reordered, encoding="utf-8")
    again = read_manifest(landing).council_context
    assert again is not None
    assert [(r.council, r.period, r.residents) for r in again.rows] == [
        (c, p, n) for c, p, n, _ in rows
    ]
    # The same figures: the same fingerprint (nothing to reload), whatever the layout.
    assert again.fingerprint() == manifest.council_context.fingerprint()


def test_without_a_context_file_nothing_changes(tmp_path: Path) -> None:
    landing = copy_landing(tmp_path / "landing")
    manifest = read_manifest(landing)
    assert manifest.council_context is None
    import hashlib

    assert manifest.sha256 == hashlib.sha256((landing / "manifest.yml").read_bytes()).hexdigest()


def test_the_context_file_is_part_of_what_a_run_reads(tmp_path: Path) -> None:
    landing = landing_with(tmp_path, GOOD)
    before = read_manifest(landing)
    (landing / "context.csv").write_text(GOOD.replace("339800", "339801"), encoding="utf-8")
    after = read_manifest(landing)
    assert after.sha256 != before.sha256
    assert before.council_context is not None and after.council_context is not None
    assert after.council_context.fingerprint() != before.council_context.fingerprint()


@pytest.mark.parametrize(
    ("csv_text", "line", "column", "says"),
    [
        ("council,period,residents\nBrnt,2022/23,1000\n", 2, "council", "'Brnt' is not a council"),
        ("council,period,residents\nBrent,2020/21,1000\n", 2, "period", "no extract for period"),
        ("council,period,residents\nBrent,2022/23,0\n", 2, "residents", "'0' is not a positive"),
        ("council,period,residents\nBrent,2022/23,-5\n", 2, "residents", "'-5' is not a positive"),
        ("council,period,residents\nBrent,2022/23,12.5\n", 2, "residents", "'12.5' is not"),
        ('council,period,residents\nBrent,2022/23,"12,000"\n', 2, "residents", "'12,000' is not"),
        ("council,period,residents\nBrent,2022/23,\n", 2, "residents", "'' is not a positive"),
        ("council,period,residents\nBrent,2022/23,1e5\n", 2, "residents", "'1e5' is not"),
        ("council,period,residents\nBrent,2022/23,²\n", 2, "residents", "'²' is not"),
        (GOOD + "Brent,2022/23,339800\n", 4, "council, period", "already given on line 2"),
    ],
)
def test_a_bad_row_is_refused_naming_file_line_and_column(
    tmp_path: Path, csv_text: str, line: int, column: str, says: str
) -> None:
    error = refusal(tmp_path, csv_text)
    assert error.source == str(tmp_path / "landing" / "context.csv")
    assert error.line == line
    assert error.reason.startswith(f"column {column}: ") or error.reason.startswith(
        f"columns {column}: "
    ), error.reason
    assert says in error.reason, error.reason
    assert f"context.csv:{line}: " in str(error)


@pytest.mark.parametrize(
    ("csv_text", "line", "says"),
    [
        ("council,period\nBrent,2022/23\n", 1, "missing column(s) residents"),
        ("council,period,residents,notes\nBrent,2022/23,1,x\n", 1, "unknown column(s) 'notes'"),
        ("council,period,residents,council\n", 1, "column(s) council given twice"),
        ("council,period,residents\nBrent,2022/23\n", 2, "expected 3 columns"),
        ("council,period,residents\nBrent,2022/23,1,2\n", 2, "expected 3 columns"),
        ("\n\n", None, "the council context file is empty"),
        (b"council,period,residents\nBrent,2022/23,\xff\n", None, "not UTF-8"),
    ],
)
def test_a_malformed_file_is_refused(
    tmp_path: Path, csv_text: str | bytes, line: int | None, says: str
) -> None:
    error = refusal(tmp_path, csv_text)
    assert error.source == str(tmp_path / "landing" / "context.csv")
    assert error.line == line
    assert says in error.reason, error.reason


def test_the_manifest_key_itself_is_checked(tmp_path: Path) -> None:
    landing = copy_landing(tmp_path / "landing")
    manifest = landing / "manifest.yml"
    text = manifest.read_text(encoding="utf-8")
    for value, says in [
        ("missing.csv", "file missing.csv does not exist"),
        ("../outside.csv", "path leaves the landing folder"),
        ("[a.csv, b.csv]", "council_context must be text, got a list"),
        ("''", "council_context: name a CSV file"),
    ]:
        manifest.write_text(f"council_context: {value}\n" + text, encoding="utf-8")
        with pytest.raises(ManifestError) as caught:
            read_manifest(landing)
        assert caught.value.source == str(manifest)
        assert caught.value.line == 1, (value, caught.value)
        assert says in caught.value.reason, caught.value.reason
    # Anything else at the top level is still refused.
    manifest.write_text("councils: x.csv\n" + text, encoding="utf-8")
    with pytest.raises(ManifestError, match="optionally 'council_context'"):
        read_manifest(landing)


def test_a_context_file_not_named_is_an_unlisted_file(tmp_path: Path) -> None:
    landing = copy_landing(tmp_path / "landing")
    (landing / "context.csv").write_text(GOOD, encoding="utf-8")
    with pytest.raises(ManifestError, match="context.csv is in the landing folder but no entry"):
        read_manifest(landing)


def test_the_sensor_requests_a_rebuild_when_only_the_context_changes(tmp_path: Path) -> None:
    landing = copy_landing(tmp_path / "landing")
    warehouse = tmp_path / "warehouse"
    load_raw(landing, warehouse)
    instance = DagsterInstance.ephemeral()
    first = evaluate(instance, landing, warehouse)
    assert isinstance(first, SensorResult) and not first.run_requests
    assert isinstance(evaluate(instance, landing, warehouse), SkipReason)

    # A context file named: a rebuild (nothing to parse), keyed by the context it loads.
    shutil.rmtree(landing)
    landing = landing_with(tmp_path, GOOD)
    result = evaluate(instance, landing, warehouse)
    assert isinstance(result, SensorResult)
    (request,) = result.run_requests or []
    assert request.job_name == "rebuild_without_parsing"

    # What the run's council_context asset does: load it and record its fingerprint.
    import duckdb

    manifest = read_manifest(landing)
    with duckdb.connect(str(warehouse / "build.duckdb")) as con:
        assert replace_council_context(con, manifest.council_context) == 2
        write_context_state(warehouse, context_fingerprint(manifest.council_context))
        rows = con.execute(
            "select council, period, residents, source_path, source_line "
            "from raw.council_context order by source_line"
        ).fetchall()
    assert rows == [
        ("Brent", "2022/23", 339800, "context.csv", 2),
        ("Brent", "2019/20", 329800, "context.csv", 3),
    ]
    assert read_context_state(warehouse) == context_fingerprint(manifest.council_context)
    assert isinstance(evaluate(instance, landing, warehouse), SkipReason)

    # A changed figure: another rebuild, under another key.
    (landing / "context.csv").write_text(GOOD.replace("329800", "329801"), encoding="utf-8")
    again = evaluate(instance, landing, warehouse)
    assert isinstance(again, SensorResult)
    (second,) = again.run_requests or []
    assert second.job_name == "rebuild_without_parsing"
    assert second.run_key != request.run_key
