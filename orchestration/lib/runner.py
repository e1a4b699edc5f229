"""Run the whole graph in-process against the project's persistent Dagster instance, so runs
show up in `dagster dev` afterwards."""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from dagster import (
    AssetCheckSeverity,
    DagsterEventType,
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    JobDefinition,
)

from complaints.config import POSTGRES_DSN_ENV, ComplaintsConfig
from complaints.dbt_paths import prepare_dbt
from complaints.exports import EXPORTS_LINK
from complaints.findings import (
    FailedTotal,
    UnknownSections,
    failed_totals,
    stale_waivers,
    unknown_sections,
)
from complaints.report import REPORT_NAME
from expectations.runner import data_docs_index
from ingest.errors import ExtractError
from ingest.manifest import Manifest, parse_count, read_manifest
from orchestration.definitions import build_defs
from orchestration.defs.ingest.partitions import EXTRACTS_PARTITION, MANIFEST_SHA256_TAG
from orchestration.defs.schedules import all_partitions_tags
from orchestration.lib.alerting import ALERTS_TAG, IN_PROCESS, alert_on_recovery, alert_on_run
from orchestration.lib.dagster_compat import end_process_stuck_in_a_pool_wait
from orchestration.lib.failure_reasons import step_failure_reason, with_location
from orchestration.lib.instance import event_batching, open_instance
from orchestration.lib.progress import Progress, ProgressWatcher, Totals
from orchestration.lib.recovery import (
    DEFAULT_WAIT_SECONDS,
    Recovered,
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
    # Gate checks of warning severity that did not pass (a stale waiver): never a failure.
    gate_warnings: dict[str, str] = field(default_factory=dict)
    # What the reader must act on (complaints/findings.py), in `complaints check`'s words.
    failed_totals: list[FailedTotal] = field(default_factory=list)
    stale_waivers: list[str] = field(default_factory=list)
    unknown_sections: list[UnknownSections] = field(default_factory=list)
    data_docs: Path | None = None
    log_path: Path | None = None
    # What analysts read besides the published file: the exports folder and the report.
    exports: Path | None = None
    report: Path | None = None
    # Parses of manifest.yml during the run (ingest.manifest.parse_count): one unless it changed,
    # none when the caller read it already (the CLI does, to refuse a bad one before it starts).
    manifest_parses: int = 0
    # What `published_marts` recorded when this run published (publication id; on a server the
    # schema and the swap's attempts).
    publication: dict[str, object] = field(default_factory=dict)


def run_pipeline(
    config: ComplaintsConfig,
    instance: DagsterInstance | None = None,
    log_level: str = "WARNING",
    partition: str | None = None,
    wait_seconds: float | None = None,
    say: Callable[[str], None] | None = None,
    busy_exit_status: int = 1,
    manifest: Manifest | None = None,
    watch: Callable[[Progress, str | None], None] | None = None,
) -> RunSummary:
    """Sync partitions with the manifest, then materialise everything in one run.

    With `partition`, only that extract is parsed (its raw rows replaced); every other extract
    keeps the raw rows already in the build database, and the unpartitioned rest of the graph
    (dbt, gate, publication) is rebuilt from all of them, as in the sensor's per-extract runs.
    `manifest` is the landing folder's, when the caller has read it already (the CLI does).
    `watch` is told the run's progress while it executes (orchestration/lib/progress.py).
    """

    config.ensure_folders()
    prepare_dbt(config)
    defs = build_defs(config)
    with server_environment(config):
        return _run(
            defs,
            config,
            instance=instance,
            log_level=log_level,
            partition=partition,
            wait_seconds=wait_seconds,
            say=say,
            busy_exit_status=busy_exit_status,
            manifest=manifest,
            watch=watch,
        )


@contextlib.contextmanager
def server_environment(config: ComplaintsConfig) -> Iterator[None]:
    """A server run's connection string in this process's environment while it runs: the steps
    read it there (orchestration/resources.py), so it is never stored with the run; restored
    afterwards."""
    if config.target != "postgres" or not config.postgres_dsn:
        yield
        return
    saved = os.environ.get(POSTGRES_DSN_ENV)
    os.environ[POSTGRES_DSN_ENV] = config.postgres_dsn
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(POSTGRES_DSN_ENV, None)
        else:
            os.environ[POSTGRES_DSN_ENV] = saved


def _run(
    defs: Definitions,
    config: ComplaintsConfig,
    *,
    instance: DagsterInstance | None,
    log_level: str,
    partition: str | None,
    wait_seconds: float | None,
    say: Callable[[str], None] | None,
    busy_exit_status: int,
    manifest: Manifest | None,
    watch: Callable[[Progress, str | None], None] | None,
) -> RunSummary:
    instance = instance or open_instance(config)
    parses_before = parse_count()
    try:
        manifest = manifest or read_manifest(config.landing_dir)
        keys = sync_partitions(instance, manifest)
    except ExtractError as exc:
        return RunSummary(success=False, run_id="", extracts=[], error=str(exc))
    if partition is not None and partition not in keys:
        return RunSummary(
            success=False,
            run_id="",
            extracts=[],
            error=f"no extract {partition!r} in the manifest of {config.landing_dir}",
        )
    selected = [partition] if partition is not None else keys

    tell = say or (lambda _line: None)
    timeout = DEFAULT_WAIT_SECONDS if wait_seconds is None else wait_seconds
    recovered: list[Recovered] = []

    def note(item: Recovered) -> None:
        tell(item.line())
        recovered.append(item)

    _wait_for_our_turn(instance, config, timeout, tell, note)
    alert_on_recovery(config, recovered, "complaints run", tell)
    recovered.clear()

    published = config.published_db
    before = published.stat().st_mtime_ns if published.exists() else None
    log_path = config.log_dir / "last_run.log"
    current = instance  # the watchdog's thread needs a non-Optional reference
    run_id = str(uuid.uuid4())
    where = {
        "publication": str(published),
        "report": str(config.warehouse_dir / REPORT_NAME),
    }
    with contextlib.ExitStack() as watching:
        if watch is not None:
            totals = Totals.of(defs, len(selected))
            dbt_log = config.dbt_target_dir / "dbt.log"
            watching.enter_context(
                ProgressWatcher(instance, run_id, totals, watch, where, dbt_log=dbt_log)
            )
        watching.enter_context(
            Watchdog(
                current,
                lambda: run_of_this_process(current),
                timeout,
                on_timeout=lambda busy: _give_up(current, busy, tell, busy_exit_status),
                on_recover=note,
            )
        )
        result = _execute(
            defs.resolve_job_def("refresh_warehouse"),
            instance,
            selected,
            log_level,
            log_path,
            extra_tags={
                **process_tags(),
                MANIFEST_SHA256_TAG: manifest.sha256,
                ALERTS_TAG: IN_PROCESS,
            },
            run_id=run_id,
        )
    folders = {"warehouse folder": config.warehouse_dir, "Dagster home": config.dagster_home}
    alert_on_recovery(config, recovered, "complaints run", tell)
    alert_on_run(config, instance, result.run_id, "complaints run", tell)
    summary = summarise(result, selected, folders)
    # Old runs' event logs go, never the runs holding what the UI shows as current.
    pruned = prune_runs(instance, config.keep_runs, defs.resolve_asset_graph().asset_check_keys)
    if pruned.deleted:
        tell(pruned.line())
    # Every step of this in-process run reads the manifest through the same cache.
    summary.manifest_parses = parse_count() - parses_before
    _describe_publication(summary, config, before, log_path)
    _describe_findings(summary, config, manifest)
    return summary


def _describe_findings(summary: RunSummary, config: ComplaintsConfig, manifest: Manifest) -> None:
    """The failing control totals, stale waivers and 'Unknown' sections of the run's extracts."""
    summary.failed_totals = failed_totals(config.build_db)
    summary.stale_waivers = stale_waivers(config.build_db)
    chosen = set(summary.extracts)
    summary.unknown_sections = unknown_sections(
        e for e in manifest.entries if e.extract_id in chosen
    )


def _wait_for_our_turn(
    instance: DagsterInstance,
    config: ComplaintsConfig,
    timeout: float,
    tell: Callable[[str], None],
    note: Callable[[Recovered], None],
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
        on_recover=note,
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
    exports, report = config.warehouse_dir / EXPORTS_LINK, config.warehouse_dir / REPORT_NAME
    summary.exports = exports if exports.exists() else None
    summary.report = report if report.exists() else None
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
    run_id: str | None = None,
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
            run_id=run_id,
        )


def summarise(
    result: ExecuteInProcessResult, selected: list[str], folders: dict[str, Path] | None = None
) -> RunSummary:
    """Failed steps and every check's outcome, the gate's (Great Expectations) apart. A step that
    failed for a full disk says which of `folders` (what -> path) is on it."""
    summary = RunSummary(success=result.success, run_id=result.run_id, extracts=selected)
    for event in result.all_events:
        if event.event_type == DagsterEventType.STEP_FAILURE:
            # The reason below Dagster's wrapper, with its root cause (failure_reasons.py).
            message = with_location(
                step_failure_reason(event.step_failure_data.error), folders or {}
            )
            summary.failed_steps.append(f"{event.step_key}: {message}")
        elif (
            event.event_type == DagsterEventType.ASSET_MATERIALIZATION
            and event.asset_key is not None
            and event.asset_key.to_user_string() == "published_marts"
        ):
            materialization = event.step_materialization_data.materialization
            summary.publication = {k: v.value for k, v in materialization.metadata.items()}
        elif event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            check = event.asset_check_evaluation_data
            name = f"{check.asset_key.to_user_string()}:{check.check_name}"
            gate = check.check_name.startswith("gx_") or check.check_name == "waivers_not_stale"
            warning = not check.passed and check.severity == AssetCheckSeverity.WARN
            if gate and warning:
                summary.gate_warnings[name] = check.description or ""
            elif gate:
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
