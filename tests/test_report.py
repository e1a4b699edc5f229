"""The HTML report in a real browser (Debian's headless Chromium through selenium): charts drawn,
no console errors, no network, prints on A4, and every number in its tables equal to the marts,
computed here independently. Also: built from the published file alone, and previewed in the
Dagster asset's metadata."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from complaints.report import build_report
from complaints.report.chart_cache import CACHE_DIR

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
A4_WIDTH_PX = 794  # 210 mm at 96 dpi


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium with the browser and network logs (.ci/run installs it when missing)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert CHROMIUM.exists() and CHROMEDRIVER.exists(), "apt-get install chromium chromium-driver"
    os.environ["SE_AVOID_STATS"] = "true"  # else selenium-manager tries the internet
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}", "--window-size=1280,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def open_page(driver: Any, path: Path) -> dict[str, Any]:
    """Load `path`; return its console messages, the URLs it requested and its tables."""
    driver.get_log("browser")
    driver.get_log("performance")
    driver.get(path.as_uri())
    driver.execute_script("return document.readyState")
    console = driver.get_log("browser")
    events = [json.loads(e["message"])["message"] for e in driver.get_log("performance")]
    # Requests made by this document (the browser's own new-tab page logs chrome:// ones too).
    requests = [
        e["params"]["request"]["url"]
        for e in events
        if e["method"] == "Network.requestWillBeSent"
        and e["params"].get("documentURL") == path.as_uri()
    ]
    tables = driver.execute_script(
        """
        return Array.from(document.querySelectorAll('table[data-table]')).map(t => ({
          key: t.dataset.table, attrs: Object.assign({}, t.dataset),
          caption: t.caption ? t.caption.innerText.trim() : '',
          headers: Array.from(t.querySelectorAll('thead th')).map(c => c.innerText.trim()),
          rows: Array.from(t.querySelectorAll('tbody tr')).map(r =>
            Array.from(r.cells).map(c => c.innerText.trim())),
        }));
        """
    )
    return {"console": console, "requests": requests, "tables": tables}


def charts_drawn(driver: Any) -> list[dict[str, Any]]:
    """Per chart: its size on the page and how many marks (bars, cells, lines, points) it drew."""
    result: list[dict[str, Any]] = driver.execute_script(
        """
        return Array.from(document.querySelectorAll('figure .chart svg')).map(svg => {
          const box = svg.getBoundingClientRect();
          const marks = Array.from(svg.querySelectorAll('g.role-mark > path, g.role-mark > line,'
            + ' g.role-mark > rect, g.role-mark > g > path'))
            .filter(m => { const b = m.getBoundingClientRect(); return b.width > 0 || b.height > 0; });
          return {chart: svg.dataset.chart, width: box.width, height: box.height,
                  marks: marks.length,
                  rects: svg.querySelectorAll('g.mark-rect.role-mark > path').length};
        });
        """
    )
    return result


def fmt_int(v: int | None) -> str:
    return "–" if v is None else f"{v:,}"


def fmt_rate(v: float | None) -> str:
    return "n/a" if v is None else f"{v * 100:.1f}%"


def fmt_delta(v: int | None) -> str:
    return "–" if v is None else f"{v:+,}"


def fmt_pp(v: float | None) -> str:
    return "–" if v is None else f"{v * 100:+.1f} pp"


def one(tables: list[dict[str, Any]], key: str, **attrs: str) -> dict[str, Any]:
    found = [
        t
        for t in tables
        if t["key"] == key and all(t["attrs"].get(k) == v for k, v in attrs.items())
    ]
    assert len(found) == 1, (key, attrs, [t["attrs"] for t in tables if t["key"] == key])
    return found[0]


@pytest.fixture(scope="module")
def real(published_warehouse, browser) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    _, warehouse, _ = published_warehouse
    page = open_page(browser, warehouse / "report.html")
    page["charts"] = charts_drawn(browser)
    page["warehouse"] = warehouse
    return page


def marts(warehouse: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(warehouse / "marts.duckdb"), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_renders_without_errors_or_network(real: dict[str, Any]) -> None:
    assert [e for e in real["console"] if e["level"] in ("SEVERE", "WARNING")] == []
    assert real["requests"] and all(u.startswith(("file://", "data:")) for u in real["requests"])
    html = (real["warehouse"] / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", html)
    assert not re.search(r"url\(\s*[\"']?(https?:)?//|@import", html)
    print(f"report: {len(html):,} bytes, {len(real['requests'])} request(s): {real['requests']}")


def test_the_checks_can_fail(browser: Any, tmp_path: Path) -> None:
    """The console and network checks above catch a page that errs or fetches (loopback only)."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!doctype html><img src='http://127.0.0.1:9/x.png'><script>console.error('boom')</script>"
    )
    seen = open_page(browser, page)
    assert any("boom" in e["message"] and e["level"] == "SEVERE" for e in seen["console"])
    assert any(u.startswith("http://127.0.0.1") for u in seen["requests"])


def test_charts_are_drawn(real: dict[str, Any]) -> None:
    charts = {c["chart"]: c for c in real["charts"]}
    print({k: (round(c["width"]), round(c["height"]), c["marks"]) for k, c in charts.items()})
    assert set(charts) == {
        "c-score-brent-2022-23",
        "c-areas-brent-2019-20",
        "c-causes-brent-2019-20",
        "c-recon",
    }
    assert all(c["width"] > 200 and c["height"] > 60 and c["marks"] > 0 for c in charts.values())
    # One bar per department in each of the scorecard's two panels; one cell per heat-map count.
    assert charts["c-score-brent-2022-23"]["rects"] == 2 * 15
    assert charts["c-areas-brent-2019-20"]["rects"] == 15
    cells = marts(
        real["warehouse"],
        "select count(*) from (select distinct department, root_cause_category "
        "from mart_service_root_causes)",
    )[0][0]
    assert charts["c-causes-brent-2019-20"]["rects"] == cells


def test_scorecard_numbers_equal_the_mart(real: dict[str, Any]) -> None:
    table = one(real["tables"], "scorecard", council="Brent", period="2022/23")
    rows = marts(
        real["warehouse"],
        "select rank_by_total, department, total, withdrawn, rejected, decided, upheld, "
        "partly_upheld, not_upheld, upheld + partly_upheld, fault_found_rate "
        "from mart_department_scorecard where period = '2022/23' order by rank_by_total, department",
    )
    expected = [[str(r[0]), r[1], *(fmt_int(v) for v in r[2:10]), fmt_rate(r[10])] for r in rows]
    assert table["rows"][:-1] == expected
    total = marts(
        real["warehouse"],
        "select sum(total), sum(withdrawn), sum(rejected), sum(decided), sum(upheld), "
        "sum(partly_upheld), sum(not_upheld), sum(upheld + partly_upheld), "
        "sum(upheld + partly_upheld) / sum(decided) from mart_department_scorecard",
    )[0]
    assert table["rows"][-1] == ["", "All departments", *(fmt_int(int(v)) for v in total[:8])] + [
        fmt_rate(total[8])
    ]
    assert table["rows"][0][:3] == ["1", "Housing", "1,014"]
    assert "Decided (denominator)" in table["headers"]


def test_service_area_numbers_equal_the_mart(real: dict[str, Any]) -> None:
    table = one(real["tables"], "service-areas", council="Brent", period="2019/20")
    rows = marts(
        real["warehouse"],
        "select service_area, department, instances, upheld_or_partly_upheld, upheld_or_partly_rate "
        "from mart_service_uphold_rates where instances >= 30 and upheld_or_partly_rate is not null "
        "order by upheld_or_partly_rate desc, instances desc, service_area limit 15",
    )
    got = [(r[1], r[3], r[5], r[6], r[8]) for r in table["rows"]]
    assert got == [(r[0], r[1], fmt_int(r[2]), fmt_int(r[3]), fmt_rate(r[4])) for r in rows]
    assert got[0] == ("Repairs", "Community Wellbeing Department", "200", "139", "69.5%")


def test_root_cause_numbers_equal_the_mart(real: dict[str, Any]) -> None:
    table = one(real["tables"], "root-causes", council="Brent", period="2019/20")
    departments = table["headers"][1:-1]
    cells = {
        (row[0], dept): value
        for row in table["rows"][:-1]
        for dept, value in zip(departments, row[1:-1], strict=True)
    }
    expected = {
        (c, d): n
        for d, c, n in marts(
            real["warehouse"],
            "select department, root_cause_category, sum(instances)::bigint "
            "from mart_service_root_causes group by all",
        )
    }
    assert {k: v for k, v in cells.items() if v != "–"} == {
        k: fmt_int(v) for k, v in expected.items()
    }
    assert table["rows"][-1][-1] == "1,793"
    assert "root-cause instances (not complaints)" in table["caption"]


def test_reconciliation_numbers_equal_the_mart(real: dict[str, Any]) -> None:
    summary = one(real["tables"], "reconciliation-summary")
    counts = marts(
        real["warehouse"],
        "select extract_id, count(*) filter (where status = 'ok'), "
        "count(*) filter (where status = 'waived'), count(*) filter (where status = 'failed'), "
        "count(*) from mart_reconciliation group by all order by 1",
    )
    assert [[r[0], *r[3:]] for r in summary["rows"][:-1]] == [
        [r[0], *(fmt_int(v) for v in r[1:])] for r in counts
    ]
    assert summary["rows"][-1][3:] == ["458", "4", "0", "462"]
    exceptions = one(real["tables"], "reconciliation-exceptions")
    rows = marts(
        real["warehouse"],
        "select extract_id, level, scope, measure, source_line, stated, computed, difference, "
        "status, explanation, waiver_ids from mart_reconciliation where status <> 'ok' "
        "order by status, extract_id, source_line, level, scope, measure",
    )
    assert [r[:10] for r in exceptions["rows"]] == [
        [*r[:4], *(fmt_int(v) for v in r[4:8]), r[8], r[9]] for r in rows
    ]
    assert all(r[10].startswith(w[10]) for r, w in zip(exceptions["rows"], rows, strict=True))
    assert [r[4:8] for r in exceptions["rows"]][2] == ["539", "1,929", "1,945", "16"]


def test_extracts_and_publication(real: dict[str, Any]) -> None:
    table = one(real["tables"], "extracts")
    rows = marts(
        real["warehouse"],
        "select extract_id, council, period, source_path, sha256 from publication_extracts "
        "order by council, period, extract_id",
    )
    assert [[r[0], r[1], r[2], r[4], r[5]] for r in table["rows"]] == [list(r) for r in rows]
    html = (real["warehouse"] / "report.html").read_text(encoding="utf-8")
    (pid,) = marts(real["warehouse"], "select publication_id from publication")[0]
    assert f'data-field="publication_id">{pid}<' in html


def test_change_section_explains_single_period_layouts(real: dict[str, Any], browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get((real["warehouse"] / "report.html").as_uri())
    text = browser.find_element(By.ID, "change").text
    assert "No council has more than one Appendix 1 (complaint outcomes) period." in text
    assert "No council has more than one Appendix C (root-cause instances) period." in text
    assert "Brent has periods in different layouts" in text
    assert [t for t in real["tables"] if t["key"] == "change"] == []


def test_prints_on_a4(real: dict[str, Any], browser: Any, tmp_path: Path) -> None:
    """In print media at A4 width nothing is wider than the page, and Chromium prints a PDF."""
    browser.get((real["warehouse"] / "report.html").as_uri())
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    browser.set_window_size(A4_WIDTH_PX, 1000)
    try:
        widths = browser.execute_script(
            """
            const page = document.documentElement.clientWidth;
            return {page: page, widest: Math.max(...Array.from(
              document.querySelectorAll('svg, table, figure, section'))
              .map(e => e.getBoundingClientRect().right))};
            """
        )
        pdf = base64.b64decode(
            browser.execute_cdp_cmd(
                "Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True}
            )["data"]
        )
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        browser.set_window_size(1280, 1000)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    print(f"print: widest element {widths['widest']:.0f} px of {widths['page']} px; {pages} pages")
    assert widths["widest"] <= widths["page"] + 1
    assert pdf.startswith(b"%PDF") and pages >= 5
    (tmp_path / "report.pdf").write_bytes(pdf)


def test_built_from_the_published_file_alone(published_warehouse, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A lone copy of marts.duckdb (no build database, no exports) gives the same report."""
    _, warehouse, _ = published_warehouse
    shutil.copy(warehouse / "marts.duckdb", tmp_path / "marts.duckdb")
    result = build_report(tmp_path / "marts.duckdb", tmp_path / "report.html")
    # Beside the report, only the charts it drew, kept for the next report (chart_cache.py).
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        CACHE_DIR,
        "marts.duckdb",
        "report.html",
    ]
    assert {p.suffix for p in (tmp_path / CACHE_DIR).glob("*/*")} == {".svg"}
    assert result.path.read_bytes() == (warehouse / "report.html").read_bytes()


def test_asset_metadata_links_and_previews(published_warehouse, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from dagster import DagsterInstance, materialize

    from orchestration.defs.publish.report import analysts_report
    from orchestration.resources import WarehouseResource

    _, warehouse, landing = published_warehouse
    private = tmp_path / "warehouse"
    private.mkdir()
    shutil.copy(warehouse / "marts.duckdb", private / "marts.duckdb")
    resource = WarehouseResource(warehouse_dir=str(private), landing_dir=str(landing))
    result = materialize(
        [analysts_report], resources={"warehouse": resource}, instance=DagsterInstance.ephemeral()
    )
    assert result.success
    metadata = result.asset_materializations_for_node("analysts_report")[0].metadata
    assert metadata["path"].value == str(private / "report.html")
    assert metadata["url"].value == (private / "report.html").as_uri()
    preview = str(metadata["preview"].value)
    assert "1,945 complaints" in preview and "458 ok, 4 waived, 0 failed" in preview
    image = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)\)", preview)
    assert image is not None, preview
    png = base64.b64decode(image[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    print(f"preview PNG {width}x{height}, {len(png):,} bytes; summary:\n{preview[:600]}")
    assert width > 300 and height > 150


# --- Several periods per council, both layouts --------------------------------------------------


@pytest.fixture(scope="module")
def multi_period(three_councils: Any, browser: Any) -> dict[str, Any]:
    """The report of the session's three generated councils, two periods each in both layouts
    (tests/conftest.py `three_councils`: its run wrote the report)."""
    summary, _, warehouse, _ = three_councils
    assert summary.success, summary
    page = open_page(browser, warehouse / "report.html")
    page["charts"] = charts_drawn(browser)
    page["warehouse"] = warehouse
    return page


def _expected_changes(warehouse: Path, council: str, sql: str) -> list[list[str]]:
    rows = marts(warehouse, sql, [council])
    out: list[list[str]] = []
    previous: dict[str, tuple[int, float | None]] = {}
    for dept, period, value, num, den in rows:
        rate = num / den if num is not None and den else None
        before = previous.get(dept)
        out.append(
            [
                dept,
                period,
                fmt_int(value),
                fmt_delta(value - before[0] if before else None),
                fmt_int(num),
                fmt_int(den),
                fmt_rate(rate),
                fmt_pp(
                    rate - before[1]
                    if before and rate is not None and before[1] is not None
                    else None
                ),
            ]
        )
        previous[dept] = (value, rate)
    return out


def test_change_between_periods_for_both_layouts(multi_period: dict[str, Any]) -> None:
    warehouse = multi_period["warehouse"]
    councils = [
        r[0] for r in marts(warehouse, "select distinct council from dim_extract order by 1")
    ]
    assert councils == ["Council 0000", "Council 0001", "Council 0002"]
    for council in councils:
        outcomes = one(multi_period["tables"], "change", council=council, layout="outcome_matrix")
        expected = _expected_changes(
            warehouse,
            council,
            "select department, period, total, upheld + partly_upheld, decided "
            "from mart_department_scorecard where council = ? order by department, period",
        )
        body = [r for r in outcomes["rows"] if r[0] != "All departments"]
        assert body == expected
        instances = one(
            multi_period["tables"], "change", council=council, layout="root_cause_summary"
        )
        expected = _expected_changes(
            warehouse,
            council,
            "select department, period, sum(instances)::bigint, "
            "sum(upheld_or_partly_upheld)::bigint, "
            "(sum(instances) filter (where upheld_or_partly_upheld is not null))::bigint "
            "from mart_service_uphold_rates where council = ? and parent_service_area is null "
            "group by all order by department, period",
        )
        assert [r for r in instances["rows"] if r[0] != "All departments"] == expected
        changed = [r for r in body if r[3] != "–"]
        assert changed, "departments reported in both periods have a change"
        print(f"{council}: {len(body)} department-periods, e.g. {changed[0]}")
    charts = multi_period["charts"]
    assert len([c for c in charts if c["chart"].startswith("c-change")]) == 2 * len(councils)
    assert all(c["marks"] > 0 for c in charts)
    assert [e for e in multi_period["console"] if e["level"] in ("SEVERE", "WARNING")] == []
    # The latest period of each council and layout is in the scorecard and service-area sections.
    assert {t["attrs"]["period"] for t in multi_period["tables"] if t["key"] == "scorecard"} == {
        "2019/20"
    }


def test_report_asset_is_downstream_of_the_publication() -> None:
    from dagster import AssetKey

    from orchestration.definitions import defs
    from orchestration.defs.jobs import rebuild_job, refresh_job

    graph = defs().resolve_asset_graph()
    report = AssetKey("analysts_report")
    assert graph.get(report).parent_keys == {AssetKey("published_marts")}
    assert graph.get(report).group_name == "publish"
    for job in (refresh_job, rebuild_job):
        assert report in job.selection.resolve(graph), job.name


def test_many_councils_are_bounded_and_named(published_warehouse, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Nine councils (the real figures copied under other names): each per-council section
    draws the first six and names the three it leaves out."""
    from complaints.report.sections import MAX_COUNCILS

    _, warehouse, _ = published_warehouse
    path = tmp_path / "marts.duckdb"
    shutil.copy(warehouse / "marts.duckdb", path)
    with duckdb.connect(str(path)) as con:
        for table in ("mart_department_scorecard", "mart_service_uphold_rates"):
            con.execute(
                f"insert into {table} select t.* replace ('Copy ' || n as council) "
                f"from {table} as t, range(1, 9) as r(n) where council = 'Brent'"
            )
        con.execute(
            "insert into mart_service_root_causes select t.* replace ('Copy ' || n as council) "
            "from mart_service_root_causes as t, range(1, 9) as r(n) where council = 'Brent'"
        )
    result = build_report(path, tmp_path / "report.html")
    html = result.path.read_text(encoding="utf-8")
    # Three per-council sections, then reconciliation and verification coverage.
    assert result.figures == 3 * MAX_COUNCILS + 2
    assert html.count("Showing the first 6 of 9 councils (alphabetically); not shown: ") == 3
    assert "not shown: Copy 6, Copy 7, Copy 8." in html
