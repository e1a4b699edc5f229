"""The reviewed-waiver file: the shipped waivers are exactly the four for the 2022/23 grand total,
and a malformed entry is rejected with a WaiverError naming the file and the entry."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from complaints.config import ComplaintsConfig
from expectations.waivers import WAIVERS_FILE, Waiver, WaiverError, load_waivers, parse_waivers

EXTRACT = "brent_2022_23_outcome_matrix"
REVIEWED_BY = "complaints-warehouse maintainers"
REVIEWED_ON = dt.date(2026, 11, 23)

SHIPPED = [
    (
        "brent-2022-23-grand-total-not-upheld",
        EXTRACT,
        "grand_total",
        "Grand Total",
        "not_upheld",
        924,
        932,
        "Stated Grand Total omits Public Health's row (line 463, 8 not upheld)",
        REVIEWED_BY,
        REVIEWED_ON,
    ),
    (
        "brent-2022-23-grand-total-partly-upheld",
        EXTRACT,
        "grand_total",
        "Grand Total",
        "partly_upheld",
        341,
        345,
        "Stated Grand Total omits Public Health's row (line 463, 4 partly upheld)",
        REVIEWED_BY,
        REVIEWED_ON,
    ),
    (
        "brent-2022-23-grand-total-upheld",
        EXTRACT,
        "grand_total",
        "Grand Total",
        "upheld",
        445,
        449,
        "Stated Grand Total omits Public Health's row (line 463, 4 upheld)",
        REVIEWED_BY,
        REVIEWED_ON,
    ),
    (
        "brent-2022-23-grand-total-total",
        EXTRACT,
        "grand_total",
        "Grand Total",
        "total",
        1929,
        1945,
        "Stated Grand Total omits Public Health's row (line 463, 16 complaints)",
        REVIEWED_BY,
        REVIEWED_ON,
    ),
]


GOOD = {
    "id": "w1",
    "extract_id": "some_extract",
    "check": "grand_total",
    "scope": "Grand Total",
    "measure": "total",
    "stated": 10,
    "computed": 12,
    "reason": "source omits a row",
    "reviewed_by": "someone",
    "reviewed_on": "2026-11-01",
}


def test_shipped_file_holds_exactly_the_four_grand_total_waivers() -> None:
    waivers = load_waivers(WAIVERS_FILE)
    assert all(isinstance(w, Waiver) for w in waivers)
    assert [w.as_row() for w in waivers] == SHIPPED
    # The four differences are Public Health's department row (line 463: 8/4/4/16).
    assert [w.computed - w.stated for w in waivers] == [8, 4, 4, 16]


def test_default_path_is_the_shipped_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMPLAINTS_WAIVERS", raising=False)
    shipped = Path(__file__).resolve().parent.parent / "expectations" / "waivers.yml"
    assert shipped == WAIVERS_FILE
    assert ComplaintsConfig.resolve().waivers_file is None
    assert [w.as_row() for w in load_waivers()] == SHIPPED


def test_environment_variable_names_another_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "w.yml"
    path.write_text("waivers: []\n", encoding="utf-8")
    monkeypatch.setenv("COMPLAINTS_WAIVERS", str(path))
    # Read once into the configuration, which the reviewed_waivers asset passes on.
    config = ComplaintsConfig.resolve()
    assert config.waivers_file == path
    assert load_waivers(config.waivers_file) == []


def test_as_row_follows_the_declared_field_order() -> None:
    (waiver,) = parse_waivers({"waivers": [GOOD]})
    assert waiver.as_row() == (
        "w1",
        "some_extract",
        "grand_total",
        "Grand Total",
        "total",
        10,
        12,
        "source omits a row",
        "someone",
        dt.date(2026, 11, 1),
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, "unknown keys ['colour']"),
        ({"reason": None}, "missing ['reason']; a waiver must be complete and exact"),
        ({"reason": ""}, "missing ['reason']"),
        ({"reviewed_by": None}, "missing ['reviewed_by']"),
        ({"reviewed_by": ""}, "missing ['reviewed_by']"),
        ({"reviewed_on": None}, "missing ['reviewed_on']"),
        ({"reason": None, "reviewed_on": ""}, "missing ['reason', 'reviewed_on']"),
        ({"check": "vibes"}, "unknown check 'vibes'; one of ['department', 'grand_total', "),
        ({"check": "Grand_Total"}, "unknown check 'Grand_Total'"),
        ({"stated": "10"}, "stated must be an integer, got '10'"),
        ({"stated": 10.0}, "stated must be an integer, got 10.0"),
        ({"stated": True}, "stated must be an integer, got True"),
        ({"computed": 1.5}, "computed must be an integer, got 1.5"),
        ({"computed": 10}, "stated equals computed; nothing to waive"),
        ({"reviewed_on": "last tuesday"}, "reviewed_on must be a date (YYYY-MM-DD)"),
        ({"reviewed_on": "2026-13-01"}, "reviewed_on must be a date (YYYY-MM-DD)"),
        ({"reviewed_on": "2026-02-30"}, "reviewed_on must be a date (YYYY-MM-DD)"),
        ({"reviewed_on": 20261101}, "reviewed_on must be a date (YYYY-MM-DD)"),
    ],
)
def test_bad_entry_is_rejected_naming_it(change: dict[str, object], message: str) -> None:
    entry = {**GOOD, **change}
    with pytest.raises(WaiverError) as err:
        parse_waivers({"waivers": [GOOD | {"id": "w0"}, entry]}, "my/waivers.yml")
    assert str(err.value).startswith("my/waivers.yml: waiver #2 (w1): ")
    assert message in str(err.value)


def test_unknown_key_is_reported_before_missing_ones() -> None:
    entry = {k: v for k, v in GOOD.items() if k != "reason"} | {"why": "x", "notes": "y"}
    with pytest.raises(WaiverError, match=r"waiver #1 \(w1\): unknown keys \['notes', 'why'\]$"):
        parse_waivers({"waivers": [entry]})


def test_entry_without_an_id_is_named_by_position() -> None:
    entry = {k: v for k, v in GOOD.items() if k != "id"}
    with pytest.raises(WaiverError, match=r"^waivers\.yml: waiver #1 \(no id\): missing \['id'\]"):
        parse_waivers({"waivers": [entry]})


def test_duplicate_id_is_rejected() -> None:
    other = GOOD | {"measure": "upheld"}
    with pytest.raises(WaiverError) as err:
        parse_waivers({"waivers": [GOOD, GOOD | {"id": "w2"}, other]}, "w.yml")
    assert str(err.value) == "w.yml: waiver #3 (w1): duplicate id"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"waiver": []}, "w.yml: expected a mapping with a single key 'waivers'"),
        ({"waivers": [], "extra": 1}, "w.yml: expected a mapping with a single key 'waivers'"),
        (["waivers"], "w.yml: expected a mapping with a single key 'waivers'"),
        ({"waivers": {"id": "w1"}}, "w.yml: 'waivers' must be a list"),
        ({"waivers": ["w1"]}, "w.yml: waiver #1: expected a mapping"),
    ],
)
def test_bad_document_shape_is_rejected(doc: object, message: str) -> None:
    with pytest.raises(WaiverError) as err:
        parse_waivers(doc, "w.yml")
    assert str(err.value) == message


@pytest.mark.parametrize("doc", [None, {}, {"waivers": None}, {"waivers": []}])
def test_empty_document_has_no_waivers(doc: object) -> None:
    assert parse_waivers(doc) == []


def test_date_and_integers_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "w.yml"
    path.write_text(
        "waivers:\n"
        "  - {id: a, extract_id: e, check: heading, scope: s, measure: m,\n"
        "     stated: 1, computed: 0, reason: r, reviewed_by: me, reviewed_on: 2026-01-02}\n",
        encoding="utf-8",
    )
    assert [w.as_row() for w in load_waivers(path)] == [
        ("a", "e", "heading", "s", "m", 1, 0, "r", "me", dt.date(2026, 1, 2))
    ]


@pytest.mark.parametrize(("text", "expected"), [("", []), ("# nothing yet\n", [])])
def test_empty_file_has_no_waivers(tmp_path: Path, text: str, expected: list[Waiver]) -> None:
    path = tmp_path / "w.yml"
    path.write_text(text, encoding="utf-8")
    assert load_waivers(path) == expected


def test_invalid_yaml_and_absent_file(tmp_path: Path) -> None:
    path = tmp_path / "w.yml"
    path.write_text("waivers: [\n", encoding="utf-8")
    with pytest.raises(WaiverError, match="^" + re.escape(f"{path}: not valid YAML")):
        load_waivers(path)
    assert load_waivers(tmp_path / "absent.yml") == []


# Known defects (see the gate-tests report): strict, so fixing the bug makes these fail until the
# marker is removed.


@pytest.mark.parametrize("change", [{"check": ["grand_total"]}, {"id": ["w1"]}])
def test_unhashable_value_is_a_waiver_error(change: dict[str, object]) -> None:
    with pytest.raises(WaiverError, match="waiver #1"):
        parse_waivers({"waivers": [GOOD | change]})


def test_ids_equal_as_text_are_duplicates() -> None:
    with pytest.raises(WaiverError, match="duplicate id"):
        parse_waivers({"waivers": [GOOD | {"id": 1}, GOOD | {"id": "1"}]})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"reviewed_on": "20261101"}, "reviewed_on must be a date (YYYY-MM-DD)"),
        ({"reviewed_on": "2026-W44-7"}, "reviewed_on must be a date (YYYY-MM-DD)"),
        ({"reviewed_on": dt.datetime(2026, 11, 1, 10, 0)}, "reviewed_on must be a date"),
        ({"reason": "   "}, "missing ['reason']"),
        ({"reviewed_by": "\t"}, "missing ['reviewed_by']"),
    ],
)
def test_loose_dates_and_blank_text_are_rejected(change: dict[str, object], message: str) -> None:
    with pytest.raises(WaiverError) as err:
        parse_waivers({"waivers": [GOOD | change]})
    assert message in str(err.value)
