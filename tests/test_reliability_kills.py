"""Write-audit-publish under `kill -9`, as one story on one warehouse and Dagster home (module
fixture `story`), each test asserting one part of it. Every kill happens at a point the test
observed, and the test asserts the point was reached:

1. a run started by another launcher (`dagster job execute`, the same in-process execution a
   daemon's run worker does) is killed while dbt builds a table model (observed in dbt's JSON
   log: the model started and had not finished);
2. the next `complaints run` recovers that run's claim on the warehouse (orchestration/
   recovery.py), starts, and is itself killed while dbt builds a table model;
3. the next `complaints run` recovers the second dead run and is killed during publication,
   between writing the new file and swapping it in (observed: the temporary file
   `.marts.duckdb.<hex>.tmp` is complete and its exports are being written);
4. the next `complaints run` recovers the third dead run, removes the temporaries the killed
   publication left, and succeeds.

The published file is unchanged after each kill. Part of the reliability suite, in its own file so
`make test`'s workers can run it beside tests/test_reliability.py."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import duckdb
import pytest

from tests.pipeline import copy_published, digest, published_outputs

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent


def _dbt_log(warehouse: Path) -> Path:
    """dbt's debug log of a run on `warehouse` (JSON lines: dagster-dbt asks for them)."""
    return warehouse / "dbt_target" / "dbt.log"


def _dbt_events(log: Path) -> list[dict[str, Any]]:
    if not log.is_file():
        return []
    events = []
    for line in log.read_bytes().splitlines():
        with contextlib.suppress(ValueError):
            events.append(json.loads(line))
    return events


def _table_model_running(log: Path) -> str | None:
    """A table model dbt started and has not finished, by dbt's log; None if there is none."""
    started: dict[str, str] = {}
    finished: set[str] = set()
    for event in _dbt_events(log):
        name = event.get("info", {}).get("name")
        node = event.get("data", {}).get("node_info", {})
        if name == "LogStartLine" and node.get("materialized") == "table":
            started[node["unique_id"]] = event["info"]["msg"]
        elif name == "NodeFinished":
            finished.add(node.get("unique_id", ""))
    running = [uid for uid in started if uid not in finished]
    return running[-1] if running else None


def _dbt_completed(log: Path) -> bool:
    return any(e.get("info", {}).get("name") == "CommandCompleted" for e in _dbt_events(log))


_TEMPORARY = re.compile(r"^\.marts\.duckdb\.[0-9a-f]{32}\.tmp$")


def _between_write_and_swap(warehouse: Path) -> str | None:
    """The new file's temporary name once it is written and its exports are being written
    (publication.py's order: file written and synced, then exports into a `.partial` folder,
    then the swaps); None before."""
    partials = list((warehouse / "exports.versions").glob(".*.partial"))
    temporaries = [p.name for p in warehouse.iterdir() if _TEMPORARY.match(p.name)]
    return temporaries[0] if partials and temporaries else None


def _kill_when(
    proc: subprocess.Popen[bytes], what: str, point: Callable[[], str | None], timeout: float = 600
) -> str:
    """SIGKILL the process group of `proc` as soon as `point()` observes what it looks for;
    returns what it observed. Fails if `proc` ends first."""
    try:
        deadline = time.monotonic() + timeout
        while (seen := point()) is None:
            assert proc.poll() is None, f"{what} ended before the point to kill it at"
            assert time.monotonic() < deadline, f"{what} never reached the point to kill it at"
            time.sleep(0.01)
        assert proc.poll() is None
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        return seen
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
    worker_killed_in: str
    worker_dbt_completed: bool
    worker_runs: set[str]
    worker_run_tags: dict[str, str]
    killed_run_stderr: str
    after_run_kill: str
    run_killed_in: str
    run_dbt_completed: bool
    killed_runs: set[str]
    scorecard_after_run_kill: tuple[int] | None
    publishing_run_stderr: str
    publication_killed_at: str
    temporary_left: bool
    after_publication_kill: str
    outputs_before: dict[str, str]
    outputs_after_publication_kill: dict[str, str]
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

    outputs_before = published_outputs(warehouse)
    log = _dbt_log(warehouse)

    # 1. A launched run worker, killed while dbt builds a table model.
    log.unlink(missing_ok=True)  # this run's events only
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
    worker_killed_in = _kill_when(worker, "the launched run", lambda: _table_model_running(log))
    worker_dbt_completed = _dbt_completed(log)
    after_worker_kill = digest(published)
    worker_runs = _claimed(home)
    with DagsterInstance.from_config(str(home)) as instance:
        tags = {
            run_id: dict(run.tags)
            for run_id in worker_runs
            if (run := instance.get_run_by_id(run_id)) is not None
        }
    worker_run_tags = next(iter(tags.values()), {})

    # 2. `complaints run`: recovers the worker's claim, then is killed in dbt in turn.
    log.unlink(missing_ok=True)
    stderr_file = base / "killed_run.stderr"
    with stderr_file.open("wb") as stderr:
        killed = spawn([str(BIN / "complaints"), "run"], stderr)
        run_killed_in = _kill_when(
            killed, "the first `complaints run`", lambda: _table_model_running(log)
        )
    run_dbt_completed = _dbt_completed(log)
    after_run_kill = digest(published)
    killed_runs = _claimed(home)
    with duckdb.connect(str(published), read_only=True) as con:
        scorecard = con.execute("select sum(total) from mart_department_scorecard").fetchone()

    # 3. `complaints run`: recovers the second run, then is killed between write and swap.
    publishing_file = base / "publishing_run.stderr"
    with publishing_file.open("wb") as stderr:
        publishing = spawn([str(BIN / "complaints"), "run"], stderr)
        killed_at = _kill_when(
            publishing,
            "the publishing `complaints run`",
            lambda: _between_write_and_swap(warehouse),
        )
    temporary_left = (warehouse / killed_at).is_file()
    after_publication_kill = digest(published)
    outputs_after_publication_kill = published_outputs(warehouse)

    # 4. The next `complaints run` on the same home.
    again = subprocess.run(
        [str(BIN / "complaints"), "run", "--wait", "60"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    yield Story(
        warehouse=warehouse,
        before=before,
        after_worker_kill=after_worker_kill,
        worker_killed_in=worker_killed_in,
        worker_dbt_completed=worker_dbt_completed,
        worker_runs=worker_runs,
        worker_run_tags=worker_run_tags,
        killed_run_stderr=stderr_file.read_text(errors="replace"),
        after_run_kill=after_run_kill,
        run_killed_in=run_killed_in,
        run_dbt_completed=run_dbt_completed,
        killed_runs=killed_runs,
        scorecard_after_run_kill=scorecard,
        publishing_run_stderr=publishing_file.read_text(errors="replace"),
        publication_killed_at=killed_at,
        temporary_left=temporary_left,
        after_publication_kill=after_publication_kill,
        outputs_before=outputs_before,
        outputs_after_publication_kill=outputs_after_publication_kill,
        again=again,
    )


def test_a_killed_run_worker_changes_nothing_published_and_recorded_its_process(
    story: Story,
) -> None:
    from orchestration.lib.recovery import PID_TAG

    print(f"worker killed while dbt ran {story.worker_killed_in}")
    assert story.worker_killed_in.startswith("model.complaints."), "not killed in a model"
    assert not story.worker_dbt_completed, "dbt had finished: the kill was not during dbt"
    assert story.after_worker_kill == story.before
    assert len(story.worker_runs) == 1, "the killed run held no slot: no hang to recover from"
    assert PID_TAG in story.worker_run_tags, "the resource did not record the process"


def test_the_next_run_recovers_the_dead_workers_claim_and_starts(story: Story) -> None:
    recovered = _recovered(story.killed_run_stderr)
    assert len(recovered) == 1, story.killed_run_stderr
    assert next(iter(story.worker_runs)) in recovered[0]


def test_a_run_killed_during_dbt_changes_nothing_published(story: Story) -> None:
    print(f"`complaints run` killed while dbt ran {story.run_killed_in}")
    assert story.run_killed_in.startswith("model.complaints."), "not killed in a model"
    assert not story.run_dbt_completed, "dbt had finished: the kill was not during dbt"
    assert story.after_run_kill == story.before, "the published file changed during a killed run"
    assert story.scorecard_after_run_kill == (1945,)
    # The killed run holds the build_db_writer slot: the next run must recover it, not wait.
    assert len(story.killed_runs) == 1 and story.killed_runs != story.worker_runs


def test_a_run_killed_between_write_and_swap_changes_nothing_published(story: Story) -> None:
    print(f"`complaints run` killed with {story.publication_killed_at} written, not swapped")
    # The point was reached: the new file was written and is still there, not renamed over
    # the published one; the exports were being written.
    assert story.temporary_left, "the temporary file was gone: the kill came after the swap"
    assert story.after_publication_kill == story.before
    assert story.outputs_after_publication_kill == story.outputs_before
    recovered = _recovered(story.publishing_run_stderr)
    assert len(recovered) == 1, story.publishing_run_stderr
    assert next(iter(story.killed_runs)) in recovered[0]


def test_the_run_after_recovers_cleans_up_and_succeeds(story: Story) -> None:
    again = story.again
    assert again.returncode == 0, again.stdout + again.stderr
    recovered = _recovered(again.stderr)
    assert len(recovered) == 1, again.stderr  # the run killed in publication held no slot
    assert f"removed {story.publication_killed_at} " in again.stderr, again.stderr
    assert "[updated]" in again.stdout
    with duckdb.connect(str(story.warehouse / "marts.duckdb"), read_only=True) as con:
        assert con.execute("select sum(total) from mart_department_scorecard").fetchone() == (1945,)
    assert not [p.name for p in story.warehouse.iterdir() if ".tmp" in p.name]
    assert not list((story.warehouse / "exports.versions").glob(".*.partial"))
