"""Synthetic extracts in both layouts, rendered from records we choose: the oracle for the parser's
property tests and the data of the benchmarks.

`random_root_cause_doc` / `random_outcome_doc` choose the records (councils, departments, service
areas, causes, actions; departments, root causes, issue types, outcome counts), and
`render_root_cause_summary` / `render_outcome_matrix` write them as a PDF-to-text tool would, with
the artifacts real extracts show. Each render returns the text and the records a correct parser
must return, with their source lines, plus the manifest fields the extract needs (its period and,
for sections whose heading was lost, the department mapping).

Variation classes, Appendix C: labels and names with digits, hyphens, en dashes, slashes,
parentheses and '&'; every dash style between a label and its count, and none; missing bullets;
several service areas in one paragraph; nested italic sub-groups; thousands separators; headings
with and without a directorate; the title's period in each written form; lost headings resolved by
the manifest, or left 'Unknown'; converter table rules; continuation sections whose Actions carry
the previous service heading. Appendix 1: any number of root causes with any names, a department
named like an issue type, an issue type named like its root cause, header rows repeated with
different spacing (and the 'Outcomes' super-header), names wrapped into the next cell, stray tokens
in empty cells, a spurious number the block arithmetic repairs, a nameless row it drops,
thousands separators, the last row named 'Grand Total' or 'Total', and another table's text after
it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# --- vocabularies ---------------------------------------------------------------------------------

CAUSE_LABELS = (
    "Service failure",
    "Poor communication",
    "Policy or procedure",
    "Service delayed",
    "Service not provided/provided but not as agreed",
    "Attitude",
    "Third party failure",
    "Other",
    "Quality of work",
    "Delay in repair/inspection",
    "Covid-19 restrictions",
    "Section 20 notice",
    "Stage 2 - review",
    "24-hour repairs",
    "Tier-1 support",
    "Con- Veolia",
    "Parks & Open Spaces",
    "Repairs (day-to-day)",
    "Phase 1 works",
    "Bin collections",
    "Blue badge service",
    "Staff conduct",
    "Member/General Enquiry",
    "Missed appointment (2nd visit)",
    "Council Tax – recovery",
    "Noise nuisance",
    "Stage 2 Review",
    "Covid-19 Support",
    "Year 1 Fees",
)
# Not generated: a label holding a spaced dash before a number ("Phase – 2 works") reads exactly as
# a cause and its count; in a list without bullets only the arithmetic can tell, and a changed count
# can then make the wrong reading add up. docs/parsing.md names this limit.
AREA_NAMES = (
    "Repairs",
    "Customer Care",
    "Tenancy",
    "Lettings",
    "Rent Income",
    "Leasehold Services",
    "Housing Options",
    "Covid-19 Support Team",
    "Tier-1 Contact Centre",
    "24-hour Emergency Repairs",
    "Stage 2 - Reviews",
    "Section 20 Consultation",
    "Adult Services – Complex Care",
    "Parks & Open Spaces",
    "Benefits/Council Tax",
    "Housing (Temporary Accommodation)",
    "Libraries",
    "Sports facilities",
    "Commissioning, Contracting and Market Management",
    "Planning, Transport and Licensing",
    "Payroll",
    "Insurance",
    "Private Housing and PHS Grants",
    "Central North West London (CNWL)",
    "Electoral Services",
    "Parking & Lighting",
    "School Admissions 2020",
    "Highways and Infrastructure",
    "Waste & Recycling",
    "Registration and Nationality",
)
SUB_GROUP_NAMES = ("Trees and Lighting", "Out-of-hours team", "Phase 2 (Estates)", "North & South")
DEPARTMENTS = (
    ("Community Wellbeing Department", ("Housing Directorate", "Adult Social Care Directorate")),
    ("Resources Department", ("Finance Directorate", "Digital Services Directorate")),
    ("Place Department", ("Culture Directorate",)),
    ("Children's Services", ()),
)
LOST_SERVICES = (
    ("Parking & Lighting (Enforcement)", "Environment Department"),
    ("Contact Centre", "Customer Services"),
    ("CYP", "Children and Young People Department"),
    ("Chief Executive’s Service", "Chief Executive's Department"),
    ("Revenues & Benefits (R&B)", "Customer Services"),
    ("Highways - Infrastructure", "Environment Department"),
)
ACTION_SENTENCES = (
    "The service reviewed every upheld complaint with the team leads.",
    "Weekly case trackers are now reviewed by managers.",
    "A new no-access procedure was agreed with the contractor.",
    "Staff completed refresher training on complaint handling.",
    "Residents are told in advance where delays are identified.",
    "Template letters were rewritten in plain English.",
)
ACTION_ITEMS = (
    "Complex case tracker",
    "Working at heights tracker",
    "Monthly review of open cases",
    "New IT installed on the case system",
    "80% of routine repairs fixed first time",
    "Scaffolding protocol for all contracts",
)
UPHELD_WORDINGS = (
    ("upheld/partly upheld", "upheld/partly upheld"),
    ("upheld/ partly upheld", "upheld/partly upheld"),
    ("upheld or partly upheld", "upheld/partly upheld"),
    ("upheld", "upheld"),
    ("partly upheld", "partly upheld"),
    ("partially upheld", "partly upheld"),
    ("upheld/part upheld", "upheld/partly upheld"),
)
# Between a label and its count: each style real extracts show (always a dash, spaced or glued).
CAUSE_SEPARATORS = (" – ", "– ", " –", "- ", " - ", "-", "–")
AREA_SEPARATORS = (" – ", "– ", " - ", "- ", " ")
PERIOD_FORMS = ("{a}/{b2}", "{a}-{b2}", "{a}/{b}", "{a} to {b}", "{a}–{b2}")

APPENDIX_1_DEPARTMENTS = (
    "Adult Social Care",
    "Customer Access",
    "Environment and Leisure",
    "Finance",
    "Housing",
    "Legal",
    "Public Health",
    "Regeneration, Growth & Employment",
    "Transformation",
    "Children & Young People",
)
ROOT_CAUSES = (
    "Communication",
    "Policy / Procedures",
    "Service Failure",
    "Staff Conduct",
    "Delay",
    "Third Party - Contractor",
    "Covid-19",
)
ISSUE_TYPES = (
    "Council Tax - Enforcement Action",
    "Council Tax - Other",
    "Repairs To My Property (Including Inspections)",
    "Outstanding Repairs - Other",
    "Housing",
    "Homelessness application - family",
    "Libraries - Other",
    "Care Package",
    "Duty Team",
    "Social worker/ Officer",
    "Bins - missed",
    "Parking & lighting team - permits",
    "Benefits Assessment",
    "Estate Services",
    "Planning Enforcement - Other",
    "Highways & Infrastructure Team - Blocked Drains, Leaks & Floods",
    "My Needs Assessment Or Care Package - Supported Living",
    "Complaints Service - Does not agree with the final review outcome",
)
HEADER_CELLS = (
    "Complaint Withdrawn / Not pursued",
    "Not Upheld",
    "Partly Upheld",
    "Rejected",
    "Upheld",
    "Grand Total",
)
HEADER_FIRST = (
    "Department, Root Cause and Issue types",
    "Department,  Root Cause and Issue types",
    "Department , Root Cause  and Issue Types",
    "DEPARTMENT, ROOT CAUSE AND ISSUE TYPES",
    " Department, Root Cause and Issue types ",
)
STRAY_TOKENS = ("•", "_", "<u>t</u>", "T", "<u> </u>", "- /")
TRAILING_TABLES = (
    ["Appendix 2 - Complaints by ward", "", "Ward\tComplaints\tUpheld", "Harlesden\t41\t12"],
    ["Note: figures exclude complaints withdrawn before acknowledgement."],
    ["Source: case management system, extracted 1 May."],
)


def period_of(year: int) -> str:
    return f"{year}/{(year + 1) % 100:02d}"


def _split(rng: random.Random, total: int, parts: int) -> list[int]:
    """`total` as `parts` positive integers (needs total >= parts)."""
    cuts = sorted(rng.sample(range(1, total), parts - 1)) if parts > 1 else []
    return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]


def _count(n: int, rng: random.Random) -> str:
    return f"{n:,}" if n >= 1000 and rng.random() < 0.7 else str(n)


# --- Appendix C records ---------------------------------------------------------------------------


@dataclass
class Cause:
    label: str
    count: int


@dataclass
class Area:
    name: str
    instances: int
    upheld: int | None
    wording: str | None  # as written; the parser reports it folded (see UPHELD_WORDINGS)
    basis: str | None
    causes: list[Cause] = field(default_factory=list)
    sub_groups: list[Area] = field(default_factory=list)
    nested: bool = False


@dataclass
class ActionBlock:
    heading: str | None
    sentences: list[str]
    items: list[str]


@dataclass
class Section:
    areas: list[Area]
    actions: list[ActionBlock]


@dataclass
class Block:
    """Sections under one directorate heading, or (heading lost) under a mapped service."""

    department: str
    directorate: str | None
    sections: list[Section]
    heading_lost: bool = False
    mapped: bool = True  # for a lost heading: whether the manifest maps its service heading
    stated_total: int | None = None  # what the heading states, when not the sum (faults)

    def total(self) -> int:
        if self.stated_total is not None:
            return self.stated_total
        return sum(a.instances for s in self.sections for a in s.areas)


@dataclass
class RootCauseDoc:
    council: str
    period: str
    blocks: list[Block]

    def departments_map(self) -> dict[str, str]:
        """The manifest `departments:` entries resolving every mapped lost heading."""
        out: dict[str, str] = {}
        for block in self.blocks:
            if block.heading_lost and block.mapped:
                heading = block.sections[0].actions[0].heading
                assert heading is not None
                out[heading] = block.department
        return out


def _random_area(rng: random.Random, names: list[str], sub_names: list[str], big: bool) -> Area:
    instances = rng.randint(1, 1500 if big else 120)
    wording, basis = rng.choice(UPHELD_WORDINGS)
    upheld = rng.randint(0, instances) if rng.random() < 0.95 else None
    area = Area(
        names.pop(),
        instances,
        upheld,
        wording if upheld is not None else None,
        basis if upheld is not None else None,
    )
    if instances >= 12 and sub_names and rng.random() < 0.15:
        sub_n = rng.randint(2, instances // 3)
        sub = Area(sub_names.pop(), sub_n, None, None, None, nested=True)
        sub.causes = _random_causes(rng, sub_n) if rng.random() < 0.8 else []
        area.sub_groups.append(sub)
    own = instances - sum(s.instances for s in area.sub_groups)
    if rng.random() < 0.85 and own >= 1:
        area.causes = _random_causes(rng, own)
    elif area.sub_groups and own > 0:
        area.causes = [Cause("Other", own)]
    return area


def _random_causes(rng: random.Random, total: int) -> list[Cause]:
    k = min(total, rng.randint(1, 6))
    labels = rng.sample(CAUSE_LABELS, k)
    return [Cause(label, n) for label, n in zip(labels, _split(rng, total, k), strict=True)]


def _random_actions(rng: random.Random, heading: str | None) -> list[ActionBlock]:
    blocks = [
        ActionBlock(
            heading,
            rng.sample(ACTION_SENTENCES, rng.randint(0, 2)),
            rng.sample(ACTION_ITEMS, rng.randint(0, 3)),
        )
    ]
    if rng.random() < 0.3:
        blocks.append(
            ActionBlock(f"{heading or 'Service'} Team", [rng.choice(ACTION_SENTENCES)], [])
        )
    return blocks


def _random_sections(
    rng: random.Random, names: list[str], sub_names: list[str], lost_heading: str | None, big: bool
) -> list[Section]:
    sections: list[Section] = []
    for s in range(rng.randint(1, 3)):
        areas = [
            _random_area(rng, names, sub_names, big) for _ in range(rng.randint(1, 4)) if names
        ]
        if not areas:
            break
        if lost_heading is not None:
            heading: str | None = lost_heading  # each lost section needs its own evidence
        else:
            heading = (
                rng.choice([None, f"{areas[0].name} Service"]) if s else f"{areas[0].name} Service"
            )
        sections.append(Section(areas, _random_actions(rng, heading)))
    return sections


def random_root_cause_doc(rng: random.Random, council: str, year: int) -> RootCauseDoc:
    # Names are unique within an extract: the marts' grain is period x council x department x
    # service area, and two lost headings may map to one department.
    names = rng.sample(AREA_NAMES, len(AREA_NAMES))
    sub_names = rng.sample(SUB_GROUP_NAMES, len(SUB_GROUP_NAMES))
    blocks: list[Block] = []
    for department, directorates in rng.sample(DEPARTMENTS, rng.randint(1, len(DEPARTMENTS))):
        for directorate in directorates or (None,):
            sections = _random_sections(rng, names, sub_names, None, big=rng.random() < 0.2)
            if sections:
                blocks.append(Block(department, directorate, sections))
    for heading, department in rng.sample(LOST_SERVICES, rng.randint(0, 3)):
        sections = _random_sections(rng, names, sub_names, heading, big=False)
        if sections:
            mapped = rng.random() < 0.75
            blocks.append(Block(department, None, sections, heading_lost=True, mapped=mapped))
    if blocks and blocks[0].heading_lost:
        blocks.append(blocks.pop(0))  # lost headings follow a complete one, as in real files
    return RootCauseDoc(council, period_of(year), blocks)


# --- Appendix C rendering -------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectedArea:
    line: int
    department: str
    directorate: str | None
    inferred: bool
    name: str
    parent: str | None
    instances: int
    upheld: int | None
    basis: str | None


@dataclass(frozen=True)
class ExpectedCause:
    line: int
    service_area: str
    label: str
    count: int


@dataclass(frozen=True)
class ExpectedAction:
    line: int
    department: str
    service_heading: str | None
    text: str


@dataclass
class ExpectedRootCauses:
    """What a correct parser returns for a rendered Appendix C document."""

    title_line: int
    stated_period: str | None
    headings: list[tuple[int, str, str | None, int]] = field(default_factory=list)
    areas: list[ExpectedArea] = field(default_factory=list)
    causes: list[ExpectedCause] = field(default_factory=list)
    actions: list[ExpectedAction] = field(default_factory=list)
    unknown_sections: list[int] = field(default_factory=list)  # first line of each


@dataclass
class _Writer:
    rng: random.Random
    lines: list[str] = field(default_factory=list)

    def add(self, text: str = "") -> int:
        self.lines.append(text)
        return len(self.lines)


def _title_period(rng: random.Random, period: str) -> str:
    a = int(period[:4])
    return rng.choice(PERIOD_FORMS).format(a=a, b=a + 1, b2=f"{(a + 1) % 100:02d}")


def render_root_cause_summary(
    doc: RootCauseDoc, rng: random.Random, title_period: str | None = None
) -> tuple[str, ExpectedRootCauses]:
    """The extract's text and what a correct parser reads from it. `title_period` overrides the
    period written in the title (to test the mismatch finding); "" writes none."""
    w = _Writer(rng)
    w.add()
    written = _title_period(rng, doc.period) if title_period is None else title_period
    title = f"Appendix C – {written} Complaints Root Cause Summary & Improvement Actions by Department".replace(
        "–  ", "– "
    )
    title_line = w.add(title)
    w.add()
    w.add(
        f"Data caveat – instances recorded for {doc.council} in {doc.period[2:]}; each case can have multiple root causes."
    )
    expected = ExpectedRootCauses(title_line, _expected_period(title))
    carried: tuple[str, str | None] | None = None
    for block in doc.blocks:
        w.add()
        if not block.heading_lost:
            total = block.total()
            sep = rng.choice([" - ", " – "])
            text = (
                f"{block.department}{sep}{block.directorate}"
                if block.directorate
                else block.department
            )
            line = w.add(f"{text} ({_count(total, rng)} instances)")
            w.add()
            expected.headings.append((line, block.department, block.directorate, total))
        department = block.department if (not block.heading_lost or block.mapped) else "Unknown"
        for section in block.sections:
            carried = _render_section(w, section, block, department, carried, expected)
    return "\n".join(w.lines) + "\n", expected


def _expected_period(title: str) -> str | None:
    from ingest.periods import find_period

    return find_period(title)


def _render_section(
    w: _Writer,
    section: Section,
    block: Block,
    department: str,
    carried: tuple[str, str | None] | None,
    expected: ExpectedRootCauses,
) -> tuple[str, str | None]:
    rng = w.rng
    w.add("Root Cause\tActions")
    rows = _distribute(rng, section.areas, section.actions)
    heading = carried[1] if carried and carried[0] == department else None
    first_row = len(w.lines) + 1
    if block.heading_lost and not block.mapped:
        expected.unknown_sections.append(first_row)
    directorate = None if block.heading_lost else block.directorate
    for areas, actions in rows:
        line = len(w.lines) + 1
        cause_cell = _root_cause_cell(
            rng, areas, line, department, directorate, block.heading_lost, expected
        )
        action_cell, heading = _action_cell(rng, actions, line, department, heading, expected)
        w.add(f"{cause_cell}\t{action_cell}")
        w.add()
    if rng.random() < 0.1:
        w.add("---\t---")
    return department, heading


def _distribute(
    rng: random.Random, areas: list[Area], actions: list[ActionBlock]
) -> list[tuple[list[Area], list[ActionBlock]]]:
    """One or two table rows; the first holds the first area and the first action block."""
    if len(areas) < 2 or rng.random() < 0.7:
        return [(areas, actions)]
    cut = rng.randint(1, len(areas) - 1)
    return [(areas[:cut], actions[:1]), (areas[cut:], actions[1:])]


def _root_cause_cell(
    rng: random.Random,
    areas: list[Area],
    line: int,
    department: str,
    directorate: str | None,
    inferred: bool,
    expected: ExpectedRootCauses,
) -> str:
    parts: list[str] = []
    paragraph: list[str] = []  # cause-less areas may share one paragraph with the next area
    for i, area in enumerate(areas):
        text = _area_text(rng, area)
        _expect_area(area, None, line, department, directorate, inferred, expected)
        shares = (
            not area.causes and not area.sub_groups and i + 1 < len(areas) and rng.random() < 0.5
        )
        paragraph.append(text)
        if shares:
            continue
        if not parts and rng.random() < 0.1:  # the cell's first area, its <p> tags lost
            parts.append(" ".join(paragraph))
        else:
            parts.append(f"<p>{' '.join(paragraph)}</p>")
        paragraph = []
        if area.causes:
            parts.append(_cause_list(rng, area.causes))
            _expect_causes(area, line, expected)
        for sub in area.sub_groups:
            tag = rng.choice(["i", "i", "em"])
            parts.append(
                f"<p><{tag}>{sub.name}{rng.choice(AREA_SEPARATORS)}{_count(sub.instances, rng)} "
                f"instances</{tag}></p>"
            )
            _expect_area(sub, area.name, line, department, directorate, inferred, expected)
            if sub.causes:
                parts.append(_cause_list(rng, sub.causes))
                _expect_causes(sub, line, expected)
    return " ".join(parts)


def _area_text(rng: random.Random, area: Area) -> str:
    sep = rng.choice(AREA_SEPARATORS)
    unit = "instance" if area.instances == 1 and rng.random() < 0.8 else "instances"
    text = f"{area.name}{sep}{_count(area.instances, rng)} {unit}"
    if area.upheld is not None:
        text += f"{rng.choice(['; ', '; ', ', '])}{_count(area.upheld, rng)} {area.wording}"
    return text


def _cause_list(rng: random.Random, causes: list[Cause]) -> str:
    items = [f"{c.label}{rng.choice(CAUSE_SEPARATORS)}{_count(c.count, rng)}" for c in causes]
    style = rng.random()
    if style < 0.1:  # HTML list items
        return "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul> "
    bullet = "• " if style > 0.25 else ""  # bullets lost in extraction
    return '<ul style="list-style-type: none"> ' + " ".join(bullet + i for i in items) + " "


def _expect_area(
    area: Area,
    parent: str | None,
    line: int,
    department: str,
    directorate: str | None,
    inferred: bool,
    expected: ExpectedRootCauses,
) -> None:
    expected.areas.append(
        ExpectedArea(
            line,
            department,
            directorate,
            inferred,
            area.name,
            parent,
            area.instances,
            area.upheld,
            area.basis,
        )
    )


def _expect_causes(area: Area, line: int, expected: ExpectedRootCauses) -> None:
    for cause in area.causes:
        expected.causes.append(ExpectedCause(line, area.name, cause.label, cause.count))


def _action_cell(
    rng: random.Random,
    blocks: list[ActionBlock],
    line: int,
    department: str,
    heading: str | None,
    expected: ExpectedRootCauses,
) -> tuple[str, str | None]:
    parts: list[str] = []
    for block in blocks:
        if block.heading is not None:
            heading = block.heading
            parts.append(f"<p>{block.heading}</p>")
        for sentence in block.sentences:
            parts.append(f"<p>{sentence}</p>")
            expected.actions.append(ExpectedAction(line, department, heading, sentence))
        if block.items:
            marker = rng.choice(["• ", "- "])
            parts.append(
                '<ul style="list-style-type: none"> ' + " ".join(marker + i for i in block.items)
            )
            for item in block.items:
                expected.actions.append(ExpectedAction(line, department, heading, item))
    return " ".join(parts) or "<p></p>", heading


# --- Appendix 1 records -----------------------------------------------------------------------------


def _sum_columns(rows: list[tuple[int, ...]]) -> tuple[int, ...]:
    return tuple(sum(col) for col in zip(*rows, strict=True)) if rows else (0,) * 6


@dataclass
class IssueRow:
    name: str
    values: tuple[int, int, int, int, int]
    stated_total: int | None = None  # the total cell, when not the sum (faults)

    @property
    def cells(self) -> tuple[int, ...]:
        total = sum(self.values) if self.stated_total is None else self.stated_total
        return (*self.values, total)


@dataclass
class RootCauseBlock:
    name: str
    issues: list[IssueRow]
    stated: tuple[int, ...] | None = None  # the subtotal row, when not the sum (faults)

    @property
    def cells(self) -> tuple[int, ...]:
        return self.stated or _sum_columns([i.cells for i in self.issues])


@dataclass
class Department1:
    name: str
    root_causes: list[RootCauseBlock]
    stated: tuple[int, ...] | None = None

    @property
    def cells(self) -> tuple[int, ...]:
        return self.stated or _sum_columns([r.cells for r in self.root_causes])


@dataclass
class OutcomeDoc:
    council: str
    period: str
    departments: list[Department1]
    grand_stated: tuple[int, ...] | None = None

    @property
    def grand(self) -> tuple[int, ...]:
        return self.grand_stated or _sum_columns([d.cells for d in self.departments])

    def freeze(self) -> None:
        """Write every subtotal down as stated, so that changing a record breaks its totals."""
        for dept in self.departments:
            for block in dept.root_causes:
                block.stated = block.cells
            dept.stated = dept.cells
        self.grand_stated = self.grand


def _outcomes(rng: random.Random, big: bool) -> tuple[int, int, int, int, int]:
    scale = 400 if big else 1
    v = [
        rng.choice([0, 0, 0, 1, 1, 2, 3, 5]) * (rng.randint(1, scale) if big else 1)
        for _ in range(5)
    ]
    if not any(v):
        v[rng.randint(0, 4)] = 1
    return (v[0], v[1], v[2], v[3], v[4])


def random_outcome_doc(rng: random.Random, council: str, year: int) -> OutcomeDoc:
    departments: list[Department1] = []
    # "Housing" is both a department and an issue type; names are unique within an extract.
    names = list(APPENDIX_1_DEPARTMENTS)
    for dept in rng.sample(names, rng.randint(1, min(6, len(names)))):
        big = rng.random() < 0.1
        blocks = []
        for rc in rng.sample(ROOT_CAUSES, rng.randint(1, len(ROOT_CAUSES))):
            issues = [
                IssueRow(n, _outcomes(rng, big)) for n in rng.sample(ISSUE_TYPES, rng.randint(1, 7))
            ]
            if rng.random() < 0.2:
                issues.insert(rng.randint(0, len(issues)), IssueRow(rc, _outcomes(rng, big)))
            blocks.append(RootCauseBlock(rc, issues))
        departments.append(Department1(dept, blocks))
    return OutcomeDoc(council, period_of(year), departments)


# --- Appendix 1 rendering -------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectedRow:
    line: int
    department: str
    root_cause: str
    issue_type: str
    values: tuple[int, ...]  # five outcomes then the total


@dataclass(frozen=True)
class ExpectedSubtotal:
    line: int
    level: str
    department: str | None
    root_cause: str | None
    values: tuple[int, ...]


@dataclass
class ExpectedOutcomes:
    title_line: int
    stated_period: str | None
    rows: list[ExpectedRow] = field(default_factory=list)
    subtotals: list[ExpectedSubtotal] = field(default_factory=list)
    repairs: dict[int, str] = field(default_factory=dict)  # line -> repair kind
    trailing: tuple[int, int] | None = None


def _cells(rng: random.Random, values: tuple[int, ...]) -> list[str]:
    return ["" if v == 0 else _count(v, rng) for v in values]


def render_outcome_matrix(
    doc: OutcomeDoc, rng: random.Random, title_period: str | None = ""
) -> tuple[str, ExpectedOutcomes]:
    """Text and expected records. The title states a period only when `title_period` is None
    (then in a random written form) or a given text."""
    w = _Writer(rng)
    written = _title_period(rng, doc.period) if title_period is None else title_period
    title = "Appendix 1 - Correlation between root cause, issues types and outcomes of complaints by department"
    if written:
        title = f"Appendix 1 - {written} Correlation between root cause, issues types and outcomes of complaints by department"
    expected = ExpectedOutcomes(w.add(title), _expected_period(title))
    w.add()
    w.add("\tOutcomes\tOutcomes" + "\t" * 6)
    w.add("\t".join([HEADER_FIRST[0], *HEADER_CELLS]) + "\t\t")
    state = {"repaired": False, "dropped": False, "rows": 0}
    for dept in doc.departments:
        _row(w, dept.name, dept.cells, state)
        expected.subtotals.append(
            ExpectedSubtotal(len(w.lines), "department", dept.name, None, dept.cells)
        )
        for block in dept.root_causes:
            _row(w, block.name, block.cells, state)
            expected.subtotals.append(
                ExpectedSubtotal(len(w.lines), "root_cause", dept.name, block.name, block.cells)
            )
            _issue_rows(w, dept.name, block, expected, state)
    grand = doc.grand
    label = rng.choice(["Grand Total", "Grand Total", "Grand total", "GRAND TOTAL", "Total"])
    w.add("\t".join([label, *(_count(v, rng) for v in grand)]))
    expected.subtotals.append(ExpectedSubtotal(len(w.lines), "grand_total", None, None, grand))
    if rng.random() < 0.3:
        w.add()
        first = len(w.lines) + 1
        for text in rng.choice(TRAILING_TABLES):
            w.add(text)
        expected.trailing = (first, len(w.lines))
    return "\n".join(w.lines) + "\n", expected


def _page_break(w: _Writer, state: dict[str, object]) -> None:
    rows = int(state["rows"])  # type: ignore[call-overload]
    state["rows"] = rows + 1
    if rows and rows % 40 == 0:
        w.add()
        if w.rng.random() < 0.3:
            w.add("\tOutcomes\tOutcomes" + "\t" * w.rng.randint(0, 6))
        w.add("\t".join([w.rng.choice(HEADER_FIRST), *HEADER_CELLS]) + "\t" * w.rng.randint(0, 2))


def _row(w: _Writer, name: str, values: tuple[int, ...], state: dict[str, object]) -> None:
    _page_break(w, state)
    cells = _cells(w.rng, values)
    w.add("\t".join([name, *cells]) + w.rng.choice(["", "\t\t"]))


def _issue_rows(
    w: _Writer,
    dept: str,
    block: RootCauseBlock,
    expected: ExpectedOutcomes,
    state: dict[str, object],
) -> None:
    rng = w.rng
    spurious = not state["repaired"] and rng.random() < 0.15
    noise = not spurious and not state["dropped"] and rng.random() < 0.1
    for issue in block.issues:
        _page_break(w, state)
        values = issue.cells
        cells = _cells(rng, values)
        name = issue.name
        line = len(w.lines) + 1
        for j in range(5):
            if cells[j] == "" and rng.random() < 0.03:
                cells[j] = rng.choice(STRAY_TOKENS)
                expected.repairs.setdefault(line, "stray_token_cleared")
        if len(name) > 25 and rng.random() < 0.3:
            cut = _wrap_point(rng, name)
            if cut is not None and cells[0] == "":  # the tail in the empty withdrawn cell
                name, cells[0] = name[:cut], name[cut:]
                expected.repairs[line] = "name_rejoined"
            elif cut is not None:  # the tail in a cell of its own before the numbers
                name, cells = name[:cut], [name[cut:], *cells]
                expected.repairs[line] = "name_rejoined"
        if spurious and cells[1] == "" and values[5] >= 1 and line not in expected.repairs:
            cells[1] = "4"  # a spurious number the block arithmetic proves wrong
            expected.repairs[line] = "value_repaired"
            state["repaired"], spurious = True, False
        w.add("\t".join([name, *cells]))
        expected.rows.append(ExpectedRow(line, dept, block.name, issue.name, values))
        if noise:
            expected.repairs[w.add("\t\t1\t\t\t1\t")] = "row_dropped"
            state["dropped"], noise = True, False


def _wrap_point(rng: random.Random, name: str) -> int | None:
    """Where a line wrap can split `name` so that the parser can rejoin it exactly: inside a word
    before a lower-case letter, or at a space; the tail keeps two letters."""
    points = [
        i
        for i in range(len(name) - 12, len(name) - 2)
        if (name[i].islower() and name[i - 1].isalnum()) or name[i] == " "
    ]
    return rng.choice(points) if points else None
