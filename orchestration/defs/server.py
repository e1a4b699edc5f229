"""Server mode in Dagster: one asset, `postgres_marts`, whose step loads, builds, audits and
publishes on the PostgreSQL server (complaints/postgres.py), with every Great Expectations
suite as a blocking check of it. `complaints run --target postgres` executes it on the configured
Dagster instance (in server mode a dagster-postgres one: deploy/dagster.yaml), so the run and
its checks are in the shared history the webserver shows.

The gate runs inside the step, between build and swap, because the build schema only exists
there; a failed suite is reported as a failed check and fails the step before the swap.
"""

from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    DefaultScheduleStatus,
    Definitions,
    Failure,
    MaterializeResult,
    MetadataValue,
    ScheduleDefinition,
    asset,
    define_asset_job,
    in_process_executor,
)

from complaints.config import ComplaintsConfig
from complaints.postgres import PostgresRunSummary, run_postgres
from expectations.suites import SUITES
from orchestration.defs.alerts import freshness_policy

POSTGRES_MARTS = AssetKey("postgres_marts")
POSTGRES_JOB = "publish_postgres"
GATE_SPECS = [
    AssetCheckSpec(
        name=f"gx_{suite.name}",
        asset=POSTGRES_MARTS,
        blocking=suite.blocking,
        description=f"Great Expectations suite '{suite.name}' on the build schema: "
        f"{suite.description}",
    )
    for suite in SUITES.values()
]


def build_postgres_defs(
    config: ComplaintsConfig, sink: list[PostgresRunSummary] | None = None
) -> Definitions:
    """The server-mode code location for `config`; `sink` receives each run's summary."""

    @asset(
        key=POSTGRES_MARTS,
        group_name="publish",
        kinds={"postgres", "dbt"},
        check_specs=GATE_SPECS,
        # The weekly refresh plus a day's grace (docs/OPERATIONS.md).
        freshness_policy=freshness_policy(config),
        description=(
            "The `marts` schema on the PostgreSQL server: raw tables loaded by COPY, dbt models "
            "built into a fresh schema, the Great Expectations gate run there, then swapped in as "
            "`marts` in one transaction (the previous publication kept as `marts_previous`)."
        ),
    )
    def postgres_marts(context: AssetExecutionContext) -> Iterator[Any]:
        summary = run_postgres(config, run_id=context.run.run_id)
        if sink is not None:
            sink.append(summary)
        for name, (passed, description) in summary.gate_results.items():
            yield AssetCheckResult(
                asset_key=POSTGRES_MARTS,
                check_name=name,
                passed=passed,
                severity=AssetCheckSeverity.ERROR,
                description=description,
            )
        if not summary.success:
            raise Failure(description=summary.error or "server run failed")
        yield MaterializeResult(
            asset_key=POSTGRES_MARTS,
            metadata={
                "publication_id": summary.publication_id,
                "rows_per_table": MetadataValue.json(summary.rows_per_table),
                "dagster/row_count": sum(summary.rows_per_table.values()),
                "swap_attempts": summary.swap_attempts,
                "extracts": len(summary.extracts),
            },
        )

    job = define_asset_job(POSTGRES_JOB, selection=[POSTGRES_MARTS])
    return Definitions(
        assets=[postgres_marts],
        jobs=[job],
        # The same weekly full refresh as the DuckDB target's (orchestration/defs/schedules.py).
        schedules=[
            ScheduleDefinition(
                name="weekly_postgres_refresh",
                job=job,
                cron_schedule="0 6 * * 1",
                execution_timezone="Europe/London",
                # Running in a deployment (COMPLAINTS_AUTOMATION=on), as the DuckDB target's.
                default_status=DefaultScheduleStatus.RUNNING
                if config.automation
                else DefaultScheduleStatus.STOPPED,
            )
        ],
        executor=in_process_executor,
    )
