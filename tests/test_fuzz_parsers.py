"""Fuzzing: whatever the bytes, a parse (or a manifest load) either succeeds or raises an
ExtractError naming the file; no other exception, no hang.

Counts: `examples(n)` is n x the Hypothesis profile's unit; under HYPOTHESIS_PROFILE=ci (`make
test`) the tests below run 10,000 examples in all across both parsers and the manifest loader."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.api import parse_extract
from ingest.errors import ExtractError, ManifestError
from ingest.manifest import load_manifest
from ingest.records import ParsedExtract
from tests.conftest import APPENDIX_1, APPENDIX_C, examples

KINDS = ("root_cause_summary", "outcome_matrix")
REAL = {
    "root_cause_summary": APPENDIX_C.read_bytes().decode().split("\n"),
    "outcome_matrix": APPENDIX_1.read_bytes().decode().split("\n"),
}


def _parse_or_extract_error(data: bytes, kind: str) -> ParsedExtract | None:
    try:
        result = parse_extract(data, kind, "fuzz.txt")
    except ExtractError as exc:
        assert exc.source == "fuzz.txt"
        assert exc.reason
        return None
    assert isinstance(result, ParsedExtract)
    return result


@settings(max_examples=examples(14))
@given(data=st.binary(max_size=2000), kind=st.sampled_from(KINDS))
def test_random_bytes(data: bytes, kind: str) -> None:
    _parse_or_extract_error(data, kind)


@settings(max_examples=examples(14))
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


@settings(max_examples=examples(8))
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


# --- the manifest loader ---------------------------------------------------------------------

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 3000),
    st.sampled_from(["a.txt", "2019/20", "outcome_matrix", "root_cause_summary", "Brent", "x_1"]),
    st.text(max_size=30),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=12,
)
_KEYS = st.sampled_from(
    [
        "path",
        "council",
        "period",
        "kind",
        "id",
        "source_url",
        "notes",
        "departments",
        "department_map",
        "colour",
    ]
)
_ENTRY = st.dictionaries(_KEYS, _VALUES, max_size=8)


def _load(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        landing = Path(folder)
        (landing / "a.txt").write_bytes(APPENDIX_1.read_bytes()[:200])
        (landing / "manifest.yml").write_text(text, encoding="utf-8")
        try:
            entries = load_manifest(landing)
        except ManifestError as exc:
            assert exc.source.endswith("manifest.yml") and exc.reason
            return
        for entry in entries:  # what loads is what the format says, typed
            assert all(
                isinstance(v, str) and v == v.strip() and "\n" not in v
                for v in (entry.council, entry.period, entry.kind, entry.extract_id)
            )


@settings(max_examples=examples(3))
@given(doc=st.one_of(_VALUES, st.fixed_dictionaries({"extracts": st.lists(_ENTRY, max_size=3)})))
def test_manifest_loader_on_random_documents(doc: object) -> None:
    _load(yaml.safe_dump(doc, allow_unicode=True))


@settings(max_examples=examples(1))
@given(text=st.text(alphabet=st.sampled_from("extracts:- path&*!<>[]{}|\n a.txt"), max_size=200))
def test_manifest_loader_on_random_yaml_text(text: str) -> None:
    _load(text)
