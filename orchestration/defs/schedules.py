"""Weekly full refresh: every extract partition in one run, Monday 06:00 London time."""

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from ingest.errors import ExtractError
from ingest.manifest import load_manifest
from orchestration.defs.ingest.partitions import EXTRACTS_PARTITION
from orchestration.defs.jobs import refresh_job
from orchestration.lib.dagster_compat import partition_range_tags
from orchestration.resources import WarehouseResource


def all_partitions_tags(keys: list[str]) -> dict[str, str]:
    """Run tags that put every partition in `keys` into one run (single-run backfill policy)."""
    return partition_range_tags(keys[0], keys[-1])


CRON = "0 6 * * 1"
TIMEZONE = "Europe/London"


def weekly_full_refresh_for(running: bool = False) -> ScheduleDefinition:
    """The schedule, running when the code location loads if `running` (a deployment:
    ComplaintsConfig.automation), else stopped until switched on in the UI (`make dev`)."""
    return schedule(
        name="weekly_full_refresh",
        job=refresh_job,
        cron_schedule=CRON,
        execution_timezone=TIMEZONE,
        default_status=DefaultScheduleStatus.RUNNING if running else DefaultScheduleStatus.STOPPED,
        description="Materialise every extract of the landing folder weekly (Monday 06:00, London).",
    )(_weekly_full_refresh)


def _weekly_full_refresh(
    context: ScheduleEvaluationContext, warehouse: WarehouseResource
) -> RunRequest | SkipReason:
    try:
        listed = {e.extract_id for e in load_manifest(warehouse.landing)}
    except ExtractError as exc:
        return SkipReason(f"landing folder not usable: {exc}")
    keys = list(context.instance.get_dynamic_partitions(EXTRACTS_PARTITION))
    if not keys:
        return SkipReason("no extract partitions yet: turn on the landing-folder sensor")
    # One run covers a contiguous range of partitions: a partition whose manifest entry is gone
    # would fail raw_extracts, so wait until the sensor has deleted it.
    unlisted = [k for k in keys if k not in listed]
    if unlisted:
        return SkipReason(
            f"partitions no longer in {warehouse.landing}/manifest.yml: {', '.join(unlisted)}; "
            "the landing-folder sensor removes them"
        )
    return RunRequest(run_key=None, tags=all_partitions_tags(keys))


weekly_full_refresh = weekly_full_refresh_for()
