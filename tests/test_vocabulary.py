"""One source of truth for the shared vocabulary (ingest/vocabulary.py): dbt's generated var is
current, the parsers write only its levels, measures and scope formats, and a waiver written with
it still applies after the whole pipeline (parser -> raw tables -> dbt -> gate -> publication)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from complaints import dbt_vocabulary
from expectations.waivers import CHECKS, WAIVERS_FILE
from ingest import vocabulary as v
from ingest.api import parse_extract
from ingest.records import OUTCOME_COLUMNS
from tests.conftest import APPENDIX_1, APPENDIX_C
from tests.pipeline import copy_landing, replace_in_line, run

pytestmark = pytest.mark.integration


def test_dbt_var_is_generated_from_the_python_vocabulary(tmp_path: Path) -> None:
    assert dbt_vocabulary.is_current(), "run python -m complaints.dbt_vocabulary"
    project = yaml.safe_load(dbt_vocabulary.project_yml().read_text(encoding="utf-8"))
    assert project["vars"]["complaints_vocabulary"] == v.as_dbt_var()
    # A change on the Python side makes the block stale until it is regenerated.
    copy = tmp_path / "dbt_project.yml"
    copy.write_text(
        dbt_vocabulary.project_yml().read_text().replace("(not stated)", "(none)"), "utf-8"
    )
    assert not dbt_vocabulary.is_current(copy)
    assert dbt_vocabulary.write(copy) and dbt_vocabulary.is_current(copy)


def test_waivable_levels_and_outcomes_come_from_the_vocabulary() -> None:
    assert (
        CHECKS
        == v.WAIVABLE_LEVELS
        == {
            "heading",
            "service_area",
            "service_area_upheld",
            "root_cause",
            "department",
            "grand_total",
            "period",
        }
    )
    assert v.OUTCOME_NAMES == OUTCOME_COLUMNS
    assert [o.name for o in v.OUTCOMES if o.decided] == ["not_upheld", "partly_upheld", "upheld"]


def test_parsers_write_the_vocabularys_levels_measures_and_scopes() -> None:
    appendix_c = parse_extract(APPENDIX_C.read_bytes(), "root_cause_summary", str(APPENDIX_C))
    appendix_1 = parse_extract(APPENDIX_1.read_bytes(), "outcome_matrix", str(APPENDIX_1))
    for parsed in (appendix_c, appendix_1):
        for total in parsed.control_totals:
            assert total.level in v.LEVELS, total
            assert total.measure in v.LEVELS[total.level].measures, total
    areas = {
        v.service_area_scope(a.department, a.directorate, a.service_area)
        for a in appendix_c.service_areas
    }
    by_level: dict[str, set[str]] = {}
    for total in appendix_c.control_totals:
        by_level.setdefault(total.level, set()).add(total.scope)
    assert by_level["service_area"] <= areas and by_level["service_area_upheld"] <= areas
    assert by_level["heading"] == {h.heading_text for h in appendix_c.headings}
    scopes = {
        (s.level, v.root_cause_scope(s.department or "", s.root_cause or ""))
        if s.level == "root_cause"
        else (s.level, v.department_scope(s.department or ""))
        if s.level == "department"
        else (s.level, v.GRAND_TOTAL)
        for s in appendix_1.subtotals
    }
    assert {(t.level, t.scope) for t in appendix_1.control_totals if t.level != "row"} == scopes


def test_a_waiver_written_with_the_vocabulary_applies_after_the_round_trip(
    tmp_path: Path,
) -> None:
    """A new discrepancy in Appendix C (Repairs' causes now add up to 201, stated 200, so its
    heading adds up to 781, stated 780) blocks publication; waivers whose level, scope and measure
    come from ingest/vocabulary.py (not typed by hand) waive both totals where the parser checks
    them and where dbt recomputes them, and the marts are published."""
    landing = copy_landing(tmp_path / "landing")
    replace_in_line(landing / APPENDIX_C.name, 10, "Service Delayed – 71", "Service Delayed – 72")
    scope = v.service_area_scope("Community Wellbeing Department", "Housing Directorate", "Repairs")
    shipped = yaml.safe_load(WAIVERS_FILE.read_text(encoding="utf-8"))
    waiver = {
        "id": "repairs-causes",
        "extract_id": "brent_2019_20_root_causes",
        "check": v.LEVELS["service_area"].name,
        "scope": scope,
        "measure": v.INSTANCES_MEASURE,
        "stated": 200,
        "computed": 201,
        "reason": "test: one cause count raised by one",
        "reviewed_by": "tests",
        "reviewed_on": "2026-11-26",
    }
    changed = landing / APPENDIX_C.name
    parsed = parse_extract(changed.read_bytes(), "root_cause_summary", str(changed))
    (heading,) = [h for h in parsed.headings if h.directorate == "Housing Directorate"]
    heading_waiver = {
        **waiver,
        "id": "housing-heading",
        "check": v.LEVELS["heading"].name,
        "scope": heading.heading_text,  # the heading level's scope: its text as written
        "stated": 780,
        "computed": 781,
    }
    waivers = tmp_path / "waivers.yml"
    all_waivers = [*shipped["waivers"], waiver, heading_waiver]
    waivers.write_text(yaml.safe_dump({"waivers": all_waivers}), "utf-8")

    summary = run(landing, tmp_path / "warehouse", waivers=waivers)
    assert summary.success and not summary.checks_failed, summary.failed_steps
    assert summary.published_updated
    query = "select status, waiver_ids from {} where level = ? and scope = ? and measure = ?"
    key = ["service_area", scope, "instances"]
    with duckdb.connect(str(tmp_path / "warehouse" / "build.duckdb"), read_only=True) as con:
        assert con.execute(query.format("recon_instance_totals"), key).fetchall() == [
            ("waived", "repairs-causes")
        ]
        assert con.execute(
            "select matched from recon_waivers where waiver_id = 'repairs-causes'"
        ).fetchall() == [(True,)]
    with duckdb.connect(str(tmp_path / "warehouse" / "marts.duckdb"), read_only=True) as con:
        assert con.execute(query.format("mart_reconciliation"), key).fetchall() == [
            ("waived", "repairs-causes")
        ]
