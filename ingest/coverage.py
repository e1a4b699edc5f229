"""Which stated numbers a control total verifies, and which rest on the source alone.

A number is *verified* when a control total compares it: as the stated total, or as one of the
parts that must add up to one. An upheld-or-partly-upheld count is only *bounded* (it may not
exceed its instances); a service area's instances in a section with no heading total and no cause
list are *unverified*. Appendix 1 states every number inside the arithmetic of its rows and
subtotals, so every one is verified.
"""

from __future__ import annotations

from collections import Counter
from typing import Final

from ingest.records import Coverage, ParsedExtract, StatedNumber
from ingest.root_cause_summary import area_scope
from ingest.vocabulary import (
    LEVEL_DEPARTMENT,
    LEVEL_GRAND_TOTAL,
    LEVEL_ROOT_CAUSE,
    LEVEL_SERVICE_AREA,
)

BOUNDED: Final = "bounded"
UNVERIFIED: Final = "unverified"
_OUTCOME_CELLS: Final = 6


def verification(parsed: ParsedExtract) -> tuple[list[Coverage], list[StatedNumber]]:
    """Per kind of stated number: how many are verified, bounded or unverified; and the
    numbers that are not verified, with their lines."""
    if parsed.kind == "outcome_matrix":
        return _outcome_matrix(parsed), []
    listed = _not_verified(parsed)
    counts: dict[str, Counter[str]] = {
        "heading_total": Counter(verified=len(parsed.headings)),
        "service_area_instances": Counter(),
        "sub_group_instances": Counter(),
        "cause_instances": Counter(verified=len(parsed.causes)),
        "upheld_or_partly_upheld": Counter(),
    }
    for area in parsed.service_areas:
        kind = "sub_group_instances" if area.parent_service_area else "service_area_instances"
        counts[kind]["verified"] += 1
        if area.upheld_or_partly_upheld is not None:
            counts["upheld_or_partly_upheld"][BOUNDED] += 1
    for number in listed:
        if number.verification == UNVERIFIED:
            counts[number.kind]["verified"] -= 1
            counts[number.kind][UNVERIFIED] += 1
    return [_coverage(kind, c) for kind, c in counts.items()], listed


def _coverage(kind: str, c: Counter[str]) -> Coverage:
    verified, bounded, unverified = c["verified"], c[BOUNDED], c[UNVERIFIED]
    return Coverage(
        kind=kind,
        stated=verified + bounded + unverified,
        verified=verified,
        bounded=bounded,
        unverified=unverified,
    )


def _not_verified(parsed: ParsedExtract) -> list[StatedNumber]:
    compared = {(c.line, c.scope) for c in parsed.control_totals if c.level == LEVEL_SERVICE_AREA}
    out: list[StatedNumber] = []
    for area in parsed.service_areas:
        scope = area_scope(area)
        # Under a heading its total covers it; a sub-group is a part of its parent's total.
        checked = (
            not area.department_inferred
            or area.parent_service_area is not None
            or (area.line, scope) in compared
        )
        if not checked:
            out.append(
                StatedNumber(
                    line=area.line,
                    kind="service_area_instances",
                    scope=scope,
                    value=area.instances,
                    verification=UNVERIFIED,
                    reason="no heading total above it and no cause list or sub-group adding up to it",
                )
            )
        if area.upheld_or_partly_upheld is not None:
            out.append(
                StatedNumber(
                    line=area.line,
                    kind="upheld_or_partly_upheld",
                    scope=scope,
                    value=area.upheld_or_partly_upheld,
                    verification=BOUNDED,
                    reason="only checked not to exceed the service area's instances",
                )
            )
    return out


def _outcome_matrix(parsed: ParsedExtract) -> list[Coverage]:
    rows = len(parsed.outcome_rows) * _OUTCOME_CELLS
    by_level = Counter(s.level for s in parsed.subtotals)
    kinds = {
        "issue_type_cells": rows,
        "root_cause_cells": by_level[LEVEL_ROOT_CAUSE] * _OUTCOME_CELLS,
        "department_cells": by_level[LEVEL_DEPARTMENT] * _OUTCOME_CELLS,
        "grand_total_cells": by_level[LEVEL_GRAND_TOTAL] * _OUTCOME_CELLS,
    }
    return [
        Coverage(kind=kind, stated=n, verified=n, bounded=0, unverified=0)
        for kind, n in kinds.items()
    ]
