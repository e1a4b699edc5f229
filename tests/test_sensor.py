"""The landing-folder sensor against a real instance: a new extract adds its partition and requests
a run, an unchanged folder requests nothing, a changed file refreshes its partition, and a removed
manifest entry deletes its partition; the rebuild it requests removes the extract's rows."""

from __future__ import annotations

from pathlib import Path

import duckdb
import yaml
from dagster import (
    AddDynamicPartitionsRequest,
    DagsterInstance,
    DeleteDynamicPartitionsRequest,
    SensorResult,
    SkipReason,
    build_sensor_context,
)

from orchestration.partitions import EXTRACTS_PARTITION
from orchestration.resources import WarehouseResource
from orchestration.sensors import landing_folder_sensor
from tests.pipeline import APPENDIX_C, config_for, copy_landing, replace_in_line, run

C_ID = "brent_2019_20_root_causes"
ONE_ID = "brent_2022_23_outcome_matrix"


def evaluate(
    instance: DagsterInstance, cursor: str | None, landing: Path
) -> SensorResult | SkipReason:
    # The sensor reads the landing folder from the configuration, through the resource.
    warehouse = WarehouseResource(
        warehouse_dir=str(landing.parent / "warehouse"), landing_dir=str(landing)
    )
    context = build_sensor_context(
        instance=instance, cursor=cursor, resources={"warehouse": warehouse}
    )
    result = landing_folder_sensor(context)
    if isinstance(result, SensorResult):
        # What the daemon does with the requests.
        for request in result.dynamic_partitions_requests or []:
            if isinstance(request, AddDynamicPartitionsRequest):
                instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
            elif isinstance(request, DeleteDynamicPartitionsRequest):
                for key in request.partition_keys:
                    instance.delete_dynamic_partition(request.partitions_def_name, key)
    return result


def test_sensor_adds_refreshes_and_removes(tmp_path: Path) -> None:
    landing = copy_landing(tmp_path / "landing")
    instance = DagsterInstance.ephemeral()

    first = evaluate(instance, None, landing)
    assert isinstance(first, SensorResult)
    assert sorted(r.partition_key for r in first.run_requests) == [C_ID, ONE_ID]
    assert {r.job_name for r in first.run_requests} == {"refresh_warehouse"}
    assert sorted(instance.get_dynamic_partitions(EXTRACTS_PARTITION)) == [C_ID, ONE_ID]

    # Nothing changed: nothing requested.
    again = evaluate(instance, first.cursor, landing)
    assert isinstance(again, SkipReason)

    # One byte of one file changed: only that partition is refreshed.
    replace_in_line(landing / APPENDIX_C, 10, "Other – 2", "Other – 3")
    changed = evaluate(instance, first.cursor, landing)
    assert isinstance(changed, SensorResult)
    assert [r.partition_key for r in changed.run_requests] == [C_ID]
    assert not changed.dynamic_partitions_requests
    assert isinstance(evaluate(instance, changed.cursor, landing), SkipReason)

    # The manifest entry (and its file) removed: partition deleted, a rebuild requested.
    manifest = landing / "manifest.yml"
    doc = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    doc["extracts"] = [e for e in doc["extracts"] if e["path"] != APPENDIX_C]
    manifest.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    (landing / APPENDIX_C).unlink()
    removed = evaluate(instance, changed.cursor, landing)
    assert isinstance(removed, SensorResult)
    assert [(r.job_name, r.partition_key) for r in removed.run_requests] == [
        ("rebuild_without_parsing", None)
    ]
    assert instance.get_dynamic_partitions(EXTRACTS_PARTITION) == [ONE_ID]


def test_removed_extract_loses_its_rows(tmp_path) -> None:  # type: ignore[no-untyped-def]
    landing = copy_landing(tmp_path / "landing")
    warehouse = tmp_path / "warehouse"
    instance = DagsterInstance.ephemeral()
    assert run(landing, warehouse, instance).success

    manifest = landing / "manifest.yml"
    doc = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    doc["extracts"] = [e for e in doc["extracts"] if e["path"] != APPENDIX_C]
    manifest.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    (landing / APPENDIX_C).unlink()
    result = evaluate(instance, None, landing)
    assert isinstance(result, SensorResult)
    (request,) = [r for r in result.run_requests if r.job_name == "rebuild_without_parsing"]

    from orchestration.definitions import build_defs

    job = build_defs(config_for(landing, warehouse)).resolve_job_def(request.job_name)
    outcome = job.execute_in_process(instance=instance, tags=request.tags, raise_on_error=False)
    assert outcome.success
    with duckdb.connect(str(warehouse / "build.duckdb"), read_only=True) as con:
        assert con.execute("select extract_id from raw.extracts").fetchall() == [(ONE_ID,)]
        assert con.execute("select count(*) from raw.causes").fetchone() == (0,)
    with duckdb.connect(str(warehouse / "marts.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from mart_service_uphold_rates").fetchone() == (0,)
        assert con.execute("select sum(total) from mart_department_scorecard").fetchone() == (1945,)
