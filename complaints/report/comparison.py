"""The report's "Councils compared" section: complaints and fault found per 10,000 residents, from
mart_council_comparison, shown when at least two council-periods have residents."""

from __future__ import annotations

import altair as alt
import duckdb
import pandas as pd

from complaints.report import charts
from complaints.report.model import Figure, Section, Table, fmt_int, fmt_rate
from complaints.report.sections import MAX_CHART_ROWS, _charted

ANCHOR = "councils-compared"
COMPARISON = (
    "Complaints per 10,000 residents = complaints (all outcomes of the council-period's Appendix "
    "1) × 10,000 ÷ residents. Fault found per 10,000 residents = (upheld + partly upheld) × "
    "10,000 ÷ residents. Residents are the denominators the manifest's council context file "
    "supplies (the appendices do not state them); a council-period without one has no "
    "per-resident rate and is listed below the table. Councils count and classify complaints "
    "differently, so a difference is a question to ask, not a verdict."
)
MIN_COUNCIL_PERIODS = 2


def _rows(con: duckdb.DuckDBPyConnection, latest_only: bool) -> list[tuple[object, ...]]:
    latest = (
        "and period = (select max(period) from mart_council_comparison as m "
        "where m.council = c.council and m.residents is not null)"
        if latest_only
        else ""
    )
    return con.execute(
        "select council, period, complaints, fault_found, decided, fault_found_rate, residents, "
        "complaints_per_10k_residents, fault_found_per_10k_residents "
        f"from mart_council_comparison as c where residents is not null {latest} "
        "order by complaints_per_10k_residents desc, council, period"
    ).fetchall()


def comparison_section(
    con: duckdb.DuckDBPyConnection, facts: list[str], latest_only: bool = False
) -> Section | None:
    """The section, or None when fewer than two council-periods have residents. `latest_only`:
    each council's latest period with residents (the overview of many councils)."""
    rows = _rows(con, latest_only)
    if len(rows) < MIN_COUNCIL_PERIODS:
        return None
    missing = con.execute(
        "select council || ' ' || period from mart_council_comparison "
        "where residents is null order by council, period"
    ).fetchall()
    notes: list[str] = []
    labels = [f"{r[0]} {r[1]}" for r in rows]
    charted = _charted(labels, "council-periods, most complaints per resident first,", notes)
    frame = pd.DataFrame(
        [
            (label, r[7], r[8], r[2], r[3], r[6])
            for label, r in zip(labels[: len(charted)], rows, strict=False)
        ],
        columns=[
            "label",
            "complaints_rate",
            "fault_rate",
            "complaints",
            "fault_found",
            "residents",
        ],
    )
    title = "Complaints and fault found per 10,000 residents"
    table = Table(
        key="council-comparison",
        caption="Councils compared per resident (mart_council_comparison)",
        headers=[
            "Council",
            "Period",
            "Complaints",
            "Fault found",
            "Residents (denominator)",
            "Complaints per 10,000 residents",
            "Fault found per 10,000 residents",
            "Decided",
            "Fault-found rate (of decided)",
        ],
        numeric=[False, False, *([True] * 7)],
        rows=[
            [str(r[0]), str(r[1]), fmt_int(r[2]), fmt_int(r[3]), fmt_int(r[6])]
            + [_per_10k(r[7]), _per_10k(r[8]), fmt_int(r[4]), fmt_rate(r[5])]
            for r in rows
        ],
    )
    if missing:
        listed = ", ".join(m[0] for m in missing[:MAX_CHART_ROWS])
        more = f" and {len(missing) - MAX_CHART_ROWS} more" if len(missing) > MAX_CHART_ROWS else ""
        notes.append(f"No residents in the council context file for: {listed}{more}.")
    top = rows[0]
    facts.append(
        f"Most complaints per resident: {top[0]} {top[1]}, {_per_10k(top[7])} per 10,000 "
        f"residents ({fmt_int(top[2])} complaints, {fmt_int(top[6])} residents)."
    )
    figure = Figure(
        key="council-comparison",
        title=title,
        definition=COMPARISON,
        svg=charts.to_svg(per_resident_chart(frame, title), "c-compare"),
        tables=[table],
        notes=notes,
    )
    scope = "each council's latest period with residents" if latest_only else "every period"
    return Section(
        ANCHOR,
        "Councils compared",
        f"Complaints and fault found per head of population, {scope}: both rates with their "
        "numerators and the residents they are divided by.",
        figures=[figure],
    )


def _per_10k(value: object) -> str:
    return "n/a" if value is None else f"{float(str(value)):,.1f}"


def per_resident_chart(frame: pd.DataFrame, title: str) -> alt.HConcatChart:
    """Two bar panels (complaints and fault found per 10,000 residents), each bar labelled with
    its rate, its numerator and its denominator."""
    order = list(frame["label"])
    data = frame.assign(
        complaints_label=[
            f"{r:,.1f} ({c:,} of {n:,})"
            for r, c, n in zip(
                frame["complaints_rate"], frame["complaints"], frame["residents"], strict=True
            )
        ],
        fault_label=[
            f"{r:,.1f} ({c:,} of {n:,})"
            for r, c, n in zip(
                frame["fault_rate"], frame["fault_found"], frame["residents"], strict=True
            )
        ],
    )
    base = alt.Chart(data).encode(y=alt.Y("label:N", sort=order, title=None))
    height = max(charts.ROW_HEIGHT * len(frame), 40)

    def panel(value: str, label: str, axis_title: str, colour: str, with_axis: bool) -> alt.Chart:
        y = alt.Y(
            "label:N", sort=order, title=None, axis=alt.Axis(labelLimit=220) if with_axis else None
        )
        bars = base.mark_bar(color=colour).encode(x=alt.X(f"{value}:Q", title=axis_title), y=y)
        text = base.mark_text(align="left", dx=3, fontSize=10).encode(
            x=f"{value}:Q", y=y, text=f"{label}:N"
        )
        chart: alt.Chart = (bars + text).properties(width=charts.WIDTH - 60, height=height)
        return chart

    chart: alt.HConcatChart = alt.hconcat(
        panel(
            "complaints_rate",
            "complaints_label",
            "Complaints per 10,000 residents",
            charts.BAR,
            True,
        ),
        panel(
            "fault_rate", "fault_label", "Fault found per 10,000 residents", charts.RATE_BAR, False
        ),
        title=title,
    ).properties(description=title)
    return chart
