"""The report of many councils: an overview across councils plus one page per council, every page
under 1 MB, every link resolving, all offline; up to six councils the single page as before.

The published file is the bundled publication's rows copied under many council names, with
residents for each (tests/many_councils.py): the report reads the published file only. The pages
open in a real browser (Debian's headless Chromium)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from complaints.report import build_report
from complaints.report.pages import PAGES_ABOVE, PAGES_DIR
from tests.many_councils import many_councils
from tests.test_report import browser, open_page  # noqa: F401 - the fixture, shared

COUNCILS = 24
PAGE_LIMIT = 1_000_000


@pytest.fixture(scope="module")
def paged(published_warehouse, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    _, warehouse, _ = published_warehouse
    folder = tmp_path_factory.mktemp("paged")
    names = many_councils(warehouse / "marts.duckdb", folder / "marts.duckdb", COUNCILS)
    started = time.perf_counter()
    # Two worker processes build the pages (the default is one per CPU): the pool is always
    # what these tests read, on any machine.
    result = build_report(folder / "marts.duckdb", folder / "report.html", workers=2)
    seconds = time.perf_counter() - started
    print(f"\nreport of {COUNCILS} councils built in {seconds:.0f} s by two workers")
    return {"folder": folder, "names": names, "result": result}


def links(html: str, kind: str) -> list[str]:
    return re.findall(rf'<a href="([^"]+)" data-link="{kind}">', html)


def test_an_overview_and_one_page_per_council_each_under_1_mb(paged: dict[str, Any]) -> None:
    folder, result = paged["folder"], paged["result"]
    assert result.path == folder / "report.html"
    assert len(result.pages) == COUNCILS
    sizes = {p.name: p.stat().st_size for p in result.pages}
    print(
        f"overview {result.size:,} bytes; pages {min(sizes.values()):,} to {max(sizes.values()):,}"
    )
    assert result.size < PAGE_LIMIT
    assert max(sizes.values()) < PAGE_LIMIT
    # Nothing of the other councils on a council's page; nothing but links on the overview.
    page = result.pages[0].read_text(encoding="utf-8")
    assert "Council 001" in page and "Council 002" not in page
    overview = result.path.read_text(encoding="utf-8")
    assert overview.count('data-table="scorecard"') == 0


def test_pages_from_worker_processes_are_the_pages_one_process_builds(
    paged: dict[str, Any], tmp_path: Path
) -> None:
    folder, result = paged["folder"], paged["result"]
    alone = build_report(folder / "marts.duckdb", tmp_path / "report.html", workers=1)
    assert [p.name for p in alone.pages] == [p.name for p in result.pages]
    differing = [
        p.name
        for p, q in zip(alone.pages, result.pages, strict=True)
        if p.read_bytes() != q.read_bytes()
    ]
    assert differing == []
    assert alone.path.read_bytes() == result.path.read_bytes()
    assert alone.figures == result.figures


def test_every_link_resolves(paged: dict[str, Any]) -> None:
    folder, result, names = paged["folder"], paged["result"], paged["names"]
    overview = result.path.read_text(encoding="utf-8")
    targets = links(overview, "council")
    assert len(targets) == len(names) == COUNCILS
    resolved = {(folder / t).resolve() for t in targets}
    assert resolved == {p.resolve() for p in result.pages}
    for page in result.pages:
        (back,) = links(page.read_text(encoding="utf-8"), "overview")
        assert (page.parent / back).resolve() == result.path.resolve()
    assert {p.parent.name for p in result.pages} == {result.publication_id}


def test_the_overview_compares_councils_and_names_their_status(paged: dict[str, Any]) -> None:
    folder, result, names = paged["folder"], paged["result"], paged["names"]
    overview = result.path.read_text(encoding="utf-8")
    assert "Councils compared" in overview
    with duckdb.connect(str(folder / "marts.duckdb"), read_only=True) as con:
        expected = con.execute(
            "select count(*), count(*) filter (where status = 'waived') "
            "from mart_reconciliation where council = 'Council 007'"
        ).fetchone()
    assert expected is not None
    status = overview.split('data-table="council-status"', 1)[1]
    row = re.search(r"<tr><td>Council 007</td>(.*?)</tr>", status)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
    assert cells[3] == f"{expected[1]:,}"  # waived control totals of that council
    # Each council once in the comparison (its latest period with residents) and in the status.
    for name in names:
        assert overview.count(f"<td>{name}</td>") == 2, name


def test_pages_open_offline_and_quickly(paged: dict[str, Any], browser: Any) -> None:  # noqa: F811
    result = paged["result"]
    for path in (result.path, result.pages[0], result.pages[-1]):
        started = time.perf_counter()
        page = open_page(browser, path)
        seconds = time.perf_counter() - started
        assert not [m for m in page["console"] if m["level"] == "SEVERE"], page["console"]
        assert all(u.startswith("file://") or u.startswith("data:") for u in page["requests"])
        assert seconds < 5, (path.name, seconds)


def test_a_new_report_replaces_the_pages_and_keeps_the_previous_folder(
    published_warehouse,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    _, warehouse, _ = published_warehouse
    folder = tmp_path / "w"
    folder.mkdir()
    many_councils(warehouse / "marts.duckdb", folder / "marts.duckdb", PAGES_ABOVE + 1)
    first = build_report(folder / "marts.duckdb", folder / "report.html")
    for publication_id in ("second", "third"):
        with duckdb.connect(str(folder / "marts.duckdb")) as con:
            con.execute("update publication set publication_id = ?", [publication_id])
        latest = build_report(folder / "marts.duckdb", folder / "report.html")
        assert all(p.is_file() for p in latest.pages)
    # The folder of the report before the current one stays; older ones go.
    assert {p.name for p in (folder / PAGES_DIR).iterdir()} == {"second", "third"}
    assert first.publication_id not in {"second", "third"}


def test_few_councils_keep_the_single_page(published_warehouse, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, warehouse, _ = published_warehouse
    many_councils(warehouse / "marts.duckdb", tmp_path / "marts.duckdb", PAGES_ABOVE)
    result = build_report(tmp_path / "marts.duckdb", tmp_path / "report.html")
    assert result.pages == ()
    assert not (tmp_path / PAGES_DIR).exists()
    html = result.path.read_text(encoding="utf-8")
    assert 'data-table="scorecard"' in html and "Councils compared" in html


def test_workers_are_bounded_by_the_pages_and_configured_by_the_environment() -> None:
    from complaints.config import REPORT_WORKERS_ENV, ComplaintsConfig
    from complaints.report.build import PAGES_PER_WORKER, report_workers

    assert report_workers(4, PAGES_PER_WORKER * 10) == 4
    assert report_workers(4, PAGES_PER_WORKER * 2 + 1) == 2
    assert report_workers(4, PAGES_PER_WORKER - 1) == 1  # a worker would not pay its start
    assert report_workers(1, 1000) == 1
    assert ComplaintsConfig.resolve(environ={REPORT_WORKERS_ENV: "3"}).report_workers == 3
    assert ComplaintsConfig.resolve(environ={}).report_workers == 0
    with pytest.raises(ValueError, match=REPORT_WORKERS_ENV):
        ComplaintsConfig.resolve(environ={REPORT_WORKERS_ENV: "two"})


def test_a_rebuild_reuses_only_the_charts_whose_data_did_not_change(
    published_warehouse,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    from complaints.report.chart_cache import CACHE_DIR

    _, warehouse, _ = published_warehouse
    many_councils(warehouse / "marts.duckdb", tmp_path / "marts.duckdb", PAGES_ABOVE + 2)
    cold = build_report(tmp_path / "marts.duckdb", tmp_path / "report.html", workers=1)
    before = {p.name: p.read_bytes() for p in cold.pages}
    entries = sorted((tmp_path / CACHE_DIR).glob("*/*.svg"))
    assert cold.charts_reused == 0 and cold.charts_rendered == len(entries) > 0

    warm = build_report(tmp_path / "marts.duckdb", tmp_path / "report.html", workers=1)
    assert (warm.charts_rendered, warm.charts_reused) == (0, cold.charts_rendered)
    assert {p.name: p.read_bytes() for p in warm.pages} == before

    # One council's scorecard changes: its charts are drawn again, every other page is the same
    # byte for byte, and the cache keeps only what the latest report uses.
    with duckdb.connect(str(tmp_path / "marts.duckdb")) as con:
        con.execute(
            "update mart_department_scorecard set total = total + 1 where council = 'Council 003'"
        )
    changed = build_report(tmp_path / "marts.duckdb", tmp_path / "report.html", workers=1)
    after = {p.name: p.read_bytes() for p in changed.pages}
    assert 0 < changed.charts_rendered < cold.charts_rendered
    differing = sorted(name for name in before if before[name] != after[name])
    assert differing == [next(p.name for p in changed.pages if "003" in p.name)]
    assert len(sorted((tmp_path / CACHE_DIR).glob("*/*.svg"))) == len(entries)
    assert not set(entries) <= set((tmp_path / CACHE_DIR).glob("*/*.svg"))
