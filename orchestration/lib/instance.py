"""The project's persistent Dagster instance: its dagster.yaml, opening it, and the event
batching a run uses with the pooled event log."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from dagster import DagsterInstance

from complaints.config import DEFAULT_TICK_RETENTION_DAYS, ComplaintsConfig
from orchestration.lib.dagster_compat import (
    EVENT_BATCH_SIZE,
    event_log_storage_yaml,
    uses_pooled_event_log,
)

DAGSTER_YAML_HEADER = (
    "# Written by `complaints run` / `make dev`. Runs that write the build database queue one at a "
    "time.\n"
)
DAGSTER_YAML = """\
concurrency:
  pools:
    default_limit: 1
  runs:
    max_concurrent_runs: 1
telemetry:
  enabled: false
"""
# A backstop to crash recovery (orchestration/lib/recovery.py), which acts only when a run starts
# on the host where the dead run's process was: the daemon (`dagster dev`, or the deployment's)
# cancels a run past the maximum run time and frees the pool slots a run still holds after it
# ended. Keys as Dagster's instance schema names them (dagster/_core/instance/config.py).
RUN_MONITORING_YAML = """\
run_monitoring:
  enabled: true
  max_runtime_seconds: {max_runtime_seconds}
  free_slots_after_run_end_seconds: {free_slots_seconds}
"""
MAX_RUNTIME_SECONDS = 6 * 3600
"""Far above a weekly refresh of every extract; a run still going then is stuck."""
FREE_SLOTS_AFTER_RUN_END_SECONDS = 60


def run_monitoring_yaml() -> str:
    return RUN_MONITORING_YAML.format(
        max_runtime_seconds=MAX_RUNTIME_SECONDS,
        free_slots_seconds=FREE_SLOTS_AFTER_RUN_END_SECONDS,
    )


def dagster_yaml(home: Path, tick_retention_days: int = DEFAULT_TICK_RETENTION_DAYS) -> str:
    """The instance configuration for `home`; the event log sits where Dagster's default puts it
    (orchestration/lib/retention.py removes old runs' files from there)."""
    runs_dir = home.resolve() / "history" / "runs"
    return (
        DAGSTER_YAML_HEADER
        + DAGSTER_YAML
        + run_monitoring_yaml()
        + retention_yaml(tick_retention_days)
        + event_log_storage_yaml(runs_dir)
    )


def retention_yaml(days: int) -> str:
    """Schedule and sensor ticks older than `days` purged by the daemon (0: kept for ever)."""
    value = days if days > 0 else -1
    return (
        "retention:\n"
        f"  schedule:\n    purge_after_days: {value}\n"
        f"  sensor:\n    purge_after_days: {value}\n"
    )


def configure_instance(config: ComplaintsConfig) -> None:
    """Write the Dagster home's dagster.yaml (ours is kept current; a hand-written one is kept)."""
    home = config.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    path = home / "dagster.yaml"
    current = path.read_text() if path.exists() else None
    wanted = dagster_yaml(home, config.tick_retention_days)
    if current is None or (current.startswith(DAGSTER_YAML_HEADER) and current != wanted):
        path.write_text(wanted)


def open_instance(config: ComplaintsConfig) -> DagsterInstance:
    """The configuration's persistent instance (its dagster.yaml written by configure_instance)."""
    return DagsterInstance.from_config(str(config.dagster_home))


@contextlib.contextmanager
def event_batching(instance: DagsterInstance) -> Iterator[None]:
    """While a run executes, let Dagster hand events to the pooled event log in batches
    (orchestration/lib/dagster_compat.py); the variable is restored afterwards."""
    if not uses_pooled_event_log(instance) or "DAGSTER_EVENT_BATCH_SIZE" in os.environ:
        yield
        return
    os.environ["DAGSTER_EVENT_BATCH_SIZE"] = str(EVENT_BATCH_SIZE)
    try:
        yield
    finally:
        os.environ.pop("DAGSTER_EVENT_BATCH_SIZE", None)
