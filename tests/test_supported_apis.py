"""Private internals stay in one compatibility module; the documents the code cites exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("ingest", "complaints", "cli", "orchestration", "expectations")
COMPAT = ROOT / "orchestration" / "lib" / "dagster_compat.py"
PRIVATE_IMPORT = re.compile(r"^\s*(from|import)\s+(dagster|dagster_dbt|dbt)\._", re.MULTILINE)


def product_files() -> list[Path]:
    return sorted(p for package in PRODUCT for p in (ROOT / package).rglob("*.py"))


def test_no_private_dagster_import_outside_the_compatibility_module() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in product_files()
        if p != COMPAT and PRIVATE_IMPORT.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []
    assert PRIVATE_IMPORT.search(COMPAT.read_text(encoding="utf-8"))  # the one that may


def test_no_private_overrides_or_hard_exits() -> None:
    for path in product_files():
        if path == COMPAT:
            continue
        text = path.read_text(encoding="utf-8")
        for forbidden in ("_run_exitfuncs", "os._exit", "def _cli_version", "def _initialize_dbt"):
            assert forbidden not in text, (path, forbidden)
        # System tag strings are not copied by hand.
        assert '"dagster/asset_partition' not in text, path


def test_every_cited_document_exists() -> None:
    cited: set[str] = set()
    for path in [*product_files(), *(ROOT / "dbt_project").rglob("*.sql"), ROOT / "README.md"]:
        cited |= set(re.findall(r"docs/([A-Za-z_]+\.md)", path.read_text(encoding="utf-8")))
    assert {"DESIGN.md", "CONTRACT.md", "DECISIONS.md"} <= cited
    for name in cited:
        assert (ROOT / "docs" / name).is_file(), name
