"""Build the static HTML report from the published file only, and replace it whole."""

from __future__ import annotations

import base64
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import jinja2

from complaints.exports import fsync_path
from complaints.publication import read_publication
from complaints.report import pages, sections
from complaints.report.charts import svg_to_png
from complaints.report.comparison import comparison_section
from complaints.report.model import Section
from complaints.sqlquery import connect_published

REPORT_NAME = "report.html"
TEMPLATES = Path(__file__).resolve().parent / "templates"


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


def build_report(published_db: Path, out: Path) -> ReportResult:
    """Query the published file (read-only, no other file reachable), render, replace `out`."""
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
            return _build_overview_and_pages(con, publication, extracts, councils, out)
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
    publication: dict[str, Any],
    extracts: list[dict[str, Any]],
    councils: list[str],
    out: Path,
) -> ReportResult:
    """Many councils: one page per council, then the overview linking to them (pages.py)."""
    publication_id = str(publication["publication_id"])
    names = pages.page_names(councils)
    folder = f"{pages.PAGES_DIR}/{publication_id}"
    home = "../../" + out.name
    html: dict[str, str] = {}
    figures = 0
    for council, name in names.items():
        views = pages.restrict_to(con, council)
        try:
            council_facts: list[str] = []
            body = pages.council_sections(con, council_facts)
        finally:
            pages.drop_views(con, views)
        figures += sum(len(s.figures) for s in body)
        own = pages.extracts_of(extracts, council)
        html[name] = render_html(
            publication, own, body, council_facts, describe_scope(own), home=home
        )
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
