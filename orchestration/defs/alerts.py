"""Alerts from the code location: a failed (or gate-blocked) run the daemon launched, and a
publication that missed its freshness window. Both run wherever the daemon runs, for either
target; without COMPLAINTS_ALERT_SMTP_HOST they only say in their tick that nothing was sent.

`complaints run` sends its own run's alerts in its process (orchestration/lib/runner.py) and
tags the run so that the run-failure sensor leaves it alone; crash recovery sends its alert where
it recovers (the runner, or the warehouse resource when a run starts).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from dagster import (
    AssetKey,
    DagsterRunStatus,
    DefaultSensorStatus,
    FreshnessPolicy,
    RunFailureSensorContext,
    RunStatusSensorContext,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    get_dagster_logger,
    run_failure_sensor,
    run_status_sensor,
    sensor,
)

from complaints import alerts
from complaints.config import ComplaintsConfig
from orchestration.lib.alerting import ALERTS_TAG, alert_on_run
from orchestration.lib.recovery import RECOVERY_FAILURE_PREFIX

FRESHNESS_SENSOR_INTERVAL_SECONDS = 600


def freshness_policy(config: ComplaintsConfig) -> FreshnessPolicy:
    """The published assets' expectation: materialised at least every `freshness_hours` (the
    weekly schedule plus a day's grace), shown as each asset's freshness in the UI."""
    return FreshnessPolicy.time_window(fail_window=timedelta(hours=config.freshness_hours))


def run_failure_alert_sensor(config: ComplaintsConfig) -> SensorDefinition:
    @run_failure_sensor(
        name="alert_on_run_failure",
        default_status=DefaultSensorStatus.RUNNING,
        description=(
            "E-mails COMPLAINTS_ALERT_TO when a run of this code location fails, naming the "
            "failed steps, or, when the quality gate blocked publication, the failing checks and "
            "control totals (docs/OPERATIONS.md). Runs of `complaints run` send their own."
        ),
    )
    def alert_on_run_failure(context: RunFailureSensorContext) -> None:
        run = context.dagster_run
        log = get_dagster_logger()
        if run.tags.get(ALERTS_TAG):
            log.info(f"run {run.run_id}: its own process sent the alert")
            return
        if (context.failure_event.message or "").startswith(RECOVERY_FAILURE_PREFIX):
            log.info(f"run {run.run_id}: crash recovery's alert covers it")
            return
        if config.alerts is None:
            log.info(f"run {run.run_id} failed; no alert: COMPLAINTS_ALERT_SMTP_HOST is not set")
            return
        alert_on_run(config, context.instance, run.run_id, "launched by the daemon", log.warning)

    return alert_on_run_failure


def run_canceled_alert_sensor(config: ComplaintsConfig) -> SensorDefinition:
    """Run monitoring cancels a run past the maximum run time (docs/OPERATIONS.md): a
    cancelled run published nothing either, so it is told like a failure."""

    @run_status_sensor(
        run_status=DagsterRunStatus.CANCELED,
        name="alert_on_run_canceled",
        default_status=DefaultSensorStatus.RUNNING,
        description="E-mails COMPLAINTS_ALERT_TO when a run is cancelled (by run monitoring's "
        "maximum run time, or by hand).",
    )
    def alert_on_run_canceled(context: RunStatusSensorContext) -> None:
        run = context.dagster_run
        log = get_dagster_logger()
        if config.alerts is None:
            log.info(f"run {run.run_id} cancelled; no alert: COMPLAINTS_ALERT_SMTP_HOST is not set")
            return
        alert_on_run(config, context.instance, run.run_id, "cancelled", log.warning)

    return alert_on_run_canceled


def freshness_alert_sensor(config: ComplaintsConfig, keys: Sequence[AssetKey]) -> SensorDefinition:
    """Alerts once per miss: when the last materialisation of a published asset is older than
    the freshness window; again only after a newer materialisation has gone stale too."""

    @sensor(
        name="publication_freshness",
        minimum_interval_seconds=FRESHNESS_SENSOR_INTERVAL_SECONDS,
        default_status=DefaultSensorStatus.RUNNING,
        description=(
            "E-mails COMPLAINTS_ALERT_TO once when the publication's last materialisation is "
            "older than its freshness policy (the weekly schedule plus a day's grace)."
        ),
    )
    def publication_freshness(context: SensorEvaluationContext) -> SkipReason:
        alerted: dict[str, float] = json.loads(context.cursor) if context.cursor else {}
        window = timedelta(hours=config.freshness_hours)
        now = datetime.now(UTC)
        stale: list[tuple[str, datetime]] = []
        seen: dict[str, float] = {}
        published = 0
        for key in keys:
            event = context.instance.get_latest_materialization_event(key)
            if event is None:
                continue  # never published: nothing to go stale yet
            published += 1
            when = datetime.fromtimestamp(event.timestamp, UTC)
            name = key.to_user_string()
            if now - when > window and alerted.get(name) != event.timestamp:
                stale.append((name, when))
                seen[name] = event.timestamp
        if not published:
            return SkipReason("nothing published yet: nothing to go stale")
        if not stale:
            return SkipReason("the publication is within its freshness window")
        if config.alerts is None:
            return SkipReason(
                f"stale: {', '.join(n for n, _ in stale)}; no alert: "
                "COMPLAINTS_ALERT_SMTP_HOST is not set"
            )
        log = get_dagster_logger()
        alert = alerts.publication_stale(stale, config.freshness_hours, "freshness sensor")
        if not alerts.send(config.alerts, alert, log.warning):
            return SkipReason("stale, and the alert could not be sent: trying again next tick")
        alerted.update(seen)
        context.update_cursor(json.dumps(alerted))
        return SkipReason(f"stale: {', '.join(n for n, _ in stale)}; alert sent")

    return publication_freshness


def alert_sensors(
    config: ComplaintsConfig, published: Sequence[AssetKey]
) -> list[SensorDefinition]:
    return [
        run_failure_alert_sensor(config),
        run_canceled_alert_sensor(config),
        freshness_alert_sensor(config, published),
    ]
