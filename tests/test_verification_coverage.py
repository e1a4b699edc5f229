"""Verification coverage reaches the published file, and the contract names exactly the tables
the published file holds."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from ingest.api import parse_entry
from ingest.manifest import load_manifest
from tests.pipeline import APPENDIX_C, PROJECT_ROOT

pytestmark = pytest.mark.integration

CONTRACT = PROJECT_ROOT / "docs" / "CONTRACT.md"
# A contract table row: | `name` | grain | columns |
_CONTRACT_ROW = re.compile(r"^\|\s*`((?:mart_|fct_|dim_|publication)\w*)`\s*\|", re.M)


def contract_tables(text: str) -> set[str]:
    return set(_CONTRACT_ROW.findall(text))


def published_tables(marts: Path) -> set[str]:
    with duckdb.connect(str(marts), read_only=True) as con:
        rows = con.execute(
            "select table_name from duckdb_tables() where schema_name = 'main'"
        ).fetchall()
    return {r[0] for r in rows}


def test_contract_lists_exactly_the_published_tables(published_warehouse) -> None:  # type: ignore[no-untyped-def]
    _, warehouse, _ = published_warehouse
    published = published_tables(warehouse / "marts.duckdb")
    documented = contract_tables(CONTRACT.read_text(encoding="utf-8"))
    assert {"mart_verification_coverage", "mart_unverified_numbers"} <= published
    assert published - documented == set(), "published but not in docs/CONTRACT.md"
    assert documented - published == set(), "in docs/CONTRACT.md but not published"


def test_contract_comparison_fails_when_either_side_differs(published_warehouse) -> None:  # type: ignore[no-untyped-def]
    """The comparison above can fail: a contract without one row, or with an extra one."""
    _, warehouse, _ = published_warehouse
    published = published_tables(warehouse / "marts.duckdb")
    text = CONTRACT.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| `mart_unverified_numbers`"))
    assert "mart_unverified_numbers" in published - contract_tables(text.replace(row, ""))
    extra = text.replace(row, row + "\n| `mart_not_built` | x | y |")
    assert contract_tables(extra) - published == {"mart_not_built"}


def _parsed(landing: Path):  # type: ignore[no-untyped-def]
    out = {}
    for entry in load_manifest(landing):
        out[entry.extract_id] = (entry, parse_entry(entry, (landing / entry.path).read_bytes()))
    return out


def test_published_coverage_equals_what_the_parser_computes(published_warehouse) -> None:  # type: ignore[no-untyped-def]
    _, warehouse, landing = published_warehouse
    parsed = _parsed(landing)
    expected_counts = {
        (eid, c.kind): (c.stated, c.verified, c.bounded, c.unverified)
        for eid, (_, result) in parsed.items()
        for c in result.coverage
    }
    expected_numbers = sorted(
        (eid, n.kind, n.line, n.scope, n.value, n.verification, n.reason)
        for eid, (_, result) in parsed.items()
        for n in result.unverified_numbers
    )
    with duckdb.connect(str(warehouse / "marts.duckdb"), read_only=True) as con:
        counts = con.execute(
            "select extract_id, level, numbers_stated, numbers_verified, numbers_bounded, "
            "numbers_unverified, numbers_not_verified from mart_verification_coverage"
        ).fetchall()
        numbers = con.execute(
            "select extract_id, level, source_line, scope, stated_value, verification, reason "
            "from mart_unverified_numbers order by all"
        ).fetchall()
        per_level = dict(
            con.execute(
                "select extract_id || '/' || level, count(*) from mart_unverified_numbers "
                "group by all"
            ).fetchall()
        )
    assert {(r[0], r[1]): r[2:6] for r in counts} == expected_counts
    assert len(counts) == len(expected_counts)
    assert sorted(numbers) == expected_numbers
    # The listing and the counts agree: one listed row per number not verified.
    assert {f"{r[0]}/{r[1]}": r[6] for r in counts if r[6]} == per_level
    # Both layouts are covered; Appendix C has numbers nothing verifies.
    assert {r[0] for r in counts} == set(parsed)
    assert any(r[5] for r in counts)


def test_upheld_count_in_a_section_without_heading_total_is_listed_with_its_line(
    published_warehouse,  # type: ignore[no-untyped-def]
) -> None:
    """Appendix C line 41 is a section that lost its directorate heading: its service areas'
    instances have no heading total and their upheld counts are only bounded."""
    _, warehouse, landing = published_warehouse
    line_no = 41
    text = (landing / APPENDIX_C).read_text(encoding="utf-8").splitlines()[line_no - 1]
    found = re.search(
        r"Employment, Skills and Enterprise\s*[–-]\s*(\d+) instances;\s*(\d+) upheld", text
    )
    assert found, text[:200]
    instances, upheld = int(found[1]), int(found[2])
    with duckdb.connect(str(warehouse / "marts.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select level, stated_value, verification from mart_unverified_numbers "
            "where source_line = ? and scope like '%/ Employment, Skills and Enterprise' "
            "order by level",
            [line_no],
        ).fetchall()
        heading_lines = {
            r[0]
            for r in con.execute(
                "select source_line from mart_reconciliation where level = 'heading'"
            ).fetchall()
        }
    assert rows == [
        ("service_area_instances", instances, "unverified"),
        ("upheld_or_partly_upheld", upheld, "bounded"),
    ]
    assert line_no not in heading_lines
