"""Cause lists read by their typography and checked by arithmetic (ingest/cause_lists.py): fixed
inputs for the reading taken, the tie-break rules, and the finding a list that adds up only
against its typography becomes (docs/parsing.md, "Cause lists")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ingest.cause_lists import segment
from ingest.root_cause_summary import parse_root_cause_summary
from ingest.text import decode_extract
from ingest.vocabulary import STATUS_FAILED


def _read(text: str, target: int | None) -> list[tuple[str, int]]:
    return [(c.label, c.count) for c in segment(text, target).reading.causes]


def _alternatives(text: str, target: int) -> list[list[tuple[str, int]]]:
    return [[(c.label, c.count) for c in a.causes] for a in segment(text, target).alternatives]


def test_glued_dashes_of_the_real_extracts_read_without_a_finding() -> None:
    for text in (
        "• EHCP delays– 16 • Other – 3",
        "• EHCP delays– 16 • Other- 3",
        "EHCP delays– 16",
    ):
        seg = segment(text, 19 if "Other" in text else 16)
        assert seg.notes == () and seg.alternatives == ()
    assert _read("• Service Failure –15 • Poor communication- 6", 21) == [
        ("Service Failure", 15),
        ("Poor communication", 6),
    ]


def test_a_list_that_adds_up_only_against_its_typography_keeps_the_typed_reading() -> None:
    text = "Section 20 notice – 10 • Stage 2 - review – 5"
    seg = segment(text, 17)
    assert _read(text, 17) == [("Section 20 notice", 10), ("Stage 2 - review", 5)]
    assert _alternatives(text, 17) == [[("Section 20 notice", 10), ("Stage", 2), ("review", 5)]]
    assert seg.alternatives[0].departures == 1
    # Stated correctly, the same list reads as typed and adds up.
    assert segment("Section 20 notice – 10 • Stage 2 - review – 7", 17).alternatives == ()


def test_tie_break_fewest_departures_first() -> None:
    # Typed: one cause; 'Delta' 6 departs once, splitting at 1 and 4 departs twice.
    assert _alternatives("Alpha 1 Beta 5 Gamma 4 Delta – 6", 11) == [
        [("Alpha 1 Beta", 5), ("Gamma 4 Delta", 6)],
        [("Alpha", 1), ("Beta 5 Gamma", 4), ("Delta", 6)],
    ]


def test_tie_break_fewer_causes_at_equal_departures() -> None:
    # Two readings add up to 7, each departing twice: two causes come before four.
    text = "Alpha – 3 Beta 1 Gamma 1 Delta 5 Epsilon – 2"
    assert _read(text, 7) == [("Alpha", 3), ("Beta 1 Gamma 1 Delta 5 Epsilon", 2)]
    assert _alternatives(text, 7) == [
        [("Alpha – 3 Beta 1 Gamma 1 Delta", 5), ("Epsilon", 2)],
        [("Alpha", 3), ("Beta", 1), ("Gamma", 1), ("Delta 5 Epsilon", 2)],
    ]


def test_tie_break_earlier_counts_at_equal_departures_and_causes() -> None:
    assert _alternatives("Alpha 2 Beta 2 Gamma – 4", 6) == [
        [("Alpha", 2), ("Beta 2 Gamma", 4)],
        [("Alpha 2 Beta", 2), ("Gamma", 4)],
    ]


def test_a_departure_forced_by_a_count_without_a_label_is_a_warning_not_a_finding() -> None:
    seg = segment("• – 3 Other – 4", 4)
    assert [(c.label, c.count) for c in seg.reading.causes] == [("3 Other", 4)]
    assert seg.alternatives == () and "no label before it" in seg.notes[0]


def test_lost_bullets_after_spaced_dashes_are_typography_not_arithmetic() -> None:
    text = "Service failure – 3 Poor communication – 2"
    assert _read(text, 5) == [("Service failure", 3), ("Poor communication", 2)]
    assert segment(text, 5).notes == ()


_EXTRACT = (
    "Appendix C – 2019/20 Complaints Root Cause Summary\n\n"
    "Housing Department (17 instances)\n\n"
    "Root Cause\tActions\n"
    "<p>Leasehold Services – 17 instances; 3 upheld/partly upheld</p> "
    '<ul style="list-style-type: none"> • Section 20 notice – 10 • Stage 2 - review – 5 '
    "\t<p>Leasehold</p> <p>Letters were rewritten.</p>\n"
)


def test_the_misprinted_list_is_a_failed_total_naming_both_readings(tmp_path: Path) -> None:
    parsed = parse_root_cause_summary(decode_extract(_EXTRACT.encode(), "x"), "x")
    assert [(c.cause_label, c.instances) for c in parsed.causes] == [
        ("Section 20 notice", 10),
        ("Stage 2 - review", 5),
    ]
    (failed,) = parsed.failed_totals
    assert (failed.level, failed.line, failed.stated, failed.computed, failed.status) == (
        "service_area",
        6,
        17,
        15,
        STATUS_FAILED,
    )
    explanation = failed.explanation or ""
    assert "'Section 20 notice' 10; 'Stage 2 - review' 5" in explanation
    assert "'Section 20 notice' 10; 'Stage' 2; 'review' 5" in explanation

    path = tmp_path / "appendix_c.txt"
    path.write_text(_EXTRACT, encoding="utf-8")
    # The installed command, as a user runs it.
    res = subprocess.run(
        [str(Path(sys.executable).parent / "complaints"), "check", str(path)]
        + ["--kind", "root_cause_summary", "--period", "2019/20"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 1, res.stdout + res.stderr
    assert "'Stage' 2; 'review' 5" in res.stdout
