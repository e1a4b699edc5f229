"""Appendix C (2019/20) parsed into exactly what the extract says."""

from __future__ import annotations

from collections import Counter

import pytest

from ingest.api import parse_extract
from ingest.records import ParsedExtract
from ingest.root_cause_summary import parse_root_cause_summary
from ingest.text import decode_extract
from tests.conftest import APPENDIX_C
from tests.expected_figures import APPENDIX_C_HOUSING_CAUSES, APPENDIX_C_SERVICE_AREAS


@pytest.fixture(scope="module")
def parsed(appendix_c_bytes: bytes) -> ParsedExtract:
    return parse_extract(
        appendix_c_bytes, "root_cause_summary", str(APPENDIX_C), council="Brent", period="2019/20"
    )


def test_title_and_stated_period(parsed: ParsedExtract) -> None:
    assert parsed.stated_period == "2019/20"
    assert parsed.title.startswith("Appendix C")


def test_headings_with_stated_totals(parsed: ParsedExtract) -> None:
    assert [(h.line, h.directorate, h.stated_instances) for h in parsed.headings] == [
        (7, "Housing Directorate", 780),
        (21, "Adult Social Care Directorate", 60),
        (29, "Culture Directorate", 36),
    ]
    assert {h.department for h in parsed.headings} == {"Community Wellbeing Department"}


def test_every_service_area_with_instances_and_upheld(parsed: ParsedExtract) -> None:
    got = [
        (
            s.line,
            s.department,
            s.directorate,
            s.service_area,
            s.parent_service_area,
            s.instances,
            s.upheld_or_partly_upheld,
        )
        for s in parsed.service_areas
    ]
    assert got == APPENDIX_C_SERVICE_AREAS
    assert len(got) == 75


def test_repairs_figure_from_the_brief(parsed: ParsedExtract) -> None:
    repairs = next(s for s in parsed.service_areas if s.service_area == "Repairs")
    assert (repairs.instances, repairs.upheld_or_partly_upheld) == (200, 139)
    assert repairs.upheld_basis == "upheld/partly upheld"


def test_housing_directorate_causes(parsed: ParsedExtract) -> None:
    got: dict[str, list[tuple[str, int]]] = {}
    for c in parsed.causes:
        if c.directorate == "Housing Directorate":
            got.setdefault(c.service_area, []).append((c.cause_label, c.instances))
    assert got == APPENDIX_C_HOUSING_CAUSES
    assert sum(n for causes in got.values() for _, n in causes) == 780 - 5 - 1 - 1 - 1


def test_headings_add_up_to_their_service_areas(parsed: ParsedExtract) -> None:
    per_directorate = Counter()
    for s in parsed.service_areas:
        if s.parent_service_area is None and not s.department_inferred:
            per_directorate[s.directorate] += s.instances
    assert per_directorate == {
        "Housing Directorate": 780,
        "Adult Social Care Directorate": 60,
        "Culture Directorate": 36,
    }


def test_nested_sub_group_inside_parking_and_lighting(parsed: ParsedExtract) -> None:
    trees = next(s for s in parsed.service_areas if s.service_area == "Trees and Lighting")
    assert (trees.parent_service_area, trees.instances, trees.upheld_or_partly_upheld) == (
        "Parking & Lighting",
        26,
        None,
    )
    parking_causes = sum(
        c.instances for c in parsed.causes if c.service_area == "Parking & Lighting"
    )
    assert parking_causes + 26 == 162
    assert [
        (c.cause_label, c.instances) for c in parsed.causes if c.service_area == trees.service_area
    ] == [
        ("Trees", 14),
        ("Lighting", 12),
    ]


def test_one_paragraph_with_several_service_areas(parsed: ParsedExtract) -> None:
    line_26 = [
        (s.service_area, s.instances, s.upheld_or_partly_upheld, s.upheld_basis)
        for s in parsed.service_areas
        if s.line == 26
    ]
    assert line_26 == [
        ("Prevention and community team", 4, 2, "upheld"),
        ("Residential team", 1, 0, "upheld"),
    ]
    line_56_tail = [s.service_area for s in parsed.service_areas if s.line == 56][-3:]
    assert line_56_tail == [
        "Audit and Investigations",
        "Democratic Services",
        "Chief Executive Support",
    ]
    democratic = next(s for s in parsed.service_areas if s.service_area == "Democratic Services")
    assert (democratic.upheld_or_partly_upheld, democratic.upheld_basis) == (1, "partly upheld")


def test_lost_headings_inferred_from_actions_column(parsed: ParsedExtract) -> None:
    inferred = Counter()
    for s in parsed.service_areas:
        if s.department_inferred and s.parent_service_area is None:
            inferred[s.department] += s.instances
    assert inferred == {
        "Regeneration and Environment Department": 162
        + 85
        + 55
        + 52
        + 39
        + 30
        + 19
        + 5
        + 9
        + 5
        + 5
        + 6
        + 2,
        "Brent Customer Services": 120 + 71 + 47 + 28 + 11 + 5 + 5 + 4 + 3 + 6 + 1 + 1,
        "Children and Young People Department": 34 + 22 + 19 + 15 + 6 + 4,
        "Chief Executive's Department": 10 + 9 + 8 + 6 + 5 + 1 + 1 + 1,
    }
    assert all(s.directorate is None for s in parsed.service_areas if s.department_inferred)
    assert not any(w for w in parsed.warnings)


def test_causes_without_bullets_and_odd_dashes(parsed: ParsedExtract) -> None:
    def causes(area: str) -> list[tuple[str, int]]:
        return [(c.cause_label, c.instances) for c in parsed.causes if c.service_area == area]

    assert causes("Client Affairs") == [("Service Delayed", 4), ("Communication", 1)]
    assert causes("Concessionary Travel") == [("Blue badge service", 5)]
    assert ("Con- Veolia", 8) in causes("Neighbourhood Management")
    assert ("Signage and Information", 1) in causes("Highways and Infrastructure")
    assert ("Delay in Repair", 20) in causes("Property Services")


def test_actions_per_bullet_and_paragraph_under_service_headings(parsed: ParsedExtract) -> None:
    assert len(parsed.actions) == 91
    by_heading = Counter((a.department, a.service_heading) for a in parsed.actions)
    assert by_heading[("Brent Customer Services", "Contact Centre")] == 5
    assert by_heading[("Community Wellbeing Department", "HMS – Property Services")] == 18
    assert by_heading[("Children and Young People Department", "CYP")] == 2
    # A section's Actions cell that continues the previous page keeps the heading it sits under.
    first_38 = next(a for a in parsed.actions if a.line == 38)
    assert first_38.service_heading == "Neighbourhood Management and Public Realm"
    assert first_38.action_text.startswith("Having dedicated Veolia managers")
    # Lead-ins such as "Service improvements include:" are not actions.
    assert not any("improvements include" in a.action_text for a in parsed.actions)


def test_every_control_total_holds(parsed: ParsedExtract) -> None:
    levels = Counter((c.level, c.status) for c in parsed.control_totals)
    assert levels == {
        ("heading", "ok"): 3,
        ("service_area", "ok"): 54,
        ("service_area_upheld", "ok"): 74,
        ("period", "ok"): 1,
    }
    assert parsed.reconciles
    assert parsed.repairs == []


def test_fault_injected_total_fails_with_explanation(appendix_c_bytes: bytes) -> None:
    text = appendix_c_bytes.decode().replace("Tenancy – 62 instances", "Tenancy – 64 instances")
    parsed = parse_root_cause_summary(decode_extract(text.encode(), "x"), "x")
    failed = [(c.level, c.scope, c.stated, c.computed) for c in parsed.failed_totals]
    assert failed == [
        ("heading", "Community Wellbeing Department - Housing Directorate", 780, 782),
        ("service_area", "Community Wellbeing Department - Housing Directorate / Tenancy", 64, 62),
    ]


def test_missing_heading_without_mapping_is_unknown_with_warning(appendix_c_bytes: bytes) -> None:
    parsed = parse_root_cause_summary(decode_extract(appendix_c_bytes, "x"), "x", departments={})
    unknown = {s.line for s in parsed.service_areas if s.department == "Unknown"}
    assert unknown == {35, 38, 41, 44, 47, 53, 56}
    assert (
        len(parsed.warnings) == 8
    )  # the seven sections above plus the actions-only one at line 50
    assert "lines 35-35" in parsed.warnings[0].message


def test_verification_coverage_names_what_rests_on_the_source_alone(
    parsed: ParsedExtract,
) -> None:
    coverage = {c.kind: (c.stated, c.verified, c.bounded, c.unverified) for c in parsed.coverage}
    assert coverage == {
        "heading_total": (3, 3, 0, 0),
        "service_area_instances": (74, 61, 0, 13),
        "sub_group_instances": (1, 1, 0, 0),
        "cause_instances": (211, 211, 0, 0),
        "upheld_or_partly_upheld": (74, 0, 74, 0),
    }
    alone = [
        (n.line, n.scope, n.value)
        for n in parsed.unverified_numbers
        if n.verification == "unverified"
    ]
    # Sections that lost their heading, service areas with no cause list: nothing adds up to them.
    assert alone[:2] == [
        (41, "Regeneration and Environment Department / Employment, Skills and Enterprise", 5),
        (41, "Regeneration and Environment Department / Commercial Services and Property", 9),
    ]
    assert {line for line, _, _ in alone} == {41, 47, 53, 56}
    assert sum(1 for n in parsed.unverified_numbers if n.verification == "bounded") == 74
