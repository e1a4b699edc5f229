"""The landing-folder sensor as the real daemon runs it (DuckDB target): `dagster-daemon run` on a
test instance with a two-second sensor interval, the sensor started with `dagster sensor start`,
runs launched by the daemon's run launcher in processes of their own.

The story: a landing folder with one extract publishes through a daemon-launched run; a second
extract added to the manifest gets one run of its own, covering only it; a tick with nothing new
is a skip; an extract broken afterwards fails its run, leaves the publication as it was, and is
not requested again while it stays the same (the run key)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import duckdb
import yaml
from dagster import DagsterInstance, DagsterRunStatus

from complaints.config import ComplaintsConfig
from orchestration.lib.instance import configure_instance
from tests.daemon import (
    daemon_env,
    finished_runs,
    running_daemon,
    sensor_ticks,
    start_sensor,
    wait_for,
)
from tests.pipeline import APPENDIX_1, APPENDIX_C, copy_landing

C_ID = "brent_2019_20_root_causes"
ONE_ID = "brent_2022_23_outcome_matrix"
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
RUN_TIMEOUT = 420


def write_manifest(landing: Path, document: dict[str, object], ids: list[str]) -> None:
    entries = [e for e in document["extracts"] if e["id"] in ids]  # type: ignore[attr-defined]
    (landing / "manifest.yml").write_text(yaml.safe_dump({"extracts": entries}, sort_keys=False))


def published_extracts(warehouse: Path) -> list[str]:
    with duckdb.connect(str(warehouse / "marts.duckdb"), read_only=True) as con:
        rows = con.execute("select extract_id from publication_extracts order by 1").fetchall()
    return [r[0] for r in rows]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_daemon_publishes_new_extracts_one_run_per_tick(tmp_path: Path) -> None:
    landing = copy_landing(tmp_path / "landing")
    warehouse = tmp_path / "warehouse"
    home = tmp_path / "home"
    document = yaml.safe_load((landing / "manifest.yml").read_text())
    write_manifest(landing, document, [C_ID])
    held_back = (landing / APPENDIX_1).rename(tmp_path / APPENDIX_1)
    configure_instance(ComplaintsConfig.resolve(landing, warehouse, dagster_home=home))
    env = daemon_env(
        home, {"COMPLAINTS_LANDING": str(landing), "COMPLAINTS_WAREHOUSE": str(warehouse)}
    )
    log = tmp_path / "daemon.log"
    start_sensor(env)

    with running_daemon(env, log), DagsterInstance.from_config(str(home)) as instance:
        first = wait_for("the first run", lambda: finished_runs(instance), RUN_TIMEOUT, log)
        assert isinstance(first, list) and len(first) == 1
        run = first[0]
        assert run.status == DagsterRunStatus.SUCCESS, run.run_id
        assert run.tags.get("dagster/sensor_name") == "landing_folder_sensor"
        assert (run.tags[RANGE_START], run.tags[RANGE_END]) == (C_ID, C_ID)
        assert published_extracts(warehouse) == [C_ID]

        held_back.rename(landing / APPENDIX_1)
        write_manifest(landing, document, [C_ID, ONE_ID])
        two = wait_for(
            "the second run", lambda: len(finished_runs(instance)) >= 2, RUN_TIMEOUT, log
        )
        assert two
        runs = finished_runs(instance)
        assert len(runs) == 2
        second = runs[1]
        assert second.status == DagsterRunStatus.SUCCESS, second.run_id
        # One run for the one new extract, not for both.
        assert (second.tags[RANGE_START], second.tags[RANGE_END]) == (ONE_ID, ONE_ID)
        assert published_extracts(warehouse) == [C_ID, ONE_ID]

        # Nothing new: the next tick is the daemon's skip.
        ticks_before = len(sensor_ticks(instance))
        wait_for(
            "a skipped tick",
            lambda: (
                "SKIPPED" in sensor_ticks(instance)[: len(sensor_ticks(instance)) - ticks_before]
            ),
            60,
            log,
        )

        # An extract broken afterwards: its run fails, the publication stays, and the same
        # broken file is not requested again.
        published = digest(warehouse / "marts.duckdb")
        (landing / APPENDIX_C).write_text("not an appendix at all\n")
        wait_for("the failing run", lambda: len(finished_runs(instance)) >= 3, RUN_TIMEOUT, log)
        third = finished_runs(instance)[2]
        assert third.status == DagsterRunStatus.FAILURE
        assert digest(warehouse / "marts.duckdb") == published
        time.sleep(8)  # several more ticks at the two-second interval
        assert len(instance.get_runs()) == 3
