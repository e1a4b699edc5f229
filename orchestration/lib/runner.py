"""Run the whole graph in-process against the project's persistent Dagster instance, so runs
show up in `dagster dev` afterwards."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from dagster import (
    AssetCheckSeverity,
    DagsterEventType,
    DagsterInstance,
    ExecuteInProcessResult,
    JobDefinition,
)

from complaints.config import ComplaintsConfig
from complaints.dbt_paths import prepare_dbt
from expectations.runner import data_docs_index
from ingest.errors import ExtractError
from ingest.manifest import Manifest, parse_count, read_manifest
from orchestration.definitions import build_defs
from orchestration.defs.ingest.partitions import EXTRACTS_PARTITION, MANIFEST_SHA256_TAG
from orchestration.defs.schedules import all_partitions_tags
from orchestration.lib.dagster_compat import end_process_stuck_in_a_pool_wait
from orchestration.lib.instance import event_batching, open_instance
from orchestration.lib.recovery import (
    DEFAULT_WAIT_SECONDS,
    Watchdog,
    process_tags,
    run_of_this_process,
    wait_for_warehouse,
)
from orchestration.lib.retention import prune_runs


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
    # Parses of manifest.yml during the run (ingest.manifest.parse_count): one unless it changed,
    # none when the caller read it already (the CLI does, to refuse a bad one before it starts).
    manifest_parses: int = 0


def run_pipeline(
    config: ComplaintsConfig,
    instance: DagsterInstance | None = None,
    log_level: str = "WARNING",
    partition: str | None = None,
    wait_seconds: float | None = None,
    say: Callable[[str], None] | None = None,
    busy_exit_status: int = 1,
    manifest: Manifest | None = None,
) -> RunSummary:
    """Sync partitions with the manifest, then materialise everything in one run.

    With `partition`, only that extract is parsed (its raw rows replaced); every other extract
    keeps the raw rows already in the build database, and the unpartitioned rest of the graph
    (dbt, gate, publication) is rebuilt from all of them, as in the sensor's per-extract runs.
    `manifest` is the landing folder's, when the caller has read it already (the CLI does).
    """

    config.ensure_folders()
    prepare_dbt(config)
    defs = build_defs(config)
    instance = instance or open_instance(config)
    parses_before = parse_count()
    try:
        manifest = manifest or read_manifest(config.landing_dir)
        keys = sync_partitions(instance, manifest)
    except ExtractError as exc:
        return RunSummary(False, "", [], error=str(exc))
    if partition is not None and partition not in keys:
        return RunSummary(
            False, "", [], error=f"no extract {partition!r} in the manifest of {config.landing_dir}"
        )
    selected = [partition] if partition is not None else keys

    tell = say or (lambda _line: None)
    timeout = DEFAULT_WAIT_SECONDS if wait_seconds is None else wait_seconds
    _wait_for_our_turn(instance, config, timeout, tell)

    published = config.published_db
    before = published.stat().st_mtime_ns if published.exists() else None
    log_path = config.log_dir / "last_run.log"
    current = instance  # the watchdog's thread needs a non-Optional reference
    with Watchdog(
        current,
        lambda: run_of_this_process(current),
        timeout,
        on_timeout=lambda busy: _give_up(current, busy, tell, busy_exit_status),
        on_recover=lambda item: tell(item.line()),
    ):
        result = _execute(
            defs.resolve_job_def("refresh_warehouse"),
            instance,
            selected,
            log_level,
            log_path,
            extra_tags={**process_tags(), MANIFEST_SHA256_TAG: manifest.sha256},
        )
    summary = summarise(result, selected)
    # Old runs' event logs go, never the runs holding what the UI shows as current.
    pruned = prune_runs(instance, config.keep_runs, defs.resolve_asset_graph().asset_check_keys)
    if pruned.deleted:
        tell(pruned.line())
    # Every step of this in-process run reads the manifest through the same cache.
    summary.manifest_parses = parse_count() - parses_before
    _describe_publication(summary, config, before, log_path)
    return summary


def _wait_for_our_turn(
    instance: DagsterInstance,
    config: ComplaintsConfig,
    timeout: float,
    tell: Callable[[str], None],
) -> None:
    """Crash recovery (orchestration/lib/recovery.py): runs of ours whose process died are marked
    failed and their pool slot freed; a live run holding the warehouse is waited for, bounded;
    temporaries a killed publication left beside the published file are removed."""

    wait_for_warehouse(
        instance,
        timeout,
        on_wait=lambda runs: tell(
            "waiting for the warehouse: held by "
            + "; ".join(r.run_id for r in runs)
            + f" (at most {timeout:.0f} s)"
        ),
        on_recover=lambda item: tell(item.line()),
    )
    for line in remove_stale_temporaries(config.published_db):
        tell(line)


def _describe_publication(
    summary: RunSummary, config: ComplaintsConfig, before: int | None, log_path: Path
) -> None:
    """What the run left for its reader: the published file (and whether this run replaced it,
    `before` being its modification time when the run started), the log and the Data Docs."""

    published = config.published_db
    summary.published, summary.log_path = published, log_path
    docs = data_docs_index(config.warehouse_dir)
    summary.data_docs = docs if docs.exists() else None
    after = published.stat().st_mtime_ns if published.exists() else None
    summary.published_updated = after is not None and after != before
    # Counted only in a publication this run made (a previous file may even be unreadable).
    summary.rows_per_mart = rows_per_mart(published) if summary.published_updated else {}


def _give_up(
    instance: DagsterInstance, busy: Exception, tell: Callable[[str], None], exit_status: int
) -> None:
    """The watchdog's timeout: Dagster's executor waits for a pool slot in a loop no signal
    interrupts, so the run is reported failed and this process ends with `exit_status` (the
    caller's choice: the CLI gives its own code for a busy warehouse)."""

    run_id = run_of_this_process(instance)
    run = instance.get_run_by_id(run_id) if run_id else None
    if run is not None:
        instance.report_run_failed(run, f"Gave up waiting for the warehouse: {busy}")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    tell(f"error: {busy}")
    end_process_stuck_in_a_pool_wait(exit_status)


def stale_temporaries(published: Path) -> list[Path]:
    """Temporary publication files of ours (publication.py's naming: `.<name>.<32 hex>.tmp` and
    its `.wal`) that a killed run left next to the published file."""
    pattern = re.compile(rf"^\.{re.escape(published.name)}\.[0-9a-f]{{32}}\.tmp(\.wal)?$")
    folder = published.parent
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if pattern.match(p.name) and p.is_file())


def remove_stale_temporaries(published: Path) -> list[str]:
    """Remove them (call only once no other live run holds the warehouse); one line per file."""
    lines = []
    for path in stale_temporaries(published):
        with contextlib.suppress(FileNotFoundError):
            size = path.stat().st_size
            path.unlink()
            lines.append(f"removed {path.name} ({size} bytes) left by an earlier, killed run")
    return lines


def sync_partitions(instance: DagsterInstance, manifest: Manifest) -> list[str]:
    """Make the instance's extract partitions those of the landing folder's manifest."""
    ids = [e.extract_id for e in manifest.entries]
    existing = instance.get_dynamic_partitions(EXTRACTS_PARTITION)
    for key in existing:
        if key not in ids:
            instance.delete_dynamic_partition(EXTRACTS_PARTITION, key)
    instance.add_dynamic_partitions(EXTRACTS_PARTITION, [k for k in ids if k not in existing])
    return list(instance.get_dynamic_partitions(EXTRACTS_PARTITION))


def _execute(
    job: JobDefinition,
    instance: DagsterInstance,
    selected: list[str],
    log_level: str,
    log_path: Path,
    extra_tags: dict[str, str] | None = None,
) -> ExecuteInProcessResult:
    """One in-process run over the selected partitions; dbt's console output goes to a log file
    unless asked for (the Dagster UI keeps it too)."""

    log_path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        if log_level != "DEBUG":
            stack.enter_context(contextlib.redirect_stdout(stack.enter_context(log_path.open("w"))))
        stack.enter_context(event_batching(instance))
        return job.execute_in_process(
            instance=instance,
            tags={**all_partitions_tags(selected), **(extra_tags or {})},
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        )


def summarise(result: ExecuteInProcessResult, selected: list[str]) -> RunSummary:
    """Failed steps and every check's outcome, the gate's (Great Expectations) apart."""
    summary = RunSummary(result.success, result.run_id, selected)
    for event in result.all_events:
        if event.event_type == DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.error
            message = error.message.strip() if error else "failed"
            # A Failure's description is the reason; its class path is noise for the reader.
            message = re.sub(r"^[\w.]*\bFailure: ", "", message)
            summary.failed_steps.append(f"{event.step_key}: {message}")
        elif event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            check = event.asset_check_evaluation_data
            name = f"{check.asset_key.to_user_string()}:{check.check_name}"
            if check.check_name.startswith("gx_") or check.check_name == "waivers_not_stale":
                summary.gate_results[name] = (check.passed, check.description or "")
            if check.passed:
                summary.checks_passed.append(name)
            elif check.severity == AssetCheckSeverity.WARN:
                summary.checks_warned.append(name)
            else:
                summary.checks_failed.append(name)
    return summary


def rows_per_mart(published: Path) -> dict[str, int]:
    if not published.exists():
        return {}

    counts: dict[str, int] = {}
    with duckdb.connect(str(published), read_only=True) as con:
        tables = con.execute(
            "select table_name from duckdb_tables() where table_name like 'mart_%' order by 1"
        ).fetchall()
        for (table,) in tables:
            (counts[table],) = con.execute(f'select count(*) from "{table}"').fetchall()[0]
    return counts
