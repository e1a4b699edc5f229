"""`complaints sql` cannot damage what it serves or reach past it: `--output` never lands in the
warehouse folder however the path is spelled, DuckDB has no folder to read or write, a query has a
time limit, and cell text is data in every output format.

Run against a copy of the session's publication republished with hostile department names (the
real publication code, a real DuckDB file, the real exports and report beside it)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import time
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from cli.main import app
from complaints.publication import publish

pytestmark = pytest.mark.integration

# Department names an attacker (or a careless source extract) could put in a published table.
HOSTILE = [
    "[/]",
    "[x](javascript:alert(4))",
    "<script>alert(1)</script> | <b>",
    '=HYPERLINK("http://evil.example","click")',
    "@SUM(A1:A9)",
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "\x1b[2J\x1b]8;;http://evil.example\x07link",
    'a,b "quoted"\nsecond line [bold]x[/bold] :smile: *em* _u_ `code` &amp;',
]


@pytest.fixture(scope="module")
def warehouse(published_warehouse, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    """A private copy of the session's warehouse (report, exports and all), republished with
    HOSTILE as department names in mart_department_scorecard."""
    _, source, _ = published_warehouse
    dest = tmp_path_factory.mktemp("sqlsafe") / "warehouse"
    shutil.copytree(source, dest, symlinks=True)
    with duckdb.connect(str(dest / "build.duckdb")) as con:
        departments = [
            r[0]
            for r in con.execute(
                "select distinct department from main.mart_department_scorecard order by 1"
            ).fetchall()
        ]
        assert len(departments) >= len(HOSTILE)
        for old, new in zip(departments, HOSTILE, strict=False):
            con.execute(
                "update main.mart_department_scorecard set department = ? where department = ?",
                [new, old],
            )
    publish(dest / "build.duckdb", dest / "marts.duckdb", run_id="hostile labels")
    assert (dest / "report.html").is_file() and (dest / "exports").is_symlink()
    return dest


def _sql(warehouse: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["sql", *args, "--warehouse", str(warehouse)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def _read_exact(path: Path) -> str:
    with path.open(encoding="utf-8", newline="") as handle:
        return handle.read()


def _one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def _snapshot(folder: Path) -> dict[str, tuple[str, int, int]]:
    """Every entry of the warehouse: content hash (or link target), inode and link count."""
    state: dict[str, tuple[str, int, int]] = {}
    for root, dirs, names in os.walk(folder):
        for name in [*dirs, *names]:
            path = Path(root, name)
            st = path.lstat()
            if path.is_symlink():
                digest = "-> " + os.readlink(path)
            elif path.is_dir():
                digest = "dir"
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            state[str(path.relative_to(folder))] = (digest, st.st_ino, st.st_nlink)
    return state


SCORECARD = "select department from mart_department_scorecard order by department"


# --- --output never writes inside the warehouse -------------------------------------------------


def _spellings(warehouse: Path, outside: Path) -> dict[str, Path]:
    """Ways to name a file of the warehouse (or a new one in it) from outside."""
    exports = (warehouse / "exports").resolve()
    manifest = exports / "manifest.json"
    a_csv = next(exports.glob("mart_*.csv"))
    links = outside / "links"
    links.mkdir(exist_ok=True)
    names: dict[str, Path] = {}
    for label, target in {
        "published": warehouse / "marts.duckdb",
        "build": warehouse / "build.duckdb",
        "report": warehouse / "report.html",
        "manifest": manifest,
        "csv": a_csv,
    }.items():
        hard = links / f"hard_{label}"
        if not hard.exists():
            os.link(target, hard)
        soft = links / f"soft_{label}"
        if not soft.is_symlink():
            soft.symlink_to(target)
        names[f"hard link to {label}"] = hard
        names[f"symlink to {label}"] = soft
        names[f"{label} itself"] = target
    to_folder = links / "to_warehouse"
    if not to_folder.is_symlink():
        to_folder.symlink_to(warehouse, target_is_directory=True)
    names["new file via a linked folder"] = to_folder / "new.csv"
    names["published via a linked folder"] = to_folder / "marts.duckdb"
    names["dotdot"] = outside / ".." / warehouse.parent.name / warehouse.name / "report.html"
    names["new file in the warehouse"] = warehouse / "result.csv"
    names["new file in exports"] = warehouse / "exports" / "result.csv"
    names["new file in exports.versions"] = warehouse / "exports.versions" / "result.csv"
    names["exports link"] = warehouse / "exports"
    names["the warehouse folder"] = warehouse
    names["a dotted warehouse path"] = Path(f"{warehouse}/./exports/../marts.duckdb")
    return names


def test_output_never_lands_in_the_warehouse(warehouse: Path, tmp_path: Path) -> None:
    before = _snapshot(warehouse)
    assert before["marts.duckdb"][2] == 1
    spellings = _spellings(warehouse, tmp_path)
    for name, path in spellings.items():
        for fmt in ("csv", "json"):
            code, out, err = _sql(warehouse, SCORECARD, "-f", fmt, "--output", str(path))
            assert code == 2, (name, code, out, err)
            line = _one_error_line(err)
            assert "--output" in line, (name, line)
    # The hard links made by the test above are the only change: same bytes, same inodes.
    after = {k: (d, i) for k, (d, i, _) in _snapshot(warehouse).items()}
    assert after == {k: (d, i) for k, (d, i, _) in before.items()}
    code, out, _ = _sql(
        warehouse, "select count(*) as n from mart_department_scorecard", "-f", "csv"
    )
    assert (code, out) == (0, "n\n15\n")
    print(f"{len(spellings)} spellings of a warehouse path refused in 2 formats")


def test_an_outside_file_with_other_names_is_refused(warehouse: Path, tmp_path: Path) -> None:
    """A file with several names (hard links) might be anything under another name."""
    mine = tmp_path / "mine.csv"
    mine.write_text("keep\n")
    os.link(mine, tmp_path / "other_name.csv")
    code, _, err = _sql(warehouse, SCORECARD, "-f", "csv", "--output", str(mine))
    assert code == 2 and "hard links" in _one_error_line(err)
    assert mine.read_text() == "keep\n"


@pytest.mark.parametrize(
    "name",
    ["a folder", "/proc/version", "a missing folder", "an unwritable folder", "/dev/null"],
)
def test_a_bad_output_path_is_one_error_line(warehouse: Path, tmp_path: Path, name: str) -> None:
    path = {
        "a folder": tmp_path,
        "/proc/version": Path("/proc/version"),
        "a missing folder": tmp_path / "missing" / "x.csv",
        # /proc takes no new files, even from root (a chmod would not stop root).
        "an unwritable folder": Path("/proc/complaints-sql-result.csv"),
        "/dev/null": Path("/dev/null"),
    }[name]
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = _sql(warehouse, SCORECARD, "-f", "csv", "--output", str(path))
    assert code == 2 and out == "", (code, out, err)
    print(f"{name}: {_one_error_line(err)}")
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert Path("/dev/null").is_char_device()


def test_output_is_written_through_a_temporary_file_and_a_rename(
    warehouse: Path, tmp_path: Path
) -> None:
    target = tmp_path / "result.csv"
    target.write_text("old\n")
    target.chmod(0o640)
    old_inode = target.stat().st_ino
    with target.open() as reader:  # a reader of the old file keeps the old file whole
        code, _, err = _sql(warehouse, SCORECARD, "-f", "csv", "--output", str(target))
        assert code == 0, err
        assert reader.read() == "old\n"
    assert target.stat().st_ino != old_inode  # replaced, not rewritten in place
    assert oct(target.stat().st_mode & 0o777) == oct(0o640)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.csv"]  # no temporary left
    rows = list(csv.reader(io.StringIO(_read_exact(target))))
    assert sorted(r[0] for r in rows[1:]) == [r[0] for r in _db(warehouse, SCORECARD)]


# --- DuckDB reaches no folder --------------------------------------------------------------------


def _escapes(warehouse: Path, tmp: Path) -> dict[str, str]:
    exports = warehouse / "exports"
    return {
        "copy to .tmp": "copy (select 1 as a) to '.tmp/x.csv'",
        "copy to .tmp absolute": f"copy (select 1 as a) to '{tmp}/.tmp/y.csv'",
        "copy over the report": f"copy (select 1 as a) to '{warehouse}/report.html'",
        "copy over the published wal": f"copy (select 1 as a) to '{warehouse}/marts.duckdb.wal'",
        "attach in .tmp": "attach '.tmp/x.duckdb' as x",
        "attach the build": f"attach '{warehouse}/build.duckdb' as b (read_only)",
        "read_csv in .tmp": "select * from read_csv('.tmp/passwd')",
        "read_text in .tmp": "select * from read_text('.tmp/passwd')",
        "glob .tmp": "select * from glob('.tmp/*')",
        "glob the warehouse": f"select * from glob('{warehouse}/*')",
        "read_blob the published file": f"select * from read_blob('{warehouse}/marts.duckdb')",
        "read_text the published file": f"select * from read_text('{warehouse}/marts.duckdb')",
        "read_parquet the exports": f"select * from read_parquet('{exports}/*.parquet')",
        "read_json the manifest": f"select * from read_json('{exports}/manifest.json')",
        "read_csv the exports": f"select * from read_csv('{exports}/mart_outcome_matrix.csv')",
        "read via parquet_metadata": f"select * from parquet_metadata('{exports}/*.parquet')",
        "read via sniff_csv": "select * from sniff_csv('.tmp/passwd')",
        "read via read_json_objects": "select * from read_json_objects('.tmp/passwd')",
        "read via read_ndjson": "select * from read_ndjson('.tmp/passwd')",
        "read via copy from": "copy mart_department_scorecard from '.tmp/passwd'",
        "read via import database": "import database '.tmp'",
        "export database": f"export database '{tmp}/dump'",
        "install": "install httpfs",
        "load a file": f"load '{tmp}/x.duckdb_extension'",
        "set temp_directory": f"set temp_directory = '{tmp}'",
        "set disabled_filesystems": "set disabled_filesystems = ''",
        "set external access": "set enable_external_access = true",
        "set allowed_directories": f"set allowed_directories = ['{tmp}']",
        "pragma profiling": "pragma enable_profiling",
        "profiling output": f"set profiling_output = '{tmp}/profile.json'",
        "file logging": f"call enable_logging(storage = 'file', storage_path = '{tmp}/log')",
    }


@pytest.mark.parametrize("dot_tmp", ["folder", "link elsewhere", "link to /etc"])
def test_duckdb_reaches_no_folder(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dot_tmp: str
) -> None:
    """DuckDB's default temporary folder is `.tmp` under the current folder, and stays allowed
    with external access disabled: run from a folder holding one (a real folder, a link to
    another folder, a link to /etc), every file function, COPY, ATTACH, EXPORT, extension and
    setting is refused. (With the link to /etc only the reads are tried: a regression must not
    write into /etc.)"""
    monkeypatch.chdir(tmp_path)
    escapes = _escapes(warehouse, tmp_path)
    if dot_tmp == "folder":
        (tmp_path / ".tmp").mkdir()
        (tmp_path / ".tmp" / "passwd").write_text("secret:x:0:0\n")
    elif dot_tmp == "link elsewhere":
        (tmp_path / "elsewhere").mkdir()
        (tmp_path / "elsewhere" / "passwd").write_text("secret:x:0:0\n")
        (tmp_path / ".tmp").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    else:
        (tmp_path / ".tmp").symlink_to("/etc", target_is_directory=True)
        escapes = {k: q for k, q in escapes.items() if k.startswith(("read", "glob"))}
        assert len(escapes) >= 5
    before_tmp = _snapshot(tmp_path)
    before_warehouse = _snapshot(warehouse)
    for name, query in escapes.items():
        code, out, err = _sql(warehouse, query, "-f", "csv")
        assert code == 1, (name, out, err)
        assert err.startswith("error: "), (name, err)
        assert "root:" not in out + err and "secret:" not in out + err, name
    assert _snapshot(tmp_path) == before_tmp, "a file was written beside the caller"
    assert _snapshot(warehouse) == before_warehouse, "a file was written in the warehouse"
    code, out, _ = _sql(
        warehouse,
        "select current_setting('temp_directory') as t, "
        "current_setting('allowed_directories')::varchar as d",
        "-f",
        "json",
    )
    assert code == 0 and json.loads(out) == [{"t": "", "d": "[]"}], out
    print(f".tmp as a {dot_tmp}: {len(escapes)} escapes refused")


def test_a_query_has_a_time_limit(warehouse: Path) -> None:
    started = time.monotonic()
    code, out, err = _sql(
        warehouse, "select count(*) from range(1000000000000)", "--timeout", "1", "-f", "csv"
    )
    elapsed = time.monotonic() - started
    line = _one_error_line(err)
    print(f"stopped after {elapsed:.2f} s: {line}")
    assert code == 3 and out == ""
    assert "longer than 1 s" in line and "--timeout" in line
    assert elapsed < 10
    code, _, err = _sql(warehouse, SCORECARD, "--timeout", "-1")
    assert code == 2 and "--timeout" in _one_error_line(err)
    # The default limit is there too: the help names it.
    result = CliRunner().invoke(app, ["sql", "--help"])
    assert "--timeout" in result.stdout and "60" in result.stdout


# --- Cell text is data ---------------------------------------------------------------------------


def _db(warehouse: Path, query: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(warehouse / "marts.duckdb"), read_only=True) as con:
        return con.execute(query).fetchall()


HOSTILE_QUERY = (
    "select department, total from mart_department_scorecard "
    "where department in ({}) order by department".format(
        ", ".join("'" + h.replace("'", "''") + "'" for h in HOSTILE)
    )
)


def test_csv_and_json_are_exact(warehouse: Path) -> None:
    expected = _db(warehouse, HOSTILE_QUERY)
    assert sorted(str(r[0]) for r in expected) == sorted(HOSTILE)
    code, out, _ = _sql(warehouse, HOSTILE_QUERY, "-f", "csv")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert rows[0] == ["department", "total"]
    assert [(r[0], int(r[1])) for r in rows[1:]] == expected
    code, out, _ = _sql(warehouse, HOSTILE_QUERY, "-f", "json")
    assert code == 0
    assert [(r["department"], r["total"]) for r in json.loads(out)] == expected


def test_csv_and_json_files_are_exact(warehouse: Path, tmp_path: Path) -> None:
    expected = _db(warehouse, HOSTILE_QUERY)
    for fmt in ("csv", "json"):
        target = tmp_path / f"out.{fmt}"
        code, _, err = _sql(warehouse, HOSTILE_QUERY, "-f", fmt, "-o", str(target))
        assert code == 0, err
        text = _read_exact(target)
        if fmt == "csv":
            got = [(r[0], int(r[1])) for r in list(csv.reader(io.StringIO(text, newline="")))[1:]]
        else:
            got = [(r["department"], r["total"]) for r in json.loads(text)]
        assert got == expected, fmt


def test_table_shows_cell_text_never_markup(warehouse: Path) -> None:
    code, out, err = _sql(warehouse, "select '[/]' as x")
    assert code == 0, err
    assert "[/]" in out
    code, out, err = _sql(warehouse, HOSTILE_QUERY)
    assert code == 0, err
    for text in HOSTILE[:7]:
        assert text in out, text
    # Control characters are shown, not sent to the terminal.
    assert "\x1b" not in out and "\\x1b[2J" in out and "\\r=1+1" in out
    assert "[bold]x[/bold] :smile:" in out
    # Column names are text too.
    code, out, _ = _sql(warehouse, 'select 1 as "[red]name[/red]"')
    assert code == 0 and "[red]name[/red]" in out


def test_markdown_escapes_html_and_markdown(warehouse: Path) -> None:
    code, out, _ = _sql(warehouse, HOSTILE_QUERY, "-f", "markdown")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2 + len(HOSTILE)  # no value broke a row
    assert "<script>" not in out and "<b>" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt; \\| &lt;b&gt;" in out
    assert "\\[x\\](javascript:alert(4))" in out
    assert "&amp;amp;" in out and "\\*em\\*" in out and "\\_u\\_" in out and "\\`code\\`" in out
    assert "\x1b" not in out and "&#27;" in out
    for line in lines[2:]:
        # Every row has exactly two cells: its unescaped pipes are the three separators.
        unescaped = line.replace("\\\\", "").replace("\\|", "")
        assert unescaped.count("|") == 3, line
    code, out, _ = _sql(warehouse, "select '<script>' as x", "-f", "markdown")
    assert out.splitlines()[2] == "| &lt;script&gt; |"
