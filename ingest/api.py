"""Entry point: bytes of one extract + its kind -> ParsedExtract (or an ExtractError)."""

from __future__ import annotations

import gc

from ingest.coverage import verification
from ingest.departments import DepartmentMap, resolve_departments
from ingest.errors import ExtractError, UnknownLayoutError
from ingest.manifest import ManifestEntry
from ingest.outcome_matrix import parse_outcome_matrix
from ingest.periods import check_title_period
from ingest.records import KINDS, ParsedExtract
from ingest.root_cause_summary import parse_root_cause_summary
from ingest.text import decode_extract


def parse_extract(
    data: bytes,
    kind: str,
    source: str,
    *,
    council: str | None = None,
    period: str | None = None,
    departments: DepartmentMap | None = None,
) -> ParsedExtract:
    """Parse one extract. Raises only ExtractError subclasses for bad input.

    `council` selects the bundled department mapping for sections that lost their heading, and
    `departments` (from the manifest entry) overrides it; `period`, the declared period, is
    checked against the one the title states (a failed 'period' control total when they differ).
    """
    if kind not in KINDS:
        raise UnknownLayoutError(source, None, f"unknown kind {kind!r}; expected one of {KINDS}")
    lines = decode_extract(data, source)
    # Parsing allocates many small objects and no reference cycles; the cyclic collector would
    # rescan them over and over on a large extract.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        if kind == "root_cause_summary":
            mapping = resolve_departments(council, None, departments)
            result = parse_root_cause_summary(lines, source, mapping)
        else:
            result = parse_outcome_matrix(lines, source)
    except ExtractError:
        raise
    except (ValueError, IndexError, KeyError, ZeroDivisionError, RecursionError) as exc:
        # A parser bug must still name the file; hypothesis fuzzing keeps this path empty.
        raise ExtractError(source, None, f"could not parse: {type(exc).__name__}: {exc}") from exc
    finally:
        if gc_was_enabled:
            gc.enable()
    if period is not None:
        check = check_title_period(result.stated_period, result.stated_period_line, period)
        if check is not None:
            result.control_totals.insert(0, check)
    result.coverage, result.unverified_numbers = verification(result)
    return result


def parse_entry(entry: ManifestEntry, data: bytes | None = None) -> ParsedExtract:
    """Parse the extract a manifest entry lists, with the entry's council, period and departments
    (`data`: its bytes, when the caller has read them already)."""
    return parse_extract(
        entry.read_bytes() if data is None else data,
        entry.kind,
        str(entry.absolute_path),
        council=entry.council,
        period=entry.period,
        departments=entry.departments,
    )
