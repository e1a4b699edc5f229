"""Councils compared per resident, through the whole pipeline: a generated landing of two councils
x two periods x both layouts with a council context file holding residents for three of the four
Appendix 1 council-periods. mart_council_comparison is compared with figures computed here from
the parser's records and the context file (never from the warehouse); the gate's suite passes,
the exports carry the mart, the report gains its "Councils compared" section; a bad context row
is refused before anything runs and leaves every published output as it was.
"""

from __future__ import annotations

import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from cli.main import app
from ingest.api import parse_entry
from ingest.manifest import load_manifest
from tests.pipeline import published_outputs, run_on_persistent_instance

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from generate import generate  # noqa: E402

pytestmark = pytest.mark.integration

CONTEXT = {
    ("Council 0000", "2018/19"): 254_300,
    ("Council 0000", "2019/20"): 257_911,
    ("Council 0001", "2018/19"): 98_760,
}
COLUMNS = (
    "council, period, complaints, decided, fault_found, fault_found_rate, residents, "
    "complaints_per_10k_residents, fault_found_per_10k_residents"
)


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path, Path, Path]:
    base = tmp_path_factory.mktemp("compared")
    landing, warehouse, home = base / "landing", base / "warehouse", base / "dagster_home"
    generate(landing, extracts=8, seed=5, years=2)
    lines = ["council,period,residents"] + [f"{c},{p},{n}" for (c, p), n in CONTEXT.items()]
    (landing / "residents.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    manifest = landing / "manifest.yml"
    doc = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    manifest.write_text(
        yaml.safe_dump({"council_context": "residents.csv", **doc}, sort_keys=False),
        encoding="utf-8",
    )
    summary = run_on_persistent_instance(landing, warehouse, home)
    return summary, landing, warehouse, home


def expected_rows(landing: Path) -> dict[tuple[str, str], tuple[Any, ...]]:
    """Per Appendix 1 council-period, from the parser's outcome rows and the context above."""
    sums: dict[tuple[str, str], list[int]] = {}
    for entry in load_manifest(landing):
        if entry.kind != "outcome_matrix":
            continue
        parsed = parse_entry(entry)
        assert parsed.reconciles, entry.path
        s = sums.setdefault((entry.council, entry.period), [0, 0, 0])
        for row in parsed.outcome_rows:
            s[0] += row.withdrawn + row.rejected + row.not_upheld + row.partly_upheld + row.upheld
            s[1] += row.not_upheld + row.partly_upheld + row.upheld
            s[2] += row.partly_upheld + row.upheld
    out = {}
    for key, (complaints, decided, found) in sums.items():
        residents = CONTEXT.get(key)
        out[key] = (
            complaints,
            decided,
            found,
            found / decided if decided else None,
            residents,
            complaints * 10_000 / residents if residents else None,
            found * 10_000 / residents if residents else None,
        )
    return out


def close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return abs(float(a) - float(b)) <= 1e-9


def test_the_mart_equals_the_parsed_records_and_the_context(compared) -> None:  # type: ignore[no-untyped-def]
    summary, landing, warehouse, _ = compared
    assert summary.success, summary.failed_steps
    assert summary.published_updated
    expected = expected_rows(landing)
    assert len(expected) == 4
    with duckdb.connect(str(warehouse / "marts.duckdb"), read_only=True) as con:
        rows = con.execute(f"select {COLUMNS} from mart_council_comparison").fetchall()
    got = {(r[0], r[1]): r[2:] for r in rows}
    assert sorted(got) == sorted(expected)
    for key, want in expected.items():
        have = got[key]
        assert have[:3] == want[:3], key
        assert all(close(a, b) for a, b in zip(have[3:], want[3:], strict=True)), (key, have)
    # Exactly the council-period without a context row has no per-resident rate.
    assert [k for k, v in got.items() if v[5] is None] == [("Council 0001", "2019/20")]


def test_the_gate_checked_the_mart_and_the_exports_carry_it(compared) -> None:  # type: ignore[no-untyped-def]
    summary, _, warehouse, _ = compared
    gx = {name: ok for name, (ok, _) in summary.gate_results.items()}
    assert any("mart_council_comparison" in name and ok for name, ok in gx.items()), gx
    exports = warehouse / "exports"
    assert (exports / "mart_council_comparison.parquet").is_file()
    assert (exports / "mart_council_comparison.csv").is_file()


class _Tables(HTMLParser):
    """Rows of the tables with a data-table attribute, as text cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.sections: list[str] = []
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._h2 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and a.get("data-table"):
            self._table = str(a["data-table"])
            self.tables.setdefault(self._table, [])
        elif tag == "tr" and self._table:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = []
        elif tag == "h2":
            self._h2 = True
            self.sections.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._table and self._row is not None:
            if self._row:
                self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "h2":
            self._h2 = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._h2:
            self.sections[-1] += data


def read_tables(path: Path) -> _Tables:
    parser = _Tables()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_the_report_compares_the_councils_per_resident(compared) -> None:  # type: ignore[no-untyped-def]
    _, landing, warehouse, _ = compared
    report = read_tables(warehouse / "report.html")
    assert "Councils compared" in report.sections
    html = (warehouse / "report.html").read_text(encoding="utf-8")
    assert 'data-chart="c-compare"' in html  # the chart, drawn
    rows = report.tables["council-comparison"]
    expected = expected_rows(landing)
    with_residents = {k: v for k, v in expected.items() if v[4] is not None}
    assert len(rows) == len(with_residents) == 3
    for council, period, complaints, found, residents, per_10k, found_10k, *_ in rows:
        want = with_residents[(council, period)]
        assert (complaints, found, residents) == (f"{want[0]:,}", f"{want[2]:,}", f"{want[4]:,}")
        assert (per_10k, found_10k) == (f"{want[5]:,.1f}", f"{want[6]:,.1f}")
    # Most complaints per resident first; the council-period without residents is named.
    assert [float(r[5].replace(",", "")) for r in rows] == sorted(
        (float(r[5].replace(",", "")) for r in rows), reverse=True
    )
    assert "No residents in the council context file for: Council 0001 2019/20." in html


@pytest.mark.parametrize(
    ("row", "line", "column"),
    [("Council 0001,2019/20,0", 5, "residents"), ("Council 0000,2018/19,5", 5, "council, period")],
)
def test_a_bad_context_row_exits_2_and_changes_nothing_published(
    compared,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    row: str,
    line: int,
    column: str,
) -> None:
    _, landing, warehouse, _ = compared
    mine, wh = tmp_path / "landing", tmp_path / "warehouse"
    shutil.copytree(landing, mine)
    shutil.copytree(warehouse, wh, symlinks=True)
    before = published_outputs(wh)
    marts = (wh / "marts.duckdb").read_bytes()
    context = mine / "residents.csv"
    context.write_text(context.read_text(encoding="utf-8") + row + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        app,
        ["run", "--landing", str(mine), "--warehouse", str(wh)]
        + ["--dagster-home", str(tmp_path / "home")],
    )
    assert result.exit_code == 2, result.output
    assert f"{context}:{line}: column" in result.output.replace("\n", ""), result.output
    assert f"column {column}:" in result.output or f"columns {column}:" in result.output
    assert published_outputs(wh) == before
    assert (wh / "marts.duckdb").read_bytes() == marts
