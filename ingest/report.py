"""The reconciliation report of one parsed extract: what was read, which totals hold, what was
repaired and why. Pure data in (ParsedExtract), plain dict / text out.

The text puts what a person must act on first: the verdict, then every failing total (stated,
computed, difference, line, explanation), then sections whose department is unknown with the
manifest snippet that resolves them, then repairs and warnings, then one line per level counting
the totals that hold. `show_all` lists every total as well; the JSON keeps everything.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from typing import Any

from ingest.records import ParsedExtract, UnresolvedSection
from ingest.vocabulary import (
    LEVEL_DEPARTMENT,
    LEVEL_ROOT_CAUSE,
    LEVEL_ROW,
    STATUS_FAILED,
    STATUS_OK,
    UNKNOWN_DEPARTMENT,
)

_PLACEHOLDER = "<department>"


def build_report(
    parsed: ParsedExtract, *, period: str, council: str | None = None
) -> dict[str, Any]:
    by_level: dict[str, Counter[str]] = {}
    for c in parsed.control_totals:
        by_level.setdefault(c.level, Counter())[c.status] += 1
    if parsed.kind == "outcome_matrix":
        failed_rows = sum(1 for c in parsed.control_totals if c.level == LEVEL_ROW)
        by_level[LEVEL_ROW] = Counter(
            {STATUS_OK: parsed.rows_checked - failed_rows, STATUS_FAILED: failed_rows}
        )
    return {
        "file": parsed.source,
        "kind": parsed.kind,
        "period": period,
        "council": council,
        "title": parsed.title,
        "title_line": parsed.title_line,
        "stated_period": parsed.stated_period,
        "stated_period_line": parsed.stated_period_line,
        "found": _found(parsed),
        "record_counts": _counts(parsed),
        "control_totals_summary": {
            level: {STATUS_OK: n.get(STATUS_OK, 0), STATUS_FAILED: n.get(STATUS_FAILED, 0)}
            for level, n in by_level.items()
        },
        "control_totals": [
            {**asdict(c), "difference": c.difference} for c in parsed.control_totals
        ],
        "failed": len(parsed.failed_totals),
        "unresolved_sections": [asdict(u) for u in parsed.unresolved_sections],
        "manifest_snippet": departments_snippet(parsed.unresolved_sections),
        "trailing_lines": list(parsed.trailing_lines) if parsed.trailing_lines else None,
        "coverage": [asdict(c) for c in parsed.coverage],
        "unverified_numbers": [asdict(n) for n in parsed.unverified_numbers],
        "repairs": [asdict(r) for r in parsed.repairs],
        "warnings": [asdict(w) for w in parsed.warnings],
        "reconciles": parsed.reconciles,
    }


def _found(parsed: ParsedExtract) -> dict[str, Any]:
    if parsed.kind == "root_cause_summary":
        departments: list[tuple[str, str | None, bool]] = []
        for a in parsed.service_areas:
            key = (a.department, a.directorate, a.department_inferred)
            if key not in departments:
                departments.append(key)
        return {
            "headings": [
                {"line": h.line, "heading": h.heading_text, "stated_instances": h.stated_instances}
                for h in parsed.headings
            ],
            "sections": len({a.section for a in parsed.service_areas}),
            "departments": [
                {"department": d, "directorate": r, "department_inferred": i}
                for d, r, i in departments
            ],
        }
    return {
        "departments": [
            {"line": s.line, "department": s.department, "total": s.total}
            for s in parsed.subtotals
            if s.level == LEVEL_DEPARTMENT
        ],
        "root_cause_subtotals": sum(1 for s in parsed.subtotals if s.level == LEVEL_ROOT_CAUSE),
    }


def _counts(parsed: ParsedExtract) -> dict[str, int]:
    if parsed.kind == "root_cause_summary":
        return {
            "headings": len(parsed.headings),
            "service_areas": len(parsed.service_areas),
            "nested_sub_groups": sum(1 for a in parsed.service_areas if a.parent_service_area),
            "causes": len(parsed.causes),
            "actions": len(parsed.actions),
            "instances": sum(
                a.instances for a in parsed.service_areas if not a.parent_service_area
            ),
        }
    return {
        "departments": sum(1 for s in parsed.subtotals if s.level == LEVEL_DEPARTMENT),
        "root_cause_subtotals": sum(1 for s in parsed.subtotals if s.level == LEVEL_ROOT_CAUSE),
        "issue_type_rows": len(parsed.outcome_rows),
        "complaints": sum(r.total for r in parsed.outcome_rows),
    }


def departments_snippet(unresolved: list[UnresolvedSection]) -> str | None:
    """Manifest lines mapping the service headings of the unresolved sections, to be pasted into
    the extract's entry with each placeholder replaced by a department's name. One heading per
    section is enough; lines left with the placeholder are refused by the manifest loader."""
    seen: set[str] = set()
    lines = ["    departments:"]
    for section in unresolved:
        new = [h for h in section.service_headings if h not in seen]
        if not new:
            continue
        lines.append(f"      # lines {section.first_line}-{section.last_line}")
        for heading in new:
            seen.add(heading)
            lines.append(f"      {json.dumps(heading, ensure_ascii=False)}: {_PLACEHOLDER!r}")
    return "\n".join(lines) if seen else None


# --- text ---------------------------------------------------------------------------------------


def render_text(report: dict[str, Any], *, show_all: bool = False) -> str:
    """Human-readable report: verdict and failures first, passing totals as one line per level
    unless `show_all`."""
    out: list[str] = []
    _header(report, out)
    _failures(report, out)
    _unresolved(report, out)
    _repairs(report, out)
    _warnings(report, out)
    _passing(report, out, show_all)
    _verification(report, out, show_all)
    _read(report, out)
    return "\n".join(out)


def _verdict(report: dict[str, Any]) -> str:
    if report["reconciles"]:
        return "every control total holds"
    return f"{report['failed']} control total(s) FAILED"


def _header(report: dict[str, Any], out: list[str]) -> None:
    out.append(f"Reconciliation report: {report['file']}")
    out.append(
        f"  kind {report['kind']}, period {report['period']}, council {report['council'] or '-'}"
    )
    if report["title"]:
        out.append(f"  title (line {report['title_line']}): {report['title']}")
    out.append(f"Result: {_verdict(report)}")
    out.append("")


def _total_line(c: dict[str, Any]) -> str:
    mark = "ok    " if c["status"] == STATUS_OK else "FAILED"
    return (
        f"  {mark} line {c['line']:>4}  {c['level']:<20} {c['scope']} [{c['measure']}]: "
        f"stated {c['stated']}, computed {c['computed']}, difference {c['difference']:+d}"
    )


def _failures(report: dict[str, Any], out: list[str]) -> None:
    failed = [c for c in report["control_totals"] if c["status"] != STATUS_OK]
    if not failed:
        return
    out.append(f"Failures ({len(failed)})")
    for c in failed:
        out.append(_total_line(c))
        out.append(f"         -> {c['explanation'] or 'no single row explains the difference'}")
    out.append("")


def _unresolved(report: dict[str, Any], out: list[str]) -> None:
    sections = report["unresolved_sections"]
    if not sections:
        return
    out.append(f"Sections with department 'Unknown' ({len(sections)})")
    for s in sections:
        named = ", ".join(repr(h) for h in s["service_headings"]) or "none"
        out.append(
            f"  lines {s['first_line']}-{s['last_line']}: no directorate heading; "
            f"Actions headings found: {named}"
        )
    if report["manifest_snippet"]:
        out.append("  To resolve, add this to the extract's entry in manifest.yml, write each")
        out.append(f"  department in place of {_PLACEHOLDER!r} (one heading per section is enough;")
        out.append("  delete the lines you do not fill in):")
        out.extend(f"  {line}" for line in report["manifest_snippet"].splitlines())
    else:
        out.append("  No Actions heading names a service: these sections stay 'Unknown'.")
    out.append("")


def unresolved_lines(report: dict[str, Any]) -> list[str]:
    """The report's 'Unknown' sections and their manifest snippet, as `render_text` words them:
    a run's summary repeats them for the extracts it read."""
    out: list[str] = []
    _unresolved(report, out)
    return [line for line in out if line]


def _repairs(report: dict[str, Any], out: list[str]) -> None:
    out.append(f"Repairs and clean-ups ({len(report['repairs'])})")
    for r in report["repairs"]:
        after = r["after"] or ("(row dropped)" if r["kind"] == "row_dropped" else "(empty)")
        out.append(f"  line {r['line']:>4} {r['kind']}: {r['before']} -> {after}")
        out.append(f"         {r['reason']}")
    out.append("")


def _warnings(report: dict[str, Any], out: list[str]) -> None:
    out.append(f"Warnings ({len(report['warnings'])})")
    for w in report["warnings"]:
        where = f"line {w['line']}" if w["line"] else "file"
        out.append(f"  {where}: {w['message']}")
    out.append("")


def _passing(report: dict[str, Any], out: list[str], show_all: bool) -> None:
    summary = report["control_totals_summary"]
    counts = ", ".join(
        f"{level} {n['ok']} of {n['ok'] + n['failed']}" for level, n in summary.items()
    )
    out.append(f"Control totals that hold: {counts or 'none'}")
    if show_all:
        out.extend(_total_line(c) for c in report["control_totals"])
    out.append("")


_SHOWN_UNVERIFIED = 20


def _verification(report: dict[str, Any], out: list[str], show_all: bool) -> None:
    coverage = report["coverage"]
    if not coverage:
        return
    stated = sum(c["stated"] for c in coverage)
    verified = sum(c["verified"] for c in coverage)
    bounded = sum(c["bounded"] for c in coverage)
    alone = [n for n in report["unverified_numbers"] if n["verification"] == "unverified"]
    out.append(
        f"Verification: {verified} of {stated} stated numbers are checked by a control total, "
        f"{bounded} only bounded (upheld or partly upheld, at most the instances), "
        f"{len(alone)} rest on the source alone"
    )
    shown = alone if show_all else alone[:_SHOWN_UNVERIFIED]
    for n in shown:
        out.append(f"  line {n['line']:>4} {n['kind']} {n['scope']}: {n['value']} ({n['reason']})")
    if len(shown) < len(alone):
        out.append(f"  ... and {len(alone) - len(shown)} more (--all lists them)")
    out.append("")


def _read(report: dict[str, Any], out: list[str]) -> None:
    counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in report["record_counts"].items())
    out.append(f"Read: {counts}")
    found = report["found"]
    if report["kind"] == "root_cause_summary":
        for d in found["departments"]:
            tag = " [inferred from the Actions column]" if d["department_inferred"] else ""
            if d["department"] == UNKNOWN_DEPARTMENT:
                tag = " [no directorate heading and no mapped service heading]"
            directorate = f" - {d['directorate']}" if d["directorate"] else ""
            out.append(f"  department: {d['department']}{directorate}{tag}")
    else:
        for d in found["departments"]:
            out.append(f"  department line {d['line']}: {d['department']} ({d['total']})")
    if report["trailing_lines"]:
        first, last = report["trailing_lines"]
        out.append(f"  trailing content after the Grand Total, not read: lines {first}-{last}")
