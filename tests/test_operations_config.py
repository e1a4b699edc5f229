"""Operations settings: run monitoring in both dagster.yaml files, the automation switch
(schedule and landing sensor running in a deployment, stopped under `make dev`), and the
freshness policy and alert sensors the definitions carry."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import yaml
from dagster import (
    AssetKey,
    DagsterInstance,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunStatusSensorDefinition,
)

from complaints.config import ComplaintsConfig
from orchestration.lib.instance import (
    FREE_SLOTS_AFTER_RUN_END_SECONDS,
    MAX_RUNTIME_SECONDS,
    configure_instance,
    open_instance,
)
from tests.pipeline import PROJECT_ROOT


def test_local_instance_loads_with_run_monitoring(tmp_path: Path) -> None:
    config = ComplaintsConfig.resolve(
        landing=tmp_path / "landing", warehouse=tmp_path / "wh", dagster_home=tmp_path / "home"
    )
    configure_instance(config)
    with open_instance(config) as instance:
        settings = instance.run_monitoring_settings
        print("local run_monitoring:", settings)
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_max_runtime_seconds == MAX_RUNTIME_SECONDS
        assert settings["free_slots_after_run_end_seconds"] == FREE_SLOTS_AFTER_RUN_END_SECONDS


def test_deployment_yaml_run_monitoring_is_valid_and_the_same(tmp_path: Path) -> None:
    """deploy/dagster.yaml's run_monitoring section, loaded by Dagster's own schema (its
    storages need a PostgreSQL server, so the section is loaded on its own)."""
    deployed = yaml.safe_load((PROJECT_ROOT / "deploy" / "dagster.yaml").read_text())
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        yaml.safe_dump({"run_monitoring": deployed["run_monitoring"]})
    )
    with DagsterInstance.from_config(str(home)) as instance:
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_max_runtime_seconds == MAX_RUNTIME_SECONDS
        assert (
            instance.run_monitoring_settings["free_slots_after_run_end_seconds"]
            == FREE_SLOTS_AFTER_RUN_END_SECONDS
        )
    # The daemon (and the queue) still come from the deployment's own sections.
    assert deployed["run_coordinator"]["config"]["max_concurrent_runs"] == 1


_STATUSES = """
from orchestration.definitions import defs
d = defs()
print(d.resolve_schedule_def("weekly_full_refresh").default_status.value)
print(d.resolve_sensor_def("landing_folder_sensor").default_status.value)
print(d.resolve_sensor_def("alert_on_run_failure").default_status.value)
print(d.resolve_sensor_def("publication_freshness").default_status.value)
"""


def _statuses(**env: str) -> list[str]:
    """The code location as `dagster dev` / the daemon load it, in a fresh process."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COMPLAINTS_")}
    out = subprocess.run(
        [sys.executable, "-c", _STATUSES],
        env={**clean, **env},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    return out.stdout.split()


def test_deployment_runs_schedule_and_sensor_dev_stays_quiet() -> None:
    dev = _statuses()
    deployed = _statuses(COMPLAINTS_AUTOMATION="on")
    print("make dev:", dev, "deployment:", deployed)
    # The alert sensors run in both: without an SMTP host they send nothing.
    assert dev == ["STOPPED", "STOPPED", "RUNNING", "RUNNING"]
    assert deployed == ["RUNNING", "RUNNING", "RUNNING", "RUNNING"]
    assert DefaultScheduleStatus.RUNNING.value == DefaultSensorStatus.RUNNING.value == "RUNNING"


def test_deployment_files_switch_automation_on() -> None:
    compose = yaml.safe_load((PROJECT_ROOT / "deploy" / "docker-compose.yml").read_text())
    assert compose["x-complaints-env"]["COMPLAINTS_AUTOMATION"] == "on"
    supervisord = (PROJECT_ROOT / "deploy" / "supervisord.conf").read_text()
    environments = [line for line in supervisord.splitlines() if line.startswith("environment=")]
    assert len(environments) == 3
    assert all('COMPLAINTS_AUTOMATION="on"' in line for line in environments)
    assert "COMPLAINTS_AUTOMATION" not in (PROJECT_ROOT / "Makefile").read_text()


def test_definitions_carry_the_freshness_policy_and_the_alert_sensors() -> None:
    from orchestration.definitions import build_defs

    config = ComplaintsConfig.resolve(environ={})
    defs = build_defs(config)
    graph = defs.resolve_asset_graph()
    for name in ("published_marts", "analysts_report"):
        policy = graph.get(AssetKey(name)).freshness_policy
        assert policy is not None, name
        assert policy.fail_window.to_timedelta() == timedelta(days=8), policy
    assert graph.get(AssetKey("mart_reconciliation")).freshness_policy is None
    assert isinstance(defs.resolve_sensor_def("alert_on_run_failure"), RunStatusSensorDefinition)
    assert isinstance(defs.resolve_sensor_def("alert_on_run_canceled"), RunStatusSensorDefinition)
    assert defs.resolve_sensor_def("publication_freshness").minimum_interval_seconds


_SERVER = """
from dagster import AssetKey
from orchestration.definitions import defs
d = defs()
print(d.resolve_schedule_def("weekly_full_refresh").default_status.value)
print(sorted(s.name for s in d.sensors))
print(d.resolve_asset_graph().get(AssetKey("published_marts")).freshness_policy.fail_window.to_timedelta().days)
"""


def test_server_mode_deployment_runs_its_schedule_and_alerts() -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COMPLAINTS_")}
    env = {
        **clean,
        "COMPLAINTS_TARGET": "postgres",
        # Loading the definitions connects to nothing.
        "COMPLAINTS_POSTGRES_DSN": "postgresql://complaints_pipeline@127.0.0.1:1/complaints",
        "COMPLAINTS_AUTOMATION": "on",
    }
    out = subprocess.run(
        [sys.executable, "-c", _SERVER],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    ).stdout.splitlines()
    print("server mode:", out)
    assert out == [
        "RUNNING",
        "['alert_on_run_canceled', 'alert_on_run_failure', 'landing_folder_sensor', 'publication_freshness']",
        "8",
    ]
