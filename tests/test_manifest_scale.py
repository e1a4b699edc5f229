"""The manifest's size limit grows with its entries: a national landing (400 councils, ten years,
both layouts: 8,000 extracts, a manifest past 1 MiB) loads, while hostile documents (alias bombs,
deep nesting, huge values, padding, more entries than any landing) are still refused, naming the
line where the limit was passed.

The landing's extract files are placeholders: the manifest's reading checks that each exists and
is listed, never what it holds. The entries are the generator's (benchmarks/synthetic.py), with
the department mappings of the Appendix C extracts' lost headings.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import pytest
import yaml

from ingest.errors import ManifestError
from ingest.manifest import (
    MANIFEST_BYTES_PER_ENTRY,
    MAX_MANIFEST_BYTES,
    MAX_MANIFEST_ENTRIES,
    MAX_MANIFEST_READ,
    MAX_TEXT,
    read_manifest,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.synthetic import period_of, random_root_cause_doc  # noqa: E402

COUNCILS, YEARS = 400, 10


def national_entries(landing: Path) -> list[dict[str, object]]:
    """As benchmarks/generate.py writes them for 400 councils x 10 years x 2 layouts, each file a
    placeholder."""
    landing.mkdir(parents=True, exist_ok=True)
    entries: list[dict[str, object]] = []
    for i in range(2 * COUNCILS * YEARS):
        council_no, year_no = divmod(i // 2, YEARS)
        council, year = f"Council {council_no:04d}", 2018 + year_no
        kind = "root_cause_summary" if i % 2 == 0 else "outcome_matrix"
        name = f"c{council_no:04d}_{year}_{'appendix_c' if i % 2 == 0 else 'appendix_1'}.txt"
        (landing / name).write_bytes(b"placeholder\n")
        entry: dict[str, object] = {
            "id": Path(name).stem,
            "path": name,
            "council": council,
            "period": period_of(year),
            "kind": kind,
        }
        if kind == "root_cause_summary":
            departments = random_root_cause_doc(
                random.Random(f"7:{i}"), council, year
            ).departments_map()
            if departments:
                entry["departments"] = departments
        entries.append(entry)
    return entries


def write_manifest(landing: Path, doc: object) -> Path:
    path = landing / "manifest.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def test_a_national_manifest_loads(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    entries = national_entries(landing)
    path = write_manifest(landing, {"extracts": entries})
    size = path.stat().st_size
    assert size > MAX_MANIFEST_BYTES, "the old fixed limit would have refused it"
    started = time.perf_counter()
    manifest = read_manifest(landing)
    seconds = time.perf_counter() - started
    assert len(manifest.entries) == len(entries) == 8_000
    assert [e.extract_id for e in manifest.entries] == [e["id"] for e in entries]
    mapped = [e for e in manifest.entries if e.departments]
    assert mapped, "the generated Appendix C extracts map some lost headings"
    print(f"\n8,000-entry manifest: {size:,} bytes read in {seconds:.1f} s")


def small_landing(tmp_path: Path, entries: int = 2) -> tuple[Path, list[dict[str, object]]]:
    landing = tmp_path / "landing"
    landing.mkdir()
    listed: list[dict[str, object]] = []
    for n in range(entries):
        (landing / f"e{n}.txt").write_bytes(b"placeholder\n")
        listed.append(
            {"path": f"e{n}.txt", "council": "Brent", "period": "2022/23", "kind": "outcome_matrix"}
        )
    return landing, listed


def refused(landing: Path) -> ManifestError:
    with pytest.raises(ManifestError) as caught:
        read_manifest(landing)
    return caught.value


def test_a_huge_value_in_a_small_manifest_is_refused_where_it_passes_the_budget(
    tmp_path: Path,
) -> None:
    landing, listed = small_landing(tmp_path)
    listed[1]["notes"] = "x" * (MAX_MANIFEST_BYTES + 3 * MANIFEST_BYTES_PER_ENTRY)
    write_manifest(landing, {"extracts": listed})
    error = refused(landing)
    assert "at most" in error.reason and "per entry" in error.reason, error.reason
    assert error.line is not None and error.line > 1


def test_a_long_value_within_the_budget_is_still_refused_by_the_per_value_limit(
    tmp_path: Path,
) -> None:
    landing, listed = small_landing(tmp_path)
    listed[0]["source_url"] = "https://example.org/" + "a" * MAX_TEXT
    write_manifest(landing, {"extracts": listed})
    assert f"longer than {MAX_TEXT} characters" in refused(landing).reason


def test_padding_after_few_entries_is_refused(tmp_path: Path) -> None:
    landing, listed = small_landing(tmp_path)
    path = write_manifest(landing, {"extracts": listed})
    # A comment is no YAML event: the next event past it is where the budget is exceeded.
    padding = ("# " + "y" * 78 + "\n") * ((MAX_MANIFEST_BYTES // 80) + 200)
    text = path.read_text(encoding="utf-8")
    head, tail = text.split("- path: e1.txt", 1)
    path.write_text(head + padding + "- path: e1.txt" + tail, encoding="utf-8")
    assert "per entry are read" in refused(landing).reason


def test_a_document_past_the_most_ever_read_is_refused_unparsed(tmp_path: Path) -> None:
    landing, listed = small_landing(tmp_path)
    path = write_manifest(landing, {"extracts": listed})
    with path.open("ab") as f:
        f.write(b"#" * (MAX_MANIFEST_READ + 1))
    error = refused(landing)
    assert error.line is None
    assert f"more than {MAX_MANIFEST_READ} bytes" in error.reason


def test_more_entries_than_any_landing_are_refused(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    # Tiny entries stay within the byte budget; their number is what is refused.
    text = "extracts:\n" + "- {}\n" * (MAX_MANIFEST_ENTRIES + 1)
    (landing / "manifest.yml").write_text(text, encoding="utf-8")
    error = refused(landing)
    assert f"more than {MAX_MANIFEST_ENTRIES} entries" in error.reason
    assert error.line == MAX_MANIFEST_ENTRIES + 2


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            "extracts:\n- &a {path: e0.txt, council: Brent, period: 2022/23, kind: outcome_matrix}\n"
            "- *a\n",
            "YAML anchors and aliases are not allowed here",
        ),
        ("extracts:\n- path: [[[[[[[x]]]]]]]\n", "nested more than 6 levels deep"),
    ],
    ids=["alias", "deep-nesting"],
)
def test_aliases_and_nesting_are_still_refused_at_any_size(
    tmp_path: Path, text: str, says: str
) -> None:
    landing, _ = small_landing(tmp_path)
    # Behind a national manifest's worth of honest bytes the limits are unchanged.
    honest = "".join(f"# {n:06d} honest padding within the entries' budget\n" for n in range(1000))
    (landing / "manifest.yml").write_text(honest + text, encoding="utf-8")
    assert says in refused(landing).reason
