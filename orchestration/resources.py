"""Resources: the configuration (where the warehouse lives) and dbt, both built from one
`ComplaintsConfig` (complaints/config.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import duckdb
from dagster import ConfigurableResource, InitResourceContext, get_dagster_logger
from dagster_dbt import DbtCliResource
from pydantic import PrivateAttr

from complaints.config import DEFAULT_KEEP_RUNS, ComplaintsConfig
from complaints.dbt_paths import dbt_launcher, dbt_project_dir
from ingest.manifest import MAX_EXTRACT_BYTES, Manifest, read_manifest
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
    keep_runs: int | None = None
    # The run's one reading of the landing folder's manifest: the steps of a run share this
    # resource object (in-process executor), so they share the reading too.
    _manifest: Manifest | None = PrivateAttr(default=None)

    @classmethod
    def from_config(cls, config: ComplaintsConfig) -> WarehouseResource:
        return cls(
            warehouse_dir=str(config.warehouse_dir),
            landing_dir=str(config.landing_dir),
            dagster_home=str(config.dagster_home),
            waivers_file=str(config.waivers_file) if config.waivers_file else None,
            max_extract_bytes=config.max_extract_bytes,
            cache_dir=str(config.cache_dir),
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

        try:
            instance.add_run_tags(run.run_id, process_tags())
            for item in recover_dead_runs(instance, exclude=run.run_id):
                get_dagster_logger().warning(item.line())
        except Exception as exc:  # recovery must never fail the run it protects
            get_dagster_logger().warning(f"crash recovery skipped: {exc}")

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


def dbt_resource() -> DbtCliResource:
    """dagster-dbt's resource as it comes, on the project (checkout or packaged copy) and the
    dbt installed next to this interpreter (through its launcher: complaints/dbt_launcher.py);
    where the build database is goes in `--vars`."""
    project_dir = str(dbt_project_dir())
    return DbtCliResource(
        project_dir=project_dir, profiles_dir=project_dir, dbt_executable=dbt_launcher()
    )


def default_resources(config: ComplaintsConfig) -> dict[str, object]:
    return {"warehouse": WarehouseResource.from_config(config), "dbt": dbt_resource()}
