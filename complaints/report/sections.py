"""The report's sections, each queried from the published file: a chart, its numbers as a table
and the definition of its metric."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from complaints.report import charts
from complaints.report.model import (
    Figure,
    Section,
    Table,
    fmt_delta,
    fmt_int,
    fmt_points,
    fmt_rate,
    fmt_text,
)

# Service areas below this many instances are not ranked: a handful of complaints would swing
# their share (stated in the report beside the chart).
MIN_INSTANCES = 30
TOP_SERVICE_AREAS = 15
# Per-council figures for this many councils (alphabetically) per section: the report is a paper
# for a committee, not a catalogue of a hundred councils (which would also take a minute to
# draw); the section says which councils it leaves out, and the marts and exports hold them all.
MAX_COUNCILS = 6
# Rows (departments, categories, extracts) one chart draws: a chart of thousands of bars is
# unreadable and Vega-Lite (altair) refuses data past a few thousand rows. The tables under a
# chart keep every row; the figure says what the chart leaves out.
MAX_CHART_ROWS = 40

LAYOUTS = {
    "outcome_matrix": "Appendix 1 (complaint outcomes)",
    "root_cause_summary": "Appendix C (root-cause instances)",
}

FAULT_FOUND = (
    "Fault-found rate = (upheld + partly upheld) ÷ decided, where decided = upheld + partly "
    "upheld + not upheld: withdrawn and rejected complaints are not decisions on merit. Every "
    "rate is shown with its denominator (decided); a department with no decided complaint has "
    "no rate (n/a)."
)
UPHELD_SHARE = (
    "Upheld-or-partly share = complaints upheld or partly upheld ÷ instances of the service area, "
    f"as Appendix C states them. Only service areas with at least {MIN_INSTANCES} instances are "
    "ranked (a few complaints would swing a smaller one); where the source states only 'upheld' "
    "or only 'partly upheld', the basis column says so. An instance is one root cause of one "
    "complaint, so instances are not complaints."
)
ROOT_CAUSES = (
    "Counts are Appendix C root-cause instances, not complaints: each cause listed under a "
    "service area carries its instances, and one complaint can have several root causes. "
    "Category = the canonical category of the cause as written (dbt seed root_cause_categories); "
    "'Not stated' counts instances of service areas that list no cause."
)
CHANGE_OUTCOMES = (
    "Complaints = all outcomes (withdrawn, rejected, not upheld, partly upheld, upheld). Change = "
    "this period minus the council's previous period with figures for the department; the "
    "fault-found rate changes in percentage points (pp). Departments are matched by their name "
    "as published, so a renamed department shows as two."
)
CHANGE_INSTANCES = (
    "Instances = Appendix C root-cause instances of top-level service areas (sub-groups are part "
    "of their parent). Upheld-or-partly share = upheld or partly upheld ÷ the instances of the "
    "service areas that state that figure (the denominator column). Change = this period minus "
    "the previous one, in percentage points (pp) for the share."
)
RECONCILIATION = (
    "A control total is a total printed in the source (a grand total, a department, root-cause "
    "or heading subtotal, a service area's instances); computed = the sum of the rows it covers. "
    "ok: equal. waived: different, accepted by a reviewed waiver (expectations/waivers.yml) that "
    "matches the stated and computed values exactly. failed: different and not waived; the "
    "quality gate blocks publication while any control total fails."
)
VERIFICATION = (
    "A stated number is verified when a control total compares it: as the printed total, or as "
    "one of the parts that must add up to one. Bounded: only checked not to exceed a limit (an "
    "upheld-or-partly-upheld count is at most its service area's instances). Unverified: nothing "
    "checks it, so a misprint in the source would be published as printed. Levels: the kinds of "
    "number an extract states (a heading's total, a service area's instances, a cause's "
    "instances, an outcome cell of an issue-type row, ...)."
)


@dataclass
class Facts:
    """Headline figures for the summary (Dagster metadata and the report's first section)."""

    lines: list[str]


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[Any]:
    return con.execute(sql, params or []).fetchall()


def _latest(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """(council, latest period) for every council with rows in `table`."""
    return [
        (r[0], r[1])
        for r in _rows(
            con, f"select council, max(period) from {table} group by council order by council"
        )
    ]


def _bounded(section: Section, items: list[Any], councils: list[str]) -> list[Any]:
    """The first MAX_COUNCILS items; a note in `section` names the councils left out."""
    if len(items) <= MAX_COUNCILS:
        return items
    left_out = councils[MAX_COUNCILS:]
    section.notes.append(
        f"Showing the first {MAX_COUNCILS} of {len(items)} councils (alphabetically); not shown: "
        f"{', '.join(left_out)}. Their figures are in the published tables and the exports."
    )
    return items[:MAX_COUNCILS]


def _latest_period_figures(
    con: duckdb.DuckDBPyConnection,
    section: Section,
    table: str,
    figure: Callable[[duckdb.DuckDBPyConnection, str, str, list[str]], Figure],
    facts: list[str],
    empty_note: str,
) -> Section:
    """One figure per council for its latest period in `table` (bounded), or `empty_note`."""
    latest = _latest(con, table)
    for council, period in _bounded(section, latest, [c for c, _ in latest]):
        section.figures.append(figure(con, council, period, facts))
    if not section.figures:
        section.notes.append(empty_note)
    return section


def _charted(ranked: list[str], noun: str, notes: list[str]) -> list[str]:
    """The first MAX_CHART_ROWS of `ranked` for a chart; a note in `notes` when some are left out."""
    if len(ranked) <= MAX_CHART_ROWS:
        return ranked
    notes.append(
        f"The chart draws the first {MAX_CHART_ROWS} of {len(ranked)} {noun} (in the table's "
        "order); the table lists every one."
    )
    return ranked[:MAX_CHART_ROWS]


def _slug(*parts: str) -> str:
    text = "-".join(parts).lower()
    return "".join(c if c.isalnum() else "-" for c in text).strip("-")


# --- Department scorecard -------------------------------------------------------------------


def scorecard_section(con: duckdb.DuckDBPyConnection, facts: list[str]) -> Section:
    section = Section(
        "scorecard",
        "Department scorecard",
        "Complaints per department in each council's latest Appendix 1 period, and the share of "
        "decided complaints where a fault was found. Earlier periods are in 'Change between "
        "periods'.",
    )
    return _latest_period_figures(
        con,
        section,
        "mart_department_scorecard",
        _scorecard_figure,
        facts,
        "No Appendix 1 (outcome matrix) extract in this publication.",
    )


def _scorecard_figure(
    con: duckdb.DuckDBPyConnection, council: str, period: str, facts: list[str]
) -> Figure:
    rows = _rows(
        con,
        "select rank_by_total, department, total, withdrawn, rejected, decided, upheld, "
        "partly_upheld, not_upheld, fault_found_rate from mart_department_scorecard "
        "where council = ? and period = ? order by rank_by_total, department",
        [council, period],
    )
    notes: list[str] = []
    charted = _charted([r[1] for r in rows], "departments", notes)
    frame = pd.DataFrame(
        [(r[1], r[2], r[5], r[9]) for r in rows[: len(charted)]],
        columns=["department", "total", "decided", "fault_found_rate"],
    )
    sums = [sum(r[i] for r in rows) for i in range(2, 9)]
    total, _, _, decided, upheld, partly, _ = sums
    # The council's rate as dbt publishes it (mart_council_comparison), not recomputed here.
    found = _council_rows(con, council).get(period)
    # A publication from before mart_council_comparison existed: the departments' sums.
    overall = found[4] if found else _share(upheld + partly, decided)
    body = [
        [str(r[0]), r[1], *(fmt_int(v) for v in r[2:9]), fmt_int(r[6] + r[7]), fmt_rate(r[9])]
        for r in rows
    ]
    body.append(
        ["", "All departments", *(fmt_int(v) for v in sums), fmt_int(upheld + partly)]
        + [fmt_rate(overall)]
    )
    title = f"{council} {period}: complaints and fault-found rate by department"
    table = Table(
        key="scorecard",
        caption=f"{council} {period}: department scorecard (Appendix 1)",
        headers=[
            "Rank",
            "Department",
            "Complaints",
            "Withdrawn",
            "Rejected",
            "Decided (denominator)",
            "Upheld",
            "Partly upheld",
            "Not upheld",
            "Fault found (numerator)",
            "Fault-found rate",
        ],
        numeric=[True, False, *([True] * 9)],
        rows=body,
        attrs={"council": council, "period": period},
        total_rows={len(body) - 1},
    )
    if rows:
        top = rows[0]
        facts.append(
            f"{council} {period} (Appendix 1): {fmt_int(total)} complaints, {fmt_int(decided)} "
            f"decided, fault found in {fmt_rate(overall)} of decided; largest department "
            f"{top[1]} ({fmt_int(top[2])})."
        )
    return Figure(
        key=_slug("scorecard", council, period),
        title=title,
        definition=FAULT_FOUND,
        svg=charts.to_svg(charts.scorecard(frame, title), _slug("c-score", council, period)),
        tables=[table],
        notes=notes,
    )


# --- Service areas with the highest upheld-or-partly share ----------------------------------


def service_areas_section(con: duckdb.DuckDBPyConnection, facts: list[str]) -> Section:
    section = Section(
        "service-areas",
        "Service areas with the highest upheld-or-partly share",
        f"The {TOP_SERVICE_AREAS} service areas with the highest share of upheld or partly upheld "
        f"complaints among those with at least {MIN_INSTANCES} instances, in each council's "
        "latest Appendix C period.",
    )
    return _latest_period_figures(
        con,
        section,
        "mart_service_uphold_rates",
        _service_area_figure,
        facts,
        "No Appendix C (root-cause summary) extract in this publication.",
    )


def _service_area_figure(
    con: duckdb.DuckDBPyConnection, council: str, period: str, facts: list[str]
) -> Figure:
    rows = _rows(
        con,
        "select department, directorate, service_area, parent_service_area, instances, "
        "upheld_or_partly_upheld, upheld_basis, upheld_or_partly_rate "
        "from mart_service_uphold_rates where council = ? and period = ? and instances >= ? "
        "and upheld_or_partly_rate is not null "
        "order by upheld_or_partly_rate desc, instances desc, service_area, department limit ?",
        [council, period, MIN_INSTANCES, TOP_SERVICE_AREAS],
    )
    eligible, areas = _rows(
        con,
        "select count(*) filter (where instances >= ? and upheld_or_partly_rate is not null), "
        "count(*) from mart_service_uphold_rates where council = ? and period = ?",
        [MIN_INSTANCES, council, period],
    )[0]
    frame = pd.DataFrame(
        [(f"{i}. {r[2]}", r[7], f"{r[7]:.1%} of {r[4]:,}") for i, r in enumerate(rows, start=1)],
        columns=["label", "rate", "rate_label"],
    )
    title = f"{council} {period}: highest upheld-or-partly share (≥ {MIN_INSTANCES} instances)"
    table = Table(
        key="service-areas",
        caption=f"{council} {period}: service areas ranked by upheld-or-partly share",
        headers=[
            "Rank",
            "Service area",
            "Sub-group of",
            "Department",
            "Directorate",
            "Instances (denominator)",
            "Upheld or partly (numerator)",
            "Basis",
            "Share",
        ],
        numeric=[True, False, False, False, False, True, True, False, True],
        rows=[
            [str(i), r[2], fmt_text(r[3]), r[0], fmt_text(r[1]), fmt_int(r[4])]
            + [fmt_int(r[5]), fmt_text(r[6]), fmt_rate(r[7])]
            for i, r in enumerate(rows, start=1)
        ],
        attrs={"council": council, "period": period},
    )
    if rows:
        top = rows[0]
        facts.append(
            f"{council} {period} (Appendix C): highest upheld-or-partly share among "
            f"{eligible} service areas with at least {MIN_INSTANCES} instances: {top[2]} "
            f"{fmt_rate(top[7])} of {fmt_int(top[4])}."
        )
    return Figure(
        key=_slug("service-areas", council, period),
        title=title,
        definition=UPHELD_SHARE,
        svg=(
            charts.to_svg(
                charts.ranked_rates(frame, title, "Upheld or partly upheld (share of instances)"),
                _slug("c-areas", council, period),
            )
            if rows
            else None
        ),
        tables=[table],
        notes=[
            f"{eligible} of {areas} service areas have at least {MIN_INSTANCES} instances and a "
            "stated upheld figure."
        ],
    )


# --- Root-cause categories by department ------------------------------------------------------


def root_causes_section(con: duckdb.DuckDBPyConnection, facts: list[str]) -> Section:
    section = Section(
        "root-causes",
        "Root-cause categories by department",
        "Appendix C root-cause instances (not complaints) by canonical category and department, "
        "in each council's latest Appendix C period.",
    )
    return _latest_period_figures(
        con,
        section,
        "mart_service_root_causes",
        _root_cause_figure,
        facts,
        "No Appendix C (root-cause summary) extract in this publication.",
    )


def _root_cause_figure(
    con: duckdb.DuckDBPyConnection, council: str, period: str, facts: list[str]
) -> Figure:
    rows = _rows(
        con,
        "select department, root_cause_category, sum(instances)::bigint "
        # Ordered: the chart's data (and so the report's bytes) must not depend on how DuckDB
        # happened to group.
        "from mart_service_root_causes where council = ? and period = ? group by all "
        "order by department, root_cause_category",
        [council, period],
    )
    by_dept: dict[str, int] = defaultdict(int)
    by_cat: dict[str, int] = defaultdict(int)
    cells: dict[tuple[str, str], int] = {}
    for dept, cat, n in rows:
        by_dept[dept] += n
        by_cat[cat] += n
        cells[(cat, dept)] = n
    departments = sorted(by_dept, key=lambda d: (-by_dept[d], d))
    categories = sorted(by_cat, key=lambda c: (-by_cat[c], c))
    notes: list[str] = []
    charted_departments = _charted(departments, "departments", notes)
    charted_categories = _charted(categories, "categories", notes)
    drawn = {(c, d) for c in charted_categories for d in charted_departments}
    frame = pd.DataFrame(
        [r for r in rows if (r[1], r[0]) in drawn], columns=["department", "category", "instances"]
    )
    title = f"{council} {period}: root-cause instances by category and department"
    body = [
        [cat, *(fmt_int(cells.get((cat, d))) for d in departments), fmt_int(by_cat[cat])]
        for cat in categories
    ]
    body.append(
        ["All categories", *(fmt_int(by_dept[d]) for d in departments)]
        + [fmt_int(sum(by_dept.values()))]
    )
    table = Table(
        key="root-causes",
        caption=f"{council} {period}: root-cause instances (not complaints) by category",
        headers=["Category", *departments, "All departments"],
        numeric=[False, *([True] * (len(departments) + 1))],
        rows=body,
        attrs={"council": council, "period": period},
        total_rows={len(body) - 1},
    )
    if categories:
        top = categories[0]
        facts.append(
            f"{council} {period} (Appendix C): {fmt_int(sum(by_dept.values()))} root-cause "
            f"instances; the largest category is {top} ({fmt_int(by_cat[top])} instances)."
        )
    return Figure(
        key=_slug("root-causes", council, period),
        title=title,
        definition=ROOT_CAUSES,
        svg=(
            charts.to_svg(
                charts.heatmap(frame, charted_departments, charted_categories, title),
                _slug("c-causes", council, period),
            )
            if rows
            else None
        ),
        tables=[table],
        notes=notes,
    )


# --- Change between periods ---------------------------------------------------------------------


def change_section(con: duckdb.DuckDBPyConnection) -> Section:
    section = Section(
        "change",
        "Change between periods",
        "Every council with more than one period in a layout, for both layouts: Appendix 1 counts "
        "complaints, Appendix C counts root-cause instances, so the two are never compared.",
    )
    outcome_councils = _multi_period(con, "mart_department_scorecard")
    instance_councils = _multi_period(con, "mart_service_uphold_rates")
    for council in _bounded(section, outcome_councils, outcome_councils):
        section.figures.append(_outcome_change_figure(con, council))
    for council in _bounded(section, instance_councils, instance_councils):
        section.figures.append(_instance_change_figure(con, council))
    for layout, councils in (
        ("outcome_matrix", outcome_councils),
        ("root_cause_summary", instance_councils),
    ):
        if not councils:
            section.notes.append(f"No council has more than one {LAYOUTS[layout]} period.")
    for council, layouts in _mixed_layout_councils(con):
        section.notes.append(
            f"{council} has periods in different layouts ({layouts}): complaints and root-cause "
            "instances are different units, so no change is computed across them."
        )
    return section


def _multi_period(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [
        r[0]
        for r in _rows(
            con,
            f"select council from {table} group by council "
            "having count(distinct period) > 1 order by council",
        )
    ]


def _mixed_layout_councils(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """Councils whose periods are spread over both layouts with one period or fewer in each."""
    rows = _rows(
        con,
        "select council, kind, list(distinct period order by period) from publication_extracts "
        "group by all order by all",
    )
    per_council: dict[str, dict[str, list[str]]] = defaultdict(dict)
    for council, kind, periods in rows:
        per_council[council][kind] = periods
    mixed = []
    for council, kinds in per_council.items():
        periods = {p for ps in kinds.values() for p in ps}
        if len(kinds) > 1 and len(periods) > 1 and all(len(ps) <= 1 for ps in kinds.values()):
            described = "; ".join(
                f"{LAYOUTS.get(k, k)}: {', '.join(ps)}" for k, ps in sorted(kinds.items())
            )
            mixed.append((council, described))
    return mixed


Point = tuple[str, int, int | None, int | None, float | None]
"""(period, value, numerator, denominator, rate) of one department or of all of them."""


def _with_changes(
    series: dict[str, list[Point]], periods: list[str]
) -> list[tuple[str, str, int, int | None, int | None, int | None, float | None, float | None]]:
    """Per department and period: (dept, period, value, change, numerator, denominator, rate,
    rate change). Change is against the previous period of the council, when the department had
    figures then."""
    out = []
    for dept, points in series.items():
        previous: dict[str, tuple[int, float | None]] = {}
        for period, value, num, den, rate in sorted(points, key=lambda p: periods.index(p[0])):
            index = periods.index(period)
            before = previous.get(periods[index - 1]) if index else None
            change = value - before[0] if before else None
            rate_change = (
                rate - before[1] if before and rate is not None and before[1] is not None else None
            )
            out.append((dept, period, value, change, num, den, rate, rate_change))
            previous[period] = (value, rate)
    return out


def _council_rows(
    con: duckdb.DuckDBPyConnection, council: str
) -> dict[str, tuple[str, int, int, int, float | None]]:
    """Period -> (period, complaints, fault found, decided, fault-found rate) of the council, from
    mart_council_comparison; none from a publication made before that mart existed (a rollback
    can bring one back)."""
    try:
        rows = con.execute(
            "select period, complaints, fault_found, decided, fault_found_rate "
            "from mart_council_comparison where council = ? order by period",
            [council],
        ).fetchall()
    except duckdb.CatalogException:
        return {}
    return {r[0]: (r[0], r[1], r[2], r[3], r[4]) for r in rows}


def _share(num: int | None, den: int | None) -> float | None:
    """A share the marts do not publish (a sum over service areas); NULL on a zero denominator."""
    return num / den if num is not None and den else None


def _total_series(totals: dict[str, list[int]]) -> list[Point]:
    return [(period, v[0], v[1], v[2], _share(v[1], v[2])) for period, v in sorted(totals.items())]


def _outcome_change_figure(con: duckdb.DuckDBPyConnection, council: str) -> Figure:
    # The fault-found rates are dbt's (mart_department_scorecard per department,
    # mart_council_comparison for the council), never recomputed here.
    rows = _rows(
        con,
        "select department, period, total, upheld + partly_upheld, decided, fault_found_rate "
        "from mart_department_scorecard where council = ? order by department, period",
        [council],
    )
    councils = _council_rows(con, council)
    periods = sorted({r[1] for r in rows})
    series: dict[str, list[Point]] = defaultdict(list)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for dept, period, total, found, decided, rate in rows:
        series[dept].append((period, total, found, decided, rate))
        for i, v in enumerate((total, found, decided)):
            totals[period][i] += v
    all_label = "All departments"
    # A publication from before mart_council_comparison existed has only the departments.
    every: list[Point] = [
        (r[0], r[1], r[2], r[3], r[4]) if (r := councils.get(period)) else point
        for period, point in ((p[0], p) for p in _total_series(totals))
    ]
    changes = _with_changes({all_label: every, **series}, periods)
    return _change_figure(
        key=_slug("change-outcomes", council),
        council=council,
        layout="outcome_matrix",
        changes=changes,
        headers=[
            "Department",
            "Period",
            "Complaints",
            "Change",
            "Fault found",
            "Decided (denominator)",
            "Fault-found rate",
            "Change (pp)",
        ],
        value_title="Complaints",
        rate_title="Fault-found rate",
        definition=CHANGE_OUTCOMES,
        all_label=all_label,
    )


def _instance_change_figure(con: duckdb.DuckDBPyConnection, council: str) -> Figure:
    rows = _rows(
        con,
        "select department, period, sum(instances)::bigint, "
        "sum(upheld_or_partly_upheld)::bigint, "
        "(sum(instances) filter (where upheld_or_partly_upheld is not null))::bigint "
        "from mart_service_uphold_rates where council = ? and parent_service_area is null "
        "group by all order by all",
        [council],
    )
    periods = sorted({r[1] for r in rows})
    series: dict[str, list[Point]] = defaultdict(list)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for dept, period, instances, upheld, stated in rows:
        series[dept].append((period, instances, upheld, stated, _share(upheld, stated)))
        for i, v in enumerate((instances, upheld or 0, stated or 0)):
            totals[period][i] += v
    all_label = "All departments"
    changes = _with_changes({all_label: _total_series(totals), **series}, periods)
    return _change_figure(
        key=_slug("change-instances", council),
        council=council,
        layout="root_cause_summary",
        changes=changes,
        headers=[
            "Department",
            "Period",
            "Instances",
            "Change",
            "Upheld or partly",
            "Instances with a stated figure (denominator)",
            "Upheld-or-partly share",
            "Change (pp)",
        ],
        value_title="Root-cause instances",
        rate_title="Upheld-or-partly share",
        definition=CHANGE_INSTANCES,
        all_label=all_label,
    )


def _change_figure(
    *,
    key: str,
    council: str,
    layout: str,
    changes: list[
        tuple[str, str, int, int | None, int | None, int | None, float | None, float | None]
    ],
    headers: list[str],
    value_title: str,
    rate_title: str,
    definition: str,
    all_label: str,
) -> Figure:
    title = f"{council}: change between periods, {LAYOUTS[layout]}"
    body = [
        [dept, period, fmt_int(value), fmt_delta(change), fmt_int(num), fmt_int(den)]
        + [fmt_rate(rate), fmt_points(rate_change)]
        for dept, period, value, change, num, den, rate, rate_change in changes
    ]
    notes: list[str] = []
    charted = set(_charted(_by_latest_value(changes, all_label), "departments", notes))
    frame = pd.DataFrame(
        [(c[0], c[1], c[2], c[6]) for c in changes if c[0] in charted],
        columns=["department", "period", "value", "rate"],
    )
    chart = charts.trends(
        charts.trend(frame, "value", value_title, f"{value_title} per period", rate=False),
        charts.trend(frame, "rate", rate_title, f"{rate_title} per period", rate=True),
    ).properties(title=title, description=title)
    table = Table(
        key="change",
        caption=f"{council}: {LAYOUTS[layout]} per department and period",
        headers=headers,
        numeric=[False, False, *([True] * 6)],
        rows=body,
        attrs={"council": council, "layout": layout},
        total_rows={i for i, c in enumerate(changes) if c[0] == all_label},
    )
    return Figure(
        key=key,
        title=title,
        definition=definition,
        svg=charts.to_svg(chart, _slug("c", key)),
        tables=[table],
        notes=notes,
    )


def _by_latest_value(
    changes: list[
        tuple[str, str, int, int | None, int | None, int | None, float | None, float | None]
    ],
    all_label: str,
) -> list[str]:
    """Departments by their value in their latest period, largest first (then by name)."""
    latest: dict[str, tuple[str, int]] = {}
    for dept, period, value, *_ in changes:
        if dept != all_label and (dept not in latest or period > latest[dept][0]):
            latest[dept] = (period, value)
    return sorted(latest, key=lambda d: (-latest[d][1], d))


# --- Reconciliation -------------------------------------------------------------------------------


def reconciliation_section(con: duckdb.DuckDBPyConnection, facts: list[str]) -> Section:
    counts = _rows(
        con,
        "select extract_id, council, period, "
        "count(*) filter (where status = 'ok'), count(*) filter (where status = 'waived'), "
        "count(*) filter (where status = 'failed'), count(*) "
        "from mart_reconciliation group by all order by extract_id",
    )
    notes: list[str] = []
    # Extracts with failed, then waived totals first: those are the ones a reader must see.
    ranked = [r[0] for r in sorted(counts, key=lambda r: (-r[5], -r[4], r[0]))]
    charted = set(_charted(ranked, "extracts (failed, then waived first)", notes))
    frame = pd.DataFrame(
        [
            (r[0], status, r[3 + i])
            for r in counts
            if r[0] in charted
            for i, status in enumerate(charts.STATUS_COLOURS)
        ],
        columns=["extract_id", "status", "control_totals"],
    )
    totals = [sum(r[i] for r in counts) for i in range(3, 7)]
    summary = Table(
        key="reconciliation-summary",
        caption="Control totals per extract and status",
        headers=["Extract", "Council", "Period", "ok", "waived", "failed", "All"],
        numeric=[False, False, False, True, True, True, True],
        rows=[[r[0], r[1], r[2], *(fmt_int(v) for v in r[3:7])] for r in counts]
        + [["All extracts", "", "", *(fmt_int(v) for v in totals)]],
        total_rows={len(counts)},
    )
    details = _rows(
        con,
        "select extract_id, level, scope, measure, source_line, stated, computed, difference, "
        "status, explanation, waiver_ids, waiver_reason, waiver_reviewed_by, waiver_reviewed_on "
        "from mart_reconciliation where status <> 'ok' "
        "order by status, extract_id, source_line, level, scope, measure",
    )
    exceptions = Table(
        key="reconciliation-exceptions",
        caption="Failed and waived control totals, with their source lines and reasons",
        headers=[
            "Extract",
            "Level",
            "Scope",
            "Measure",
            "Source line",
            "Stated",
            "Computed",
            "Difference",
            "Status",
            "Reason",
            "Waiver",
        ],
        numeric=[False, False, False, False, True, True, True, True, False, False, False],
        rows=[
            [r[0], r[1], r[2], r[3], fmt_int(r[4]), fmt_int(r[5]), fmt_int(r[6]), fmt_int(r[7])]
            + [r[8], fmt_text(r[9]), _waiver(r)]
            for r in details
        ],
    )
    facts.append(
        f"Control totals: {fmt_int(totals[0])} ok, {fmt_int(totals[1])} waived, "
        f"{fmt_int(totals[2])} failed."
    )
    title = "Control totals per extract by status"
    figure = Figure(
        key="reconciliation",
        title=title,
        definition=RECONCILIATION,
        svg=charts.to_svg(charts.reconciliation(frame, title), "c-recon") if counts else None,
        tables=[summary, exceptions],
        notes=notes + ([] if details else ["Every control total holds: none failed or waived."]),
    )
    return Section(
        "reconciliation",
        "Reconciliation status",
        "Whether the totals printed in each source extract agree with the rows they cover.",
        figures=[figure],
    )


def verification_section(con: duckdb.DuckDBPyConnection, facts: list[str]) -> Section:
    coverage = _rows(
        con,
        "select extract_id, council, period, level, numbers_stated, numbers_verified, "
        "numbers_bounded, numbers_unverified, verified_share "
        "from mart_verification_coverage order by extract_id, level",
    )
    totals = [sum(r[i] for r in coverage) for i in range(4, 8)]
    summary = Table(
        key="verification-coverage",
        caption="Stated numbers per extract and level, by what verifies them",
        headers=[
            "Extract",
            "Council",
            "Period",
            "Level",
            "Stated",
            "Verified",
            "Bounded",
            "Unverified",
            "Verified share",
        ],
        numeric=[False, False, False, False, True, True, True, True, True],
        rows=[[*r[:4], *(fmt_int(v) for v in r[4:8]), fmt_rate(r[8])] for r in coverage]
        + [["All extracts", "", "", "", *(fmt_int(v) for v in totals), ""]],
        total_rows={len(coverage)},
    )
    alone = _rows(
        con,
        "select extract_id, source_line, level, scope, stated_value, reason "
        "from mart_unverified_numbers where verification = 'unverified' "
        "order by extract_id, source_line, level, scope",
    )
    listing = Table(
        key="verification-unverified",
        caption="Numbers nothing verifies, with their source lines",
        headers=["Extract", "Source line", "Level", "Scope", "Stated", "Why"],
        numeric=[False, True, False, False, True, False],
        rows=[[r[0], fmt_int(r[1]), r[2], r[3], fmt_int(r[4]), r[5]] for r in alone],
    )
    facts.append(
        f"Stated numbers: {fmt_int(totals[1])} of {fmt_int(totals[0])} verified by a control "
        f"total, {fmt_int(totals[2])} only bounded, {fmt_int(totals[3])} unverified."
    )
    figure = Figure(
        key="verification",
        title="Which stated numbers a control total verifies",
        definition=VERIFICATION,
        svg=None,
        tables=[summary, listing],
        notes=[
            "The bounded numbers are listed, with their source lines, in the published table "
            "mart_unverified_numbers."
        ]
        + ([] if alone else ["Every stated number is verified or bounded."]),
    )
    return Section(
        "verification",
        "Verification coverage",
        "Which figures the source's own totals confirm, and which rest on the source alone.",
        figures=[figure],
    )


def _waiver(row: tuple[Any, ...]) -> str:
    waiver_ids, reviewer, reviewed_on = row[10], row[12], row[13]
    if row[8] != "waived":
        return ""
    when = reviewed_on.isoformat()[:10] if reviewed_on is not None else "no date"
    return f"{waiver_ids}, reviewed by {reviewer} on {when}"
