"""Reporting periods written in a title ("2019/20", "2019-20", "2019/2020", "2019 to 2020") and
the check of a title's period against the one the manifest declares."""

from __future__ import annotations

import re
from typing import Final

from ingest.records import ControlTotal
from ingest.text import DASHES
from ingest.vocabulary import (
    FISCAL_YEAR_START_MEASURE,
    LEVEL_PERIOD,
    PERIOD_SCOPE,
    STATUS_FAILED,
    STATUS_OK,
)

PERIOD_LEVEL: Final = LEVEL_PERIOD
_D: Final = re.escape(DASHES)
_IN_TEXT: Final = re.compile(
    rf"(?<![\d/])((?:19|20)\d{{2}})\s*(?:/|[{_D}]|\bto\b)\s*((?:19|20)?\d{{2}})(?![\d/])", re.I
)
_CANONICAL: Final = re.compile(r"^(\d{4})/(\d{2})$")


def find_period(text: str) -> str | None:
    """The first financial year written in `text`, as 'YYYY/YY'; None when there is none.

    Only consecutive years count: '2019-2021' or '2019/18' are not a financial year."""
    for m in _IN_TEXT.finditer(text):
        start = int(m.group(1))
        end = m.group(2)
        if (len(end) == 4 and int(end) == start + 1) or (
            len(end) == 2 and int(end) == (start + 1) % 100
        ):
            return f"{start}/{(start + 1) % 100:02d}"
    return None


def start_year(period: str) -> int | None:
    m = _CANONICAL.match(period)
    return int(m.group(1)) if m else None


def check_title_period(stated: str | None, line: int | None, declared: str) -> ControlTotal | None:
    """A control total comparing the period the title states with the declared one.

    None when the title states no period. Failed when they differ: the manifest may have named
    the wrong file for this period, which must block publication until someone looks."""
    if stated is None or line is None:
        return None
    title_year, declared_year = start_year(stated), start_year(declared)
    if title_year is None or declared_year is None:
        return None
    ok = title_year == declared_year
    return ControlTotal(
        level=LEVEL_PERIOD,
        scope=PERIOD_SCOPE,
        measure=FISCAL_YEAR_START_MEASURE,
        line=line,
        stated=title_year,
        computed=declared_year,
        status=STATUS_OK if ok else STATUS_FAILED,
        explanation=None
        if ok
        else f"the title (line {line}) states {stated}, but {declared} was declared for this "
        "file: the manifest may name the wrong file or the wrong period",
    )
