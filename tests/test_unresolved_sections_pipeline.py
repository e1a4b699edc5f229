"""Sections whose department is unresolved publish: each is a department of its own.

Generated Appendix C extracts (benchmarks/synthetic.py, `shared_names`) for two councils and two
periods, each with at least two sections that lost their heading, whose Actions name no mapped
service (department `Unknown`), listing the same service-area name; the same names recur under
headed and mapped departments too. The whole pipeline runs on them, and every published row of
`mart_service_uphold_rates` and every stated cause of `mart_service_root_causes` is compared with
the generated records.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import duckdb
import pytest
import yaml

from benchmarks.synthetic import (
    ExpectedRootCauses,
    RootCauseDoc,
    random_root_cause_doc,
    render_root_cause_summary,
)
from ingest.vocabulary import UNKNOWN_DEPARTMENT
from tests.pipeline import run

pytestmark = pytest.mark.integration

EXTRACTS = (("Council North", 2019), ("Council North", 2020), ("Council South", 2020))


def _doc_with_clashing_unknown_sections(council: str, year: int) -> tuple[RootCauseDoc, str]:
    """The first seed whose document has two unresolved sections listing one name; the search
    is deterministic, so the landing is the same on every run."""
    for n in range(4000):
        seed = f"{council}:{year}:{n}"
        doc = random_root_cause_doc(random.Random(seed), council, year, shared_names=True)
        unknown = [b for b in doc.blocks if b.heading_lost and not b.mapped]
        names = Counter(a.name for b in unknown for s in b.sections for a in s.areas)
        if len(unknown) >= 2 and names and names.most_common(1)[0][1] >= 2:
            return doc, seed
    raise AssertionError("no generated document with two clashing unresolved sections")


def _landing(folder: Path) -> dict[str, tuple[RootCauseDoc, ExpectedRootCauses]]:
    folder.mkdir()
    entries, truth = [], {}
    for council, year in EXTRACTS:
        doc, seed = _doc_with_clashing_unknown_sections(council, year)
        text, want = render_root_cause_summary(doc, random.Random(seed))
        extract_id = f"{council.split()[1].lower()}_{year}_c"
        (folder / f"{extract_id}.txt").write_text(text, encoding="utf-8")
        entry: dict[str, object] = {
            "id": extract_id,
            "path": f"{extract_id}.txt",
            "council": council,
            "period": doc.period,
            "kind": "root_cause_summary",
        }
        if doc.departments_map():
            entry["departments"] = doc.departments_map()
        entries.append(entry)
        truth[extract_id] = (doc, want)
    (folder / "manifest.yml").write_text(yaml.safe_dump({"extracts": entries}, sort_keys=False))
    return truth


def test_unresolved_sections_sharing_names_publish_as_generated(tmp_path: Path) -> None:
    truth = _landing(tmp_path / "landing")
    summary = run(tmp_path / "landing", tmp_path / "warehouse")
    assert summary.success, (summary.failed_steps, summary.checks_failed)
    assert not summary.checks_failed, summary.checks_failed
    assert summary.published_updated

    want_areas, want_causes = set(), set()
    clashing = 0
    for extract_id, (doc, want) in truth.items():
        unknown_names = Counter(
            a.name for a in want.areas if a.department == UNKNOWN_DEPARTMENT and a.parent is None
        )
        clashing += sum(1 for n in unknown_names.values() if n > 1)
        by_line = {}
        for a in want.areas:
            want_areas.add(
                (
                    extract_id,
                    doc.council,
                    doc.period,
                    a.department,
                    a.directorate,
                    a.unresolved_section,
                    a.name,
                    a.parent,
                    a.instances,
                    a.upheld,
                    a.basis,
                    a.line,
                )
            )
            by_line[(a.line, a.name)] = a
        for c in want.causes:
            area = by_line[(c.line, c.service_area)]
            want_causes.add(
                (
                    extract_id,
                    doc.council,
                    doc.period,
                    area.department,
                    area.directorate,
                    area.unresolved_section,
                    c.service_area,
                    c.label,
                    c.count,
                )
            )
    assert clashing >= len(EXTRACTS), "each extract lists one name under two unresolved sections"

    with duckdb.connect(str(tmp_path / "warehouse" / "marts.duckdb"), read_only=True) as con:
        got_areas = con.execute(
            "select extract_id, council, period, department, directorate, unresolved_section, "
            "service_area, parent_service_area, instances, upheld_or_partly_upheld, upheld_basis, "
            "source_line from mart_service_uphold_rates"
        ).fetchall()
        got_causes = con.execute(
            "select extract_id, council, period, department, directorate, unresolved_section, "
            "service_area, cause_label, instances from mart_service_root_causes "
            "where is_cause_stated"
        ).fetchall()
        unknown_departments = con.execute(
            "select council, unresolved_extract_id, unresolved_section, department_key "
            "from dim_department where department = ?",
            [UNKNOWN_DEPARTMENT],
        ).fetchall()
    assert len(got_areas) == len(want_areas) and set(got_areas) == want_areas
    assert len(got_causes) == len(want_causes) and set(got_causes) == want_causes
    # One department per unresolved section, none merged across sections, extracts or councils.
    sections = {(e, u) for e, (_, want) in truth.items() for u in want.unknown_sections}
    assert {(r[1], r[2]) for r in unknown_departments} == sections
    assert len({r[3] for r in unknown_departments}) == len(sections)
    print(
        f"published {len(got_areas)} service areas and {len(got_causes)} causes from "
        f"{len(truth)} extracts, {len(sections)} unresolved sections as many departments"
    )
