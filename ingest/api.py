"""Entry point: bytes of one extract + its kind -> ParsedExtract (or an ExtractError)."""

from __future__ import annotations

import gc

from ingest.errors import ExtractError, UnknownLayoutError
from ingest.outcome_matrix import parse_outcome_matrix
from ingest.records import KINDS, ParsedExtract
from ingest.root_cause_summary import parse_root_cause_summary
from ingest.text import decode_extract

_PARSERS = {
    "root_cause_summary": parse_root_cause_summary,
    "outcome_matrix": parse_outcome_matrix,
}


def parse_extract(data: bytes, kind: str, source: str) -> ParsedExtract:
    """Parse one extract. Raises only ExtractError subclasses for bad input."""
    if kind not in _PARSERS:
        raise UnknownLayoutError(source, None, f"unknown kind {kind!r}; expected one of {KINDS}")
    lines = decode_extract(data, source)
    # Parsing allocates many small objects and no reference cycles; the cyclic collector would
    # rescan them over and over on a large extract.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _PARSERS[kind](lines, source)
    except ExtractError:
        raise
    except (ValueError, IndexError, KeyError, ZeroDivisionError, RecursionError) as exc:
        # A parser bug must still name the file; hypothesis fuzzing keeps this path empty.
        raise ExtractError(source, None, f"could not parse: {type(exc).__name__}: {exc}") from exc
    finally:
        if gc_was_enabled:
            gc.enable()
