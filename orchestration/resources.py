"""Resources: the configuration (where the warehouse lives, and its target: a DuckDB file or a
PostgreSQL server) and dbt, both built from one `ComplaintsConfig` (complaints/config.py).

The warehouse resource is the one place the assets ask "which target?": the same assets, checks,
sensor and schedule run on both, each writing through the target's raw store, dbt target, gate
target and publication. The server's connection string is never part of the resource (a resource's
values are stored with each run in Dagster's history): it is read from the environment
(`COMPLAINTS_POSTGRES_DSN`) when a run needs it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import psycopg
from dagster import ConfigurableResource, Failure, InitResourceContext, get_dagster_logger
from dagster_dbt import DbtCliResource
from pydantic import PrivateAttr

from complaints import postgres
from complaints.config import DEFAULT_KEEP_RUNS, POSTGRES_DSN_ENV, AlertSettings, ComplaintsConfig
from complaints.dbt_paths import dbt_launcher, dbt_project_dir
from complaints.raw_store import DuckDBRawStore, RawStore, read_loaded_state, write_state_file
from expectations.postgres import postgres_target
from expectations.runner import GateTarget, duckdb_target
from ingest.manifest import MAX_EXTRACT_BYTES, Manifest, read_manifest
from orchestration.lib.alerting import alert_on_recovery
from orchestration.lib.recovery import process_tags, recover_dead_runs


class WarehouseResource(ConfigurableResource["WarehouseResource"]):
    """The landing folder, the warehouse folder (build.duckdb is written only by the pipeline;
    marts.duckdb is only ever replaced whole) and the reviewed-waivers file."""

    warehouse_dir: str
    landing_dir: str
    dagster_home: str | None = None
    waivers_file: str | None = None
    max_extract_bytes: int | None = None
    cache_dir: str | None = None
    target: str = "duckdb"
    keep_runs: int | None = None
    # The run's one reading of the landing folder's manifest: the steps of a run share this
    # resource object (in-process executor), so they share the reading too.
    _manifest: Manifest | None = PrivateAttr(default=None)
    # Server mode: the run's connection, holding the one-writer advisory lock from the run's
    # first write to its swap (shared by the steps as the manifest is); closed when the run ends.
    _server: Any = PrivateAttr(default=None)

    @classmethod
    def from_config(cls, config: ComplaintsConfig) -> WarehouseResource:
        return cls(
            warehouse_dir=str(config.warehouse_dir),
            landing_dir=str(config.landing_dir),
            dagster_home=str(config.dagster_home),
            waivers_file=str(config.waivers_file) if config.waivers_file else None,
            max_extract_bytes=config.max_extract_bytes,
            cache_dir=str(config.cache_dir),
            target=config.target,
            keep_runs=config.keep_runs,
        )

    @property
    def config(self) -> ComplaintsConfig:
        config = ComplaintsConfig(
            landing_dir=Path(self.landing_dir),
            warehouse_dir=Path(self.warehouse_dir),
            dagster_home=Path(self.dagster_home or ComplaintsConfig.resolve().dagster_home),
            waivers_file=Path(self.waivers_file) if self.waivers_file else None,
            max_extract_bytes=self.max_extract_bytes or MAX_EXTRACT_BYTES,
            target=self.target,
            postgres_dsn=os.environ.get(POSTGRES_DSN_ENV) or None,
            keep_runs=DEFAULT_KEEP_RUNS if self.keep_runs is None else self.keep_runs,
        )
        return replace(config, cache_dir=Path(self.cache_dir)) if self.cache_dir else config

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Where a run's resources start (any launcher: `complaints run`, the daemon's run worker,
        `dagster job execute`; the jobs run in-process, so this is the run's process): record
        that process in the run's tags and recover runs of ours that died holding the warehouse
        (orchestration/lib/recovery.py)."""
        run = context.dagster_run
        instance = context.instance
        if run is None or instance is None:
            return

        log = get_dagster_logger()
        try:
            instance.add_run_tags(run.run_id, process_tags())
            recovered = recover_dead_runs(instance, exclude=run.run_id)
            for item in recovered:
                log.warning(item.line())
            # The alert settings come from this process's environment, never from the
            # resource's configuration (which the UI shows): the SMTP password stays out of it.
            config = replace(self.config, alerts=AlertSettings.from_environ(os.environ))
            alert_on_recovery(config, recovered, f"start of run {run.run_id}", log.warning)
        except Exception as exc:  # recovery must never fail the run it protects
            log.warning(f"crash recovery skipped: {exc}")

    def manifest(self) -> Manifest:
        """The landing folder's manifest, read and validated on first use in a run."""
        if self._manifest is None:
            self._manifest = read_manifest(self.landing)
        return self._manifest

    @property
    def build_db(self) -> Path:
        return self.config.build_db

    @property
    def published_db(self) -> Path:
        return self.config.published_db

    @property
    def landing(self) -> Path:
        return Path(self.landing_dir)

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        Path(self.warehouse_dir).mkdir(parents=True, exist_ok=True)
        return duckdb.connect(str(self.build_db), read_only=read_only)

    # --- the target ----------------------------------------------------------------------

    @property
    def on_server(self) -> bool:
        return self.target == "postgres"

    def dsn(self) -> str:
        """The server's connection string, from the environment at run time."""
        try:
            return postgres.require_dsn(self.config)
        except postgres.PostgresError as exc:
            raise Failure(description=str(exc)) from None

    def server(self) -> psycopg.Connection[Any]:
        """The run's connection to the server, holding the one-writer lock (taken on first use:
        a second run or rollback meanwhile is refused, naming why)."""
        if self._server is None or self._server.closed:
            try:
                con = postgres.connect(self.dsn())
                try:
                    postgres.take_server_lock(con)
                except BaseException:
                    con.close()
                    raise
            except postgres.PostgresError as exc:
                raise Failure(description=str(exc)) from None
            self._server = con
        return self._server  # type: ignore[no-any-return]

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._server is not None:
            self._server.close()  # the advisory lock goes with the session
            self._server = None

    @contextmanager
    def raw_store(self) -> Iterator[RawStore]:
        """The target's raw tables; the sensor's state file is brought up to date afterwards."""
        if self.on_server:
            store: RawStore = postgres.PostgresRawStore(self.server())
            yield store
            write_state_file(self.config.warehouse_dir, store.fingerprints())
            return
        with self.connect() as con:
            store = DuckDBRawStore(con)
            yield store
            write_state_file(self.config.warehouse_dir, store.fingerprints())

    def loaded_state(self) -> dict[str, str]:
        """What the warehouse holds, as the landing sensor compares it (extract id ->
        fingerprint): the server's table in server mode (any host's sensor sees the same),
        the state file beside the build database otherwise. Raises duckdb.IOException or
        psycopg.Error while the target cannot be read."""
        if self.on_server:
            with psycopg.connect(self.dsn(), application_name="complaints-sensor") as con:
                return postgres.loaded_fingerprints(con)
        return read_loaded_state(self.config.warehouse_dir, self.build_db)

    def gate_target(self) -> GateTarget:
        """Where the gate validates the build: the build file or the server's build schema."""
        if self.on_server:
            return postgres_target(self.dsn(), postgres.BUILD_SCHEMA)
        return duckdb_target(self.build_db)

    def build_table(self, table: str, order_by: str) -> pd.DataFrame:
        """One (small) table of the finished build, whole."""
        if self.on_server:
            columns, rows = postgres.read_table(
                self.server(), postgres.BUILD_SCHEMA, table, order_by
            )
            return pd.DataFrame(rows, columns=columns)
        with duckdb.connect(str(self.build_db), read_only=True) as build:
            return build.execute(f'select * from main."{table}" order by "{order_by}"').df()


def dbt_resource(target: str = "duckdb") -> DbtCliResource:
    """dagster-dbt's resource as it comes, on the project (checkout or packaged copy) and the
    dbt installed next to this interpreter (through its launcher: complaints/dbt_launcher.py);
    where the build database is goes in `--vars`. On a server, the profile's `postgres` target
    (dbt_project/profiles.yml)."""
    project_dir = str(dbt_project_dir())
    return DbtCliResource(
        project_dir=project_dir,
        profiles_dir=project_dir,
        dbt_executable=dbt_launcher(),
        target="postgres" if target == "postgres" else None,
    )


def default_resources(config: ComplaintsConfig) -> dict[str, object]:
    return {"warehouse": WarehouseResource.from_config(config), "dbt": dbt_resource(config.target)}
