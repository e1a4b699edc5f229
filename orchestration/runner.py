"""Run the whole graph in-process against the project's persistent Dagster instance, so runs
show up in `dagster dev` afterwards."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.warehouse import LANDING_ENV, PROJECT_ROOT, WAREHOUSE_ENV

DAGSTER_HOME_DIR = PROJECT_ROOT / ".dagster_home"
DAGSTER_YAML = """\
# Written by `complaints run` / `make dev`. Runs that write the build database queue one at a time.
concurrency:
  pools:
    default_limit: 1
  runs:
    max_concurrent_runs: 1
telemetry:
  enabled: false
# The stock SQLite event log, keeping one engine and one connection per file instead of
# opening both for every event (orchestration/storage.py): same files, about 8 ms less per event.
event_log_storage:
  module: orchestration.storage
  class: CachedEngineSqliteEventLogStorage
  config:
    base_dir: {runs_dir}
"""


EVENT_BATCH_SIZE = 2000


def dagster_yaml(home: Path) -> str:
    """The instance configuration for `home`; the event log sits where Dagster's default puts it."""
    return DAGSTER_YAML.format(runs_dir=json.dumps(str(home.resolve() / "history" / "runs")))


@dataclass
class RunSummary:
    success: bool
    run_id: str
    extracts: list[str]
    failed_steps: list[str] = field(default_factory=list)
    checks_passed: list[str] = field(default_factory=list)
    checks_failed: list[str] = field(default_factory=list)
    checks_warned: list[str] = field(default_factory=list)
    published: Path | None = None
    published_updated: bool = False
    rows_per_mart: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    # Gate (Great Expectations) checks: name -> their description (which expectations failed).
    gate_results: dict[str, tuple[bool, str]] = field(default_factory=dict)
    data_docs: Path | None = None
    log_path: Path | None = None


def configure_environment(landing: str | None, warehouse: str | None) -> None:
    if landing:
        os.environ[LANDING_ENV] = str(Path(landing).resolve())
    if warehouse:
        os.environ[WAREHOUSE_ENV] = str(Path(warehouse).resolve())
    if not os.environ.get("DAGSTER_HOME"):
        DAGSTER_HOME_DIR.mkdir(exist_ok=True)
        os.environ["DAGSTER_HOME"] = str(DAGSTER_HOME_DIR)
    home = Path(os.environ["DAGSTER_HOME"])
    # Dagster then hands planned events and multi-partition materializations to the event log
    # in batches, which our storage writes in one transaction per file (orchestration/storage.py).
    os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", str(EVENT_BATCH_SIZE))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    wanted = dagster_yaml(home)
    current = config.read_text() if config.exists() else None
    # Ours (first line) is kept current; a dagster.yaml someone wrote by hand is left alone.
    if current is None or (current.startswith(DAGSTER_YAML.splitlines()[0]) and current != wanted):
        config.write_text(wanted)


def run_pipeline(  # type: ignore[no-untyped-def]
    instance=None, log_level: str = "WARNING", partition: str | None = None
) -> RunSummary:
    """Sync partitions with the manifest, then materialise everything in one run.

    With `partition`, only that extract is parsed (its raw rows replaced); every other extract
    keeps the raw rows already in the build database, and the unpartitioned rest of the graph
    (dbt, gate, publication) is rebuilt from all of them, as in the sensor's per-extract runs.
    """
    from dagster import DagsterEventType, DagsterInstance

    from ingest.errors import ExtractError
    from ingest.manifest import load_manifest
    from orchestration.partitions import EXTRACTS_PARTITION
    from orchestration.project import prepare_dbt
    from orchestration.schedules import all_partitions_tags
    from orchestration.warehouse import landing_dir, warehouse_dir

    prepare_dbt()
    from orchestration.definitions import build_defs

    defs = build_defs()

    instance = instance or DagsterInstance.get()
    try:
        entries = load_manifest(landing_dir())
    except ExtractError as exc:
        return RunSummary(False, "", [], error=str(exc))
    ids = [e.extract_id for e in entries]
    existing = instance.get_dynamic_partitions(EXTRACTS_PARTITION)
    stale = [k for k in existing if k not in ids]
    for key in stale:
        instance.delete_dynamic_partition(EXTRACTS_PARTITION, key)
    instance.add_dynamic_partitions(EXTRACTS_PARTITION, [k for k in ids if k not in existing])
    keys = instance.get_dynamic_partitions(EXTRACTS_PARTITION)
    if partition is not None and partition not in keys:
        return RunSummary(
            False, "", [], error=f"no extract {partition!r} in the manifest of {landing_dir()}"
        )
    selected = [partition] if partition is not None else list(keys)

    published = warehouse_dir() / "marts.duckdb"
    before = published.stat().st_mtime_ns if published.exists() else None
    job = defs.resolve_job_def("refresh_warehouse")
    # dbt's own console output goes to a log file unless asked for (the Dagster UI keeps it too).
    log_path = warehouse_dir() / "logs" / "last_run.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        if log_level != "DEBUG":
            stack.enter_context(contextlib.redirect_stdout(stack.enter_context(log_path.open("w"))))
        result = job.execute_in_process(
            instance=instance,
            tags=all_partitions_tags(selected),
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        )
    summary = RunSummary(result.success, result.run_id, selected, published=published)
    summary.log_path = log_path
    for event in result.all_events:
        if event.event_type == DagsterEventType.STEP_FAILURE:
            summary.failed_steps.append(
                f"{event.step_key}: {event.event_specific_data.error.message.strip()}"
            )
        elif event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            ev = event.event_specific_data
            name = f"{ev.asset_key.to_user_string()}:{ev.check_name}"
            if ev.check_name.startswith("gx_") or ev.check_name == "waivers_not_stale":
                summary.gate_results[name] = (ev.passed, ev.description or "")
            if ev.passed:
                summary.checks_passed.append(name)
            elif ev.severity.value == "WARN":
                summary.checks_warned.append(name)
            else:
                summary.checks_failed.append(name)
    from expectations.runner import data_docs_index

    docs = data_docs_index(warehouse_dir())
    summary.data_docs = docs if docs.exists() else None
    after = published.stat().st_mtime_ns if published.exists() else None
    summary.published_updated = after is not None and after != before
    if published.exists():
        import duckdb

        with duckdb.connect(str(published), read_only=True) as con:
            for (table,) in con.execute(
                "select table_name from duckdb_tables() where table_name like 'mart_%' order by 1"
            ).fetchall():
                summary.rows_per_mart[table] = con.execute(
                    f'select count(*) from "{table}"'
                ).fetchone()[0]
    return summary
