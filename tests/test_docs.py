"""The reader-facing documents: a short README with a contents list, links that resolve, and no
issue numbers (the product is described as it is; its history lives in git)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
README_MAX_LINES = 250
ISSUE_REFERENCE = re.compile(r"\bissues?[ -]#?\d{1,2}\b", re.IGNORECASE)
LINK = re.compile(r"\]\(([^)\s]+)\)")


def documents() -> list[Path]:
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return {slug(m) for m in re.findall(r"^#+ (.+)$", text, flags=re.M)}


def test_the_readme_is_short_and_opens_with_a_contents_list() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines"
    headings = [i for i, line in enumerate(lines) if line.startswith("## ")]
    assert lines[headings[0]] == "## Contents", "the first section is the contents list"
    contents = lines[headings[0] + 1 : headings[1]]
    listed = {m for line in contents for m in re.findall(r"\]\(#([^)]+)\)", line)}
    sections = {slug(lines[i][3:]) for i in headings[1:]}
    assert sections - {"contents"} <= listed, "every section is in the contents list"
    assert listed <= anchors(README), "every entry of the contents list is a heading"


def test_the_readme_says_what_it_must() -> None:
    text = README.read_text(encoding="utf-8")
    for must in (
        "make run",
        "make test",
        "warehouse/marts.duckdb",
        "warehouse/exports/",
        "warehouse/report.html",
        "make dev",
        "## Loading another council",
        "## Where the docs are",
    ):
        assert must in text, must


def test_the_two_commands_carry_no_figures() -> None:
    """Their comments say what the commands do; durations belong to docs/performance.md."""
    lines = README.read_text(encoding="utf-8").splitlines()
    commands = [line for line in lines if re.match(r"make (run|test)\b", line)]
    assert len(commands) == 2
    assert [line for line in commands if re.search(r"\d", line)] == []


def test_no_document_refers_to_an_issue_number() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in documents()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if ISSUE_REFERENCE.search(line)
    ]
    assert found == []


def test_the_issue_pattern_catches_what_it_must_and_only_that() -> None:
    for text in ("issue 1", "Issue 22", "issues 13 and 16", "the issue-11 rewrite", "issue #7"):
        assert ISSUE_REFERENCE.search(text), text
    for text in ("issue type", "issue_type_key", "issued 3 times", "tissue 5"):
        assert not ISSUE_REFERENCE.search(text), text


def test_every_relative_link_in_the_documents_resolves() -> None:
    broken = []
    for path in documents():
        for target in LINK.findall(path.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
                continue
            file_part, _, anchor = target.partition("#")
            linked = (path.parent / file_part).resolve() if file_part else path
            if not linked.exists():
                broken.append(f"{path.relative_to(ROOT)}: {target}")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                broken.append(f"{path.relative_to(ROOT)}: {target} (no such heading)")
    assert broken == []
