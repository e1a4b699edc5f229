"""Departments of sections that lost their heading: data per council, from the manifest."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cli.main import app
from ingest.api import parse_entry, parse_extract
from ingest.departments import Department
from ingest.errors import ManifestError
from ingest.manifest import load_manifest
from tests.conftest import APPENDIX_C

LOST_LINES = {35, 38, 41, 44, 47, 53, 56}  # rows of the real file's sections with no heading


def _landing(tmp_path: Path, entry: dict, files: dict[str, str] | None = None) -> Path:
    folder = tmp_path / "landing"
    folder.mkdir()
    (folder / "c.txt").write_bytes(APPENDIX_C.read_bytes())
    for name, text in (files or {}).items():
        (folder / name).write_text(text, encoding="utf-8")
    base = {"path": "c.txt", "council": "Harrow", "period": "2019/20", "kind": "root_cause_summary"}
    (folder / "manifest.yml").write_text(yaml.safe_dump({"extracts": [{**base, **entry}]}))
    return folder


def _departments(parsed) -> dict[int, set[str]]:  # type: ignore[no-untyped-def]
    out: dict[int, set[str]] = {}
    for area in parsed.service_areas:
        out.setdefault(area.line, set()).add(area.department)
    return out


def test_another_council_gets_no_brent_departments(tmp_path: Path) -> None:
    (entry,) = load_manifest(_landing(tmp_path, {}))
    parsed = parse_entry(entry)
    assert {line for line, d in _departments(parsed).items() if d == {"Unknown"}} == LOST_LINES
    assert len(parsed.unresolved_sections) == 8  # one more: the actions-only section at line 50


def test_inline_departments_override_the_mapping_file(tmp_path: Path) -> None:
    mapping = {"service_headings": {"CYP": "Children's Services", "Contact Centre": "Customers"}}
    folder = _landing(
        tmp_path,
        {
            "department_map": "harrow-departments.yml",
            "departments": {
                "CYP": {"department": "People Directorate", "directorate": "Children"},
                "Parking & Lighting": "Environment",
                "Environmental Improvement": "Environment",
                "Planning, Transport and Licensing": "Environment",
                "Brent Customer Service (BCS)": "Customers",
                "Blue Badges, Taxi card, Freedom Passes Discretionary Housing Payment": "Customers",
                "Chief Executive’s Service": "Chief Executive",  # curly quote: folded
            },
        },
        {"harrow-departments.yml": yaml.safe_dump(mapping)},
    )
    (entry,) = load_manifest(folder)  # the mapping file counts as listed
    parsed = parse_entry(entry)
    got = _departments(parsed)
    assert got[53] == {"People Directorate"}  # inline wins over the file
    assert {a.directorate for a in parsed.service_areas if a.line == 53} == {"Children"}
    assert got[35] == got[38] == got[41] == {"Environment"}
    assert got[44] == got[47] == {"Customers"}
    assert got[56] == {"Chief Executive"}
    assert parsed.unresolved_sections == []
    assert all(a.department_inferred for a in parsed.service_areas if a.line in LOST_LINES)


def test_bundled_mapping_applies_to_its_council_only() -> None:
    data = APPENDIX_C.read_bytes()
    brent = parse_extract(data, "root_cause_summary", "c", council="Brent")
    assert brent.unresolved_sections == []
    override = parse_extract(
        data,
        "root_cause_summary",
        "c",
        council="brent",  # case is folded
        departments={"cyp": Department("CYP Dept")},
    )
    assert _departments(override)[53] == {"CYP Dept"}


@pytest.mark.parametrize(
    ("entry", "files", "message"),
    [
        ({"departments": ["CYP"]}, None, "departments must map service headings"),
        ({"departments": {"CYP": "<department>"}}, None, "still the placeholder"),
        ({"departments": {"CYP": ["a", "b"]}}, None, "must be text"),
        ({"departments": {"CYP": {"dept": "x"}}}, None, "unknown key(s) dept"),
        ({"department_map": "missing.yml"}, None, "does not exist"),
        ({"department_map": "../x.yml"}, None, "leaves the landing folder"),
        ({"department_map": "m.yml"}, {"m.yml": "CYP: x\n"}, "one key, 'service_headings'"),
    ],
)
def test_bad_department_entries_are_named(
    tmp_path: Path, entry: dict, files: dict[str, str] | None, message: str
) -> None:
    folder = _landing(tmp_path, entry, files)
    with pytest.raises(ManifestError) as err:
        load_manifest(folder)
    assert message in str(err.value)


def test_check_lists_unresolved_sections_and_prints_a_snippet_that_resolves_them(
    tmp_path: Path,
) -> None:
    folder = _landing(tmp_path, {})
    res = CliRunner().invoke(
        app, ["check", str(folder / "c.txt"), "--manifest", str(folder / "manifest.yml")]
    )
    assert res.exit_code == 0, res.output
    assert "Sections with department 'Unknown' (8)" in res.output
    assert "  lines 53-53: no directorate heading; Actions headings found: 'CYP'" in res.output
    snippet = res.output[res.output.index("    departments:") :].split("\n\n")[0]
    # Filled in and pasted into the entry, the snippet resolves every section.
    # Each placeholder gets its own department: two of these sections both list 'Customer Care',
    # which one department may name only once.
    parts = snippet.split("'<department>'")
    filled = yaml.safe_load(
        "".join(f"{part}'Department {i}'" for i, part in enumerate(parts[:-1])) + parts[-1]
    )
    manifest = yaml.safe_load((folder / "manifest.yml").read_text())
    manifest["extracts"][0]["departments"] = filled["departments"]
    (folder / "manifest.yml").write_text(yaml.safe_dump(manifest))
    (entry,) = load_manifest(folder)
    assert parse_entry(entry).unresolved_sections == []
