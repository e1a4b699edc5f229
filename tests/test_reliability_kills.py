"""Write-audit-publish under `kill -9`: a run killed while dbt rewrites the build database, or
a launched run worker killed while it holds the warehouse, leaves the published file unchanged,
and the next `complaints run` on the same Dagster home recovers the dead run's claim and succeeds
(orchestration/recovery.py). Part of the reliability suite, in its own file so `make test`'s
workers can run it beside tests/test_reliability.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.pipeline import digest

pytestmark = pytest.mark.integration


def _dbt_running(root_pid: int) -> bool:
    import psutil

    try:
        children = psutil.Process(root_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return False
    for child in children:
        try:
            if "build" in child.cmdline() and any("dbt" in part for part in child.cmdline()):
                return True
        except psutil.Error:
            continue
    return False


def test_sigkill_during_dbt_then_next_run_succeeds(
    workspace: tuple[Path, Path], tmp_path: Path
) -> None:
    landing, warehouse = workspace
    published = warehouse / "marts.duckdb"
    before = digest(published)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "COMPLAINTS_LANDING": str(landing),
        "COMPLAINTS_WAREHOUSE": str(warehouse),
    }
    complaints = Path(sys.executable).parent / "complaints"
    proc = subprocess.Popen(
        [str(complaints), "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not _dbt_running(proc.pid):
            assert proc.poll() is None, "the run ended before dbt started"
            assert time.monotonic() < deadline, "dbt never started"
            time.sleep(0.2)
        time.sleep(3)  # well inside the dbt build: models are being rewritten
        assert proc.poll() is None
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert digest(published) == before, "the published file changed during a killed run"
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select sum(total) from mart_department_scorecard").fetchone() == (1945,)

    # The killed run still holds the build_db_writer slot in this Dagster home: the next
    # `complaints run` on the same home must recover it (one line) rather than wait forever.
    from dagster import DagsterInstance

    from orchestration.recovery import POOL

    with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        info = instance.event_log_storage.get_concurrency_info(POOL)
        killed = {s.run_id for s in info.claimed_slots}
    assert killed, "the killed run held no slot: this test no longer reproduces the hang"
    # A temporary publication file a kill during publication leaves (publication.py's naming).
    litter = warehouse / ".marts.duckdb.0123456789abcdef0123456789abcdef.tmp"
    litter.write_bytes(b"half a database")
    Path(f"{litter}.wal").write_bytes(b"wal")

    started = time.monotonic()
    again = subprocess.run(
        [str(complaints), "run", "--wait", "60"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert time.monotonic() - started < 600
    recovered = [line for line in again.stderr.splitlines() if line.startswith("recovered: ")]
    assert len(recovered) == 1 and next(iter(killed)) in recovered[0], again.stderr
    assert "[updated]" in again.stdout
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select sum(total) from mart_department_scorecard").fetchone() == (1945,)
    leftovers = [p.name for p in warehouse.iterdir() if ".tmp" in p.name]
    assert leftovers == []


def test_sigkill_of_a_launched_run_worker_then_complaints_run_recovers(
    workspace: tuple[Path, Path], tmp_path: Path
) -> None:
    """The daemon-holds-the-slot variant: a run started by another launcher (here `dagster job
    execute`, the same in-process execution a daemon's run worker does) records its process where
    its resources start; killed during dbt, it is recovered by the next `complaints run`."""
    import json

    from dagster import DagsterInstance

    from orchestration.config import ComplaintsConfig
    from orchestration.recovery import PID_TAG, POOL
    from orchestration.runner import configure_instance, sync_partitions
    from orchestration.schedules import all_partitions_tags

    landing, warehouse = workspace
    published = warehouse / "marts.duckdb"
    before = digest(published)
    home = tmp_path / "dagster_home"
    configure_instance(
        ComplaintsConfig.resolve(landing=landing, warehouse=warehouse, dagster_home=home)
    )
    with DagsterInstance.from_config(str(home)) as instance:
        keys = sync_partitions(instance, landing)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "COMPLAINTS_LANDING": str(landing),
        "COMPLAINTS_WAREHOUSE": str(warehouse),
    }
    bin_dir = Path(sys.executable).parent
    worker = subprocess.Popen(
        [
            str(bin_dir / "dagster"),
            "job",
            "execute",
            "-m",
            "orchestration.definitions",
            "-j",
            "refresh_warehouse",
            "--tags",
            json.dumps(all_partitions_tags(keys)),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while not _dbt_running(worker.pid):
            assert worker.poll() is None, "the launched run ended before dbt started"
            assert time.monotonic() < deadline, "dbt never started"
            time.sleep(0.2)
        time.sleep(3)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    assert digest(published) == before
    with DagsterInstance.from_config(str(home)) as instance:
        killed = {
            s.run_id for s in instance.event_log_storage.get_concurrency_info(POOL).claimed_slots
        }
        assert len(killed) == 1
        run = instance.get_run_by_id(next(iter(killed)))
        assert run is not None and PID_TAG in run.tags, "the resource did not record the process"

    again = subprocess.run(
        [str(bin_dir / "complaints"), "run", "--wait", "60"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    recovered = [line for line in again.stderr.splitlines() if line.startswith("recovered: ")]
    assert len(recovered) == 1 and next(iter(killed)) in recovered[0], again.stderr
    assert "[updated]" in again.stdout
    assert not [p.name for p in warehouse.iterdir() if ".tmp" in p.name]
