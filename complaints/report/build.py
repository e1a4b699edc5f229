"""Build the static HTML report from the published file only, and replace it whole."""

from __future__ import annotations

import base64
import functools
import multiprocessing
import os
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import jinja2

from complaints.exports import fsync_path
from complaints.publication import read_publication
from complaints.report import charts, pages, sections
from complaints.report.chart_cache import CACHE_DIR, ChartCache, build_started, prune
from complaints.report.charts import svg_to_png
from complaints.report.comparison import comparison_section
from complaints.report.model import Section
from complaints.sqlquery import connect_published

REPORT_NAME = "report.html"
TEMPLATES = Path(__file__).resolve().parent / "templates"
PAGES_PER_WORKER = 8
"""A worker process starts in about a second (its imports and vl-convert's engine): fewer pages
than this per worker are built faster in the run's own process."""


@dataclass(frozen=True)
class ReportResult:
    path: Path
    publication_id: str
    summary_markdown: str
    preview_png: bytes | None
    figures: int
    size: int
    pages: tuple[Path, ...] = ()
    """One page per council when the publication holds more than PAGES_ABOVE councils (the
    report at `path` is then their overview); none otherwise."""
    charts_rendered: int = 0
    charts_reused: int = 0
    """Charts drawn for this report, and charts the last report had already drawn."""


def build_report(published_db: Path, out: Path, workers: int = 0) -> ReportResult:
    """Query the published file (read-only, no other file reachable), render, replace `out`.
    `workers`: processes for the council pages of a many-council report (0: one per CPU).
    Charts already rendered for an earlier report are reused (chart_cache.py, beside `out`)."""
    cache_dir = out.parent / CACHE_DIR
    started = build_started(cache_dir)
    cache = ChartCache(cache_dir)
    with charts.cached(cache):
        result = _build(published_db, out, workers)
    prune(cache_dir, started)
    return replace(result, charts_rendered=cache.misses, charts_reused=cache.hits)


def _build(published_db: Path, out: Path, workers: int) -> ReportResult:
    facts: list[str] = []
    with connect_published(published_db) as con:
        publication = read_publication(con)
        extracts = [
            {
                "extract_id": r[0],
                "council": r[1],
                "period": r[2],
                "layout": sections.LAYOUTS.get(r[3], r[3]),
                "source_path": r[4],
                "sha256": r[5],
            }
            for r in con.execute(
                "select extract_id, council, period, kind, source_path, sha256 "
                "from publication_extracts order by council, period, extract_id"
            ).fetchall()
        ]
        councils = sorted({e["council"] for e in extracts})
        if len(councils) > pages.PAGES_ABOVE:
            return _build_overview_and_pages(
                con, published_db, publication, extracts, councils, out, workers
            )
        body: list[Section] = [
            sections.scorecard_section(con, facts),
            sections.service_areas_section(con, facts),
            sections.root_causes_section(con, facts),
            sections.change_section(con),
            sections.reconciliation_section(con, facts),
            sections.verification_section(con, facts),
        ]
        compared = comparison_section(con, facts)
        if compared is not None:
            body.insert(0, compared)
    # The preview in the Dagster UI: the first chart (the first council's scorecard when there
    # is one), from the SVG already rendered for the report.
    first = next((f for section in body for f in section.figures if f.svg), None)
    preview = svg_to_png(first.svg) if first is not None and first.svg else None
    scope = describe_scope(extracts)
    html = render_html(publication, extracts, body, facts, scope)
    previous = pages.linked_folder(out)
    _replace(out, html)
    # Pages of an earlier many-council report: only the one a reader may still have open stays.
    pages.prune_pages(out.parent, {previous} if previous else set())
    return ReportResult(
        path=out,
        publication_id=str(publication["publication_id"]),
        summary_markdown=summary_markdown(
            publication, scope, facts, preview, first.title if first else ""
        ),
        preview_png=preview,
        figures=sum(len(s.figures) for s in body),
        size=out.stat().st_size,
    )


def _build_overview_and_pages(
    con: duckdb.DuckDBPyConnection,
    published_db: Path,
    publication: dict[str, Any],
    extracts: list[dict[str, Any]],
    councils: list[str],
    out: Path,
    workers: int,
) -> ReportResult:
    """Many councils: one page per council, then the overview linking to them (pages.py)."""
    publication_id = str(publication["publication_id"])
    names = pages.page_names(councils)
    folder = f"{pages.PAGES_DIR}/{publication_id}"
    source = PageSource(published_db, publication, extracts, home="../../" + out.name)
    built = _council_pages(con, source, councils, workers)
    html = {names[council]: page for council, (page, _) in zip(councils, built, strict=True)}
    figures = sum(count for _, count in built)
    facts: list[str] = []
    status = pages.council_status(con, names)
    body = pages.overview_sections(con, facts, status, folder)
    figures += sum(len(s.figures) for s in body)
    first = next((f for section in body for f in section.figures if f.svg), None)
    preview = svg_to_png(first.svg) if first is not None and first.svg else None
    scope = (
        f"{len(councils)} councils, {len(extracts)} extracts: an overview and a page per council"
    )
    overview = render_html(publication, [], body, facts, scope, pages_folder=publication_id)
    previous = pages.linked_folder(out)
    written = pages.write_pages(out.parent, publication_id, html)
    _replace(out, overview)
    pages.prune_pages(out.parent, {publication_id, *([previous] if previous else [])})
    return ReportResult(
        path=out,
        publication_id=publication_id,
        summary_markdown=summary_markdown(
            publication, scope, facts, preview, first.title if first else ""
        ),
        preview_png=preview,
        figures=figures,
        size=out.stat().st_size,
        pages=tuple(written / name for name in names.values()),
    )


@dataclass(frozen=True)
class PageSource:
    """What every council's page is built from, in whichever process builds it."""

    published_db: Path
    publication: dict[str, Any]
    extracts: list[dict[str, Any]]
    home: str
    """The overview's address, relative to a page."""


def council_page(
    con: duckdb.DuckDBPyConnection, source: PageSource, council: str
) -> tuple[str, int]:
    """One council's page (its HTML and how many figures it holds)."""
    views = pages.restrict_to(con, council)
    try:
        facts: list[str] = []
        body = pages.council_sections(con, facts)
    finally:
        pages.drop_views(con, views)
    own = pages.extracts_of(source.extracts, council)
    html = render_html(source.publication, own, body, facts, describe_scope(own), home=source.home)
    return html, sum(len(s.figures) for s in body)


def _pages_of(
    source: PageSource, cache_dir: Path | None, councils: list[str]
) -> tuple[list[tuple[str, int]], int, int]:
    """A worker's share of the pages, on a read-only connection of its own; with the charts it
    reused and rendered."""
    cache = ChartCache(cache_dir) if cache_dir is not None else None
    with connect_published(source.published_db) as con, charts.cached(cache):
        built = [council_page(con, source, c) for c in councils]
    return built, (cache.hits if cache else 0), (cache.misses if cache else 0)


def report_workers(requested: int, pages_count: int) -> int:
    """Processes for `pages_count` pages: `requested` (0: the CPUs this process may use), at
    most one per PAGES_PER_WORKER pages."""
    available = requested or len(os.sched_getaffinity(0))
    return max(1, min(available, pages_count // PAGES_PER_WORKER))


def _council_pages(
    con: duckdb.DuckDBPyConnection, source: PageSource, councils: list[str], requested: int
) -> list[tuple[str, int]]:
    """Every council's page, in the order of `councils`.

    Rendering a chart holds a process (vl-convert runs one chart at a time), and at hundreds of
    councils the charts are most of a run: the pages are shared out among processes. A page is
    a function of the published file alone, so it is the same whichever process builds it.
    Workers are spawned, not forked: the run's process holds threads and open databases."""
    workers = report_workers(requested, len(councils))
    if workers == 1:
        return [council_page(con, source, c) for c in councils]
    # Several shares per worker, so one slow share does not leave the other workers idle.
    size = -(-len(councils) // (workers * 4))
    shares = [councils[i : i + size] for i in range(0, len(councils), size)]
    cache = charts.current_cache()
    folder = cache.folder if cache is not None else None
    build = functools.partial(_pages_of, source, folder)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        done = list(pool.map(build, shares))
    if cache is not None:
        cache.hits += sum(hits for _, hits, _ in done)
        cache.misses += sum(misses for _, _, misses in done)
    return [page for built, _, _ in done for page in built]


def describe_scope(extracts: list[dict[str, Any]]) -> str:
    """'Brent: 2019/20 (Appendix C ...), 2022/23 (Appendix 1 ...)' per council."""
    councils: dict[str, list[str]] = {}
    for e in extracts:
        councils.setdefault(e["council"], []).append(f"{e['period']} {e['layout']}")
    if not councils:
        return "No extracts published"
    return "; ".join(f"{c}: {', '.join(parts)}" for c, parts in councils.items())


def _published_at(publication: dict[str, Any]) -> str:
    value = publication["published_at"]
    return f"{value:%Y-%m-%d %H:%M:%S}" if isinstance(value, datetime) else str(value)


def render_html(
    publication: dict[str, Any],
    extracts: list[dict[str, Any]],
    body: list[Section],
    facts: list[str],
    scope: str,
    home: str | None = None,
    pages_folder: str | None = None,
) -> str:
    """`home`: the overview's address, on a council's page; `pages_folder`: the publication
    whose page folder the overview links to."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
    )
    return env.get_template("report.html.j2").render(
        publication=publication,
        published_at=_published_at(publication),
        extracts=extracts,
        sections=body,
        facts=facts,
        scope=scope,
        home=home,
        pages_folder=pages_folder,
        css=(TEMPLATES / "report.css").read_text(encoding="utf-8"),
    )


def summary_markdown(
    publication: dict[str, Any],
    scope: str,
    facts: list[str],
    preview: bytes | None,
    caption: str,
) -> str:
    lines = [
        f"**Complaints report** for publication `{publication['publication_id']}` "
        f"(published {_published_at(publication)} UTC): {scope}.",
        "",
        *(f"- {fact}" for fact in facts),
    ]
    if preview is not None:
        encoded = base64.b64encode(preview).decode("ascii")
        lines += ["", f"**{caption}**", "", f"![{caption}](data:image/png;base64,{encoded})"]
    return "\n".join(lines) + "\n"


def _replace(out: Path, text: str) -> None:
    """Write beside `out`, sync, rename over it: a reader opens the old report or the new one."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        fsync_path(tmp)
        os.replace(tmp, out)
        fsync_path(out.parent)
    finally:
        tmp.unlink(missing_ok=True)
