"""Weekly full refresh: every extract partition in one run, Monday 06:00 London time."""

from __future__ import annotations

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from orchestration.jobs import refresh_job
from orchestration.partitions import EXTRACTS_PARTITION

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def all_partitions_tags(keys: list[str]) -> dict[str, str]:
    """Run tags that put every partition into one run (single-run backfill policy)."""
    return {RANGE_START: keys[0], RANGE_END: keys[-1]}


@schedule(
    job=refresh_job,
    cron_schedule="0 6 * * 1",
    execution_timezone="Europe/London",
    default_status=DefaultScheduleStatus.STOPPED,
    description="Materialise everything weekly (Monday 06:00, Europe/London).",
)
def weekly_full_refresh(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
    keys = list(context.instance.get_dynamic_partitions(EXTRACTS_PARTITION))
    if not keys:
        return SkipReason("no extract partitions yet: turn on the landing-folder sensor")
    return RunRequest(run_key=None, tags=all_partitions_tags(keys))
