"""What the report template renders: sections of figures, each a chart with its numbers as a
table and the definition of its metric. Plain data, filled by `sections.py`."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Table:
    """An HTML table of already formatted cells. `key` and `attrs` become data-* attributes so a
    reader (or a test) can find the numbers of one chart."""

    key: str
    caption: str
    headers: list[str]
    numeric: list[bool]
    rows: list[list[str]]
    attrs: dict[str, str] = field(default_factory=dict)
    # Rows to emphasise (totals), by index into `rows`.
    total_rows: set[int] = field(default_factory=set)
    # A column whose cells are relative links (shown as the row's first cell), if any.
    link_column: int | None = None


@dataclass
class Figure:
    key: str
    title: str
    definition: str
    svg: str | None
    tables: list[Table]
    notes: list[str] = field(default_factory=list)


@dataclass
class Section:
    anchor: str
    title: str
    intro: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def fmt_int(value: object) -> str:
    """1,014; NULL as an en dash."""
    return "–" if value is None else f"{int(str(value)):,}"


def fmt_rate(value: object) -> str:
    """A ratio as a percentage with one decimal (45.3%); NULL (no denominator) as n/a."""
    return "n/a" if value is None else f"{float(str(value)):.1%}"


def fmt_delta(value: int | None) -> str:
    return "–" if value is None else f"{value:+,}"


def fmt_points(value: float | None) -> str:
    """A change of rate in percentage points (+3.2 pp)."""
    return "–" if value is None else f"{value * 100:+.1f} pp"


def fmt_text(value: object) -> str:
    return "" if value is None else str(value)
