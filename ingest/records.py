"""Typed records the parsers produce. Each carries the 1-based source line it came from.

These dataclasses are also the contract for the ``raw.*`` tables: one column per field, plus
``extract_id``. Keep field names stable; dbt sources and the GX suites use them.

They are treated as read-only once a parser returns them, but not declared ``frozen``: a frozen
dataclass sets each field through ``object.__setattr__``, 0.82 us per ``OutcomeRow`` against
0.12 us, and a large Appendix 1 extract builds one record per line (benchmarks/parse_floor.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ingest.vocabulary import OUTCOME_NAMES, STATUS_FAILED

OUTCOME_COLUMNS: tuple[str, ...] = OUTCOME_NAMES
"""Outcome columns of Appendix 1, in source order; the sixth column is their ``total``."""

Kind = Literal["root_cause_summary", "outcome_matrix"]
KINDS: tuple[str, ...] = ("root_cause_summary", "outcome_matrix")


@dataclass(slots=True)
class Heading:
    """A directorate heading of Appendix C with its stated total of instances."""

    line: int
    heading_text: str
    department: str
    directorate: str | None
    stated_instances: int


@dataclass(slots=True)
class ServiceArea:
    """One service area of Appendix C (a nested sub-group has a parent_service_area)."""

    line: int
    section: int
    department: str
    directorate: str | None
    department_inferred: bool
    service_area: str
    parent_service_area: str | None
    instances: int
    upheld_or_partly_upheld: int | None
    upheld_basis: str | None
    """The wording the count was stated with: 'upheld/partly upheld', 'upheld', 'partly upheld'."""
    unresolved_section: int | None = None
    """First line of its table section when its department is unresolved ('Unknown'): each such
    section is a department of its own, so two of them never merge. None when resolved."""


@dataclass(slots=True)
class Cause:
    """One bullet of a service area's root-cause list: label as written (trimmed) and count."""

    line: int
    department: str
    directorate: str | None
    service_area: str
    ordinal: int
    cause_label: str
    instances: int
    unresolved_section: int | None = None
    """As its service area's (see ServiceArea.unresolved_section)."""


@dataclass(slots=True)
class Action:
    """One improvement action (bullet or paragraph) of the Actions column."""

    line: int
    department: str
    directorate: str | None
    department_inferred: bool
    service_heading: str | None
    ordinal: int
    action_text: str
    unresolved_section: int | None = None
    """As its section's service areas' (see ServiceArea.unresolved_section)."""


@dataclass(slots=True)
class OutcomeRow:
    """One issue-type row of Appendix 1 (after any recorded repair)."""

    line: int
    department: str
    root_cause: str
    issue_type: str
    ordinal: int
    withdrawn: int
    not_upheld: int
    partly_upheld: int
    rejected: int
    upheld: int
    total: int


@dataclass(slots=True)
class Subtotal:
    """A stated subtotal row of Appendix 1: department, root cause or the grand total."""

    line: int
    level: Literal["department", "root_cause", "grand_total"]
    department: str | None
    root_cause: str | None
    withdrawn: int
    not_upheld: int
    partly_upheld: int
    rejected: int
    upheld: int
    total: int


@dataclass(slots=True)
class ControlTotal:
    """A stated total compared with what its children add up to."""

    level: str
    scope: str
    measure: str
    line: int
    stated: int
    computed: int
    status: Literal["ok", "failed"]
    explanation: str | None = None

    @property
    def difference(self) -> int:
        return self.computed - self.stated


@dataclass(slots=True)
class Repair:
    """A change the parser made to what the source says, with the evidence for it.

    kind: 'value_repaired' (arithmetic proves one cell wrong), 'row_dropped' (noise row that the
    arithmetic shows belongs nowhere), 'name_rejoined' (a name split across a tab by line
    wrapping), 'stray_token_cleared' (a bullet, underscore, markup or lone letter in a number cell).
    """

    line: int
    kind: str
    raw_text: str
    before: str
    after: str
    reason: str


@dataclass(slots=True)
class ParseWarning:
    line: int
    message: str


@dataclass(frozen=True, slots=True)
class Coverage:
    """How many stated numbers of one kind a control total verifies (see ingest.coverage)."""

    kind: str
    stated: int
    verified: int
    bounded: int
    unverified: int


@dataclass(frozen=True, slots=True)
class StatedNumber:
    """A stated number no control total verifies: 'bounded' (only checked against a limit) or
    'unverified' (it rests on the source alone)."""

    line: int
    kind: str
    scope: str
    value: int
    verification: str
    reason: str


@dataclass(frozen=True, slots=True)
class UnresolvedSection:
    """An Appendix C table section that lost its directorate heading and whose Actions column
    names no service heading the department mapping knows: its department is 'Unknown'."""

    first_line: int
    last_line: int
    service_headings: tuple[str, ...]


@dataclass(slots=True)
class ParsedExtract:
    """Everything one extract yields. Lists are in source order."""

    source: str
    kind: str
    title: str | None = None
    title_line: int | None = None
    stated_period: str | None = None
    """The financial year the preamble states ('2019/20'), if any; see ingest.periods."""
    stated_period_line: int | None = None
    headings: list[Heading] = field(default_factory=list)
    service_areas: list[ServiceArea] = field(default_factory=list)
    causes: list[Cause] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    outcome_rows: list[OutcomeRow] = field(default_factory=list)
    subtotals: list[Subtotal] = field(default_factory=list)
    control_totals: list[ControlTotal] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)
    warnings: list[ParseWarning] = field(default_factory=list)
    unresolved_sections: list[UnresolvedSection] = field(default_factory=list)
    coverage: list[Coverage] = field(default_factory=list)
    unverified_numbers: list[StatedNumber] = field(default_factory=list)
    trailing_lines: tuple[int, int] | None = None
    """Appendix 1: the first and last line of content after the Grand Total row (not rows)."""
    rows_checked: int = 0
    """Appendix 1 rows whose own total was checked against their cells (failures are in
    control_totals with level 'row')."""

    @property
    def failed_totals(self) -> list[ControlTotal]:
        return [c for c in self.control_totals if c.status == STATUS_FAILED]

    @property
    def reconciles(self) -> bool:
        return not self.failed_totals
