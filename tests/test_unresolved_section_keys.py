"""Appendix C sections whose department is unresolved are departments of their own, and a
service-area name is listed once per department (docs/parsing.md, "headings and departments")."""

from __future__ import annotations

import pytest

from ingest.departments import parse_department_entries
from ingest.errors import MalformedRowError
from ingest.root_cause_summary import parse_root_cause_summary
from ingest.text import decode_extract
from ingest.vocabulary import UNKNOWN_DEPARTMENT


def _extract(*sections: tuple[str, str]) -> str:
    """A heading whose total the first section reaches, then sections that lost their heading:
    (service areas, Actions heading) each."""
    lines = ["Appendix C – 2019/20 Complaints Root Cause Summary", "", "Housing (5 instances)", ""]
    for areas, heading in sections:
        lines += [
            "Root Cause\tActions",
            f"{areas}\t<p>{heading}</p> <p>Letters were rewritten.</p>",
            "",
        ]
    return "\n".join(lines) + "\n"


_AREA = "<p>{name} – {n} instances</p> <ul> • Delay – {n} "


def _parse(text: str, departments: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    mapping = parse_department_entries(departments or {}, "manifest.yml", "entry")
    return parse_root_cause_summary(decode_extract(text.encode(), "x.txt"), "x.txt", mapping)


def test_two_unresolved_sections_listing_one_name_stay_apart() -> None:
    text = _extract(
        (_AREA.format(name="Repairs", n=5), "Housing"),
        (_AREA.format(name="Customer Care", n=3), "Front Desk"),
        (_AREA.format(name="Customer Care", n=4) + _AREA.format(name="Repairs", n=2), "Lobby"),
    )
    parsed = _parse(text)
    unknown = [
        (a.service_area, a.unresolved_section, a.line)
        for a in parsed.service_areas
        if a.department == UNKNOWN_DEPARTMENT
    ]
    assert unknown == [("Customer Care", 9, 9), ("Customer Care", 12, 12), ("Repairs", 12, 12)]
    assert [u.first_line for u in parsed.unresolved_sections] == [9, 12]
    assert {(c.service_area, c.unresolved_section) for c in parsed.causes} == {
        ("Repairs", None),
        ("Customer Care", 9),
        ("Customer Care", 12),
        ("Repairs", 12),
    }
    assert {a.unresolved_section for a in parsed.actions} == {None, 9, 12}
    assert parsed.reconciles
    # Resolved, the same sections carry no unresolved_section.
    mapped = _parse(text, {"Front Desk": "Customer Services", "Lobby": "Resources"})
    assert {a.unresolved_section for a in mapped.service_areas} == {None}


def test_a_name_listed_twice_under_one_heading_is_refused_naming_both_lines() -> None:
    text = _extract(
        (_AREA.format(name="Repairs", n=3), "Housing"),
        (_AREA.format(name="Repairs", n=2), "Housing"),
    )
    with pytest.raises(MalformedRowError) as exc:
        _parse(text)
    assert exc.value.line == 9
    assert "'Repairs' is listed twice under department 'Housing' (lines 6 and 9)" in str(exc.value)
    assert "correct the extract" in str(exc.value)


def test_two_sections_mapped_to_one_department_with_one_name_say_to_map_them_apart() -> None:
    text = _extract(
        (_AREA.format(name="Repairs", n=5), "Housing"),
        (_AREA.format(name="Customer Care", n=3), "Front Desk"),
        (_AREA.format(name="Customer Care", n=4), "Lobby"),
    )
    with pytest.raises(MalformedRowError) as exc:
        _parse(text, {"Front Desk": "Customer Services", "Lobby": "Customer Services"})
    assert "(lines 9 and 12)" in str(exc.value)
    assert "map the Actions headings of these sections to different departments" in str(exc.value)
