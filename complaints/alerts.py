"""E-mail alerts: what a failed run, a blocked publication, a recovered crash or a stale
publication tells the people listed in COMPLAINTS_ALERT_TO (docs/OPERATIONS.md).

Plain Python (smtplib): the Dagster side (orchestration/lib/alerting.py, the sensors in
orchestration/defs/alerts.py, `complaints run`) decides when, this module says what and sends it.
Sending never raises: an unreachable or refusing mail server is reported through `log` and the
run's own result stands. The SMTP password is used for the login only and appears in no message,
log line or repr.
"""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import duckdb

from complaints.config import AlertSettings

SUBJECT_PREFIX = "[complaints warehouse]"
SMTP_TIMEOUT_SECONDS = 15.0
MAX_TOTALS_LISTED = 50
"""Failed control totals listed in one message; the rest are counted (mart_reconciliation has
them all)."""


@dataclass(frozen=True)
class Alert:
    subject: str
    body: str


@dataclass(frozen=True)
class FailedTotal:
    """One failed control total, as mart_reconciliation states it."""

    extract_id: str
    level: str
    scope: str
    measure: str
    source_line: int | None
    stated: float | None
    computed: float | None
    explanation: str | None

    def line(self) -> str:
        where = f"line {self.source_line}" if self.source_line is not None else "no line"
        text = (
            f"{self.extract_id} {where}: {self.level} {self.scope!r} {self.measure}: "
            f"stated {_number(self.stated)}, computed {_number(self.computed)}"
        )
        return text + (f" ({self.explanation})" if self.explanation else "")


def _number(value: float | None) -> str:
    if value is None:
        return "none"
    return str(int(value)) if float(value).is_integer() else str(value)


def failed_control_totals(build_db: Path) -> list[FailedTotal]:
    """The failed control totals of the last build (mart_reconciliation, status 'failed'), read
    through a read-only connection; OSError/duckdb.Error reach the caller."""
    with duckdb.connect(str(build_db), read_only=True) as con:
        rows = con.execute(
            "select extract_id, level, scope, measure, source_line, stated, computed, "
            "explanation from mart_reconciliation where status = 'failed' "
            "order by extract_id, source_line nulls last, level, scope, measure"
        ).fetchall()
    return [FailedTotal(*row) for row in rows]


def _where(job: str, run_id: str, origin: str) -> str:
    return f"Run {run_id} of job {job} ({origin}) on {socket.gethostname()}."


def run_failed(
    run_id: str, job: str, origin: str, failed_steps: Sequence[str], ended: str = "failed"
) -> Alert:
    """A run failed (or was cancelled) for another reason than the gate."""
    lines = [
        _where(job, run_id, origin),
        "",
        f"The run {ended}. Nothing new was published: analysts keep the previous publication.",
        "",
        "Failed steps:" if failed_steps else "No step failed: the run itself ended in failure.",
        *(f"  - {s}" for s in failed_steps),
        "",
        "Its full log is in the Dagster UI (Runs) and, for `complaints run`, in "
        "warehouse/logs/last_run.log.",
    ]
    return Alert(f"{SUBJECT_PREFIX} run {ended}: {job} {run_id}", "\n".join(lines))


def gate_blocked(
    run_id: str,
    job: str,
    origin: str,
    failing_checks: Sequence[tuple[str, str]],
    totals: Sequence[FailedTotal] | None,
    totals_unavailable: str | None,
    published: str,
    failed_steps: Sequence[str] = (),
) -> Alert:
    """The quality gate blocked publication: the failing checks, the failed control totals
    (stated, computed, line), and that the previous publication stays."""
    lines = [
        _where(job, run_id, origin),
        "",
        "The quality gate blocked publication. The previous publication stays: "
        f"{published} is unchanged, and so are its exports and report.",
        "",
        f"Failing checks ({len(failing_checks)}):",
        *(f"  - {name}: {description}" for name, description in failing_checks),
    ]
    if totals is not None:
        lines += ["", f"Failed control totals ({len(totals)}, from mart_reconciliation):"]
        lines += [f"  - {t.line()}" for t in totals[:MAX_TOTALS_LISTED]]
        if len(totals) > MAX_TOTALS_LISTED:
            lines.append(f"  ... and {len(totals) - MAX_TOTALS_LISTED} more")
    elif totals_unavailable:
        lines += ["", f"Failed control totals: {totals_unavailable}"]
    # The gate's own step fails because its blocking checks failed: listed above already.
    other = [s for s in failed_steps if "blocking asset check" not in s]
    if other:
        lines += ["", "Failed steps:", *(f"  - {s}" for s in other)]
    lines += [
        "",
        "`complaints check FILE --manifest LANDING/manifest.yml` prints an extract's totals "
        "with their explanation; fix the extract or the manifest, or review a waiver.",
    ]
    return Alert(
        f"{SUBJECT_PREFIX} publication blocked by the gate: {job} {run_id}", "\n".join(lines)
    )


def runs_recovered(lines: Sequence[str], origin: str) -> Alert:
    """Crash recovery marked dead runs failed or freed the warehouse slots they held."""
    body = [
        f"Crash recovery ({origin}) on {socket.gethostname()}:",
        "",
        *(f"  - {line}" for line in lines),
        "",
        "A run's process died (killed, crashed, out of memory, a reboot) before it finished: "
        "nothing it was writing was published. The next run rebuilds from the landing folder.",
    ]
    return Alert(f"{SUBJECT_PREFIX} crashed run recovered", "\n".join(body))


def publication_stale(
    stale: Sequence[tuple[str, datetime]], window_hours: float, origin: str
) -> Alert:
    """The published assets' last materialisation is older than the freshness window."""
    now = datetime.now(UTC)
    body = [
        f"The publication is stale ({origin} on {socket.gethostname()}): expected at least "
        f"every {_hours(window_hours)} (the weekly refresh and a day's grace).",
        "",
        *(
            f"  - {name}: last materialised {when.isoformat(timespec='seconds')}, "
            f"{_hours((now - when).total_seconds() / 3600)} ago"
            for name, when in stale
        ),
        "",
        "Is the weekly schedule running, and did its last runs fail? See the Dagster UI (Runs, "
        "Automation). Analysts still read the last publication.",
    ]
    names = ", ".join(name for name, _ in stale)
    return Alert(f"{SUBJECT_PREFIX} publication stale: {names}", "\n".join(body))


def _hours(hours: float) -> str:
    if hours >= 48:
        return f"{hours / 24:.1f} days"
    if hours >= 1:
        return f"{hours:.1f} hours"
    return f"{hours * 3600:.0f} seconds"


def send(settings: AlertSettings, alert: Alert, log: Callable[[str], None]) -> bool:
    """Send `alert` to the configured recipients; True when the server accepted it. Never
    raises: a failure is one line through `log`, naming the server and the reason."""
    message = EmailMessage()
    message["Subject"] = alert.subject
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.recipients)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="complaints-warehouse")
    message.set_content(alert.body)
    server = f"{settings.host}:{settings.port}"
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            if settings.starttls:
                smtp.starttls()
            if settings.user:
                smtp.login(settings.user, settings.password or "")
            refused = smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        log(f"alert not sent ({alert.subject}): mail server {server}: {_reason(exc)}")
        return False
    if refused:
        log(f"alert refused for {', '.join(refused)} by {server}: {alert.subject}")
    log(f"alert sent to {', '.join(settings.recipients)}: {alert.subject}")
    return True


def _reason(exc: BaseException) -> str:
    """The failure without anything the server echoed back of the login (no credentials)."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"login as the configured user refused ({exc.smtp_code})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__} ({exc.smtp_code})"
    return f"{type(exc).__name__}: {exc}"
