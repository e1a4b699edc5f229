"""Vega-Lite charts (altair) rendered offline by vl-convert: SVG for the HTML report, PNG for the
Dagster UI preview. No browser, no network, no JavaScript in the report."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata

import altair as alt
import pandas as pd
import vl_convert as vlc

from complaints.report.chart_cache import ChartCache, chart_key

WIDTH = 300
ROW_HEIGHT = 18
STATUS_COLOURS = {"ok": "#4c78a8", "waived": "#f2a541", "failed": "#d62728"}
BAR = "#4c78a8"
RATE_BAR = "#72b7b2"


_cache: ChartCache | None = None


@contextmanager
def cached(cache: ChartCache | None) -> Iterator[None]:
    """Charts rendered meanwhile are read from and written to `cache` (None: always rendered)."""
    global _cache
    previous, _cache = _cache, cache
    try:
        yield
    finally:
        _cache = previous


def current_cache() -> ChartCache | None:
    return _cache


@functools.cache
def _versions() -> str:
    return f"altair {alt.SCHEMA_VERSION}; vl-convert {metadata.version('vl-convert-python')}"


def _vl_version() -> str | None:
    """The Vega-Lite version altair writes, when vl-convert knows it (else vl-convert's own)."""
    major_minor = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    return major_minor if major_minor in vlc.get_vegalite_versions() else None


def _spec(chart: alt.TopLevelMixin) -> dict[str, object]:
    spec: dict[str, object] = chart.to_dict()
    return spec


def to_svg(chart: alt.TopLevelMixin, prefix: str) -> str:
    """Inline SVG; ids (clip paths) prefixed so several charts can share one HTML document. The
    top-level title is left out: the report's figure caption carries it."""
    spec = _spec(chart)
    spec.pop("title", None)
    if _cache is None:
        return _render(spec, prefix)
    key = chart_key(spec, prefix, _versions())
    svg = _cache.get(key)
    if svg is None:
        svg = _render(spec, prefix)
        _cache.put(key, svg)
    return svg


def _render(spec: dict[str, object], prefix: str) -> str:
    svg = vlc.vegalite_to_svg(spec, vl_version=_vl_version())
    # Vega numbers clip paths with a counter global to the process: renumber them per chart so
    # the same published file always gives the same report.
    ids = {old: f"{prefix}-{n}" for n, old in enumerate(re.findall(r'\bid="([^"]+)"', svg), 1)}
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{ids[m[1]]}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{ids.get(m[1], m[1])})", svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{ids.get(m[1], m[1])}"', svg)
    return svg.replace("<svg ", f'<svg role="img" data-chart="{prefix}" ', 1)


def svg_to_png(svg: str) -> bytes:
    """A chart already rendered for the report, as PNG (no second Vega run)."""
    png: bytes = vlc.svg_to_png(svg)
    return png


def _height(rows: int) -> int:
    return max(ROW_HEIGHT * rows, 40)


def scorecard(frame: pd.DataFrame, title: str) -> alt.HConcatChart:
    """Complaints per department and their fault-found rate, labelled with its denominator."""
    order = list(frame["department"])
    data = frame.assign(
        rate_label=[
            "n/a (0 decided)" if pd.isna(r) else f"{r:.1%} of {d:,}"
            for r, d in zip(frame["fault_found_rate"], frame["decided"], strict=True)
        ]
    )
    base = alt.Chart(data).encode(y=alt.Y("department:N", sort=order, title=None))
    volume = base.mark_bar(color=BAR).encode(
        x=alt.X("total:Q", title="Complaints (all outcomes)")
    ) + base.mark_text(align="left", dx=3, fontSize=10).encode(
        x="total:Q", text=alt.Text("total:Q", format=",")
    )
    rate = base.mark_bar(color=RATE_BAR).encode(
        x=alt.X(
            "fault_found_rate:Q",
            title="Fault-found rate (of decided)",
            axis=alt.Axis(format="%"),
            scale=alt.Scale(domain=[0, 1]),
        ),
        y=alt.Y("department:N", sort=order, axis=None),
    ) + base.mark_text(align="left", dx=3, fontSize=10).encode(
        x=alt.X("fault_found_rate:Q", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("department:N", sort=order, axis=None),
        text="rate_label:N",
    )
    height = _height(len(frame))
    return alt.hconcat(
        volume.properties(width=WIDTH - 60, height=height),
        rate.properties(width=WIDTH - 60, height=height),
        title=title,
    ).properties(description=title)


def ranked_rates(frame: pd.DataFrame, title: str, rate_title: str) -> alt.LayerChart:
    """Horizontal bars of `rate` by `label` (already ranked), labelled with `rate_label`."""
    order = list(frame["label"])
    base = alt.Chart(frame).encode(y=alt.Y("label:N", sort=order, title=None))
    bars = base.mark_bar(color=RATE_BAR).encode(
        x=alt.X(
            "rate:Q", title=rate_title, axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])
        )
    )
    text = base.mark_text(align="left", dx=3, fontSize=10).encode(
        x=alt.X("rate:Q", scale=alt.Scale(domain=[0, 1])), text="rate_label:N"
    )
    chart: alt.LayerChart = (bars + text).properties(
        width=WIDTH + 60, height=_height(len(frame)), title=title, description=title
    )
    return chart


def heatmap(
    frame: pd.DataFrame, columns: Sequence[str], rows: Sequence[str], title: str
) -> alt.LayerChart:
    """Instances by category (rows) and department (columns), every count written in its cell."""
    base = alt.Chart(frame).encode(
        x=alt.X(
            "department:N",
            sort=list(columns),
            title=None,
            axis=alt.Axis(orient="top", labelAngle=-35, labelLimit=180),
        ),
        y=alt.Y("category:N", sort=list(rows), title=None, axis=alt.Axis(labelLimit=220)),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("instances:Q", title="Instances", scale=alt.Scale(scheme="blues"))
    )
    threshold = float(frame["instances"].max()) * 0.6 if len(frame) else 0.0
    text = base.mark_text(fontSize=10).encode(
        text=alt.Text("instances:Q", format=","),
        color=alt.condition(
            alt.datum.instances > threshold, alt.value("white"), alt.value("black")
        ),
    )
    chart: alt.LayerChart = (cells + text).properties(
        width=max(44 * len(columns), 120),
        height=_height(len(rows)),
        title=title,
        description=title,
    )
    return chart


def trend(frame: pd.DataFrame, value: str, value_title: str, title: str, rate: bool) -> alt.Chart:
    """One line per department across periods."""
    axis = alt.Axis(format="%") if rate else alt.Axis(format=",")
    chart: alt.Chart = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("period:O", title="Period"),
            y=alt.Y(f"{value}:Q", title=value_title, axis=axis),
            color=alt.Color("department:N", title="Department", legend=alt.Legend(labelLimit=220)),
        )
        .properties(width=WIDTH - 40, height=220, title=title, description=title)
    )
    return chart


def trends(left: alt.Chart, right: alt.Chart) -> alt.HConcatChart:
    chart: alt.HConcatChart = alt.hconcat(left, right).resolve_scale(color="shared")
    return chart


def reconciliation(frame: pd.DataFrame, title: str) -> alt.LayerChart:
    """Control totals per extract, one bar per status, each labelled with its count."""
    statuses = list(STATUS_COLOURS)
    base = alt.Chart(frame).encode(
        y=alt.Y("extract_id:N", title=None, axis=alt.Axis(labelLimit=260)),
        yOffset=alt.YOffset("status:N", sort=statuses),
    )
    bars = base.mark_bar().encode(
        x=alt.X("control_totals:Q", title="Control totals"),
        color=alt.Color(
            "status:N",
            title="Status",
            scale=alt.Scale(domain=statuses, range=list(STATUS_COLOURS.values())),
        ),
    )
    text = base.mark_text(align="left", dx=3, fontSize=10).encode(
        x="control_totals:Q", text=alt.Text("control_totals:Q", format=",")
    )
    extracts = frame["extract_id"].nunique()
    chart: alt.LayerChart = (bars + text).properties(
        width=WIDTH + 60,
        height=alt.Step(12) if extracts else 40,
        title=title,
        description=title,
    )
    return chart
