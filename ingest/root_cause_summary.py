"""Appendix C layout (``root_cause_summary``): directorate headings with a stated total, then
two-column tables (Root Cause | Actions) whose cells are HTML fragments.

Root Cause cells hold service-area paragraphs ("Repairs – 200 instances; 139 upheld/partly upheld",
several may share one paragraph; an italic one is a nested sub-group of the service area before it)
each followed by a bullet list of causes ("Service Delayed – 71"; bullets sometimes missing).
Actions cells hold service headings, paragraphs and bullet lists of improvement actions.

A table section belongs to the heading above it while that heading's stated total is not yet
reached by its service areas; a section after a complete heading lost its own heading in
extraction, and its department is inferred from the service headings in its Actions column through
``service_departments.yml``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import yaml

from ingest.control_totals import explain_scalar
from ingest.errors import MalformedRowError, TruncatedExtractError, UnknownLayoutError
from ingest.records import (
    Action,
    Cause,
    ControlTotal,
    Heading,
    ParsedExtract,
    ParseWarning,
    ServiceArea,
)
from ingest.text import DASHES, squash, strip_tags

UNKNOWN_DEPARTMENT = "Unknown"
_D = re.escape(DASHES)
_HEADING = re.compile(r"^(?P<text>[^\t]*?)\s*\(\s*(?P<n>\d[\d,]*)\s+instances?\s*\)\s*$", re.I)
_PERIOD = re.compile(r"\b(\d{4})\s*/\s*(\d{2})\b")
_BLOCK = re.compile(r"<p>(.*?)</p>|<ul\b[^>]*>|</ul>", re.S | re.I)
_SERVICE_AREA = re.compile(
    rf"(?P<name>[^;]*?)\s*[{_D}]?\s*(?P<n>\d[\d,]*)\s+instances?\b"
    r"(?:\s*;\s*(?P<u>\d[\d,]*)\s+(?P<basis>upheld\s*/\s*partly\s+upheld|partly\s+upheld|upheld))?",
    re.I,
)
_CAUSE = re.compile(rf"\s*(?P<label>[^{_D}\s].*?)\s*[{_D}]\s*(?P<n>\d[\d,]*)(?=\s|$)")
_BULLETS = re.compile(r"[\u2022\u25aa\u25cf\u00b7\u25e6]")
_HYPHEN_BULLET = re.compile(r"(?:^|\s)-\s+")
_ITALIC = re.compile(r"<i>", re.I)
_LEAD_IN = re.compile(r"improvements include|following measures", re.I)


@dataclass(slots=True)
class _Event:
    """One thing found in a section, in source order."""

    kind: str  # service_area | cause | heading | action
    line: int
    text: str
    number: int | None = None
    upheld: int | None = None
    basis: str | None = None
    nested: bool = False


@dataclass(slots=True)
class _Section:
    line: int
    events: list[_Event] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)


@cache
def _default_mapping() -> dict[str, dict[str, str | None]]:
    text = resources.files("ingest").joinpath("service_departments.yml").read_text("utf-8")
    return _normalise_mapping(yaml.safe_load(text))


def load_service_departments(path: Path) -> dict[str, dict[str, str | None]]:
    return _normalise_mapping(yaml.safe_load(Path(path).read_text("utf-8")))


def _key(text: str) -> str:
    return squash(text).lower()


def _normalise_mapping(doc: dict) -> dict[str, dict[str, str | None]]:
    out: dict[str, dict[str, str | None]] = {}
    for heading, value in (doc or {}).get("service_headings", {}).items():
        if isinstance(value, str):
            value = {"department": value}
        out[_key(str(heading))] = {
            "department": value["department"],
            "directorate": value.get("directorate"),
        }
    return out


def parse_root_cause_summary(
    lines: list[str],
    source: str,
    service_departments: dict[str, dict[str, str | None]] | None = None,
) -> ParsedExtract:
    mapping = _default_mapping() if service_departments is None else service_departments
    result = ParsedExtract(source=source, kind="root_cause_summary")
    items = _read_structure(lines, source, result)
    _assign(items, mapping, result)
    return result


# --- pass 1: lines -> headings and sections of events ---------------------------------------------


def _read_structure(
    lines: list[str], source: str, result: ParsedExtract
) -> list[tuple[str, object]]:
    if not any(_is_table_header(ln) for ln in lines):
        raise UnknownLayoutError(
            source, None, "not a root_cause_summary extract: no 'Root Cause<TAB>Actions' header"
        )
    items: list[tuple[str, object]] = []
    section: _Section | None = None
    seen_table = False
    last_nonblank = max((i for i, ln in enumerate(lines) if ln.strip()), default=-1)
    for idx, raw in enumerate(lines):
        lineno = idx + 1
        if not raw.strip():
            continue
        cells = raw.split("\t")
        if len(cells) == 2 and _is_table_header(raw):
            section = _Section(line=lineno)
            items.append(("section", section))
            seen_table = True
            continue
        if all(re.fullmatch(r"\s*-{3,}\s*", c) for c in cells):
            continue  # a markdown table rule left by the converter: layout, not data
        if len(cells) == 1:
            heading = _HEADING.match(raw.strip())
            if heading and "<" not in raw:
                items.append(("heading", _heading(heading, lineno)))
                section = None
                continue
            if not seen_table:
                if result.title is None:
                    result.title = squash(raw)
                    period = _PERIOD.search(raw)
                    if period:
                        result.stated_period = f"{period.group(1)}/{period.group(2)}"
                continue  # title and caveat paragraphs before the first table
            if idx == last_nonblank:
                raise TruncatedExtractError(
                    source, lineno, "file ends mid-table: the last row has no Actions cell"
                )
            raise MalformedRowError(
                source, lineno, "expected a heading or a 'Root Cause<TAB>Actions' table row"
            )
        if len(cells) > 2:
            raise MalformedRowError(source, lineno, f"expected 2 table cells, found {len(cells)}")
        if section is None:
            raise MalformedRowError(
                source,
                lineno,
                "table row outside a table: no 'Root Cause<TAB>Actions' header above it",
            )
        section.rows.append(lineno)
        section.events.extend(_root_cause_events(cells[0], lineno, result))
        section.events.extend(_action_events(cells[1], lineno))
    if not seen_table:
        raise UnknownLayoutError(
            source, None, "not a root_cause_summary extract: no 'Root Cause<TAB>Actions' header"
        )
    for kind, item in items:
        if kind == "section" and not item.rows:  # type: ignore[attr-defined]
            is_last = item is items[-1][1]
            cls = TruncatedExtractError if is_last else MalformedRowError
            why = "file ends mid-table" if is_last else "table has a header but no rows"
            raise cls(source, item.line, f"{why}: 'Root Cause<TAB>Actions' header with no rows")  # type: ignore[attr-defined]
    return items


def _is_table_header(line: str) -> bool:
    cells = line.split("\t")
    return (
        len(cells) == 2 and len(line) < 40 and [_key(c) for c in cells] == ["root cause", "actions"]
    )


def _heading(match: re.Match[str], lineno: int) -> Heading:
    text = squash(match.group("text"))
    parts = re.split(rf"\s+[{_D}]\s+", text, maxsplit=1)
    department = parts[0]
    directorate = parts[1] if len(parts) > 1 else None
    return Heading(lineno, text, department, directorate, int(match.group("n").replace(",", "")))


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
        if kind == "p":
            nested = bool(_ITALIC.search(body))
            end = 0
            for m in _SERVICE_AREA.finditer(plain):
                name = squash(m.group("name")).strip(DASHES + " ")
                if not name:
                    continue
                _leftover(plain[end : m.start()], lineno, result, "service-area paragraph")
                end = m.end()
                events.append(
                    _Event(
                        "service_area",
                        lineno,
                        name,
                        int(m.group("n").replace(",", "")),
                        int(m.group("u").replace(",", "")) if m.group("u") else None,
                        squash(m.group("basis")).replace(" /", "/").replace("/ ", "/").lower()
                        if m.group("basis")
                        else None,
                        nested,
                    )
                )
            _leftover(plain[end:], lineno, result, "service-area paragraph")
        else:
            text = _BULLETS.sub(" ", plain)
            end = 0
            for m in _CAUSE.finditer(text):
                _leftover(text[end : m.start()], lineno, result, "cause list")
                end = m.end()
                label = squash(m.group("label")).strip(DASHES + " ")
                events.append(_Event("cause", lineno, label, int(m.group("n").replace(",", ""))))
            _leftover(text[end:], lineno, result, "cause list")
    return events


_WORD = re.compile(r"\w")


def _leftover(text: str, lineno: int, result: ParsedExtract, where: str) -> None:
    if text and not text.isspace() and _WORD.search(text):
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
                events.append(_Event("heading", lineno, plain))
            elif not (_LEAD_IN.search(plain) and len(plain.split()) <= 8):
                events.append(_Event("action", lineno, plain))
            continue
        parts = _BULLETS.split(plain) if _BULLETS.search(plain) else _HYPHEN_BULLET.split(plain)
        for part in parts:
            text = squash(part).lstrip(DASHES + " ").strip()
            if re.search(r"\w", text):
                events.append(_Event("action", lineno, text))
    return events


# --- pass 2: departments, records and control totals ----------------------------------------------


def _assign(
    items: list[tuple[str, object]],
    mapping: dict[str, dict[str, str | None]],
    result: ParsedExtract,
) -> None:
    heading: Heading | None = None
    heading_sum = 0
    headings: list[tuple[Heading, list[ServiceArea]]] = []
    section_no = 0
    carried: tuple[str, str | None] | None = None  # (department, service heading) across sections
    cause_ordinal = action_ordinal = 0
    children: dict[int, list[tuple[str, int, int]]] = {}  # id(service area) -> parts

    for kind, item in items:
        if kind == "heading":
            heading = item  # type: ignore[assignment]
            heading_sum = 0
            headings.append((heading, []))  # type: ignore[arg-type]
            result.headings.append(heading)  # type: ignore[arg-type]
            continue
        section: _Section = item  # type: ignore[assignment]
        section_no += 1
        if heading is not None and heading_sum < heading.stated_instances:
            department, directorate, inferred = heading.department, heading.directorate, False
            owner = headings[-1][1]
        else:
            department, directorate = _infer(section, mapping, result)
            inferred, owner = True, None

        service_heading = carried[1] if carried and carried[0] == department else None
        parent: ServiceArea | None = None
        current: ServiceArea | None = None
        for ev in section.events:
            if ev.kind == "service_area":
                nested_parent = parent if ev.nested and parent is not None else None
                if ev.nested and parent is None:
                    result.warnings.append(
                        ParseWarning(
                            ev.line, f"italic sub-group {ev.text!r} has no service area above it"
                        )
                    )
                area = ServiceArea(
                    ev.line,
                    section_no,
                    department,
                    directorate,
                    inferred,
                    ev.text,
                    nested_parent.service_area if nested_parent else None,
                    ev.number or 0,
                    ev.upheld,
                    ev.basis,
                )
                result.service_areas.append(area)
                children[id(area)] = []
                if nested_parent is not None:
                    children[id(nested_parent)].append(
                        (area.service_area, area.line, area.instances)
                    )
                else:
                    parent = area
                    heading_sum += area.instances
                    if owner is not None:
                        owner.append(area)
                current = area
            elif ev.kind == "cause":
                if current is None:
                    result.warnings.append(
                        ParseWarning(
                            ev.line, f"cause {ev.text!r} has no service area above it; not counted"
                        )
                    )
                    continue
                cause_ordinal += 1
                result.causes.append(
                    Cause(
                        ev.line,
                        department,
                        directorate,
                        current.service_area,
                        cause_ordinal,
                        ev.text,
                        ev.number or 0,
                    )
                )
                children[id(current)].append((ev.text, ev.line, ev.number or 0))
            elif ev.kind == "heading":
                service_heading = ev.text
            else:
                action_ordinal += 1
                result.actions.append(
                    Action(
                        ev.line,
                        department,
                        directorate,
                        inferred,
                        service_heading,
                        action_ordinal,
                        ev.text,
                    )
                )
        carried = (department, service_heading)

    _control_totals(result, headings, children)


def _infer(
    section: _Section, mapping: dict[str, dict[str, str | None]], result: ParsedExtract
) -> tuple[str, str | None]:
    found: list[tuple[str, str | None]] = []
    for ev in section.events:
        if ev.kind == "heading" and _key(ev.text) in mapping:
            hit = mapping[_key(ev.text)]
            pair = (str(hit["department"]), hit.get("directorate"))
            if pair not in found:
                found.append(pair)
    lines = (
        f"lines {section.rows[0]}-{section.rows[-1]}" if section.rows else f"line {section.line}"
    )
    if not found:
        named = [ev.text for ev in section.events if ev.kind == "heading"]
        result.warnings.append(
            ParseWarning(
                section.line,
                f"table section at {lines} has no directorate heading and its Actions column names "
                f"no mapped service ({', '.join(map(repr, named)) or 'none'}): department "
                f"{UNKNOWN_DEPARTMENT!r}",
            )
        )
        return UNKNOWN_DEPARTMENT, None
    if len(found) > 1:
        result.warnings.append(
            ParseWarning(
                section.line,
                f"table section at {lines} names services of several departments "
                f"({', '.join(d for d, _ in found)}); using the first",
            )
        )
    return found[0]


def _control_totals(
    result: ParsedExtract,
    headings: list[tuple[Heading, list[ServiceArea]]],
    children: dict[int, list[tuple[str, int, int]]],
) -> None:
    for heading, areas in headings:
        computed = sum(a.instances for a in areas)
        diff = computed - heading.stated_instances
        result.control_totals.append(
            ControlTotal(
                "heading",
                heading.heading_text,
                "instances",
                heading.line,
                heading.stated_instances,
                computed,
                "ok" if diff == 0 else "failed",
                explain_scalar(
                    diff, [(a.service_area, a.line, a.instances) for a in areas], "service area"
                )
                if diff
                else None,
            )
        )
    for area in result.service_areas:
        unit = f"{area.department} - {area.directorate}" if area.directorate else area.department
        scope = f"{unit} / {area.service_area}"
        parts = children[id(area)]
        if parts:
            computed = sum(n for _, _, n in parts)
            diff = computed - area.instances
            result.control_totals.append(
                ControlTotal(
                    "service_area",
                    scope,
                    "instances",
                    area.line,
                    area.instances,
                    computed,
                    "ok" if diff == 0 else "failed",
                    explain_scalar(diff, parts, "cause") if diff else None,
                )
            )
        if area.upheld_or_partly_upheld is not None:
            ok = area.upheld_or_partly_upheld <= area.instances
            result.control_totals.append(
                ControlTotal(
                    "service_area_upheld",
                    scope,
                    "upheld_or_partly_upheld_within_instances",
                    area.line,
                    area.upheld_or_partly_upheld,
                    area.instances,
                    "ok" if ok else "failed",
                    None if ok else "more upheld/partly upheld than instances",
                )
            )
