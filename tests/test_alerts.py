"""E-mail alerts against a real SMTP server (tests/smtp_server.py) and real Dagster instances:
a failed run, crash recovery, the run-failure sensor (runs the daemon launched), the freshness
sensor, and a mail server that cannot be reached. The gate's alert from `complaints run` is in
tests/test_cli_progress.py (it needs a whole pipeline run)."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

import psutil
import pytest
from dagster import (
    AssetMaterialization,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    build_run_status_sensor_context,
    build_sensor_context,
)

from complaints.config import AlertSettings, ComplaintsConfig
from ingest.manifest import read_manifest
from orchestration.definitions import PUBLISHED_ASSETS, build_defs
from orchestration.defs.alerts import freshness_alert_sensor, run_failure_alert_sensor
from orchestration.defs.schedules import all_partitions_tags
from orchestration.lib.instance import configure_instance, open_instance
from orchestration.lib.recovery import HOST_TAG, PID_TAG, PROCESS_STARTED_TAG
from orchestration.lib.runner import run_pipeline, sync_partitions
from tests.pipeline import APPENDIX_1, copy_landing
from tests.smtp_server import Mailbox, closed_port, smtp_server

PASSWORD = "pw-9f3c-never-printed"


def _config(tmp_path: Path, alerts: AlertSettings | None) -> ComplaintsConfig:
    landing = tmp_path / "landing"
    if not landing.exists():
        copy_landing(landing)
        # A broken extract: cut off mid-table, so the parse step fails naming file and line.
        lines = (landing / APPENDIX_1).read_bytes().split(b"\n")
        (landing / APPENDIX_1).write_bytes(b"\n".join(lines[:300]))
    config = ComplaintsConfig.resolve(
        landing=landing,
        warehouse=tmp_path / "warehouse",
        dagster_home=tmp_path / "home",
        environ={},
    )
    return replace(config, alerts=alerts)


def _dead_run(instance: DagsterInstance) -> DagsterRun:
    """A started run of ours whose process really ran on this host and has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    started = psutil.Process(child.pid).create_time()
    child.wait()
    tags = {
        HOST_TAG: socket.gethostname(),
        PID_TAG: str(child.pid),
        PROCESS_STARTED_TAG: f"{started:.3f}",
    }
    return instance.add_run(
        DagsterRun(
            job_name="refresh_warehouse",
            run_id=str(uuid.uuid4()),
            status=DagsterRunStatus.STARTED,
            tags=tags,
        )
    )


def _files_holding(folder: Path, secret: str) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def test_alert_settings_come_from_the_environment() -> None:
    assert ComplaintsConfig.resolve(environ={}).alerts is None
    env = {
        "COMPLAINTS_ALERT_SMTP_HOST": "smtp.example.org",
        "COMPLAINTS_ALERT_SMTP_PORT": "587",
        "COMPLAINTS_ALERT_FROM": "warehouse@example.org",
        "COMPLAINTS_ALERT_TO": "a@example.org, b@example.org",
        "COMPLAINTS_ALERT_SMTP_USER": "alerts",
        "COMPLAINTS_ALERT_SMTP_PASSWORD": PASSWORD,
        "COMPLAINTS_ALERT_STARTTLS": "on",
    }
    config = ComplaintsConfig.resolve(environ=env)
    assert config.alerts == AlertSettings(
        "smtp.example.org",
        587,
        "warehouse@example.org",
        ("a@example.org", "b@example.org"),
        "alerts",
        PASSWORD,
        True,
    )
    assert PASSWORD not in repr(config) and "smtp.example.org" in repr(config)
    with pytest.raises(ValueError, match="COMPLAINTS_ALERT_TO"):
        ComplaintsConfig.resolve(environ={k: v for k, v in env.items() if "_TO" not in k})
    with pytest.raises(ValueError, match="COMPLAINTS_ALERT_SMTP_PORT"):
        ComplaintsConfig.resolve(environ={**env, "COMPLAINTS_ALERT_SMTP_PORT": "smtp"})


def test_failed_run_and_recovered_crash_alert_from_the_run_itself(tmp_path: Path) -> None:
    """`complaints run`'s path: the runner finds a dead run (recovery alert), then its own run
    fails on a broken extract (failure alert); the password logs in and is written nowhere."""
    with smtp_server() as box:
        config = _config(tmp_path, box.settings(PASSWORD))
        configure_instance(config)
        said: list[str] = []
        with open_instance(config) as instance:
            dead = _dead_run(instance)
            summary = run_pipeline(config, instance, say=said.append)
            run = instance.get_run_by_id(summary.run_id)
            assert run is not None
            logs = [e.message for e in instance.all_logs(summary.run_id)]
        assert not summary.success
        assert any(s.startswith("raw_extracts") for s in summary.failed_steps), summary
        subjects = [m["Subject"] for m in box.messages]
        print("subjects:", subjects)
        assert subjects == [
            "[complaints warehouse] crashed run recovered",
            f"[complaints warehouse] run failed: refresh_warehouse {summary.run_id}",
        ]
        recovered, failed = (m.get_content() for m in box.messages)
        assert dead.run_id in recovered and "marked it failed" in recovered
        assert "raw_extracts" in failed and APPENDIX_1 in failed
        assert "Nothing new was published" in failed
        assert box.messages[0]["To"] == "data-team@example.org, on-call@example.org"
        assert box.logins == [("alerts", PASSWORD), ("alerts", PASSWORD)]
        assert sum("alert sent to" in line for line in said) == 2, said
        # The password: nowhere in the run's tags, its event log, what was said, or any file.
        assert all(PASSWORD not in v for v in run.tags.values())
        assert not [m for m in logs if PASSWORD in m]
        assert not [line for line in said if PASSWORD in line]
        assert _files_holding(tmp_path, PASSWORD) == []


def test_unreachable_mail_server_never_fails_or_hides_the_run(tmp_path: Path) -> None:
    port = closed_port()
    config = _config(tmp_path, replace(Mailbox(port).settings(), host="127.0.0.1"))
    said: list[str] = []
    start = time.monotonic()
    summary = run_pipeline(config, DagsterInstance.ephemeral(), say=said.append)
    assert not summary.success and summary.run_id
    assert any(s.startswith("raw_extracts") for s in summary.failed_steps), summary
    unsent = [line for line in said if line.startswith("alert not sent")]
    print("logged:", unsent, f"run and alert attempt {time.monotonic() - start:.1f} s")
    assert len(unsent) == 1 and f"127.0.0.1:{port}" in unsent[0], said


def test_run_failure_sensor_alerts_for_runs_the_daemon_launched(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run as the daemon launches it (no tag of `complaints run`): the warehouse resource
    recovers a dead run when the run starts and alerts (from the process's environment), then
    the run-failure sensor alerts for the run's own failure."""
    config = _config(tmp_path, None)
    instance = DagsterInstance.ephemeral()
    keys = sync_partitions(instance, read_manifest(config.landing_dir))
    job = build_defs(config).resolve_job_def("refresh_warehouse")

    def evaluate(alerts: AlertSettings | None) -> None:
        sensor = run_failure_alert_sensor(replace(config, alerts=alerts))
        context = build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_event=result.get_run_failure_event(),
            dagster_instance=instance,
            dagster_run=result.dagster_run,
        )
        sensor(context)

    with smtp_server() as box:
        for name, value in box.environ().items():
            monkeypatch.setenv(name, value)
        dead = _dead_run(instance)
        result = job.execute_in_process(
            instance=instance, tags=all_partitions_tags(keys), raise_on_error=False
        )
        assert not result.success
        evaluate(box.settings())
        subjects = [m["Subject"] for m in box.messages]
        print("subjects:", subjects)
        assert subjects == [
            "[complaints warehouse] crashed run recovered",
            f"[complaints warehouse] run failed: refresh_warehouse {result.run_id}",
        ]
        recovered, failed = (m.get_content() for m in box.messages)
        assert dead.run_id in recovered and f"start of run {result.run_id}" in recovered
        assert "launched by the daemon" in failed and "raw_extracts" in failed
        assert APPENDIX_1 in failed
        # The dead run, failed by recovery, gets no second alert from the sensor.
        dead_run = instance.get_run_by_id(dead.run_id)
        assert dead_run is not None and dead_run.is_failure
        (failure,) = instance.all_logs(dead.run_id, of_type=DagsterEventType.RUN_FAILURE)
        assert failure.dagster_event is not None
        run_failure_alert_sensor(replace(config, alerts=box.settings()))(
            build_run_status_sensor_context(
                sensor_name="alert_on_run_failure",
                dagster_event=failure.dagster_event,
                dagster_instance=instance,
                dagster_run=dead_run,
            )
        )
        assert len(box.messages) == 2
    # Unreachable: the evaluation ends normally and says so in the sensor's log.
    port = closed_port()
    with caplog.at_level(logging.WARNING):
        evaluate(replace(Mailbox(port).settings()))
    assert any(
        "alert not sent" in r.getMessage() and f"127.0.0.1:{port}" in r.getMessage()
        for r in caplog.records
    )


def test_stale_publication_alerts_once_per_miss(tmp_path: Path) -> None:
    instance = DagsterInstance.ephemeral()
    # A window of a fraction of a second: the materialisation below is stale almost at once.
    config = replace(_config(tmp_path, None), freshness_hours=0.2 / 3600)
    with smtp_server() as box:
        sensor = freshness_alert_sensor(replace(config, alerts=box.settings()), PUBLISHED_ASSETS)
        context = build_sensor_context(instance=instance)
        assert "nothing published yet" in str(sensor(context))
        instance.report_runless_asset_event(AssetMaterialization("published_marts"))
        assert "within its freshness window" in str(sensor(context))
        time.sleep(0.5)
        for _ in range(3):
            sensor(context)
        assert [m["Subject"] for m in box.messages] == [
            "[complaints warehouse] publication stale: published_marts"
        ]
        assert "last materialised" in box.messages[0].get_content()
        # A new publication that goes stale too is a new miss: one more alert.
        instance.report_runless_asset_event(AssetMaterialization("published_marts"))
        time.sleep(0.5)
        sensor(context)
        sensor(context)
        print("alerts:", len(box.messages))
        assert len(box.messages) == 2
