"""The reconciliation report of one parsed extract: what was read, which totals hold, what was
repaired and why. Pure data in (ParsedExtract), plain dict / text out."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from typing import Any

from ingest.records import ParsedExtract


def build_report(
    parsed: ParsedExtract, *, period: str, council: str | None = None
) -> dict[str, Any]:
    warnings = [asdict(w) for w in parsed.warnings]
    if parsed.stated_period and parsed.stated_period != period:
        warnings.insert(
            0,
            {
                "line": None,
                "message": f"the extract's title states period {parsed.stated_period}, "
                f"but {period} was declared",
            },
        )
    if parsed.kind == "root_cause_summary":
        departments = _unique(
            (a.department, a.directorate, a.department_inferred) for a in parsed.service_areas
        )
        found = {
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
        counts = {
            "headings": len(parsed.headings),
            "service_areas": len(parsed.service_areas),
            "nested_sub_groups": sum(1 for a in parsed.service_areas if a.parent_service_area),
            "causes": len(parsed.causes),
            "actions": len(parsed.actions),
            "instances": sum(
                a.instances for a in parsed.service_areas if not a.parent_service_area
            ),
        }
    else:
        found = {
            "departments": [
                {"line": s.line, "department": s.department, "total": s.total}
                for s in parsed.subtotals
                if s.level == "department"
            ],
            "root_cause_subtotals": sum(1 for s in parsed.subtotals if s.level == "root_cause"),
        }
        counts = {
            "departments": sum(1 for s in parsed.subtotals if s.level == "department"),
            "root_cause_subtotals": sum(1 for s in parsed.subtotals if s.level == "root_cause"),
            "issue_type_rows": len(parsed.outcome_rows),
            "complaints": sum(r.total for r in parsed.outcome_rows),
        }
    by_level: dict[str, Counter[str]] = {}
    for c in parsed.control_totals:
        by_level.setdefault(c.level, Counter())[c.status] += 1
    if parsed.kind == "outcome_matrix":
        failed_rows = sum(1 for c in parsed.control_totals if c.level == "row")
        by_level["row"] = Counter(ok=parsed.rows_checked - failed_rows, failed=failed_rows)
    return {
        "file": parsed.source,
        "kind": parsed.kind,
        "period": period,
        "council": council,
        "title": parsed.title,
        "stated_period": parsed.stated_period,
        "found": found,
        "record_counts": counts,
        "control_totals_summary": {
            level: {"ok": n.get("ok", 0), "failed": n.get("failed", 0)}
            for level, n in by_level.items()
        },
        "control_totals": [
            {**asdict(c), "difference": c.difference} for c in parsed.control_totals
        ],
        "failed": len(parsed.failed_totals),
        "repairs": [asdict(r) for r in parsed.repairs],
        "warnings": warnings,
        "reconciles": parsed.reconciles,
    }


def _unique(items):  # type: ignore[no-untyped-def]
    seen: list = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def render_text(report: dict[str, Any], *, show_rows: bool = False) -> str:
    """Human-readable report. Per-row checks (Appendix 1 row totals) are summarised unless
    show_rows; a failing one is always listed."""
    out: list[str] = []
    add = out.append
    add(f"Reconciliation report: {report['file']}")
    add(f"  kind {report['kind']}, period {report['period']}, council {report['council'] or '-'}")
    if report["title"]:
        add(f"  title: {report['title']}")
    add("")
    add("Found")
    found = report["found"]
    if report["kind"] == "root_cause_summary":
        for h in found["headings"]:
            add(f"  heading line {h['line']}: {h['heading']} ({h['stated_instances']} instances)")
        add(f"  table sections: {found['sections']}")
        for d in found["departments"]:
            tag = " [inferred from the Actions column]" if d["department_inferred"] else ""
            directorate = f" - {d['directorate']}" if d["directorate"] else ""
            add(f"  department: {d['department']}{directorate}{tag}")
    else:
        for d in found["departments"]:
            add(f"  department line {d['line']}: {d['department']} ({d['total']})")
        add(f"  root-cause subtotals: {found['root_cause_subtotals']}")
    add("")
    add("Records")
    for key, value in report["record_counts"].items():
        add(f"  {key}: {value}")
    add("")
    add("Control totals")
    for level, n in report["control_totals_summary"].items():
        add(f"  {level}: {n['ok']} ok, {n['failed']} failed")
    add("")
    for c in report["control_totals"]:
        if c["level"] == "row" and c["status"] == "ok" and not show_rows:
            continue
        mark = "ok    " if c["status"] == "ok" else "FAILED"
        add(
            f"  {mark} line {c['line']:>4}  {c['level']:<20} {c['scope']} [{c['measure']}]: "
            f"stated {c['stated']}, computed {c['computed']}, difference {c['difference']:+d}"
        )
        if c["explanation"]:
            add(f"         -> {c['explanation']}")
    add("")
    add(f"Repairs and clean-ups ({len(report['repairs'])})")
    for r in report["repairs"]:
        after = r["after"] or ("(row dropped)" if r["kind"] == "row_dropped" else "(empty)")
        add(f"  line {r['line']:>4} {r['kind']}: {r['before']} -> {after}")
        add(f"         {r['reason']}")
    add("")
    add(f"Warnings ({len(report['warnings'])})")
    for w in report["warnings"]:
        where = f"line {w['line']}" if w["line"] else "file"
        add(f"  {where}: {w['message']}")
    add("")
    verdict = (
        "every control total holds"
        if report["reconciles"]
        else f"{report['failed']} control total(s) FAILED"
    )
    add(f"Result: {verdict}")
    return "\n".join(out)
