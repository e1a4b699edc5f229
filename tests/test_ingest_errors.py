"""Bad input: a clear ExtractError naming file, line and reason; encodings and line endings."""

from __future__ import annotations

import pytest

from ingest.api import parse_extract
from ingest.errors import (
    BinaryExtractError,
    EmptyExtractError,
    ExtractEncodingError,
    ExtractError,
    MalformedRowError,
    TruncatedExtractError,
    UnknownLayoutError,
)

KINDS = ("root_cause_summary", "outcome_matrix")


def _same(a, b) -> None:  # type: ignore[no-untyped-def]
    assert a.service_areas == b.service_areas and a.causes == b.causes and a.actions == b.actions
    assert a.outcome_rows == b.outcome_rows and a.subtotals == b.subtotals
    assert a.control_totals == b.control_totals and a.repairs == b.repairs


@pytest.mark.parametrize("kind", KINDS)
def test_bom_and_crlf_give_identical_results(
    kind: str, appendix_c_bytes: bytes, appendix_1_bytes: bytes
) -> None:
    data = appendix_c_bytes if kind == "root_cause_summary" else appendix_1_bytes
    plain = parse_extract(data, kind, "f.txt")
    crlf = data.replace(b"\n", b"\r\n")
    for variant in (b"\xef\xbb\xbf" + data, crlf, b"\xef\xbb\xbf" + crlf):
        _same(plain, parse_extract(variant, kind, "f.txt"))


def test_windows_1252_is_rejected_with_a_clear_encoding_error(appendix_c_bytes: bytes) -> None:
    cp1252 = appendix_c_bytes.decode("utf-8").encode("cp1252", errors="replace")
    with pytest.raises(ExtractEncodingError) as err:
        parse_extract(cp1252, "root_cause_summary", "legacy.txt")
    assert err.value.line == 3  # the en dash of the title is the first non-UTF-8 byte
    assert "legacy.txt:3" in str(err.value)
    assert "iconv -f WINDOWS-1252 -t UTF-8" in err.value.reason


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        (b"", EmptyExtractError, "empty"),
        (b"  \n\n \t\n", EmptyExtractError, "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", BinaryExtractError, "binary"),
        (bytes(range(1, 32)) * 50, BinaryExtractError, "binary"),
        (b"just some words\nno table here\n", UnknownLayoutError, "not a"),
    ],
)
@pytest.mark.parametrize("kind", KINDS)
def test_unreadable_files(kind: str, data: bytes, error: type[ExtractError], words: str) -> None:
    with pytest.raises(error) as err:
        parse_extract(data, kind, "in/bad.txt")
    assert str(err.value).startswith("in/bad.txt")
    assert words in err.value.reason


def test_unknown_kind() -> None:
    with pytest.raises(UnknownLayoutError, match="unknown kind 'pivot'"):
        parse_extract(b"x", "pivot", "a.txt")


def test_wrong_layout_for_the_kind(appendix_c_bytes: bytes, appendix_1_bytes: bytes) -> None:
    with pytest.raises(UnknownLayoutError, match="not an outcome_matrix"):
        parse_extract(appendix_c_bytes, "outcome_matrix", "c.txt")
    with pytest.raises(UnknownLayoutError, match="not a root_cause_summary"):
        parse_extract(appendix_1_bytes, "root_cause_summary", "one.txt")


def test_appendix_c_cut_mid_row_is_truncated(appendix_c_bytes: bytes) -> None:
    text = appendix_c_bytes.decode()
    cut = text[: text.index("Electoral Services")]
    with pytest.raises(TruncatedExtractError) as err:
        parse_extract(cut.encode(), "root_cause_summary", "cut.txt")
    assert err.value.line == 56


def test_appendix_c_cut_after_a_table_header_is_truncated(appendix_c_bytes: bytes) -> None:
    lines = appendix_c_bytes.decode().split("\n")
    with pytest.raises(TruncatedExtractError) as err:
        parse_extract("\n".join(lines[:12]).encode(), "root_cause_summary", "cut.txt")
    assert err.value.line == 12


def test_appendix_1_cut_mid_row_is_truncated(appendix_1_bytes: bytes) -> None:
    text = appendix_1_bytes.decode()
    cut = text[: text.index("Hospital Discharge Team") + 10]
    with pytest.raises(TruncatedExtractError) as err:
        parse_extract(cut.encode(), "outcome_matrix", "cut.txt")
    assert err.value.line == 17


def test_appendix_1_garbage_in_a_number_cell(appendix_1_bytes: bytes) -> None:
    text = appendix_1_bytes.decode().replace(
        "Duty Team\t\t2\t6\t\t1\t9", "Duty Team\t\t2\tsix\t\t1\t9"
    )
    with pytest.raises(MalformedRowError) as err:
        parse_extract(text.encode(), "outcome_matrix", "x.txt")
    assert err.value.line == 9 and "partly_upheld cell 'six'" in err.value.reason
