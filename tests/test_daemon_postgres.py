"""The landing-folder sensor as the real daemon runs it, on the PostgreSQL target: the same
`dagster-daemon run` story as tests/test_daemon.py, its warehouse on the session's throwaway
server (a database of its own). New extracts get one daemon-launched run that publishes the
server's `marts` schema; a tick with nothing new is the daemon's skip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from dagster import DagsterInstance, DagsterRunStatus

from complaints.config import ComplaintsConfig
from complaints.postgres import MARTS
from orchestration.lib.instance import configure_instance
from tests.daemon import (
    daemon_env,
    finished_runs,
    running_daemon,
    sensor_ticks,
    start_sensor,
    step_failures,
    wait_for,
)
from tests.pipeline import copy_landing

pytestmark = pytest.mark.integration

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
RUN_TIMEOUT = 480
DATABASE = "daemon_story"


def published_extracts(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as con:
        rows = con.execute(
            f"select extract_id from {MARTS}.publication_extracts order by 1"
        ).fetchall()
    return [r[0] for r in rows]


def test_the_daemon_publishes_new_extracts_on_the_server(
    postgres_cluster: Any, tmp_path: Path
) -> None:
    with psycopg.connect(postgres_cluster.dsn(), autocommit=True) as con:
        con.execute(f"create database {DATABASE}")
    dsn = postgres_cluster.dsn(db=DATABASE)
    landing = copy_landing(tmp_path / "landing")
    ids = [e["id"] for e in yaml.safe_load((landing / "manifest.yml").read_text())["extracts"]]
    warehouse, home = tmp_path / "warehouse", tmp_path / "home"
    configure_instance(ComplaintsConfig.resolve(landing, warehouse, dagster_home=home))
    env = daemon_env(
        home,
        {
            "COMPLAINTS_LANDING": str(landing),
            "COMPLAINTS_WAREHOUSE": str(warehouse),
            "COMPLAINTS_TARGET": "postgres",
            "COMPLAINTS_POSTGRES_DSN": dsn,
        },
    )
    log = tmp_path / "daemon.log"
    start_sensor(env)

    with running_daemon(env, log), DagsterInstance.from_config(str(home)) as instance:
        runs = wait_for("the daemon's run", lambda: finished_runs(instance), RUN_TIMEOUT, log)
        assert isinstance(runs, list) and len(runs) == 1
        run = runs[0]
        assert run.status == DagsterRunStatus.SUCCESS, step_failures(instance, run.run_id)
        assert run.tags.get("dagster/sensor_name") == "landing_folder_sensor"
        # One run over every new extract.
        assert (run.tags[RANGE_START], run.tags[RANGE_END]) == (ids[0], ids[-1])
        assert published_extracts(dsn) == sorted(ids)

        ticks_before = len(sensor_ticks(instance))
        wait_for(
            "a skipped tick",
            lambda: (
                "SKIPPED" in sensor_ticks(instance)[: len(sensor_ticks(instance)) - ticks_before]
            ),
            90,
            log,
        )
        assert len(instance.get_runs()) == 1
