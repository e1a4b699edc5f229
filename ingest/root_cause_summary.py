"""Appendix C layout (``root_cause_summary``): directorate headings with a stated total, then
two-column tables (Root Cause | Actions) whose cells are HTML fragments.

Root Cause cells hold service-area paragraphs ("Repairs – 200 instances; 139 upheld/partly upheld",
several may share one paragraph; an italic one is a nested sub-group of the service area before it)
each followed by a bullet list of causes ("Service Delayed – 71"; bullets sometimes missing), which
`ingest.cause_lists` segments by arithmetic. Actions cells hold service headings, paragraphs and
bullet lists of improvement actions.

A table section belongs to the heading above it while that heading's stated total is not yet
reached by its service areas; a section after a complete heading lost its own heading in
extraction, and its department is looked up from the service headings in its Actions column
(`ingest.departments`: data per council). A section with no such evidence is department
'Unknown', with a warning and an entry in `unresolved_sections`.

Three passes, each a small pure step: lines -> headings and sections of events (`_read_structure`),
sections -> service areas with their departments and cause-list texts (`_assign`), then the cause
lists are segmented against their targets and the control totals computed (`_finish`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from ingest.cause_lists import describe_alternatives, segment
from ingest.control_totals import explain_scalar
from ingest.departments import Department, DepartmentMap, heading_key
from ingest.errors import MalformedRowError, TruncatedExtractError, UnknownLayoutError
from ingest.periods import find_period
from ingest.records import (
    Action,
    Cause,
    ControlTotal,
    Heading,
    ParsedExtract,
    ParseWarning,
    ServiceArea,
    UnresolvedSection,
)
from ingest.text import DASHES, squash, strip_tags
from ingest.vocabulary import (
    INSTANCES_MEASURE,
    LEVEL_HEADING,
    LEVEL_SERVICE_AREA,
    LEVEL_SERVICE_AREA_UPHELD,
    STATUS_FAILED,
    STATUS_OK,
    UNKNOWN_DEPARTMENT,
    UPHELD_WITHIN_INSTANCES_MEASURE,
    service_area_scope,
)

_D: Final = re.escape(DASHES)
_HEADING: Final = re.compile(
    r"^(?P<text>[^\t]*?)\s*\(\s*(?P<n>\d{1,3}(?:,\d{3})+|\d+)\s+instances?\s*\)\s*$", re.I
)
_BLOCK: Final = re.compile(r"<p>(.*?)</p>|<ul\b[^>]*>|</ul>", re.S | re.I)
_COUNT: Final = r"\d{1,3}(?:,\d{3})+|\d+"
_PARTLY: Final = r"part(?:ly|ially)?"
_SERVICE_AREA: Final = re.compile(
    rf"(?P<name>[^;]*?)\s*[{_D}]?\s*(?<![\w,])(?P<n>{_COUNT})\s+instances?\b"
    rf"(?:\s*[;,]\s*(?P<u>{_COUNT})\s+(?P<basis>upheld\s*(?:/|or|and|&)\s*{_PARTLY}\s+upheld"
    rf"|{_PARTLY}\s+upheld|upheld))?",
    re.I,
)
_BULLETS: Final = re.compile(r"[\u2022\u25aa\u25cf\u00b7\u25e6]")
_HYPHEN_BULLET: Final = re.compile(r"(?:^|\s)-\s+")
_ITALIC: Final = re.compile(r"<(?:i|em)\b[^>]*>", re.I)
_LIST_ITEM: Final = re.compile(r"<li\b[^>]*>", re.I)
_LEAD_IN: Final = re.compile(r"improvements include|following measures", re.I)
_RULE: Final = re.compile(r"\s*-{3,}\s*")
_WORD: Final = re.compile(r"\w")


# --- pass 1 records: what a table section holds, in source order ---------------------------------


@dataclass(frozen=True, slots=True)
class _AreaEvent:
    line: int
    name: str
    instances: int
    upheld: int | None
    basis: str | None
    nested: bool


@dataclass(frozen=True, slots=True)
class _CauseListEvent:
    line: int
    text: str


@dataclass(frozen=True, slots=True)
class _ServiceHeadingEvent:
    line: int
    text: str


@dataclass(frozen=True, slots=True)
class _ActionEvent:
    line: int
    text: str


_Event = _AreaEvent | _CauseListEvent | _ServiceHeadingEvent | _ActionEvent


@dataclass(slots=True)
class _Section:
    line: int
    events: list[_Event] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)

    def lines(self) -> tuple[int, int]:
        return (self.rows[0], self.rows[-1]) if self.rows else (self.line, self.line)


_Item = Heading | _Section


# --- pass 2 records: a service area and what must add up to it -----------------------------------


@dataclass(slots=True)
class _Area:
    record: ServiceArea
    lists: list[_CauseListEvent] = field(default_factory=list)
    sub_groups: list[ServiceArea] = field(default_factory=list)
    causes: list[Cause] = field(default_factory=list)
    finding: str | None = None  # readings of its cause list that add up only against the typography


def parse_root_cause_summary(
    lines: list[str], source: str, departments: DepartmentMap | None = None
) -> ParsedExtract:
    """Parse an Appendix C extract. `departments` maps folded service headings (see
    `ingest.departments.heading_key`) to departments, for sections that lost their heading."""
    result = ParsedExtract(source=source, kind="root_cause_summary")
    items = _read_structure(lines, source, result)
    areas, headings = _assign(items, departments or {}, result)
    _finish(areas, headings, result)
    return result


# --- pass 1: lines -> headings and sections of events ---------------------------------------------


def _read_structure(lines: list[str], source: str, result: ParsedExtract) -> list[_Item]:
    if not any(_is_table_header(ln) for ln in lines):
        raise UnknownLayoutError(
            source, None, "not a root_cause_summary extract: no 'Root Cause<TAB>Actions' header"
        )
    items: list[_Item] = []
    section: _Section | None = None
    last_nonblank = max((i for i, ln in enumerate(lines) if ln.strip()), default=-1)
    for idx, raw in enumerate(lines):
        lineno = idx + 1
        if not raw.strip():
            continue
        cells = raw.split("\t")
        if _is_table_header(raw):
            section = _Section(line=lineno)
            items.append(section)
        elif all(_RULE.fullmatch(c) for c in cells):
            continue  # a markdown table rule left by the converter: layout, not data
        elif len(cells) == 1:
            heading = _heading_line(raw, lineno)
            if heading is not None:
                items.append(heading)
                section = None
            elif not any(isinstance(i, _Section) for i in items):
                _preamble(raw, lineno, result)
            else:
                _not_a_row(source, lineno, idx == last_nonblank)
        else:
            _table_row(cells, lineno, source, section, result)
    return _require_rows(items, source, result)


def _preamble(raw: str, lineno: int, result: ParsedExtract) -> None:
    """Title and caveat paragraphs before the first table; the first period written wins."""
    if result.title is None:
        result.title = squash(raw)
        result.title_line = lineno
    if result.stated_period is None:
        period = find_period(raw)
        if period is not None:
            result.stated_period = period
            result.stated_period_line = lineno


def _not_a_row(source: str, lineno: int, is_last: bool) -> None:
    if is_last:
        raise TruncatedExtractError(
            source, lineno, "file ends mid-table: the last row has no Actions cell"
        )
    raise MalformedRowError(
        source, lineno, "expected a heading or a 'Root Cause<TAB>Actions' table row"
    )


def _table_row(
    cells: list[str], lineno: int, source: str, section: _Section | None, result: ParsedExtract
) -> None:
    if len(cells) > 2:
        raise MalformedRowError(source, lineno, f"expected 2 table cells, found {len(cells)}")
    if section is None:
        raise MalformedRowError(
            source, lineno, "table row outside a table: no 'Root Cause<TAB>Actions' header above it"
        )
    section.rows.append(lineno)
    section.events.extend(_root_cause_events(cells[0], lineno, result))
    section.events.extend(_action_events(cells[1], lineno))


def _require_rows(items: list[_Item], source: str, result: ParsedExtract) -> list[_Item]:
    """A header with no rows at the end is a truncated file; elsewhere (a header repeated by a
    page break) it holds nothing: dropped with a warning."""
    if isinstance(items[-1], _Section) and not items[-1].rows:
        raise TruncatedExtractError(
            source,
            items[-1].line,
            "file ends mid-table: 'Root Cause<TAB>Actions' header with no rows",
        )
    kept: list[_Item] = []
    for item in items:
        if isinstance(item, _Section) and not item.rows:
            result.warnings.append(
                ParseWarning(item.line, "'Root Cause<TAB>Actions' header with no rows: ignored")
            )
        else:
            kept.append(item)
    return kept


def _is_table_header(line: str) -> bool:
    cells = line.split("\t")
    return (
        len(cells) == 2
        and len(line) < 40
        and [squash(c).lower() for c in cells] == ["root cause", "actions"]
    )


def _heading_line(raw: str, lineno: int) -> Heading | None:
    match = _HEADING.match(raw.strip())
    if match is None or "<" in raw:
        return None
    text = squash(match.group("text"))
    parts = re.split(rf"\s+[{_D}]\s+", text, maxsplit=1)
    directorate = parts[1] if len(parts) > 1 else None
    return Heading(
        line=lineno,
        heading_text=text,
        department=parts[0],
        directorate=directorate,
        stated_instances=_int(match.group("n")),
    )


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def _blocks(cell: str) -> list[tuple[str, str]]:
    """HTML cell -> [('p', html) | ('list', text) | ('text', text)] in order."""
    out: list[tuple[str, str]] = []
    pos, in_list = 0, False
    for m in _BLOCK.finditer(cell):
        gap = cell[pos : m.start()]
        if gap.strip():
            out.append(("list" if in_list else "text", gap))
        token = m.group(0).lower()
        if token.startswith("<p>"):
            out.append(("p", m.group(1)))
            in_list = False
        else:
            in_list = token.startswith("<ul")
        pos = m.end()
    tail = cell[pos:]
    if tail.strip():
        out.append(("list" if in_list else "text", tail))
    return out


def _root_cause_events(cell: str, lineno: int, result: ParsedExtract) -> list[_Event]:
    events: list[_Event] = []
    for kind, body in _blocks(cell):
        plain = strip_tags(body)
        if not plain:
            continue
        # A service-area line outside <p> tags is still a service area; list items are bullets.
        if kind == "p" or (kind == "text" and _SERVICE_AREA.search(plain)):
            events.extend(_area_events(plain, bool(_ITALIC.search(body)), lineno, result))
        else:
            bulleted = strip_tags(_LIST_ITEM.sub(" • ", body))
            events.append(_CauseListEvent(lineno, _BULLETS.sub(" • ", bulleted)))
    return events


def _area_events(plain: str, nested: bool, lineno: int, result: ParsedExtract) -> list[_Event]:
    """One paragraph -> its service areas (one paragraph may hold several)."""
    events: list[_Event] = []
    end = 0
    for m in _SERVICE_AREA.finditer(plain):
        name = squash(m.group("name")).strip(DASHES + " ")
        if not name:
            continue
        _leftover(plain[end : m.start()], lineno, result, "service-area paragraph")
        end = m.end()
        basis = m.group("basis")
        events.append(
            _AreaEvent(
                line=lineno,
                name=name,
                instances=_int(m.group("n")),
                upheld=_int(m.group("u")) if m.group("u") else None,
                basis=_basis(basis) if basis else None,
                nested=nested,
            )
        )
    _leftover(plain[end:], lineno, result, "service-area paragraph")
    return events


def _basis(text: str) -> str:
    """The wording the upheld count was stated with, folded: 'upheld/partly upheld', 'upheld' or
    'partly upheld' ('part', 'partially', 'or', 'and', '&' written any way)."""
    words = squash(text.lower().replace("/", " / "))
    words = re.sub(r"\bpart(?:ially)?\b", "partly", words)
    return re.sub(r"\s*(?:/|\bor\b|\band\b|&)\s*", "/", words)


def _leftover(text: str, lineno: int, result: ParsedExtract, where: str) -> None:
    if text and _WORD.search(text):
        result.warnings.append(
            ParseWarning(
                lineno, f"text in a {where} not understood and not counted: {squash(text)!r}"
            )
        )


def _is_service_heading(body: str, plain: str) -> bool:
    if _ITALIC.search(body) or _LEAD_IN.search(plain):
        return False
    return not re.search(r"[.:;!?]$", plain) and len(plain.split()) <= 14


def _action_events(cell: str, lineno: int) -> list[_Event]:
    events: list[_Event] = []
    for kind, body in _blocks(cell):
        plain = strip_tags(body)
        if not plain:
            continue
        if kind == "p":
            if _is_service_heading(body, plain):
                events.append(_ServiceHeadingEvent(lineno, plain))
            elif not (_LEAD_IN.search(plain) and len(plain.split()) <= 8):
                events.append(_ActionEvent(lineno, plain))
            continue
        parts = _BULLETS.split(plain) if _BULLETS.search(plain) else _HYPHEN_BULLET.split(plain)
        for part in parts:
            text = squash(part).lstrip(DASHES + " ").strip()
            if _WORD.search(text):
                events.append(_ActionEvent(lineno, text))
    return events


# --- pass 2: departments, service areas, actions ---------------------------------------------------


@dataclass(slots=True)
class _Owner:
    """Where the sections being read belong: a heading (while its total is not reached) or a
    department found for a section that lost its heading."""

    heading: Heading | None = None
    heading_sum: int = 0
    heading_areas: list[ServiceArea] = field(default_factory=list)
    closed: bool = False  # a section of another department came between: the heading ended


def _assign(
    items: list[_Item], departments: DepartmentMap, result: ParsedExtract
) -> tuple[list[_Area], list[tuple[Heading, list[ServiceArea]]]]:
    areas: list[_Area] = []
    headings: list[tuple[Heading, list[ServiceArea]]] = []
    owner = _Owner()
    carried: tuple[str, str | None] | None = None  # (department, service heading) across sections
    section_no = 0
    named: dict[tuple[str, str | None, int | None, str], int] = {}  # service areas -> first line
    for item in items:
        if isinstance(item, Heading):
            owner = _Owner(item)
            headings.append((item, owner.heading_areas))
            result.headings.append(item)
            continue
        section_no += 1
        if _belongs_to_heading(owner, item, departments, result):
            h = owner.heading
            assert h is not None
            unit = _Unit(Department(h.department, h.directorate), inferred=False)
            own = True
        else:
            unit, own = _infer(item, departments, result), False
        department = unit.department.department
        service_heading = carried[1] if carried and carried[0] == department else None
        service_heading = _read_section(
            item, section_no, unit, own, owner, service_heading, areas, result
        )
        carried = (department, service_heading)
        for area in areas[len(areas) - _areas_in(item) :]:
            _check_unique(area.record, named, result.source)
    return areas, headings


@dataclass(frozen=True, slots=True)
class _Unit:
    """The department a section's records belong to. A section whose department is unresolved
    is a unit of its own (named by its first line), so two such sections never merge."""

    department: Department
    inferred: bool
    unresolved_section: int | None = None


def _areas_in(section: _Section) -> int:
    return sum(1 for ev in section.events if isinstance(ev, _AreaEvent))


def _check_unique(
    area: ServiceArea, named: dict[tuple[str, str | None, int | None, str], int], source: str
) -> None:
    """The warehouse keys a service area by its name within its department (and unresolved
    section); a name listed twice there would merge two service areas into one."""
    key = (area.department, area.directorate, area.unresolved_section, area.service_area)
    if key in named:
        fix = (
            "map the Actions headings of these sections to different departments in the "
            "manifest entry"
            if area.department_inferred
            else "correct the extract"
        )
        raise MalformedRowError(
            source,
            area.line,
            f"service area {area.service_area!r} is listed twice under department "
            f"{area.department!r} (lines {named[key]} and {area.line}); the warehouse names a "
            f"service area once per department: {fix}",
        )
    named[key] = area.line


def _belongs_to_heading(
    owner: _Owner, section: _Section, departments: DepartmentMap, result: ParsedExtract
) -> bool:
    """A section belongs to the heading above it while the heading's stated total is not reached,
    unless its Actions column names services of another department (then the heading ended and
    this section lost its own heading; the heading's total will say what is missing)."""
    h = owner.heading
    if h is None or owner.closed or owner.heading_sum >= h.stated_instances:
        return False
    if not owner.heading_areas:
        return True
    mapped = _mapped_departments(section, departments)
    if not mapped or any(heading_key(d.department) == heading_key(h.department) for d in mapped):
        return True
    owner.closed = True
    first, last = section.lines()
    result.warnings.append(
        ParseWarning(
            section.line,
            f"table section at lines {first}-{last} names services of {mapped[0].department!r}, "
            f"not of heading {h.heading_text!r} (line {h.line}), whose stated total "
            f"{h.stated_instances} its sections reach only {owner.heading_sum} of: read as a "
            "section that lost its heading",
        )
    )
    return False


def _mapped_departments(section: _Section, departments: DepartmentMap) -> list[Department]:
    found: list[Department] = []
    for ev in section.events:
        if isinstance(ev, _ServiceHeadingEvent):
            hit = departments.get(heading_key(ev.text))
            if hit is not None and hit not in found:
                found.append(hit)
    return found


def _read_section(
    section: _Section,
    section_no: int,
    unit: _Unit,
    own: bool,
    owner: _Owner,
    service_heading: str | None,
    areas: list[_Area],
    result: ParsedExtract,
) -> str | None:
    """Turn one section's events into areas and actions; returns the service heading in force."""
    dept = unit.department
    parent: _Area | None = None
    current: _Area | None = None
    for ev in section.events:
        if isinstance(ev, _AreaEvent):
            current = _new_area(ev, section_no, unit, parent, result)
            areas.append(current)
            if current.record.parent_service_area is None:
                parent = current
                owner.heading_sum += ev.instances
                if own:
                    owner.heading_areas.append(current.record)
            elif parent is not None:
                parent.sub_groups.append(current.record)
        elif isinstance(ev, _CauseListEvent):
            if current is None:
                result.warnings.append(
                    ParseWarning(
                        ev.line, f"cause list {ev.text!r} has no service area above it; not counted"
                    )
                )
            else:
                current.lists.append(ev)
        elif isinstance(ev, _ServiceHeadingEvent):
            service_heading = ev.text
        else:
            result.actions.append(
                Action(
                    line=ev.line,
                    department=dept.department,
                    directorate=dept.directorate,
                    department_inferred=unit.inferred,
                    service_heading=service_heading,
                    ordinal=len(result.actions) + 1,
                    action_text=ev.text,
                    unresolved_section=unit.unresolved_section,
                )
            )
    return service_heading


def _new_area(
    ev: _AreaEvent,
    section_no: int,
    unit: _Unit,
    parent: _Area | None,
    result: ParsedExtract,
) -> _Area:
    nested_under = parent.record.service_area if ev.nested and parent is not None else None
    if ev.nested and parent is None:
        result.warnings.append(
            ParseWarning(ev.line, f"italic sub-group {ev.name!r} has no service area above it")
        )
    record = ServiceArea(
        line=ev.line,
        section=section_no,
        department=unit.department.department,
        directorate=unit.department.directorate,
        department_inferred=unit.inferred,
        service_area=ev.name,
        parent_service_area=nested_under,
        instances=ev.instances,
        upheld_or_partly_upheld=ev.upheld,
        upheld_basis=ev.basis,
        unresolved_section=unit.unresolved_section,
    )
    result.service_areas.append(record)
    return _Area(record)


def _infer(section: _Section, departments: DepartmentMap, result: ParsedExtract) -> _Unit:
    named = [ev.text for ev in section.events if isinstance(ev, _ServiceHeadingEvent)]
    found = _mapped_departments(section, departments)
    first, last = section.lines()
    where = f"lines {first}-{last}"
    if not found:
        result.unresolved_sections.append(
            UnresolvedSection(first_line=first, last_line=last, service_headings=tuple(named))
        )
        result.warnings.append(
            ParseWarning(
                section.line,
                f"table section at {where} has no directorate heading and its Actions column names "
                f"no mapped service ({', '.join(map(repr, named)) or 'none'}): department "
                f"{UNKNOWN_DEPARTMENT!r}",
            )
        )
        return _Unit(Department(UNKNOWN_DEPARTMENT), inferred=True, unresolved_section=first)
    if len(found) > 1:
        result.warnings.append(
            ParseWarning(
                section.line,
                f"table section at {where} names services of several departments "
                f"({', '.join(d.department for d in found)}); using the first one named",
            )
        )
    return _Unit(found[0], inferred=True)


# --- pass 3: cause lists segmented against their targets; control totals ---------------------------


def _finish(
    areas: list[_Area],
    headings: list[tuple[Heading, list[ServiceArea]]],
    result: ParsedExtract,
) -> None:
    for area in areas:
        _segment_area(area, result)
    result.causes.extend(c for area in areas for c in area.causes)
    for ordinal, cause in enumerate(result.causes, start=1):
        cause.ordinal = ordinal
    for heading, members in headings:
        result.control_totals.append(_heading_total(heading, members))
    for area in areas:
        result.control_totals.extend(_area_totals(area))


def _segment_area(area: _Area, result: ParsedExtract) -> None:
    if not area.lists:
        return
    a = area.record
    target = a.instances - sum(s.instances for s in area.sub_groups)
    text = " • ".join(ev.text for ev in area.lists)
    line = area.lists[0].line
    seg = segment(text, target if target >= 0 else None)
    for leftover in seg.leftovers:
        result.warnings.append(
            ParseWarning(line, f"text in a cause list not understood and not counted: {leftover!r}")
        )
    for note in seg.notes:
        result.warnings.append(ParseWarning(line, f"service area {a.service_area!r}: {note}"))
    if seg.alternatives:
        area.finding = describe_alternatives(seg.reading, seg.alternatives)
    for cause in seg.reading.causes:
        area.causes.append(
            Cause(
                line=line,
                department=a.department,
                directorate=a.directorate,
                service_area=a.service_area,
                ordinal=0,
                cause_label=cause.label,
                instances=cause.count,
                unresolved_section=a.unresolved_section,
            )
        )


def area_scope(area: ServiceArea) -> str:
    """The scope of a service area's control totals: '<department[ - directorate]> / <area>'."""
    return service_area_scope(area.department, area.directorate, area.service_area)


def _heading_total(heading: Heading, members: list[ServiceArea]) -> ControlTotal:
    computed = sum(a.instances for a in members)
    diff = computed - heading.stated_instances
    parts = [(a.service_area, a.line, a.instances) for a in members]
    return ControlTotal(
        level=LEVEL_HEADING,
        scope=heading.heading_text,
        measure=INSTANCES_MEASURE,
        line=heading.line,
        stated=heading.stated_instances,
        computed=computed,
        status=STATUS_OK if diff == 0 else STATUS_FAILED,
        explanation=explain_scalar(diff, parts, "service area") if diff else None,
    )


def _explain_area(diff: int, parts: list[tuple[str, int, int]], finding: str | None) -> str | None:
    if not diff:
        return None
    single = explain_scalar(diff, parts, "cause")
    if finding is None:
        return single
    return f"{finding}; {single}" if single else finding


def _area_totals(area: _Area) -> list[ControlTotal]:
    a = area.record
    out: list[ControlTotal] = []
    parts = [(c.cause_label, c.line, c.instances) for c in area.causes]
    parts += [(s.service_area, s.line, s.instances) for s in area.sub_groups]
    if parts:
        computed = sum(n for _, _, n in parts)
        diff = computed - a.instances
        out.append(
            ControlTotal(
                level=LEVEL_SERVICE_AREA,
                scope=area_scope(a),
                measure=INSTANCES_MEASURE,
                line=a.line,
                stated=a.instances,
                computed=computed,
                status=STATUS_OK if diff == 0 else STATUS_FAILED,
                explanation=_explain_area(diff, parts, area.finding),
            )
        )
    if a.upheld_or_partly_upheld is not None:
        ok = a.upheld_or_partly_upheld <= a.instances
        out.append(
            ControlTotal(
                level=LEVEL_SERVICE_AREA_UPHELD,
                scope=area_scope(a),
                measure=UPHELD_WITHIN_INSTANCES_MEASURE,
                line=a.line,
                stated=a.upheld_or_partly_upheld,
                computed=a.instances,
                status=STATUS_OK if ok else STATUS_FAILED,
                explanation=None if ok else "more upheld/partly upheld than instances",
            )
        )
    return out
