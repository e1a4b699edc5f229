"""When to alert, read from Dagster: a run's outcome from the instance's event log (the same
for `complaints run` in process and for runs the daemon launched), and crash recovery's finds.
What the message says and how it is sent: complaints/alerts.py."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import duckdb
from dagster import AssetCheckSeverity, AssetKey, DagsterEventType, DagsterInstance, DagsterRun

from complaints import alerts
from complaints.config import ComplaintsConfig
from orchestration.lib.recovery import Recovered

ALERTS_TAG = "complaints/alerts"
"""On runs whose own process sends their alerts (`complaints run`): the run-failure sensor
leaves them alone, so nobody gets the same alert twice."""
IN_PROCESS = "in_process"
PUBLISHED = AssetKey("published_marts")


@dataclass
class RunOutcome:
    failed_steps: list[str] = field(default_factory=list)
    # Blocking (severity ERROR) checks that failed: (asset:check, description).
    failing_checks: list[tuple[str, str]] = field(default_factory=list)
    published: bool = False


def run_outcome(instance: DagsterInstance, run_id: str) -> RunOutcome:
    """What a finished run did, from its events in the instance."""
    outcome = RunOutcome()
    wanted = {
        DagsterEventType.STEP_FAILURE,
        DagsterEventType.ASSET_CHECK_EVALUATION,
        DagsterEventType.ASSET_MATERIALIZATION,
    }
    for entry in instance.all_logs(run_id, of_type=wanted):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type == DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.error
            message = error.message.strip().splitlines()[0] if error else "failed"
            outcome.failed_steps.append(f"{event.step_key}: {message}")
        elif event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            check = event.asset_check_evaluation_data
            if not check.passed and check.severity == AssetCheckSeverity.ERROR:
                name = f"{check.asset_key.to_user_string()}:{check.check_name}"
                outcome.failing_checks.append((name, check.description or "failed"))
        elif event.asset_key == PUBLISHED:
            outcome.published = True
    return outcome


def failed_run_alert(
    config: ComplaintsConfig, instance: DagsterInstance, run: DagsterRun, origin: str
) -> alerts.Alert | None:
    """The alert for a finished run: the gate's when blocking checks failed, a failure's when
    the run failed otherwise, none when it succeeded and published."""
    outcome = run_outcome(instance, run.run_id)
    if outcome.failing_checks and not outcome.published:
        totals: list[alerts.FailedTotal] | None = None
        unavailable = None
        if config.target != "duckdb":
            unavailable = "listed in mart_reconciliation of the server's build schema"
        else:
            try:
                totals = alerts.failed_control_totals(config.build_db)
            except (OSError, duckdb.Error) as exc:
                unavailable = f"could not be read from {config.build_db}: {exc}"
        published = (
            "the `marts` schema" if config.target == "postgres" else str(config.published_db)
        )
        return alerts.gate_blocked(
            run.run_id,
            run.job_name,
            origin,
            outcome.failing_checks,
            totals,
            unavailable,
            published,
            outcome.failed_steps,
        )
    if run.is_failure_or_canceled:
        ended = "failed" if run.is_failure else "was cancelled"
        return alerts.run_failed(run.run_id, run.job_name, origin, outcome.failed_steps, ended)
    return None


def alert_on_run(
    config: ComplaintsConfig,
    instance: DagsterInstance,
    run_id: str,
    origin: str,
    log: Callable[[str], None],
) -> bool:
    """Send the run's alert if it needs one and alerts are configured; True if one was sent.
    Never raises: an alert must not change what the run reports."""
    if config.alerts is None:
        return False
    try:
        run = instance.get_run_by_id(run_id)
        alert = failed_run_alert(config, instance, run, origin) if run is not None else None
    except Exception as exc:  # reading the outcome failed: say so rather than stay silent
        alert = alerts.run_failed(run_id, "unknown job", origin, [f"(outcome unreadable: {exc})"])
    if alert is None:
        return False
    return alerts.send(config.alerts, alert, log)


def alert_on_recovery(
    config: ComplaintsConfig,
    recovered: Sequence[Recovered],
    origin: str,
    log: Callable[[str], None],
) -> bool:
    """One alert naming every run crash recovery just recovered."""
    if config.alerts is None or not recovered:
        return False
    return alerts.send(
        config.alerts, alerts.runs_recovered([r.line() for r in recovered], origin), log
    )
