"""The speed-up ablations (benchmarks/ablation.py) still find what they take out: an edit whose
text moved would measure nothing, or refuse to run in the middle of an hour's benchmark."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import ablation  # noqa: E402


def test_every_ablation_edit_finds_its_text_exactly_once() -> None:
    for construct in ablation.CONSTRUCTS:
        assert construct.edits or construct.drop_saved_parse, construct.name
        for edit in construct.edits:
            text = (ROOT / edit.path).read_text(encoding="utf-8")
            assert text.count(edit.old) == 1, (construct.name, edit.path, edit.old)


def test_every_construct_is_listed_in_the_decisions() -> None:
    decisions = (ROOT / "docs" / "DECISIONS.md").read_text(encoding="utf-8")
    section = decisions.split("## Speed-ups and what each earns", 1)[1]
    listed = set(re.findall(r"^- \*\*([a-z_]+)\*\*", section, flags=re.M))
    assert listed == set(ablation.BY_NAME)


def test_an_ablated_copy_differs_from_the_checkout_only_where_its_edits_say(tmp_path: Path) -> None:
    construct = ablation.BY_NAME["gc_tuning"]
    copy = ablation.make_copy(tmp_path / "copy", construct)
    edited = {e.path for e in construct.edits}
    for path in edited:
        assert (copy / path).read_text() != (ROOT / path).read_text(), path
    for path in ("cli/errors.py", "complaints/catalogue.py", "dbt_project/dbt_project.yml"):
        assert (copy / path).read_text() == (ROOT / path).read_text(), path
    assert "gc.set_threshold" not in (copy / "cli/main.py").read_text()
    assert (copy / "dbt_project" / "target" / "partial_parse.msgpack").is_file()
