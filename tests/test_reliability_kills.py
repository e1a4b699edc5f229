"""Write-audit-publish under `kill -9`, as one story on one warehouse and Dagster home (module
fixture `story`), each test asserting one part of it:

1. a run started by another launcher (`dagster job execute`, the same in-process execution a
   daemon's run worker does) is killed while dbt rewrites the build database;
2. the next `complaints run` recovers that run's claim on the warehouse (orchestration/
   recovery.py), starts, and is itself killed while dbt runs;
3. the next `complaints run` recovers the second dead run, removes the temporary files a killed
   publication leaves, and succeeds.

The published file is unchanged after each kill. Part of the reliability suite, in its own file so
`make test`'s workers can run it beside tests/test_reliability.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import duckdb
import pytest

from tests.pipeline import copy_published, digest

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent


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


def _kill_during_dbt(proc: subprocess.Popen[bytes], what: str) -> None:
    """SIGKILL the process group of `proc` a few seconds into its dbt build."""
    try:
        deadline = time.monotonic() + 180
        while not _dbt_running(proc.pid):
            assert proc.poll() is None, f"{what} ended before dbt started"
            assert time.monotonic() < deadline, f"dbt never started in {what}"
            time.sleep(0.2)
        time.sleep(3)  # well inside the dbt build: models are being rewritten
        assert proc.poll() is None
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def _claimed(home: Path) -> set[str]:
    """Runs holding a slot of the warehouse's pool in this Dagster home."""
    from dagster import DagsterInstance

    from orchestration.lib.recovery import POOL

    with DagsterInstance.from_config(str(home)) as instance:
        info = instance.event_log_storage.get_concurrency_info(POOL)
        return {s.run_id for s in info.claimed_slots}


def _recovered(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("recovered: ")]


@dataclass
class Story:
    warehouse: Path
    before: str
    after_worker_kill: str
    worker_runs: set[str]
    worker_run_tags: dict[str, str]
    killed_run_stderr: str
    after_run_kill: str
    killed_runs: set[str]
    scorecard_after_run_kill: tuple[int] | None
    again: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def story(baseline: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    from dagster import DagsterInstance

    from complaints.config import ComplaintsConfig
    from ingest.manifest import read_manifest
    from orchestration.defs.schedules import all_partitions_tags
    from orchestration.lib.instance import configure_instance
    from orchestration.lib.runner import sync_partitions

    base = tmp_path_factory.mktemp("kills")
    landing, warehouse = copy_published(baseline / "landing", baseline / "warehouse", base)
    published = warehouse / "marts.duckdb"
    before = digest(published)
    home = base / "dagster_home"
    configure_instance(
        ComplaintsConfig.resolve(landing=landing, warehouse=warehouse, dagster_home=home)
    )
    with DagsterInstance.from_config(str(home)) as instance:
        keys = sync_partitions(instance, read_manifest(landing))
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "COMPLAINTS_LANDING": str(landing),
        "COMPLAINTS_WAREHOUSE": str(warehouse),
    }

    def spawn(argv: list[str], stderr: int | IO[bytes]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True
        )

    # 1. A launched run worker, killed during dbt.
    worker = spawn(
        [
            str(BIN / "dagster"),
            "job",
            "execute",
            "-m",
            "orchestration.definitions",
            "-j",
            "refresh_warehouse",
            "--tags",
            json.dumps(all_partitions_tags(keys)),
        ],
        subprocess.DEVNULL,
    )
    _kill_during_dbt(worker, "the launched run")
    after_worker_kill = digest(published)
    worker_runs = _claimed(home)
    with DagsterInstance.from_config(str(home)) as instance:
        tags = {
            run_id: dict(run.tags)
            for run_id in worker_runs
            if (run := instance.get_run_by_id(run_id)) is not None
        }
    worker_run_tags = next(iter(tags.values()), {})

    # 2. `complaints run`: recovers the worker's claim, then is killed during dbt in turn.
    stderr_file = base / "killed_run.stderr"
    with stderr_file.open("wb") as stderr:
        killed = spawn([str(BIN / "complaints"), "run"], stderr)
        _kill_during_dbt(killed, "the first `complaints run`")
    after_run_kill = digest(published)
    killed_runs = _claimed(home)
    with duckdb.connect(str(published), read_only=True) as con:
        scorecard = con.execute("select sum(total) from mart_department_scorecard").fetchone()
    # A temporary publication file a kill during publication leaves (publication.py's naming).
    litter = warehouse / ".marts.duckdb.0123456789abcdef0123456789abcdef.tmp"
    litter.write_bytes(b"half a database")
    Path(f"{litter}.wal").write_bytes(b"wal")

    # 3. The next `complaints run` on the same home.
    again = subprocess.run(
        [str(BIN / "complaints"), "run", "--wait", "60"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    yield Story(
        warehouse,
        before,
        after_worker_kill,
        worker_runs,
        worker_run_tags,
        stderr_file.read_text(errors="replace"),
        after_run_kill,
        killed_runs,
        scorecard,
        again,
    )


def test_a_killed_run_worker_changes_nothing_published_and_recorded_its_process(
    story: Story,
) -> None:
    from orchestration.lib.recovery import PID_TAG

    assert story.after_worker_kill == story.before
    assert len(story.worker_runs) == 1, "the killed run held no slot: no hang to recover from"
    assert PID_TAG in story.worker_run_tags, "the resource did not record the process"


def test_the_next_run_recovers_the_dead_workers_claim_and_starts(story: Story) -> None:
    recovered = _recovered(story.killed_run_stderr)
    assert len(recovered) == 1, story.killed_run_stderr
    assert next(iter(story.worker_runs)) in recovered[0]


def test_a_run_killed_during_dbt_changes_nothing_published(story: Story) -> None:
    assert story.after_run_kill == story.before, "the published file changed during a killed run"
    assert story.scorecard_after_run_kill == (1945,)
    # The killed run holds the build_db_writer slot: the next run must recover it, not wait.
    assert len(story.killed_runs) == 1 and story.killed_runs != story.worker_runs


def test_the_run_after_recovers_cleans_up_and_succeeds(story: Story) -> None:
    again = story.again
    assert again.returncode == 0, again.stdout + again.stderr
    recovered = _recovered(again.stderr)
    assert len(recovered) == 1 and next(iter(story.killed_runs)) in recovered[0], again.stderr
    assert "[updated]" in again.stdout
    with duckdb.connect(str(story.warehouse / "marts.duckdb"), read_only=True) as con:
        assert con.execute("select sum(total) from mart_department_scorecard").fetchone() == (1945,)
    assert not [p.name for p in story.warehouse.iterdir() if ".tmp" in p.name]
