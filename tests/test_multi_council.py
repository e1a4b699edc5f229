"""Several councils in one warehouse: council is part of every mart's grain, and departments with
the same name in different councils never merge.

Twelve generated extracts (benchmarks/generate.py): three councils, two periods, both layouts
each, so every council reports departments with the same names in the same periods. The expected
figures are computed independently from the generated files by the parser, not from the
warehouse.
"""

from __future__ import annotations

import shutil
import sys
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest
import yaml

from ingest.api import parse_entry
from ingest.manifest import load_manifest
from tests.conftest import COUNCILS_SEED

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from generate import generate  # noqa: E402

pytestmark = pytest.mark.integration

COUNCILS = 3
PERIODS = 2
EXTRACTS = COUNCILS * PERIODS * 2
OUTCOMES = ("withdrawn", "not_upheld", "partly_upheld", "rejected", "upheld", "total")


# `three_councils` (tests/conftest.py, one per session: the server-mode tests compare with it).


def _expected(landing: Path) -> tuple[dict, dict]:
    """Per (council, period, department) outcome totals and per (council, period, department,
    directorate, unresolved section, service area) instances and upheld counts, straight from the
    parser."""
    outcomes: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0] * len(OUTCOMES))
    areas: dict[tuple[str, str, str, str | None, int | None, str], tuple[int, int | None]] = {}
    for entry in load_manifest(landing):
        parsed = parse_entry(entry)
        assert parsed.reconciles, entry.path
        for row in parsed.outcome_rows:
            sums = outcomes[(entry.council, entry.period, row.department)]
            for i, name in enumerate(OUTCOMES):
                sums[i] += getattr(row, name)
        for area in parsed.service_areas:
            key = (
                entry.council,
                entry.period,
                area.department,
                area.directorate,
                area.unresolved_section,
                area.service_area,
            )
            assert key not in areas, key
            areas[key] = (area.instances, area.upheld_or_partly_upheld)
    return {k: tuple(v) for k, v in outcomes.items()}, areas


def test_run_passes_every_blocking_check(three_councils) -> None:  # type: ignore[no-untyped-def]
    summary, *_ = three_councils
    assert summary.success, summary.failed_steps
    assert not summary.checks_failed, summary.checks_failed
    assert summary.published_updated
    gx = {name: ok for name, (ok, _) in summary.gate_results.items() if ":gx_" in name}
    assert gx and all(gx.values()), gx


def test_same_department_name_stays_separate_per_council(three_councils) -> None:  # type: ignore[no-untyped-def]
    _, landing, warehouse, _ = three_councils
    expected_outcomes, expected_areas = _expected(landing)
    names = defaultdict(set)
    for council, _, department in expected_outcomes:
        names[department].add(council)
    shared = {d for d, councils in names.items() if len(councils) > 1}
    assert shared, "the generated councils must share department names for this test to mean much"

    with duckdb.connect(str(warehouse / "marts.duckdb"), read_only=True) as con:
        scorecard = {
            (r[0], r[1], r[2]): tuple(r[3:])
            for r in con.execute(
                f"select council, period, department, {', '.join(OUTCOMES)} "
                "from mart_department_scorecard"
            ).fetchall()
        }
        matrix = {
            (r[0], r[1], r[2]): r[3]
            for r in con.execute(
                "select council, period, department, sum(total)::bigint from mart_outcome_matrix "
                "group by all"
            ).fetchall()
        }
        uphold = {
            (r[0], r[1], r[2], r[3], r[4], r[5]): (r[6], r[7])
            for r in con.execute(
                "select council, period, department, directorate, unresolved_section, "
                "service_area, instances, upheld_or_partly_upheld from mart_service_uphold_rates"
            ).fetchall()
        }
        keys_across_councils = con.execute(
            "select count(*) from (select department_key from dim_department "
            "group by department_key having count(distinct council) > 1)"
        ).fetchone()[0]
        dim_councils = dict(
            con.execute(
                "select department, count(distinct council) from dim_department group by all"
            ).fetchall()
        )

    # One scorecard row per council, period and department, with exactly the parser's totals.
    assert scorecard == expected_outcomes
    assert matrix == {k: v[-1] for k, v in expected_outcomes.items()}
    for department in shared:
        rows = {c for c, _, d in scorecard if d == department}
        assert rows == names[department], department
    # Appendix C: each council's service areas keep their own instances and upheld counts.
    assert uphold == expected_areas
    # The conformed department dimension: no key spans councils (a key is council x department
    # x directorate), and a shared name has its own rows in every council that reports it.
    assert keys_across_councils == 0
    for department in shared:
        assert dim_councils[department] == len(names[department]), department


def test_council_is_part_of_every_mart_grain(three_councils) -> None:  # type: ignore[no-untyped-def]
    _, _, warehouse, _ = three_councils
    grains = {
        "mart_service_uphold_rates": "period, department, directorate, unresolved_section, "
        "service_area",
        "mart_service_root_causes": "period, department, directorate, unresolved_section, "
        "service_area, cause_label",
        "mart_outcome_matrix": "period, department, root_cause, issue_type",
        "mart_department_scorecard": "period, department",
        "mart_improvement_actions": "period, department, service_heading, action_text",
    }
    with duckdb.connect(str(warehouse / "marts.duckdb"), read_only=True) as con:
        marts = [
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where table_name like 'mart_%'"
            ).fetchall()
        ]
        assert set(grains) | {"mart_reconciliation"} <= set(marts)
        for table in marts:
            columns = {
                r[0]
                for r in con.execute(
                    "select column_name from duckdb_columns() where table_name = ?", [table]
                ).fetchall()
            }
            assert "council" in columns, table

        def duplicates(table: str, grain: str) -> int:
            return con.execute(
                f"select count(*) from (select {grain} from {table} group by all "
                "having count(*) > 1)"
            ).fetchone()[0]

        for table, grain in grains.items():
            if table != "mart_improvement_actions":
                assert duplicates(table, f"{grain}, council") == 0, table  # unique with council
        # ...and not without it: the councils share department names (the generator draws them
        # from one list), so council is what tells their rows apart.
        assert duplicates("mart_department_scorecard", grains["mart_department_scorecard"]) > 0


def test_one_added_extract_parses_only_its_partition(three_councils, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`complaints run --partition KEY`: only the new extract is parsed; the others' raw rows are
    reused and every mart is rebuilt from all of them."""
    from dagster import AssetKey, DagsterEventType

    from complaints.config import ComplaintsConfig
    from orchestration.lib.instance import configure_instance, open_instance
    from orchestration.lib.runner import run_pipeline

    _, landing0, warehouse0, home0 = three_councils
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    shutil.copytree(landing0, landing)
    shutil.copytree(warehouse0, warehouse, symlinks=True)  # `exports` stays a link
    # The session's instance knows the twelve partitions; this test's runs go to a copy of it.
    home = shutil.copytree(home0, tmp_path / "dagster_home")
    entries = generate(
        tmp_path / "more",
        extracts=EXTRACTS + 1,
        seed=COUNCILS_SEED,
        years=PERIODS,
        shared_names=True,
    )
    new = entries[-1]  # council 3's first Appendix C
    shutil.copy(tmp_path / "more" / new["path"], landing / new["path"])
    manifest = yaml.safe_load((landing / "manifest.yml").read_text())
    manifest["extracts"].append(new)
    (landing / "manifest.yml").write_text(yaml.safe_dump(manifest, sort_keys=False))

    config = ComplaintsConfig.resolve(landing=landing, warehouse=warehouse, dagster_home=home)
    configure_instance(config)  # the copy's dagster.yaml names the copy's folders
    with open_instance(config) as instance:
        summary = run_pipeline(config, instance=instance, partition=new["id"])
        assert summary.success and not summary.checks_failed, summary.failed_steps
        assert summary.extracts == [new["id"]]
        # The run parsed exactly one partition of raw_extracts: the new extract.
        events = instance.all_logs(summary.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
        parsed = [
            e.dagster_event.partition
            for e in events
            if e.dagster_event.asset_key == AssetKey("raw_extracts")
        ]
        assert parsed == [new["id"]]
        with duckdb.connect(str(warehouse / "marts.duckdb"), read_only=True) as con:
            councils = con.execute(
                "select count(distinct council) from mart_service_uphold_rates"
            ).fetchone()[0]
            extracts = con.execute("select count(*) from dim_extract").fetchone()[0]
        assert councils == COUNCILS + 1
        assert extracts == EXTRACTS + 1

        assert run_pipeline(config, instance=instance, partition="no_such_extract").error
