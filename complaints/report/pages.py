"""The report of many councils: an overview across councils (the comparison per resident, the
reconciliation status per council, a link to each council) plus one page per council holding the
single-council report's sections for that council alone.

A page of one council is built by the same section code as the single page, on the same read-only
connection, with temporary views that shadow every published table by its rows of that council:
the sections cannot tell, and no figure is computed twice.

The pages of a publication go in one folder, `report_pages/<publication id>/`, written beside it
and renamed into place before the overview that links to them replaces report.html; the folder
of the report before it is kept (a reader may still have that overview open), older ones are
removed.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from complaints.exports import fsync_path, sql_literal
from complaints.report import sections
from complaints.report.comparison import comparison_section
from complaints.report.model import Figure, Section, Table, fmt_int

PAGES_DIR = "report_pages"
PAGES_ABOVE = sections.MAX_COUNCILS
"""More councils than this in a publication: overview and pages (at most this many, every
council's figures fit on one page, as they always have)."""


@dataclass(frozen=True)
class CouncilPage:
    council: str
    file: str
    extracts: int
    periods: str
    ok: int
    waived: int
    failed: int


def page_names(councils: list[str]) -> dict[str, str]:
    """A file name per council, unique even when two names give the same slug."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for council in councils:
        base = sections._slug(council) or "council"
        name, n = f"{base}.html", 1
        while name in used:
            n += 1
            name = f"{base}-{n}.html"
        used.add(name)
        names[council] = name
    return names


def council_status(con: duckdb.DuckDBPyConnection, names: dict[str, str]) -> list[CouncilPage]:
    """Per council: its extracts and periods, and its control totals by status; councils with
    failed, then waived totals first (those are the ones a reader must see)."""
    extracts = {
        r[0]: (r[1], r[2])
        for r in con.execute(
            "select council, count(*), string_agg(distinct period, ', ' order by period) "
            "from publication_extracts group by council"
        ).fetchall()
    }
    status = {
        r[0]: (r[1], r[2], r[3])
        for r in con.execute(
            "select council, count(*) filter (where status = 'ok'), "
            "count(*) filter (where status = 'waived'), count(*) filter (where status = 'failed') "
            "from mart_reconciliation group by council"
        ).fetchall()
    }
    pages = [
        CouncilPage(council, file, *extracts.get(council, (0, "")), *status.get(council, (0, 0, 0)))
        for council, file in names.items()
    ]
    return sorted(pages, key=lambda p: (-p.failed, -p.waived, p.council))


def _published_tables(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    rows = con.execute(
        "select table_name, column_name from information_schema.columns "
        "where table_catalog = 'marts' and table_schema = 'main'"
    ).fetchall()
    tables: dict[str, set[str]] = {}
    for table, column in rows:
        tables.setdefault(str(table), set()).add(str(column))
    return tables


def restrict_to(con: duckdb.DuckDBPyConnection, council: str) -> list[str]:
    """Temporary views shadowing every published table by its rows of `council` (by its
    `council` column, else by its `extract_id`); the views' names, to drop afterwards."""
    views = []
    literal = sql_literal(council)
    for table, columns in _published_tables(con).items():
        if "council" in columns:
            where = f"council = {literal}"
        elif "extract_id" in columns:
            where = (
                "extract_id in (select extract_id from marts.main.publication_extracts "
                f"where council = {literal})"
            )
        else:
            continue
        con.execute(
            f'create or replace temp view "{table}" as '
            f'select * from marts.main."{table}" where {where}'
        )
        views.append(table)
    return views


def drop_views(con: duckdb.DuckDBPyConnection, views: list[str]) -> None:
    for view in views:
        con.execute(f'drop view if exists temp.main."{view}"')


def council_sections(con: duckdb.DuckDBPyConnection, facts: list[str]) -> list[Section]:
    """The single-council report's sections (on a connection restricted to one council)."""
    return [
        sections.scorecard_section(con, facts),
        sections.service_areas_section(con, facts),
        sections.root_causes_section(con, facts),
        sections.change_section(con),
        sections.reconciliation_section(con, facts),
        sections.verification_section(con, facts),
    ]


def overview_sections(
    con: duckdb.DuckDBPyConnection, facts: list[str], pages: list[CouncilPage], folder: str
) -> list[Section]:
    """The overview: the comparison per resident (each council's latest period), then the
    reconciliation status per council with its link."""
    out: list[Section] = []
    compared = comparison_section(con, facts, latest_only=True)
    if compared is not None:
        out.append(compared)
    totals = [sum(getattr(p, f) for p in pages) for f in ("extracts", "ok", "waived", "failed")]
    facts.append(
        f"{len(pages)} councils, {fmt_int(totals[0])} extracts; control totals: "
        f"{fmt_int(totals[1])} ok, {fmt_int(totals[2])} waived, {fmt_int(totals[3])} failed."
    )
    table = Table(
        key="council-status",
        caption="Reconciliation status per council (each council's page has the details)",
        headers=["Council", "Extracts", "Periods", "ok", "waived", "failed", "Page"],
        numeric=[False, True, False, True, True, True, False],
        rows=[
            [p.council, fmt_int(p.extracts), p.periods]
            + [fmt_int(p.ok), fmt_int(p.waived), fmt_int(p.failed), f"{folder}/{p.file}"]
            for p in pages
        ],
        link_column=6,
    )
    out.append(
        Section(
            "councils",
            "Councils",
            "Each council's control totals by status (councils with failed, then waived totals "
            "first) and its page: department scorecard, service areas, root causes, change "
            "between periods, reconciliation and verification coverage of that council alone.",
            figures=[
                Figure(
                    key="council-status",
                    title="Reconciliation status per council",
                    definition=sections.RECONCILIATION,
                    svg=None,
                    tables=[table],
                )
            ],
        )
    )
    return out


def write_pages(parent: Path, publication_id: str, pages: dict[str, str]) -> Path:
    """Write `pages` (file name -> HTML) into `parent/PAGES_DIR/<publication_id>/`, whole: into a
    temporary folder beside it, synced, then renamed into place. Returns the folder."""
    root = parent / PAGES_DIR
    root.mkdir(parents=True, exist_ok=True)
    final = root / publication_id
    tmp = root / f".{publication_id}.{uuid.uuid4().hex}.tmp"
    tmp.mkdir()
    try:
        for name, html in pages.items():
            path = tmp / name
            path.write_text(html, encoding="utf-8")
            fsync_path(path)
        fsync_path(tmp)
        if final.exists():
            # The same publication's report built again: the old pages go first.
            old = root / f".{publication_id}.{uuid.uuid4().hex}.old"
            os.replace(final, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(tmp, final)
        fsync_path(root)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def prune_pages(parent: Path, keep: set[str]) -> None:
    """Remove the page folders (and leftovers of interrupted writes) not in `keep`."""
    root = parent / PAGES_DIR
    if not root.is_dir():
        return
    for child in root.iterdir():
        if child.name not in keep:
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)


def linked_folder(report: Path) -> str | None:
    """The page folder the current report.html links to (its publication id), if any."""
    try:
        with report.open(encoding="utf-8") as f:
            head = f.read(4096)
    except OSError:
        return None
    marker = '<meta name="report-pages" content="'
    at = head.find(marker)
    if at < 0:
        return None
    end = head.find('"', at + len(marker))
    return head[at + len(marker) : end] or None


def extracts_of(extracts: list[dict[str, Any]], council: str) -> list[dict[str, Any]]:
    return [e for e in extracts if e["council"] == council]
