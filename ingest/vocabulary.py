"""The words the parsers, the dbt models, the gate and the waivers share, defined once.

Control-total levels and the format of their scopes, measures, outcomes and the sentinel labels
that stand in for missing text. A waiver matches a control total on its level, scope and measure
*as text*, so these strings are part of the contract between the parser (which writes them), dbt
(which recomputes the same totals and must spell them identically) and `expectations/waivers.yml`.

dbt receives this module as the `complaints_vocabulary` var of `dbt_project/dbt_project.yml`
(the block between the generated markers, written by `python -m complaints.dbt_vocabulary`;
a test fails when it differs from `as_dbt_var()`). The design: docs/DESIGN.md, "Vocabulary".

To add a control-total level, add one `ControlTotalLevel` to `CONTROL_TOTAL_LEVELS` (and a scope
function if its scope has a new shape), regenerate the dbt var, and use `level('name')` in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# --- outcomes (Appendix 1) ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    name: str
    label: str
    decided: bool
    """A decision on the merits: upheld, partly upheld or not upheld (not withdrawn, rejected)."""
    fault_found: bool
    """Upheld or partly upheld."""


OUTCOMES: Final[tuple[Outcome, ...]] = (
    Outcome("withdrawn", "Withdrawn", decided=False, fault_found=False),
    Outcome("not_upheld", "Not upheld", decided=True, fault_found=False),
    Outcome("partly_upheld", "Partly upheld", decided=True, fault_found=True),
    Outcome("rejected", "Rejected", decided=False, fault_found=False),
    Outcome("upheld", "Upheld", decided=True, fault_found=True),
)
"""In source column order; the sixth column of Appendix 1 is their ``total``."""

OUTCOME_NAMES: Final[tuple[str, ...]] = tuple(o.name for o in OUTCOMES)
TOTAL_MEASURE: Final = "total"
INSTANCES_MEASURE: Final = "instances"
UPHELD_WITHIN_INSTANCES_MEASURE: Final = "upheld_or_partly_upheld_within_instances"
FISCAL_YEAR_START_MEASURE: Final = "fiscal_year_start"
MEASURES: Final[tuple[str, ...]] = (
    *OUTCOME_NAMES,
    TOTAL_MEASURE,
    INSTANCES_MEASURE,
    UPHELD_WITHIN_INSTANCES_MEASURE,
    FISCAL_YEAR_START_MEASURE,
)

# --- sentinel labels ----------------------------------------------------------------------------

UNKNOWN_DEPARTMENT: Final = "Unknown"
"""Department of an Appendix C section whose heading was lost and cannot be inferred."""
NOT_STATED_CAUSE: Final = "(not stated)"
"""Cause label of the instances of a service area that states no cause list."""
UNNAMED_ROW: Final = "(unnamed row)"
"""Issue type of an Appendix 1 row whose name cell is empty."""
UNCLASSIFIED_CATEGORY: Final = "Unclassified"
"""Root-cause category of a label the taxonomy seed does not map."""
UNCLASSIFIED_KIND: Final = "unclassified"
UNMAPPED_FAMILY: Final = "unmapped"
"""Service family of a department the department_families seed does not map."""
GRAND_TOTAL: Final = "Grand Total"
"""The scope of the grand-total control total (and the label of that row in Appendix 1)."""

SENTINELS: Final[dict[str, str]] = {
    "unknown_department": UNKNOWN_DEPARTMENT,
    "not_stated_cause": NOT_STATED_CAUSE,
    "unnamed_row": UNNAMED_ROW,
    "unclassified_category": UNCLASSIFIED_CATEGORY,
    "unclassified_kind": UNCLASSIFIED_KIND,
    "unmapped_family": UNMAPPED_FAMILY,
    "grand_total": GRAND_TOTAL,
}

# --- reconciliation status ----------------------------------------------------------------------

STATUS_OK: Final = "ok"
STATUS_WAIVED: Final = "waived"
STATUS_FAILED: Final = "failed"
RECON_STATUSES: Final[tuple[str, ...]] = (STATUS_OK, STATUS_WAIVED, STATUS_FAILED)
PASSING_STATUSES: Final[tuple[str, ...]] = (STATUS_OK, STATUS_WAIVED)

# --- control-total scopes -----------------------------------------------------------------------

SCOPE_SEPARATOR: Final = " / "
"""Between the levels of a scope: '<department> / <root cause>'."""
UNIT_SEPARATOR: Final = " - "
"""Between a department and its directorate: '<department> - <directorate>'."""


PERIOD_SCOPE: Final = "title period"
"""Scope of the `period` total (the title's period against the declared one)."""


def unit_scope(department: str, directorate: str | None) -> str:
    """'<department> - <directorate>', or the department alone."""
    return f"{department}{UNIT_SEPARATOR}{directorate}" if directorate else department


def service_area_scope(department: str, directorate: str | None, service_area: str) -> str:
    """Scope of the `service_area` and `service_area_upheld` totals."""
    return f"{unit_scope(department, directorate)}{SCOPE_SEPARATOR}{service_area}"


def department_scope(department: str) -> str:
    return department


def root_cause_scope(department: str, root_cause: str) -> str:
    return f"{department}{SCOPE_SEPARATOR}{root_cause}"


def row_scope(department: str, root_cause: str, issue_type: str) -> str:
    """Scope of an Appendix 1 `row` total (a row whose cells disagree with its own total)."""
    return f"{department}{SCOPE_SEPARATOR}{root_cause}{SCOPE_SEPARATOR}{issue_type}"


# --- control-total levels -----------------------------------------------------------------------

LEVEL_HEADING: Final = "heading"
LEVEL_SERVICE_AREA: Final = "service_area"
LEVEL_SERVICE_AREA_UPHELD: Final = "service_area_upheld"
LEVEL_ROOT_CAUSE: Final = "root_cause"
"""Also the level of an Appendix 1 root-cause subtotal row (and so for department, grand total)."""
LEVEL_DEPARTMENT: Final = "department"
LEVEL_GRAND_TOTAL: Final = "grand_total"
LEVEL_PERIOD: Final = "period"
LEVEL_ROW: Final = "row"


@dataclass(frozen=True, slots=True)
class ControlTotalLevel:
    name: str
    layout: str
    """The extract kind whose parser states it: root_cause_summary or outcome_matrix."""
    scope: str
    """How its scope is written (the function above that builds it)."""
    measures: tuple[str, ...]
    waivable: bool
    """A reviewed waiver may name it (expectations/waivers.yml)."""
    recomputed_in_dbt: bool
    """dbt's recon_* models recompute it from the facts, with the same level and scope text."""
    description: str


CONTROL_TOTAL_LEVELS: Final[tuple[ControlTotalLevel, ...]] = (
    ControlTotalLevel(
        LEVEL_HEADING,
        "root_cause_summary",
        "the heading text as written",
        (INSTANCES_MEASURE,),
        waivable=True,
        recomputed_in_dbt=True,
        description="service areas sum to each heading's stated total",
    ),
    ControlTotalLevel(
        LEVEL_SERVICE_AREA,
        "root_cause_summary",
        "service_area_scope(department, directorate, service_area)",
        (INSTANCES_MEASURE,),
        waivable=True,
        recomputed_in_dbt=True,
        description="causes sum to each service area's stated instances",
    ),
    ControlTotalLevel(
        LEVEL_SERVICE_AREA_UPHELD,
        "root_cause_summary",
        "service_area_scope(department, directorate, service_area)",
        (UPHELD_WITHIN_INSTANCES_MEASURE,),
        waivable=True,
        recomputed_in_dbt=True,
        description="upheld or partly upheld never above instances",
    ),
    ControlTotalLevel(
        LEVEL_ROOT_CAUSE,
        "outcome_matrix",
        "root_cause_scope(department, root_cause)",
        (*OUTCOME_NAMES, TOTAL_MEASURE),
        waivable=True,
        recomputed_in_dbt=True,
        description="issue-type rows sum to each stated root-cause subtotal",
    ),
    ControlTotalLevel(
        LEVEL_DEPARTMENT,
        "outcome_matrix",
        "department_scope(department)",
        (*OUTCOME_NAMES, TOTAL_MEASURE),
        waivable=True,
        recomputed_in_dbt=True,
        description="root causes sum to each stated department subtotal",
    ),
    ControlTotalLevel(
        LEVEL_GRAND_TOTAL,
        "outcome_matrix",
        f"{GRAND_TOTAL!r}",
        (*OUTCOME_NAMES, TOTAL_MEASURE),
        waivable=True,
        recomputed_in_dbt=True,
        description="departments sum to the stated grand total",
    ),
    ControlTotalLevel(
        LEVEL_PERIOD,
        "any",
        f"{PERIOD_SCOPE!r}",
        (FISCAL_YEAR_START_MEASURE,),
        waivable=True,
        recomputed_in_dbt=False,
        description="the period the title states is the one the manifest declares",
    ),
    ControlTotalLevel(
        LEVEL_ROW,
        "outcome_matrix",
        "row_scope(department, root_cause, issue_type), or a subtotal row's own scope",
        (TOTAL_MEASURE,),
        waivable=False,
        recomputed_in_dbt=False,
        description="a row's outcome cells add up to its own stated total",
    ),
)

LEVELS: Final[dict[str, ControlTotalLevel]] = {level.name: level for level in CONTROL_TOTAL_LEVELS}
WAIVABLE_LEVELS: Final[frozenset[str]] = frozenset(
    level.name for level in CONTROL_TOTAL_LEVELS if level.waivable
)


def levels_of(layout: str, *, recomputed_in_dbt: bool | None = None) -> dict[str, str]:
    """Level name -> description for one layout (optionally only those dbt recomputes)."""
    return {
        level.name: level.description
        for level in CONTROL_TOTAL_LEVELS
        if level.layout == layout
        and (recomputed_in_dbt is None or level.recomputed_in_dbt == recomputed_in_dbt)
    }


def as_dbt_var() -> dict[str, object]:
    """The vocabulary as dbt sees it (`var('complaints_vocabulary')`): strings and lists only."""
    return {
        "outcomes": list(OUTCOME_NAMES),
        "outcome_labels": [o.label for o in OUTCOMES],
        "decided_outcomes": [o.name for o in OUTCOMES if o.decided],
        "fault_found_outcomes": [o.name for o in OUTCOMES if o.fault_found],
        "measures": list(MEASURES),
        "levels": [level.name for level in CONTROL_TOTAL_LEVELS],
        "recomputed_levels": [
            level.name for level in CONTROL_TOTAL_LEVELS if level.recomputed_in_dbt
        ],
        "outcome_matrix_levels": list(levels_of("outcome_matrix", recomputed_in_dbt=True)),
        "root_cause_summary_levels": list(levels_of("root_cause_summary", recomputed_in_dbt=True)),
        "statuses": list(RECON_STATUSES),
        "parser_statuses": [STATUS_OK, STATUS_FAILED],
        "category_kinds": ["cause", "topic", "none", UNCLASSIFIED_KIND],
        "scope_separator": SCOPE_SEPARATOR,
        "unit_separator": UNIT_SEPARATOR,
        **SENTINELS,
    }
