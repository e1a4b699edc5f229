"""What a run's reader must act on, in the words `complaints check` uses: the control totals that
fail (stated, computed, line, explanation), the waivers that no longer match anything, and the
sections published or blocked under department 'Unknown' with the manifest snippet that attributes
them. Read from the build database the run wrote and from the extracts themselves (parsing an
extract again costs milliseconds and gives exactly what `complaints check` shows)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingest.api import parse_entry
from ingest.errors import ExtractError
from ingest.manifest import ManifestEntry
from ingest.records import KINDS
from ingest.report import build_report, unresolved_lines

ROOT_CAUSE_SUMMARY = KINDS[0]


@dataclass(frozen=True)
class FailedTotal:
    extract_id: str
    level: str
    scope: str
    measure: str
    line: int | None
    stated: int
    computed: int
    explanation: str | None

    def lines(self) -> list[str]:
        where = f"line {self.line}" if self.line is not None else "no line"
        return [
            f"FAILED {self.extract_id} {where} {self.level} {self.scope} [{self.measure}]: "
            f"stated {self.stated}, computed {self.computed}, "
            f"difference {self.computed - self.stated:+d}",
            f"  -> {self.explanation or 'no single row explains the difference'}",
        ]


@dataclass(frozen=True)
class UnknownSections:
    """One extract's sections whose department is 'Unknown'."""

    extract_id: str
    sections: int
    instances: int
    advice: tuple[str, ...]


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'main' and table_name = ?",
        [name],
    ).fetchone()
    views = con.execute(
        "select count(*) from duckdb_views() where schema_name = 'main' and view_name = ?",
        [name],
    ).fetchone()
    return bool((found and found[0]) or (views and views[0]))


def failed_totals(build_db: Path) -> list[FailedTotal]:
    """Control totals the run found failing and no waiver covers (empty when the run did not get
    as far as reconciling)."""
    if not build_db.exists():
        return []
    with duckdb.connect(str(build_db), read_only=True) as con:
        if not _table_exists(con, "mart_reconciliation"):
            return []
        rows = con.execute(
            "select extract_id, level, scope, measure, source_line, stated, computed, "
            "explanation from main.mart_reconciliation where status = 'failed' "
            "order by extract_id, source_line nulls last, level, scope, measure"
        ).fetchall()
    return [
        FailedTotal(
            extract_id=r[0],
            level=r[1],
            scope=r[2],
            measure=r[3],
            line=r[4],
            stated=r[5],
            computed=r[6],
            explanation=r[7],
        )
        for r in rows
    ]


def stale_waivers(build_db: Path) -> list[str]:
    """Waiver ids that match no failing control total any more."""
    if not build_db.exists():
        return []
    with duckdb.connect(str(build_db), read_only=True) as con:
        if not _table_exists(con, "recon_waivers"):
            return []
        rows = con.execute(
            "select distinct waiver_id from main.recon_waivers where not matched order by 1"
        ).fetchall()
    return [r[0] for r in rows]


def unknown_sections(entries: Iterable[ManifestEntry]) -> list[UnknownSections]:
    """Per Appendix C extract, the sections left under 'Unknown', with the text and manifest
    snippet `complaints check` prints for them. An extract that cannot be read is left out: the
    run reports it on its own."""
    found = []
    for entry in entries:
        if entry.kind != ROOT_CAUSE_SUMMARY:
            continue
        try:
            parsed = parse_entry(entry)
        except (ExtractError, OSError):
            continue
        if not parsed.unresolved_sections:
            continue
        spans = [(s.first_line, s.last_line) for s in parsed.unresolved_sections]
        instances = sum(
            a.instances
            for a in parsed.service_areas
            if a.parent_service_area is None and any(lo <= a.line <= hi for lo, hi in spans)
        )
        report = build_report(parsed, period=entry.period, council=entry.council)
        found.append(
            UnknownSections(
                extract_id=entry.extract_id,
                sections=len(spans),
                instances=instances,
                advice=tuple(unresolved_lines(report)),
            )
        )
    return found
