"""Build the static HTML report from the published file only, and replace it whole."""

from __future__ import annotations

import base64
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

from complaints.exports import fsync_path
from complaints.publication import read_publication
from complaints.report import sections
from complaints.report.charts import svg_to_png
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
        body: list[Section] = [
            sections.scorecard_section(con, facts),
            sections.service_areas_section(con, facts),
            sections.root_causes_section(con, facts),
            sections.change_section(con),
            sections.reconciliation_section(con, facts),
            sections.verification_section(con, facts),
        ]
    # The preview in the Dagster UI: the first chart (the first council's scorecard when there
    # is one), from the SVG already rendered for the report.
    first = next((f for section in body for f in section.figures if f.svg), None)
    preview = svg_to_png(first.svg) if first is not None and first.svg else None
    scope = describe_scope(extracts)
    html = render_html(publication, extracts, body, facts, scope)
    _replace(out, html)
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
) -> str:
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
