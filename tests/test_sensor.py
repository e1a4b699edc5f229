"""The landing-folder sensor against a real Dagster instance and a real warehouse.

The sensor compares the landing folder with what the warehouse holds (the fingerprint each extract
was loaded from), so its first tick on a loaded warehouse requests nothing; every new, changed or
removed extract of one tick goes into one run, whose partitions are exactly the new and changed
ones; a file that changes while a run is in flight is picked up after it, and only if the run did
not load it already.
"""

from __future__ import annotations

import shutil
import sys
import uuid
from pathlib import Path

import duckdb
import pytest
import yaml
from dagster import (
    AddDynamicPartitionsRequest,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    DeleteDynamicPartitionsRequest,
    RunRequest,
    SensorResult,
    SkipReason,
    build_sensor_context,
)

from orchestration.defs.ingest.partitions import EXTRACTS_PARTITION
from orchestration.defs.ingest.sensors import REMOVED_TAG, landing_folder_sensor
from orchestration.resources import WarehouseResource
from tests.pipeline import (
    APPENDIX_C,
    config_for,
    copy_landing,
    copy_published,
    load_raw,
    replace_in_line,
    run,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from generate import generate  # noqa: E402

C_ID = "brent_2019_20_root_causes"
ONE_ID = "brent_2022_23_outcome_matrix"
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def evaluate(
    instance: DagsterInstance, landing: Path, warehouse: Path
) -> SensorResult | SkipReason:
    """One tick, then what the daemon does with its partition requests (in their order)."""
    resource = WarehouseResource(warehouse_dir=str(warehouse), landing_dir=str(landing))
    with build_sensor_context(instance=instance, resources={"warehouse": resource}) as context:
        result = landing_folder_sensor(context)
    assert isinstance(result, (SensorResult, SkipReason)), result
    if isinstance(result, SensorResult):
        for request in result.dynamic_partitions_requests or []:
            if isinstance(request, AddDynamicPartitionsRequest):
                instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
            elif isinstance(request, DeleteDynamicPartitionsRequest):
                for key in request.partition_keys:
                    instance.delete_dynamic_partition(request.partitions_def_name, key)
    return result


def partitions_of(request: RunRequest, instance: DagsterInstance) -> list[str]:
    """The extract partitions the requested run covers, resolved as Dagster resolves a range."""
    keys = list(instance.get_dynamic_partitions(EXTRACTS_PARTITION))
    start, end = keys.index(request.tags[RANGE_START]), keys.index(request.tags[RANGE_END])
    return keys[start : end + 1]


def the_run(result: SensorResult | SkipReason) -> RunRequest:
    assert isinstance(result, SensorResult), result
    (request,) = result.run_requests or []
    return request


def add_generated(landing: Path, scratch: Path, count: int) -> list[str]:
    """`count` generated extracts added to the landing folder and its manifest; their ids."""
    entries = generate(scratch, extracts=count, seed=11, years=1)
    manifest = landing / "manifest.yml"
    doc = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    for entry in entries:
        shutil.copy(scratch / entry["path"], landing / entry["path"])
        doc["extracts"].append(entry)
    manifest.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return [e["id"] for e in entries]


def edit_manifest(
    landing: Path, drop: str | None = None, source_url: tuple[str, str] | None = None
) -> None:
    manifest = landing / "manifest.yml"
    doc = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    if drop is not None:
        (gone,) = [e for e in doc["extracts"] if e.get("id") == drop or e["path"] == drop]
        doc["extracts"].remove(gone)
        (landing / gone["path"]).unlink()
    if source_url is not None:
        for entry in doc["extracts"]:
            if entry.get("id") == source_url[0]:
                entry["source_url"] = source_url[1]
    manifest.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def test_new_files_request_one_run_over_all_of_them(tmp_path: Path) -> None:
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    entries = generate(landing, extracts=6, seed=3, years=1)
    instance = DagsterInstance.ephemeral()

    request = the_run(evaluate(instance, landing, warehouse))
    assert request.job_name == "refresh_warehouse"
    assert partitions_of(request, instance) == [e["id"] for e in entries]
    assert isinstance(evaluate(instance, landing, warehouse), SensorResult)  # not loaded yet


def test_first_tick_on_a_loaded_warehouse_requests_nothing(tmp_path: Path) -> None:
    landing, warehouse = copy_landing(tmp_path / "landing"), tmp_path / "warehouse"
    load_raw(landing, warehouse)
    instance = DagsterInstance.ephemeral()

    # A fresh instance (no cursor, no partitions): the partitions come back, no run.
    first = evaluate(instance, landing, warehouse)
    assert isinstance(first, SensorResult)
    assert not first.run_requests
    assert sorted(instance.get_dynamic_partitions(EXTRACTS_PARTITION)) == sorted([C_ID, ONE_ID])
    assert isinstance(evaluate(instance, landing, warehouse), SkipReason)

    # Without the state file (a warehouse built before it): read from the build database.
    (warehouse / "loaded_extracts.json").unlink()
    assert isinstance(evaluate(instance, landing, warehouse), SkipReason)


def test_change_during_a_run_is_picked_up_after_it_once(tmp_path: Path) -> None:
    landing, warehouse = copy_landing(tmp_path / "landing"), tmp_path / "warehouse"
    load_raw(landing, warehouse)
    instance = DagsterInstance.ephemeral()
    assert not evaluate(instance, landing, warehouse).run_requests  # type: ignore[union-attr]

    in_flight = DagsterRun(
        job_name="refresh_warehouse", run_id=str(uuid.uuid4()), status=DagsterRunStatus.STARTED
    )
    instance.add_run(in_flight)
    replace_in_line(landing / APPENDIX_C, 10, "Other – 2", "Other – 3")
    waiting = evaluate(instance, landing, warehouse)
    assert isinstance(waiting, SkipReason) and in_flight.run_id in (waiting.skip_message or "")

    # The run parsed the file after it changed: nothing left to load, so nothing is requested.
    load_raw(landing, warehouse, [C_ID])
    instance.report_run_failed(in_flight)
    assert isinstance(evaluate(instance, landing, warehouse), SkipReason)

    # Another change, after the last run: the next tick requests exactly that extract.
    replace_in_line(landing / APPENDIX_C, 10, "Other – 3", "Other – 4")
    request = the_run(evaluate(instance, landing, warehouse))
    assert partitions_of(request, instance) == [C_ID]


@pytest.mark.integration
def test_one_run_adds_changes_removes_and_publishes(published_warehouse, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # The bundled extracts as `complaints run` published them (a copy of the session's run),
    # watched by a Dagster instance that has never seen them: the sensor's state comes from the
    # warehouse alone, so its first tick requests no run (it only registers the loaded extracts
    # as partitions of this instance).
    _, published, published_landing = published_warehouse
    landing, warehouse = copy_published(published_landing, published, tmp_path)
    instance = DagsterInstance.ephemeral()
    first = evaluate(instance, landing, warehouse)
    assert isinstance(first, SkipReason) or not first.run_requests, first
    assert sorted(instance.get_dynamic_partitions(EXTRACTS_PARTITION)) == [C_ID, ONE_ID]

    # In one tick: two new extracts, one changed manifest entry, one removed entry.
    new = add_generated(landing, tmp_path / "generated", 2)
    edit_manifest(landing, drop=APPENDIX_C, source_url=(ONE_ID, "https://example.org/changed"))
    result = evaluate(instance, landing, warehouse)
    request = the_run(result)
    assert request.job_name == "refresh_warehouse"
    assert partitions_of(request, instance) == [ONE_ID, *new]
    assert request.tags[REMOVED_TAG] == C_ID
    assert C_ID not in instance.get_dynamic_partitions(EXTRACTS_PARTITION)

    from orchestration.definitions import build_defs

    job = build_defs(config_for(landing, warehouse)).resolve_job_def(request.job_name)
    outcome = job.execute_in_process(instance=instance, tags=request.tags, raise_on_error=False)
    assert outcome.success
    with duckdb.connect(str(warehouse / "marts.duckdb"), read_only=True) as con:
        published = dict(con.execute("select extract_id, source_url from dim_extract").fetchall())
        assert published == {
            ONE_ID: "https://example.org/changed",
            **{key: None for key in new},
        }
        assert con.execute("select count(*) from mart_service_uphold_rates").fetchone()[0] > 0  # type: ignore[index]
        assert con.execute(
            "select count(*) from mart_service_uphold_rates where extract_id = ?", [C_ID]
        ).fetchone() == (0,)
    # Everything loaded: the next tick requests nothing.
    assert isinstance(evaluate(instance, landing, warehouse), SkipReason)

    # The incremental path (one run parsing only what changed) publishes exactly what a full run
    # over the same landing folder publishes on a fresh warehouse.
    full = tmp_path / "full_warehouse"
    assert run(landing, full).success
    incremental_tables = published_tables(warehouse)
    assert incremental_tables == published_tables(full)
    assert {"dim_extract", "fct_complaint_outcomes", "mart_reconciliation"} <= set(
        incremental_tables
    )


def published_tables(warehouse: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every published dim, fact and mart, all rows in a canonical order."""
    with duckdb.connect(str(warehouse / "marts.duckdb"), read_only=True) as con:
        names = [
            name
            for (name,) in con.execute(
                "select table_name from duckdb_tables() where regexp_matches(table_name, "
                "'^(dim|fct|mart)_') order by 1"
            ).fetchall()
        ]
        return {
            name: con.execute(f'select * from "{name}" order by all').fetchall() for name in names
        }


def test_only_a_removal_requests_a_rebuild(tmp_path: Path) -> None:
    landing, warehouse = copy_landing(tmp_path / "landing"), tmp_path / "warehouse"
    load_raw(landing, warehouse)
    instance = DagsterInstance.ephemeral()
    assert not evaluate(instance, landing, warehouse).run_requests  # type: ignore[union-attr]

    edit_manifest(landing, drop=APPENDIX_C)
    request = the_run(evaluate(instance, landing, warehouse))
    assert (request.job_name, request.tags[REMOVED_TAG]) == ("rebuild_without_parsing", C_ID)
    assert RANGE_START not in request.tags
    assert instance.get_dynamic_partitions(EXTRACTS_PARTITION) == [ONE_ID]
