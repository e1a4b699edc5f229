"""Where things live: resolved once into one `ComplaintsConfig`, read by everything else.

The CLI resolves it from its options, the environment and the defaults; the code location
(`orchestration.definitions.defs`) resolves it from the environment and the defaults; the
resources carry it into assets, checks, the sensor and the schedule. Resolving reads the
environment and never writes it, and creates no folder: `ensure_folders()` does that, when a run
starts. See docs/DESIGN.md, "Configuration".
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ingest.manifest import MAX_EXTRACT_BYTES

LANDING_ENV = "COMPLAINTS_LANDING"
WAREHOUSE_ENV = "COMPLAINTS_WAREHOUSE"
WAIVERS_ENV = "COMPLAINTS_WAIVERS"
DAGSTER_HOME_ENV = "DAGSTER_HOME"
MAX_EXTRACT_BYTES_ENV = "COMPLAINTS_MAX_EXTRACT_BYTES"
TARGET_ENV = "COMPLAINTS_TARGET"
POSTGRES_DSN_ENV = "COMPLAINTS_POSTGRES_DSN"
CACHE_ENV = "COMPLAINTS_CACHE_DIR"
SENSOR_INTERVAL_ENV = "COMPLAINTS_SENSOR_INTERVAL"
DEFAULT_SENSOR_INTERVAL_SECONDS = 30
AUTOMATION_ENV = "COMPLAINTS_AUTOMATION"
FRESHNESS_ENV = "COMPLAINTS_FRESHNESS_HOURS"
ALERT_HOST_ENV = "COMPLAINTS_ALERT_SMTP_HOST"
ALERT_PORT_ENV = "COMPLAINTS_ALERT_SMTP_PORT"
ALERT_FROM_ENV = "COMPLAINTS_ALERT_FROM"
ALERT_TO_ENV = "COMPLAINTS_ALERT_TO"
ALERT_USER_ENV = "COMPLAINTS_ALERT_SMTP_USER"
ALERT_PASSWORD_ENV = "COMPLAINTS_ALERT_SMTP_PASSWORD"
ALERT_STARTTLS_ENV = "COMPLAINTS_ALERT_STARTTLS"
KEEP_RUNS_ENV = "COMPLAINTS_KEEP_RUNS"
TICK_RETENTION_ENV = "COMPLAINTS_TICK_RETENTION_DAYS"
REPORT_WORKERS_ENV = "COMPLAINTS_REPORT_WORKERS"
DEFAULT_KEEP_RUNS = 5
DEFAULT_TICK_RETENTION_DAYS = 30
TARGETS = ("duckdb", "postgres")

# Defaults, relative to the current folder (a checkout's root under `make run` / `make dev`).
DEFAULT_LANDING = Path("data") / "landing"
DEFAULT_WAREHOUSE = Path("warehouse")
DEFAULT_DAGSTER_HOME = Path(".dagster_home")

BUILD_DB_NAME = "build.duckdb"
PUBLISHED_DB_NAME = "marts.duckdb"
DBT_TARGET_NAME = "dbt_target"


# The weekly schedule plus a day's grace: a publication older than this has missed a refresh.
DEFAULT_FRESHNESS_HOURS = 8 * 24.0

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


def _switch(environ: Mapping[str, str], name: str) -> bool:
    raw = environ.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(f"{name} must be on or off, not {raw!r}")


@dataclass(frozen=True)
class AlertSettings:
    """Where alerts go (complaints/alerts.py sends them): an SMTP server and the recipients.

    The password is kept out of repr and never written anywhere (run tags, logs, resources)."""

    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> AlertSettings | None:
        """None without COMPLAINTS_ALERT_SMTP_HOST (no alerts); ValueError naming the variable
        when one is set but unusable."""
        host = environ.get(ALERT_HOST_ENV, "").strip()
        if not host:
            return None
        port_raw = environ.get(ALERT_PORT_ENV, "").strip() or "25"
        if not (port_raw.isdigit() and 0 < int(port_raw) < 65536):
            raise ValueError(f"{ALERT_PORT_ENV} must be a port number, not {port_raw!r}")
        sender = environ.get(ALERT_FROM_ENV, "").strip()
        recipients = tuple(r.strip() for r in environ.get(ALERT_TO_ENV, "").split(",") if r.strip())
        if not sender or not recipients:
            missing = ALERT_FROM_ENV if not sender else ALERT_TO_ENV
            raise ValueError(f"{ALERT_HOST_ENV} is set, so {missing} must be set too")
        return cls(
            host=host,
            port=int(port_raw),
            sender=sender,
            recipients=recipients,
            user=environ.get(ALERT_USER_ENV, "").strip() or None,
            password=environ.get(ALERT_PASSWORD_ENV) or None,
            starttls=_switch(environ, ALERT_STARTTLS_ENV),
        )


def _freshness_hours(environ: Mapping[str, str]) -> float:
    raw = environ.get(FRESHNESS_ENV, "").strip()
    if not raw:
        return DEFAULT_FRESHNESS_HOURS
    try:
        hours = float(raw)
    except ValueError:
        hours = -1.0
    if not hours > 0:
        raise ValueError(f"{FRESHNESS_ENV} must be a positive number of hours, not {raw!r}")
    return hours


def _absolute(path: str | os.PathLike[str]) -> Path:
    return Path(path).expanduser().resolve()


def _user_cache_dir(environ: Mapping[str, str]) -> Path:
    if environ.get(CACHE_ENV):
        return _absolute(environ[CACHE_ENV])
    base = environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return _absolute(base) / "complaints-warehouse"


def _pick(
    explicit: str | os.PathLike[str] | None,
    environ: Mapping[str, str],
    name: str,
    default: Path,
) -> Path:
    """The option beats the environment variable beats the default."""
    return _absolute(explicit or environ.get(name) or default)


def _whole_number(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise ValueError(f"{name} must be a whole number (0 or more), not {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class ComplaintsConfig:
    """The folders one deployment of the warehouse uses (all absolute)."""

    landing_dir: Path
    warehouse_dir: Path
    dagster_home: Path
    waivers_file: Path | None = None
    """Reviewed waivers; None means the file shipped with the package (expectations/waivers.yml)."""
    max_extract_bytes: int = MAX_EXTRACT_BYTES
    """Extracts larger than this are refused, naming the file (ingest/manifest.py)."""
    target: str = "duckdb"
    """Where the warehouse is built and published: `duckdb` (files in warehouse_dir) or
    `postgres` (a server: complaints/postgres.py)."""
    postgres_dsn: str | None = field(default=None, repr=False)
    """libpq URL of the server for `target == "postgres"` (kept out of repr: it may hold a
    password)."""
    keep_runs: int = DEFAULT_KEEP_RUNS
    """Runs the Dagster home keeps (the newest; 0 keeps every run): older ones are deleted with
    their event logs, except those holding an asset's latest materialization or a check's latest
    result (orchestration/lib/retention.py). `COMPLAINTS_KEEP_RUNS`."""
    tick_retention_days: int = DEFAULT_TICK_RETENTION_DAYS
    """Days the Dagster daemon keeps schedule and sensor ticks (dagster.yaml `retention:`).
    `COMPLAINTS_TICK_RETENTION_DAYS`."""
    cache_dir: Path = field(default_factory=lambda: _user_cache_dir(os.environ))
    """Derived data any warehouse on this machine may reuse (the column lineage of the dbt
    models): `COMPLAINTS_CACHE_DIR`, else `$XDG_CACHE_HOME/complaints-warehouse`, else
    `~/.cache/complaints-warehouse`."""
    sensor_interval_seconds: int = DEFAULT_SENSOR_INTERVAL_SECONDS
    """The least time between two ticks of the landing-folder sensor
    (`COMPLAINTS_SENSOR_INTERVAL`)."""
    automation: bool = False
    """`COMPLAINTS_AUTOMATION=on` (the deployment files set it): the weekly schedule and the
    landing-folder sensor start running when the code location loads; off (`make dev`), they
    wait to be switched on in the UI."""
    alerts: AlertSettings | None = None
    """E-mail alerts (COMPLAINTS_ALERT_*); None: no alerts."""
    freshness_hours: float = DEFAULT_FRESHNESS_HOURS
    """How old the publication may get before it is stale (`COMPLAINTS_FRESHNESS_HOURS`)."""
    report_workers: int = 0
    """Processes that build the report's council pages at many councils (0: one per CPU this
    process may use; 1: none beside the run's own). `COMPLAINTS_REPORT_WORKERS`."""

    @classmethod
    def resolve(
        cls,
        landing: str | os.PathLike[str] | None = None,
        warehouse: str | os.PathLike[str] | None = None,
        dagster_home: str | os.PathLike[str] | None = None,
        waivers: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
        target: str | None = None,
        postgres_dsn: str | None = None,
    ) -> ComplaintsConfig:
        env = os.environ if environ is None else environ
        waivers_raw = waivers or env.get(WAIVERS_ENV)
        limit_raw = env.get(MAX_EXTRACT_BYTES_ENV, "").strip()
        if limit_raw and not (limit_raw.isdigit() and int(limit_raw) > 0):
            raise ValueError(
                f"{MAX_EXTRACT_BYTES_ENV} must be a positive number of bytes, not {limit_raw!r}"
            )
        interval_raw = env.get(SENSOR_INTERVAL_ENV, "").strip()
        if interval_raw and not (interval_raw.isdigit() and int(interval_raw) > 0):
            raise ValueError(
                f"{SENSOR_INTERVAL_ENV} must be a positive number of seconds, not {interval_raw!r}"
            )
        keep_runs = _whole_number(env, KEEP_RUNS_ENV, DEFAULT_KEEP_RUNS)
        tick_days = _whole_number(env, TICK_RETENTION_ENV, DEFAULT_TICK_RETENTION_DAYS)
        report_workers = _whole_number(env, REPORT_WORKERS_ENV, 0)
        chosen = target or env.get(TARGET_ENV) or "duckdb"
        if chosen not in TARGETS:
            raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {chosen!r}")
        return cls(
            landing_dir=_pick(landing, env, LANDING_ENV, DEFAULT_LANDING),
            warehouse_dir=_pick(warehouse, env, WAREHOUSE_ENV, DEFAULT_WAREHOUSE),
            dagster_home=_pick(dagster_home, env, DAGSTER_HOME_ENV, DEFAULT_DAGSTER_HOME),
            waivers_file=_absolute(waivers_raw) if waivers_raw else None,
            max_extract_bytes=int(limit_raw) if limit_raw else MAX_EXTRACT_BYTES,
            target=chosen,
            postgres_dsn=postgres_dsn or env.get(POSTGRES_DSN_ENV) or None,
            cache_dir=_user_cache_dir(env),
            sensor_interval_seconds=(
                int(interval_raw) if interval_raw else DEFAULT_SENSOR_INTERVAL_SECONDS
            ),
            automation=_switch(env, AUTOMATION_ENV),
            alerts=AlertSettings.from_environ(env),
            freshness_hours=_freshness_hours(env),
            keep_runs=keep_runs,
            tick_retention_days=tick_days,
            report_workers=report_workers,
        )

    @property
    def build_db(self) -> Path:
        """Written only by the pipeline (one writer)."""
        return self.warehouse_dir / BUILD_DB_NAME

    @property
    def published_db(self) -> Path:
        """Only ever replaced whole (write-audit-publish)."""
        return self.warehouse_dir / PUBLISHED_DB_NAME

    @property
    def dbt_target_dir(self) -> Path:
        """dbt's manifest and run artifacts for this warehouse (never inside the package); a
        folder per target, so each keeps its own saved parse (a changed profile costs a full
        parse)."""
        if self.target == "postgres":
            return self.warehouse_dir / f"{DBT_TARGET_NAME}_postgres"
        return self.warehouse_dir / DBT_TARGET_NAME

    @property
    def log_dir(self) -> Path:
        return self.warehouse_dir / "logs"

    @property
    def lineage_cache_dirs(self) -> list[Path]:
        """Where column lineage is cached (complaints/catalogue.py), first writable wins: the
        user's cache folder, shared by every warehouse on the machine (entries are keyed by
        content, so sharing is safe), then this warehouse's dbt target folder."""
        return [self.cache_dir / "column_lineage", self.dbt_target_dir / "column_lineage"]

    def dbt_vars(self) -> str:
        """`--vars` naming the build database, for a dbt that does not run in the warehouse
        folder (see complaints/dbt_paths.py, `dbt_location_args`)."""
        return json.dumps({"build_db": str(self.build_db)})

    def ensure_folders(self) -> None:
        """Create the warehouse folder and the Dagster home: called when a run starts."""
        self.warehouse_dir.mkdir(parents=True, exist_ok=True)
        self.dagster_home.mkdir(parents=True, exist_ok=True)
