"""Appendix 1 (2022/23) parsed into exactly what the extract says, with its repairs."""

from __future__ import annotations

from collections import Counter

import pytest

from ingest.api import parse_extract
from ingest.errors import TruncatedExtractError, UnreconcilableBlockError
from ingest.records import ParsedExtract
from tests.conftest import APPENDIX_1
from tests.expected_figures import APPENDIX_1_SUBTOTALS


@pytest.fixture(scope="module")
def parsed(appendix_1_bytes: bytes) -> ParsedExtract:
    return parse_extract(appendix_1_bytes, "outcome_matrix", str(APPENDIX_1))


def _values(row) -> tuple[int, ...]:  # type: ignore[no-untyped-def]
    return (row.withdrawn, row.not_upheld, row.partly_upheld, row.rejected, row.upheld, row.total)


def test_every_department_and_root_cause_subtotal(parsed: ParsedExtract) -> None:
    got = [(s.line, s.level, s.department, s.root_cause, _values(s)) for s in parsed.subtotals]
    assert got == APPENDIX_1_SUBTOTALS
    assert sum(1 for s in parsed.subtotals if s.level == "department") == 15
    assert sum(1 for s in parsed.subtotals if s.level == "root_cause") == 39


def test_adult_social_care_from_the_brief(parsed: ParsedExtract) -> None:
    asc = next(
        s
        for s in parsed.subtotals
        if s.department == "Adult Social Care" and s.level == "department"
    )
    assert _values(asc) == (1, 54, 66, 5, 31, 157)
    rows = [r for r in parsed.outcome_rows if r.department == "Adult Social Care"]
    assert tuple(
        sum(getattr(r, m) for r in rows)
        for m in ("withdrawn", "not_upheld", "partly_upheld", "rejected", "upheld", "total")
    ) == (1, 54, 66, 5, 31, 157)


def test_issue_type_rows_and_totals(parsed: ParsedExtract) -> None:
    assert len(parsed.outcome_rows) == 455
    assert sum(r.total for r in parsed.outcome_rows) == 1945
    # Every issue-type row reconciles with itself after the recorded repairs.
    assert all(
        r.withdrawn + r.not_upheld + r.partly_upheld + r.rejected + r.upheld == r.total
        for r in parsed.outcome_rows
    )


def test_issue_type_named_like_a_root_cause_stays_an_issue_type(parsed: ParsedExtract) -> None:
    line_18 = next(r for r in parsed.outcome_rows if r.line == 18)
    assert (line_18.department, line_18.root_cause, line_18.issue_type) == (
        "Adult Social Care",
        "Communication",
        "Communication",
    )
    assert _values(line_18) == (0, 1, 1, 0, 0, 2)


def test_header_rows_repeated_on_every_page_are_skipped(parsed: ParsedExtract) -> None:
    header_lines = {4, 45, 89, 133, 178, 222, 265, 309, 353, 397, 441, 484, 527}
    assert not header_lines & {r.line for r in parsed.outcome_rows}
    # The first data row after a page break is kept (line 46: "Complex Care - Other").
    assert next(r for r in parsed.outcome_rows if r.line == 46).issue_type == "Complex Care - Other"


def test_names_split_across_a_tab_are_rejoined(parsed: ParsedExtract) -> None:
    names = {r.line: r.issue_type for r in parsed.outcome_rows}
    assert names[26] == "My Needs Assessment Or Care Package - Supported Living"
    assert names[211] == "Highways & Infrastructure Team - Disabled Bays (Bays On Public Roads)"
    assert names[217] == "Highways & Infrastructure Team - Kerbs (Drop Kerb Application)"
    assert names[232] == "Highways & Infrastructure Team - Blocked Drains, Leaks & Floods"
    assert names[238] == "Complaints Service - Does not agree with the final review outcome"
    rejoined = sorted(r.line for r in parsed.repairs if r.kind == "name_rejoined")
    assert rejoined == [26, 211, 217, 232, 238, 457]


def test_stray_tokens_are_empty_cells(parsed: ParsedExtract) -> None:
    cleared = Counter(r.line for r in parsed.repairs if r.kind == "stray_token_cleared")
    assert cleared == {
        90: 1,
        148: 1,
        165: 1,
        166: 1,
        169: 2,
        171: 1,
        172: 1,
        176: 1,
        212: 1,
        220: 3,
        475: 1,
    }
    tokens = {r.before for r in parsed.repairs if r.kind == "stray_token_cleared"}
    assert tokens == {"_", "<u>t</u>", "•", "<u> </u>", "- /", "T"}
    street = next(r for r in parsed.outcome_rows if r.line == 169)
    assert _values(street) == (0, 0, 1, 0, 0, 1)


def test_arithmetic_repairs_and_the_dropped_noise_row(parsed: ParsedExtract) -> None:
    arithmetic = [
        (r.line, r.kind, r.before, r.after)
        for r in parsed.repairs
        if r.kind in ("value_repaired", "row_dropped")
    ]
    assert arithmetic == [
        (174, "row_dropped", "0/1/0/0/1/0", ""),
        (175, "value_repaired", "0/1/0/0/1/1", "0/1/0/0/0/1"),
        (211, "value_repaired", "0/4/0/1/0/1", "0/0/0/1/0/1"),
    ]
    reasons = {r.line: r.reason for r in parsed.repairs}
    assert "Communication (line 164)" in reasons[174]
    assert "upheld 1 -> 0" in reasons[175]
    assert "not_upheld 4 -> 0" in reasons[211] and "Service Failure (line 203)" in reasons[211]
    assert 174 not in {r.line for r in parsed.outcome_rows}
    for r in parsed.repairs:
        assert r.raw_text and r.reason


def test_grand_total_discrepancy_is_reported_and_explained(parsed: ParsedExtract) -> None:
    failed = [(c.level, c.measure, c.stated, c.computed, c.line) for c in parsed.failed_totals]
    assert failed == [
        ("grand_total", "not_upheld", 924, 932, 539),
        ("grand_total", "partly_upheld", 341, 345, 539),
        ("grand_total", "upheld", 445, 449, 539),
        ("grand_total", "total", 1929, 1945, 539),
    ]
    for c in parsed.failed_totals:
        assert "'Public Health' (line 463)" in c.explanation
        assert "0/8/4/0/4/16" in c.explanation
    ok = Counter(c.level for c in parsed.control_totals if c.status == "ok")
    assert ok == {"root_cause": 234, "department": 90, "grand_total": 2}
    assert parsed.rows_checked == 510  # every row's own total; none fails after the repairs


def test_subtotal_changed_is_a_failing_control_total_not_a_repair(appendix_1_bytes: bytes) -> None:
    text = appendix_1_bytes.decode().replace(
        "Communication\t\t31\t36\t4\t8\t79", "Communication\t\t30\t36\t4\t8\t79"
    )
    parsed = parse_extract(text.encode(), "outcome_matrix", "x")
    failed = {(c.level, c.scope, c.measure, c.stated, c.computed) for c in parsed.failed_totals}
    assert ("root_cause", "Adult Social Care / Communication", "not_upheld", 30, 31) in failed
    assert ("department", "Adult Social Care", "not_upheld", 54, 53) in failed
    assert ("row", "Adult Social Care / Communication", "total", 79, 78) in failed


def test_block_that_no_arithmetic_reconciles_is_an_error(appendix_1_bytes: bytes) -> None:
    text = appendix_1_bytes.decode().replace(
        "Duty Team\t\t2\t6\t\t1\t9", "Duty Team\t\t2\t6\t\t1\t90"
    )
    with pytest.raises(UnreconcilableBlockError) as err:
        parse_extract(text.encode(), "outcome_matrix", "bad.txt")
    # The arithmetic tells which row broke its block: Duty Team's cells add up to 9, not 90.
    assert err.value.source == "bad.txt" and err.value.line == 9
    assert "row 'Duty Team' states a total of 90 but its cells add up to 9" in err.value.reason
    assert "Communication" in err.value.reason


def test_file_ending_mid_table_is_truncated(appendix_1_bytes: bytes) -> None:
    lines = appendix_1_bytes.decode().split("\n")
    with pytest.raises(TruncatedExtractError) as err:
        parse_extract("\n".join(lines[:300]).encode(), "outcome_matrix", "cut.txt")
    assert "cut.txt" in str(err.value) and "ends mid" in err.value.reason


def test_every_stated_number_is_verified(parsed: ParsedExtract) -> None:
    assert {c.kind: (c.stated, c.unverified, c.bounded) for c in parsed.coverage} == {
        "issue_type_cells": (455 * 6, 0, 0),
        "root_cause_cells": (39 * 6, 0, 0),
        "department_cells": (15 * 6, 0, 0),
        "grand_total_cells": (6, 0, 0),
    }
    assert parsed.unverified_numbers == []
