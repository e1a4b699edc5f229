"""Generated extracts (benchmarks/generate.py) are deterministic and pass `complaints check`."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from ingest.api import parse_entry
from ingest.manifest import load_manifest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from generate import generate  # noqa: E402


def test_generated_extracts_pass_check_and_exercise_the_artifacts(tmp_path: Path) -> None:
    entries = generate(tmp_path, extracts=24, seed=3)
    assert len(load_manifest(tmp_path)) == 24
    repairs: Counter[str] = Counter()
    inferred = unknown = 0
    for entry in load_manifest(tmp_path):
        parsed = parse_entry(entry)
        assert parsed.reconciles, (entry.path, parsed.failed_totals[:3])
        # Warnings only where the generator meant them: sections it left unmapped, another
        # table's text after the Grand Total. (Without `misread_lists` every cause list reads by
        # its typography.)
        meant = ("department 'Unknown'", "after the Grand Total")
        unexpected = [w for w in parsed.warnings if not any(m in w.message for m in meant)]
        assert not unexpected, (entry.path, unexpected[:3])
        repairs.update(r.kind for r in parsed.repairs)
        if entry.kind == "root_cause_summary":
            inferred += sum(s.department_inferred for s in parsed.service_areas)
            unknown += len(parsed.unresolved_sections)
            assert parsed.stated_period == entry.period
    assert inferred and unknown, "lost headings, mapped and unmapped, are generated"
    assert {"stray_token_cleared", "name_rejoined", "value_repaired", "row_dropped"} <= set(repairs)
    first = tmp_path / entries[1]["path"]
    res = CliRunner().invoke(
        app, ["check", str(first), "--kind", "outcome_matrix", "--period", entries[1]["period"]]
    )
    assert res.exit_code == 0, res.output


def test_generator_is_deterministic(tmp_path: Path) -> None:
    generate(tmp_path / "a", extracts=4, seed=11)
    generate(tmp_path / "b", extracts=4, seed=11)
    generate(tmp_path / "c", extracts=4, seed=12)
    a = {p.name: p.read_bytes() for p in (tmp_path / "a").iterdir()}
    assert a == {p.name: p.read_bytes() for p in (tmp_path / "b").iterdir()}
    assert a != {p.name: p.read_bytes() for p in (tmp_path / "c").iterdir()}


def test_councils_by_years_gives_both_layouts_per_council_and_year(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import generate as generate_module

    monkeypatch.setattr(
        sys, "argv", ["generate.py", str(tmp_path), "--councils", "3", "--years", "2"]
    )
    generate_module.main()
    grid = Counter((e.council, e.period, e.kind) for e in load_manifest(tmp_path))
    councils = {"Council 0000", "Council 0001", "Council 0002"}
    assert set(grid) == {
        (c, p, k)
        for c in councils
        for p in ("2018/19", "2019/20")
        for k in ("root_cause_summary", "outcome_matrix")
    }
    assert set(grid.values()) == {1}
