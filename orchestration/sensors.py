"""Sensor on the landing folder: new or changed extracts (by content hash) get their partition
added and a run; a removed manifest entry loses its partition and its rows."""

import json

from dagster import (
    AddDynamicPartitionsRequest,
    DefaultSensorStatus,
    DeleteDynamicPartitionsRequest,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from ingest.errors import ExtractError
from ingest.manifest import ManifestEntry, load_manifest
from orchestration.jobs import rebuild_job, refresh_job
from orchestration.partitions import EXTRACTS_PARTITION
from orchestration.resources import WarehouseResource


def fingerprint(entry: ManifestEntry) -> str:
    """Content hash plus the manifest fields that change what the rows say."""
    return entry.fingerprint()


def plan_changes(
    fingerprints: dict[str, str], cursor: dict[str, str], existing: list[str]
) -> tuple[list[str], list[str], list[str]]:
    """(new, changed, removed) extract ids."""
    new = [k for k in fingerprints if k not in existing]
    changed = [k for k in fingerprints if k in existing and cursor.get(k) != fingerprints[k]]
    removed = [k for k in existing if k not in fingerprints]
    return new, changed, removed


@sensor(
    jobs=[refresh_job, rebuild_job],
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.STOPPED,
    description="Watches the configured landing folder (manifest.yml and the files it lists).",
)
def landing_folder_sensor(
    context: SensorEvaluationContext, warehouse: WarehouseResource
) -> SensorResult | SkipReason:
    try:
        entries = load_manifest(warehouse.landing)
    except ExtractError as exc:
        return SkipReason(f"landing folder not usable: {exc}")
    fingerprints = {e.extract_id: fingerprint(e) for e in entries}
    cursor = json.loads(context.cursor) if context.cursor else {}
    existing = list(context.instance.get_dynamic_partitions(EXTRACTS_PARTITION))
    new, changed, removed = plan_changes(fingerprints, cursor, existing)
    if not (new or changed or removed):
        return SkipReason("no new, changed or removed extracts")
    runs = [
        RunRequest(
            run_key=f"{key}:{fingerprints[key]}", partition_key=key, job_name=refresh_job.name
        )
        for key in [*new, *changed]
    ]
    if removed:
        runs.append(
            RunRequest(
                run_key=f"removed:{','.join(sorted(removed))}:{len(cursor)}",
                job_name=rebuild_job.name,
                tags={"complaints/removed_extracts": ",".join(sorted(removed))},
            )
        )
    return SensorResult(
        run_requests=runs,
        dynamic_partitions_requests=[
            *([AddDynamicPartitionsRequest(EXTRACTS_PARTITION, new)] if new else []),
            *([DeleteDynamicPartitionsRequest(EXTRACTS_PARTITION, removed)] if removed else []),
        ],
        cursor=json.dumps(fingerprints, sort_keys=True),
    )
