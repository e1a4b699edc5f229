"""The reviewed-waiver file: exact, complete entries or a clear error naming the entry."""

from __future__ import annotations

import datetime as dt

import pytest

from expectations.waivers import WaiverError, load_waivers, parse_waivers


def test_shipped_waivers_cover_exactly_the_2022_23_grand_total() -> None:
    waivers = load_waivers()
    assert [(w.measure, w.stated, w.computed) for w in waivers] == [
        ("not_upheld", 924, 932),
        ("partly_upheld", 341, 345),
        ("upheld", 445, 449),
        ("total", 1929, 1945),
    ]
    assert {(w.extract_id, w.check, w.scope) for w in waivers} == {
        ("brent_2022_23_outcome_matrix", "grand_total", "Grand Total")
    }
    first = waivers[0]
    assert first.as_row() == (
        "brent-2022-23-grand-total-not-upheld",
        "brent_2022_23_outcome_matrix",
        "grand_total",
        "Grand Total",
        "not_upheld",
        924,
        932,
        "Stated Grand Total omits Public Health's row (line 463, 8 not upheld)",
        "complaints-warehouse maintainers",
        dt.date(2026, 11, 23),
    )


GOOD = {
    "id": "w1",
    "extract_id": "x",
    "check": "grand_total",
    "scope": "Grand Total",
    "measure": "total",
    "stated": 10,
    "computed": 12,
    "reason": "source omits a row",
    "reviewed_by": "someone",
    "reviewed_on": "2026-11-01",
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, "unknown keys ['colour']"),
        ({"reason": None}, "missing ['reason']"),
        ({"reviewed_by": ""}, "missing ['reviewed_by']"),
        ({"reviewed_on": None}, "missing ['reviewed_on']"),
        ({"check": "vibes"}, "unknown check 'vibes'"),
        ({"stated": "10"}, "stated must be an integer"),
        ({"computed": 1.5}, "computed must be an integer"),
        ({"computed": 10}, "stated equals computed"),
        ({"reviewed_on": "last tuesday"}, "reviewed_on must be a date"),
    ],
)
def test_bad_waiver_is_rejected_naming_the_entry(change: dict, message: str) -> None:
    entry = {**GOOD, **change}
    with pytest.raises(WaiverError) as err:
        parse_waivers({"waivers": [entry]}, "waivers.yml")
    assert "waivers.yml: waiver #1 (w1)" in str(err.value)
    assert message in str(err.value)


def test_duplicate_id_and_bad_shapes() -> None:
    with pytest.raises(WaiverError, match=r"waiver #2 \(w1\): duplicate id"):
        parse_waivers({"waivers": [GOOD, GOOD]})
    with pytest.raises(WaiverError, match="single key 'waivers'"):
        parse_waivers({"waiver": []})
    with pytest.raises(WaiverError, match="must be a list"):
        parse_waivers({"waivers": {"a": 1}})
    assert parse_waivers(None) == []
    assert parse_waivers({"waivers": None}) == []


def test_load_from_another_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "w.yml"
    path.write_text(
        "waivers:\n  - {id: a, extract_id: e, check: heading, scope: s, measure: m,\n"
        "     stated: 1, computed: 2, reason: r, reviewed_by: me, reviewed_on: 2026-01-02}\n"
    )
    (waiver,) = load_waivers(path)
    assert waiver.reviewed_on == dt.date(2026, 1, 2) and waiver.check == "heading"
    path.write_text("waivers: [\n")
    with pytest.raises(WaiverError, match="not valid YAML"):
        load_waivers(path)
    assert load_waivers(tmp_path / "absent.yml") == []
