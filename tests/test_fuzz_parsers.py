"""Fuzzing: whatever the bytes, a parse either succeeds or raises an ExtractError."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.api import parse_extract
from ingest.errors import ExtractError
from ingest.records import ParsedExtract
from tests.conftest import APPENDIX_1, APPENDIX_C

KINDS = ("root_cause_summary", "outcome_matrix")
REAL = {
    "root_cause_summary": APPENDIX_C.read_bytes().decode().split("\n"),
    "outcome_matrix": APPENDIX_1.read_bytes().decode().split("\n"),
}
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parse_or_extract_error(data: bytes, kind: str) -> ParsedExtract | None:
    try:
        result = parse_extract(data, kind, "fuzz.txt")
    except ExtractError as exc:
        assert exc.source == "fuzz.txt"
        assert exc.reason
        return None
    assert isinstance(result, ParsedExtract)
    return result


@FUZZ
@given(data=st.binary(max_size=2000), kind=st.sampled_from(KINDS))
def test_random_bytes(data: bytes, kind: str) -> None:
    _parse_or_extract_error(data, kind)


@FUZZ
@given(
    text=st.text(alphabet=st.sampled_from("ab1 \t\n–-•<p></p>;instances"), max_size=400),
    kind=st.sampled_from(KINDS),
)
def test_random_text_in_the_layout_alphabet(text: str, kind: str) -> None:
    prefix = (
        "Root Cause\tActions\n"
        if kind == "root_cause_summary"
        else "Department, Root Cause and Issue types\tA\tB\tC\tD\tE\tF\n"
    )
    _parse_or_extract_error((prefix + text).encode(), kind)


@st.composite
def mutated_lines(draw: st.DrawFn) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(KINDS))
    lines = list(REAL[kind])
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "truncate", "cut_file"]))
        i = draw(st.integers(0, len(lines) - 1))
        if op == "delete" and len(lines) > 1:
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "truncate":
            lines[i] = lines[i][: draw(st.integers(0, max(0, len(lines[i]))))]
        else:
            lines = lines[: max(1, i)]
    return kind, "\n".join(lines).encode()


@FUZZ
@given(case=mutated_lines())
def test_real_files_with_lines_deleted_duplicated_swapped_truncated(
    case: tuple[str, bytes],
) -> None:
    kind, data = case
    result = _parse_or_extract_error(data, kind)
    if result is not None:
        # What parses still carries provenance and honest control totals.
        assert all(r.line >= 1 for r in (*result.service_areas, *result.outcome_rows))
        assert all(c.status in ("ok", "failed") for c in result.control_totals)


@pytest.mark.parametrize("kind", KINDS)
def test_unmodified_real_files_parse(kind: str) -> None:
    assert _parse_or_extract_error("\n".join(REAL[kind]).encode(), kind) is not None
