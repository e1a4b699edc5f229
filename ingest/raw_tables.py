"""ParsedExtract -> rows of the ``raw.*`` tables (pure Python, no database here).

Each raw table has ``extract_id`` first, then the fields of its record type. The column lists are
the schema dbt's sources declare; change them together.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from ingest.records import (
    Action,
    Cause,
    ControlTotal,
    Coverage,
    Heading,
    OutcomeRow,
    ParsedExtract,
    ParseWarning,
    Repair,
    ServiceArea,
    StatedNumber,
    Subtotal,
)

if TYPE_CHECKING:
    from ingest.manifest import CouncilContext, ManifestEntry


@dataclass(frozen=True, slots=True)
class ExtractMeta:
    extract_id: str
    council: str
    period: str
    kind: str
    path: str
    sha256: str
    source_url: str | None = None

    @classmethod
    def of(cls, entry: ManifestEntry, data: bytes) -> ExtractMeta:
        """The metadata of a manifest entry whose file holds `data`."""
        return cls(
            extract_id=entry.extract_id,
            council=entry.council,
            period=entry.period,
            kind=entry.kind,
            path=entry.path,
            sha256=hashlib.sha256(data).hexdigest(),
            source_url=entry.source_url,
        )


def _sql_type(annotation: str) -> str:
    if annotation.startswith("int"):
        return "BIGINT"
    if annotation.startswith("bool"):
        return "BOOLEAN"
    return "VARCHAR"


def _columns(record_type: type) -> list[tuple[str, str]]:
    return [(f.name, _sql_type(str(f.type))) for f in fields(record_type)]


RAW_TABLES: dict[str, list[tuple[str, str]]] = {
    "extracts": [
        ("extract_id", "VARCHAR"),
        ("council", "VARCHAR"),
        ("period", "VARCHAR"),
        ("kind", "VARCHAR"),
        ("path", "VARCHAR"),
        ("sha256", "VARCHAR"),
        ("source_url", "VARCHAR"),
        ("title", "VARCHAR"),
        ("stated_period", "VARCHAR"),
    ],
    "headings": [("extract_id", "VARCHAR"), *_columns(Heading)],
    "service_areas": [("extract_id", "VARCHAR"), *_columns(ServiceArea)],
    "causes": [("extract_id", "VARCHAR"), *_columns(Cause)],
    "actions": [("extract_id", "VARCHAR"), *_columns(Action)],
    "outcome_rows": [("extract_id", "VARCHAR"), *_columns(OutcomeRow)],
    "subtotals": [("extract_id", "VARCHAR"), *_columns(Subtotal)],
    "control_totals": [
        ("extract_id", "VARCHAR"),
        *_columns(ControlTotal),
        ("difference", "BIGINT"),
    ],
    "repairs": [("extract_id", "VARCHAR"), *_columns(Repair)],
    "warnings": [("extract_id", "VARCHAR"), *_columns(ParseWarning)],
    # ingest.coverage: per kind of stated number, how many a control total verifies; and the
    # numbers none verifies, with their lines.
    "coverage": [("extract_id", "VARCHAR"), *_columns(Coverage)],
    "unverified_numbers": [("extract_id", "VARCHAR"), *_columns(StatedNumber)],
}


# Raw tables not keyed by extract, each replaced whole from its own file of the landing folder.
COUNCIL_CONTEXT_TABLE = "council_context"
SIDE_TABLES: dict[str, list[tuple[str, str]]] = {
    # The manifest's `council_context` file (ingest/manifest.py): residents per council and
    # period, with the line each row came from.
    COUNCIL_CONTEXT_TABLE: [
        ("council", "VARCHAR"),
        ("period", "VARCHAR"),
        ("residents", "BIGINT"),
        ("source_path", "VARCHAR"),
        ("source_line", "BIGINT"),
    ],
}


def council_context_rows(context: CouncilContext | None) -> list[tuple[Any, ...]]:
    """The rows of raw.council_context, in SIDE_TABLES column order (none without a file)."""
    if context is None:
        return []
    return [(r.council, r.period, r.residents, context.path, r.line) for r in context.rows]


def raw_rows(parsed: ParsedExtract, meta: ExtractMeta) -> dict[str, list[tuple[Any, ...]]]:
    """One list of row tuples per raw table, in RAW_TABLES column order."""
    eid = meta.extract_id

    def rows(items: list[Any]) -> list[tuple[Any, ...]]:
        return [(eid, *(getattr(x, f.name) for f in fields(x))) for x in items]

    return {
        "extracts": [
            (
                eid,
                meta.council,
                meta.period,
                meta.kind,
                meta.path,
                meta.sha256,
                meta.source_url,
                parsed.title,
                parsed.stated_period,
            )
        ],
        "headings": rows(parsed.headings),
        "service_areas": rows(parsed.service_areas),
        "causes": rows(parsed.causes),
        "actions": rows(parsed.actions),
        "outcome_rows": rows(parsed.outcome_rows),
        "subtotals": rows(parsed.subtotals),
        "control_totals": [
            (*r, c.difference)
            for r, c in zip(rows(parsed.control_totals), parsed.control_totals, strict=True)
        ],
        "repairs": rows(parsed.repairs),
        "warnings": rows(parsed.warnings),
        "coverage": rows(parsed.coverage),
        "unverified_numbers": rows(parsed.unverified_numbers),
    }
