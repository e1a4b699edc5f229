"""Sensor on the landing folder: one tick, one run, whatever landed.

The sensor compares the landing folder (each manifest entry's fingerprint: content hash plus the
manifest fields that change its rows) with what the warehouse holds (the fingerprint each extract
was loaded from, which `raw_extracts` commits with its rows and copies to a state file). So its
first tick on a warehouse that `complaints run` built requests nothing for unchanged files.

Every new or changed extract of a tick goes into one run of `refresh_warehouse` over a contiguous
range of extract partitions (the single-run backfill policy parses them all in one step, and dbt
builds once); extracts removed from the manifest lose their partition and are pruned by that same
run (`extract_registry`), or by a `rebuild_without_parsing` run when nothing else changed.

While a run of either job is in flight the sensor waits: the run may parse a file that changes
after the tick that requested it, so the next tick after the run compares the folder with what the
run actually loaded. A change is therefore never lost (it differs from what the warehouse holds)
and never loaded twice (once loaded, it no longer differs). A run that fails leaves its extracts
unloaded; the run key (what is pending and what is held) keeps the sensor from requesting the same
failing run again until a file or the warehouse changes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import duckdb
import psycopg
from dagster import (
    AddDynamicPartitionsRequest,
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    DeleteDynamicPartitionsRequest,
    Failure,
    RunRequest,
    RunsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from complaints.config import DEFAULT_SENSOR_INTERVAL_SECONDS
from complaints.raw_store import read_context_state
from ingest.errors import ExtractError
from ingest.manifest import ManifestEntry, context_fingerprint, read_manifest
from orchestration.defs.ingest.partitions import EXTRACTS_PARTITION, MANIFEST_SHA256_TAG
from orchestration.defs.jobs import rebuild_job, refresh_job
from orchestration.lib.dagster_compat import partition_range_tags
from orchestration.lib.retention import prune_runs
from orchestration.resources import WarehouseResource

REMOVED_TAG = "complaints/removed_extracts"
IN_FLIGHT = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]


def fingerprint(entry: ManifestEntry) -> str:
    """Content hash plus the manifest fields that change what the rows say."""
    return entry.fingerprint()


@dataclass(frozen=True)
class LandingPlan:
    """What one tick does: `pending` (new or changed, manifest order) are parsed by one run whose
    partitions are exactly them; `removed` are pruned by the same run."""

    pending: list[str]
    removed: list[str]
    delete_partitions: list[str]
    add_partitions: list[str]

    @property
    def changes_partitions(self) -> bool:
        return bool(self.delete_partitions or self.add_partitions)


def plan_changes(
    fingerprints: Mapping[str, str], held: Mapping[str, str], existing: Sequence[str]
) -> LandingPlan:
    """Compare the folder (id -> fingerprint, manifest order) with the warehouse (id -> the
    fingerprint it was loaded from) and the instance's partitions (in their order).

    One run covers a contiguous range of partitions, so a pending extract that already has a
    partition is deleted and added again: the pending ones become the last partitions, in one
    range. Listed extracts the warehouse holds unchanged get a partition if they lack one (a
    warehouse loaded through another instance) but no run.
    """
    pending = [k for k, fp in fingerprints.items() if held.get(k) != fp]
    removed = sorted({*held, *existing} - set(fingerprints))
    base = [k for k in existing if k not in removed]
    unchanged_missing = [k for k in fingerprints if k not in pending and k not in base]
    if _contiguous(pending, base):
        relocate, add = [], unchanged_missing  # already one range (a failed run's, say)
    else:
        relocate = [k for k in pending if k in base]
        add = [*unchanged_missing, *pending]
    return LandingPlan(
        pending=pending,
        removed=removed,
        delete_partitions=[*(k for k in removed if k in existing), *relocate],
        add_partitions=add,
    )


def _contiguous(keys: Sequence[str], order: Sequence[str]) -> bool:
    """Whether `keys` already are consecutive partitions of `order`, in that order."""
    if not keys or any(k not in order for k in keys):
        return False
    first = order.index(keys[0])
    return list(order[first : first + len(keys)]) == list(keys)


def run_key(plan: LandingPlan, fingerprints: Mapping[str, str], held: Mapping[str, str]) -> str:
    """Same pending files, same removals, same warehouse: same key (Dagster launches a key once)."""
    doc = json.dumps(
        [[(k, fingerprints[k]) for k in plan.pending], plan.removed, sorted(held.items())]
    )
    return hashlib.sha256(doc.encode()).hexdigest()[:24]


def runs_in_flight(instance: DagsterInstance) -> list[str]:
    """Ids of runs of the jobs that write the warehouse that have not finished."""
    return [
        run.run_id
        for job in (refresh_job.name, rebuild_job.name)
        for run in instance.get_runs(filters=RunsFilter(job_name=job, statuses=IN_FLIGHT))
    ]


def requests_for(
    plan: LandingPlan, key: str, manifest_sha256: str | None = None
) -> list[RunRequest]:
    common_tags = {REMOVED_TAG: ",".join(plan.removed)} if plan.removed else {}
    if manifest_sha256 is not None:
        common_tags[MANIFEST_SHA256_TAG] = manifest_sha256
    if plan.pending:
        tags = {**partition_range_tags(plan.pending[0], plan.pending[-1]), **common_tags}
        return [RunRequest(run_key=key, job_name=refresh_job.name, tags=tags)]
    if plan.removed:
        return [RunRequest(run_key=key, job_name=rebuild_job.name, tags=common_tags)]
    return []


SENSOR_DESCRIPTION = (
    "Watches the configured landing folder (manifest.yml and the files it lists): every new, "
    "changed or removed extract of a tick goes into one run, compared with what the "
    "warehouse holds."
)


def landing_folder_sensor_for(
    running: bool = False, interval_seconds: int = DEFAULT_SENSOR_INTERVAL_SECONDS
) -> SensorDefinition:
    """The sensor, running when the code location loads if `running` (a deployment:
    ComplaintsConfig.automation), else stopped until switched on in the UI (`make dev`); at most
    one tick every `interval_seconds` (ComplaintsConfig.sensor_interval_seconds)."""
    return sensor(
        name="landing_folder_sensor",
        jobs=[refresh_job, rebuild_job],
        minimum_interval_seconds=interval_seconds,
        default_status=DefaultSensorStatus.RUNNING if running else DefaultSensorStatus.STOPPED,
        description=SENSOR_DESCRIPTION,
    )(evaluate_landing_folder)


def evaluate_landing_folder(
    context: SensorEvaluationContext, warehouse: WarehouseResource
) -> SensorResult | SkipReason:
    """One tick: compare the landing folder with what the warehouse holds."""
    try:
        manifest = read_manifest(warehouse.landing)
    except ExtractError as exc:
        return SkipReason(f"landing folder not usable: {exc}")
    entries = manifest.entries
    busy = runs_in_flight(context.instance)
    if busy:
        return SkipReason(f"run(s) {', '.join(busy)} in flight: changes wait for the next tick")
    # Runs the daemon launched are pruned here, between runs (orchestration/lib/retention.py).
    pruned = prune_runs(context.instance, warehouse.config.keep_runs)
    if pruned.deleted:
        context.log.info(pruned.line())
    try:
        held = warehouse.loaded_state()
    except duckdb.IOException as exc:
        return SkipReason(f"the build database is busy ({exc}); trying again next tick")
    except (psycopg.Error, Failure) as exc:
        return SkipReason(f"the PostgreSQL server cannot be read ({exc}); trying again next tick")
    fingerprints = {e.extract_id: fingerprint(e) for e in entries}
    existing = list(context.instance.get_dynamic_partitions(EXTRACTS_PARTITION))
    plan = plan_changes(fingerprints, held, existing)
    key = run_key(plan, fingerprints, held)
    # The council context file: compared with what raw.council_context was loaded from. Every
    # run loads it, so a change with no extract to parse gets a rebuild.
    wanted_context = context_fingerprint(manifest.council_context)
    held_context = read_context_state(warehouse.config.warehouse_dir)
    context_changed = wanted_context != held_context
    if not (plan.pending or plan.removed or plan.changes_partitions or context_changed):
        return SkipReason("no new, changed or removed extracts, and the council context is loaded")
    if context_changed:
        key = hashlib.sha256(f"{key}:{held_context}:{wanted_context}".encode()).hexdigest()[:24]
    requests = requests_for(plan, key, manifest.sha256)
    if context_changed and not requests:
        requests = [
            RunRequest(
                run_key=key, job_name=rebuild_job.name, tags={MANIFEST_SHA256_TAG: manifest.sha256}
            )
        ]
    return SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[
            *(
                [DeleteDynamicPartitionsRequest(EXTRACTS_PARTITION, plan.delete_partitions)]
                if plan.delete_partitions
                else []
            ),
            *(
                [AddDynamicPartitionsRequest(EXTRACTS_PARTITION, plan.add_partitions)]
                if plan.add_partitions
                else []
            ),
        ],
        cursor=json.dumps({"last_run_key": key}),
    )


landing_folder_sensor = landing_folder_sensor_for()
