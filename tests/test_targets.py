"""One code location for both warehouse targets: loaded with COMPLAINTS_TARGET=duckdb and with
COMPLAINTS_TARGET=postgres (no server needed to load it), it has the same asset keys, check
names, partitions, jobs, schedule and sensor; `dg check defs` passes in both modes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from complaints.config import ComplaintsConfig
from tests.pipeline import PROJECT_ROOT

# A server nobody listens on: loading the definitions must not connect.
UNREACHABLE_DSN = "postgresql://complaints_pipeline:not-a-secret@127.0.0.1:9/complaints"


def _shape(target: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    from orchestration.definitions import defs

    monkeypatch.setenv("COMPLAINTS_TARGET", target)
    monkeypatch.setenv("COMPLAINTS_POSTGRES_DSN", UNREACHABLE_DSN)
    monkeypatch.setenv("COMPLAINTS_WAREHOUSE", str(tmp_path / target))
    loaded = defs()
    resource = loaded.resources["warehouse"] if loaded.resources else None
    graph = loaded.resolve_asset_graph()
    return {
        "assets": sorted(k.to_user_string() for k in graph.get_all_asset_keys()),
        "checks": sorted(
            f"{k.asset_key.to_user_string()}:{k.name}" for k in graph.asset_check_keys
        ),
        "partitioned": sorted(
            k.to_user_string()
            for k in graph.get_all_asset_keys()
            if graph.get(k).partitions_def is not None
        ),
        "jobs": sorted(
            j.name for j in loaded.resolve_all_job_defs() if not j.name.startswith("__")
        ),
        "schedules": sorted(
            (s.name, s.cron_schedule, s.execution_timezone)
            for s in (loaded.resolve_schedule_def(d.name) for d in loaded.schedules or [])
        ),
        "sensors": sorted(s.name for s in loaded.sensors or []),
        "target": getattr(resource, "target", None),
    }


def test_both_targets_have_the_same_assets_checks_partitions_sensor_and_schedule(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    duckdb = _shape("duckdb", monkeypatch, tmp_path)
    server = _shape("postgres", monkeypatch, tmp_path)
    assert (duckdb.pop("target"), server.pop("target")) == ("duckdb", "postgres")
    assert server == duckdb
    assert len(duckdb["assets"]) > 40 and len(duckdb["checks"]) > 100
    assert duckdb["partitioned"] == ["raw_extracts"]
    assert "landing_folder_sensor" in duckdb["sensors"]
    assert [name for name, _, _ in duckdb["schedules"]] == ["weekly_full_refresh"]
    assert {"published_marts", "analysts_report", "mart_reconciliation"} <= set(duckdb["assets"])


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_dg_check_defs_passes_on_either_target(target: str, tmp_path: Path) -> None:
    venv = Path(sys.executable).parent
    dg = venv / "dg"
    assert dg.exists(), f"dg is not installed beside {sys.executable}: make install"
    env = {
        **os.environ,
        "VIRTUAL_ENV": str(venv.parent),
        "PATH": f"{venv}{os.pathsep}{os.environ.get('PATH', '')}",
        "COMPLAINTS_TARGET": target,
        "COMPLAINTS_POSTGRES_DSN": UNREACHABLE_DSN,
        "COMPLAINTS_WAREHOUSE": str(tmp_path / "warehouse"),
        "DAGSTER_HOME": str(tmp_path / "home"),
    }
    (tmp_path / "home").mkdir()
    result = subprocess.run(
        [str(dg), "check", "defs"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All definitions loaded successfully" in result.stdout + result.stderr


def test_the_server_target_is_chosen_by_the_configuration() -> None:
    from orchestration.resources import WarehouseResource

    config = ComplaintsConfig.resolve(environ={}, target="postgres", postgres_dsn=UNREACHABLE_DSN)
    resource = WarehouseResource.from_config(config)
    assert resource.on_server
    # The connection string is not one of the resource's values (they are stored with each run).
    assert "not-a-secret" not in repr(resource.model_dump())
