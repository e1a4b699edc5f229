"""The landing-folder manifest: every mismatch is an error naming the entry."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from ingest.errors import ManifestError
from ingest.manifest import load_manifest
from tests.conftest import APPENDIX_1, APPENDIX_C, LANDING


def test_bundled_manifest() -> None:
    entries = load_manifest(LANDING)
    assert [(e.extract_id, e.council, e.period, e.kind) for e in entries] == [
        ("brent_2019_20_root_causes", "Brent", "2019/20", "root_cause_summary"),
        ("brent_2022_23_outcome_matrix", "Brent", "2022/23", "outcome_matrix"),
    ]
    assert len(entries[1].sha256()) == 64


# sha256 of ../shared/extracts/000_9af0acb9fd6c0161.txt and 003_d35469c6bda7f2f2.txt, the
# originals: the bundled copies must stay byte-identical (checked also where shared/ is absent).
ORIGINAL_SHA256 = {
    APPENDIX_C: "ae6378d545d42adc318e10ab2f82d88d44e0dd3192060d3bef999a81401f58f8",
    APPENDIX_1: "d5f9dbd6058e5c5e9efe6e46ab047bad355603724ab0341e772f3b9a08503e21",
}


def test_bundled_extracts_are_byte_identical_to_the_originals() -> None:
    import hashlib

    for path, expected in ORIGINAL_SHA256.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == expected, path.name
    shared = Path(__file__).resolve().parent.parent.parent / "shared" / "extracts"
    if shared.is_dir():
        assert APPENDIX_C.read_bytes() == (shared / "000_9af0acb9fd6c0161.txt").read_bytes()
        assert APPENDIX_1.read_bytes() == (shared / "003_d35469c6bda7f2f2.txt").read_bytes()


def _landing(tmp_path: Path, entries: list[dict], files: dict[str, bytes] | None = None) -> Path:
    folder = tmp_path / "landing"
    folder.mkdir()
    for name, data in (files or {"a.txt": b"x"}).items():
        (folder / name).write_bytes(data)
    (folder / "manifest.yml").write_text(yaml.safe_dump({"extracts": entries}))
    return folder


GOOD = {"path": "a.txt", "council": "Brent", "period": "2019/20", "kind": "outcome_matrix"}


@pytest.mark.parametrize(
    ("entries", "files", "message"),
    [
        ([{**GOOD, "colour": "red"}], None, "unknown key(s) colour"),
        ([{**GOOD, "path": "missing.txt"}], None, "file missing.txt does not exist"),
        (
            [GOOD],
            {"a.txt": b"x", "b.txt": b"y"},
            "file b.txt is in the landing folder but no entry lists it",
        ),
        ([{**GOOD, "path": "../outside.txt"}], None, "path leaves the landing folder"),
        ([{**GOOD, "path": "/etc/hostname"}], None, "path leaves the landing folder"),
        ([{**GOOD, "kind": "pivot"}], None, "unknown kind 'pivot'"),
        ([{**GOOD, "period": "2019-20"}], None, "malformed period '2019-20'"),
        ([{**GOOD, "period": "2019/21"}], None, "malformed period '2019/21'"),
        ([GOOD, {**GOOD, "id": "other"}], None, "file a.txt is already listed by entry 1"),
        ([{**GOOD, "council": ""}], None, "missing key(s) council"),
        ([{**GOOD, "id": "Bad Id"}], None, "must be lower-case"),
    ],
)
def test_manifest_errors_name_the_entry(
    tmp_path: Path, entries: list[dict], files, message: str
) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "outside.txt").write_text("x")
    folder = _landing(tmp_path, entries, files)
    with pytest.raises(ManifestError) as err:
        load_manifest(folder)
    assert message in str(err.value)
    assert str(err.value).startswith(str(folder / "manifest.yml"))


def test_missing_manifest_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no manifest.yml"):
        load_manifest(tmp_path)
    (tmp_path / "manifest.yml").write_text("extracts: [\n")
    with pytest.raises(ManifestError, match="not valid YAML"):
        load_manifest(tmp_path)
    (tmp_path / "manifest.yml").write_text("files: []\n")
    with pytest.raises(ManifestError, match="top-level key 'extracts'"):
        load_manifest(tmp_path)


def test_default_id_and_subfolders(tmp_path: Path) -> None:
    folder = tmp_path / "landing"
    (folder / "brent").mkdir(parents=True)
    shutil.copy(APPENDIX_1, folder / "brent" / "Appendix 1 (2022-23).txt")
    (folder / "manifest.yml").write_text(
        yaml.safe_dump(
            {"extracts": [{**GOOD, "path": "brent/Appendix 1 (2022-23).txt", "period": "2022/23"}]}
        )
    )
    (entry,) = load_manifest(folder)
    assert entry.extract_id == "appendix_1_2022_23"
    assert entry.path == "brent/Appendix 1 (2022-23).txt"


ENTRY = "extracts:\n  - path: a.txt\n    council: {council}\n    period: {period}\n    kind: outcome_matrix\n"
# Nine lists of nine, four deep: 6,561 leaves from a few hundred bytes (a billion at nine deep).
ALIAS_BOMB = (
    "a: &a [x, x, x, x, x, x, x, x, x]\n"
    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
) + ENTRY.format(council="*d", period="'2019/20'")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            ENTRY.format(council="[Brent, Harrow]", period="'2019/20'"),
            3,
            "entry 1 (a.txt): council must be text, got a list",
        ),
        (ENTRY.format(council="42", period="'2019/20'"), 3, "council must be text, got int"),
        (
            ENTRY.format(council='"Brent\\nHarrow"', period="'2019/20'"),
            3,
            "council must be on one line",
        ),
        (
            ENTRY.format(council="Brent", period="'2019/20'") + "    source_url: {a: 1}\n",
            6,
            "entry 1 (a.txt): source_url must be text, got a mapping",
        ),
        (ALIAS_BOMB, 1, "YAML anchors and aliases are not allowed here"),
        (
            ENTRY.format(council="!!python/name:os.system", period="'2019/20'"),
            3,
            "YAML tags (tag:yaml.org,2002:python/name:os.system) are not allowed here",
        ),
        (
            ENTRY.format(council="Brent", period="'2019/20'")
            + "    notes: "
            + "[" * 3000
            + "]" * 3000
            + "\n",
            6,
            "nested more than 6 levels deep: not a manifest",
        ),
    ],
    ids=["list", "number", "two-lines", "mapping", "alias-bomb", "tag", "deep-nesting"],
)
def test_only_plain_yaml_of_the_declared_types_is_accepted(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    """Refused before anything is built (an alias bomb costs no memory, deep nesting no
    recursion), naming the manifest, the line and the entry where there is one."""
    (tmp_path / "a.txt").write_bytes(b"x")
    (tmp_path / "manifest.yml").write_text(text)
    with pytest.raises(ManifestError) as err:
        load_manifest(tmp_path)
    assert err.value.source == str(tmp_path / "manifest.yml")
    assert err.value.line == line
    assert message in err.value.reason


def test_block_scalars_and_padding_load_as_the_single_line_they_say(tmp_path: Path) -> None:
    """`period: |` ends with a newline and a quoted council may be padded: what loads is the
    stripped single line, so `period = '2019/20'` finds the extract."""
    (tmp_path / "a.txt").write_bytes(b"x")
    text = ENTRY.format(council="'  Brent  '", period="|\n      2019/20")
    (tmp_path / "manifest.yml").write_text(text)
    (entry,) = load_manifest(tmp_path)
    assert (entry.council, entry.period) == ("Brent", "2019/20")
