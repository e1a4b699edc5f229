"""A server-mode run as a run of the Dagster job `publish_postgres` on the configuration's
instance, so the run and its checks land in Dagster's history."""

from __future__ import annotations

import sys
from typing import Any

from dagster import DagsterInstance

from complaints.config import ComplaintsConfig
from complaints.postgres import PostgresRunSummary
from orchestration.defs.server import POSTGRES_JOB, build_postgres_defs
from orchestration.lib.alerting import ALERTS_TAG, IN_PROCESS, alert_on_run
from orchestration.lib.instance import configure_instance


def run_on_instance(config: ComplaintsConfig, instance: Any = None) -> PostgresRunSummary:
    """`run_postgres` as a run of the Dagster job `publish_postgres` on the configuration's
    instance (or `instance`), so the run and its checks land in Dagster's history."""
    sink: list[PostgresRunSummary] = []
    job = build_postgres_defs(config, sink).resolve_job_def(POSTGRES_JOB)
    if instance is None:
        configure_instance(config)
        instance = DagsterInstance.from_config(str(config.dagster_home))
    result = job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        # This process sends the run's alert: the daemon's run-failure sensor leaves it alone.
        tags={ALERTS_TAG: IN_PROCESS},
    )
    alert_on_run(
        config,
        instance,
        result.run_id,
        "complaints run --target postgres",
        lambda line: print(line, file=sys.stderr),
    )
    summary = sink[0] if sink else PostgresRunSummary(False, "", [], error="the step did not run")
    summary.run_id = result.run_id
    if not result.success and summary.error is None:
        summary.error = "the Dagster run failed: see its log in the Dagster UI"
        summary.success = False
    return summary
