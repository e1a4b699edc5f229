"""Resources: the configuration (where the warehouse lives) and dbt, both built from one
`ComplaintsConfig` (orchestration/config.py)."""

from __future__ import annotations

from pathlib import Path

import duckdb
from dagster import ConfigurableResource
from dagster_dbt import DbtCliResource

from orchestration.config import ComplaintsConfig
from orchestration.project import dbt_executable, dbt_project_dir


class WarehouseResource(ConfigurableResource["WarehouseResource"]):
    """The landing folder, the warehouse folder (build.duckdb is written only by the pipeline;
    marts.duckdb is only ever replaced whole) and the reviewed-waivers file."""

    warehouse_dir: str
    landing_dir: str
    dagster_home: str | None = None
    waivers_file: str | None = None

    @classmethod
    def from_config(cls, config: ComplaintsConfig) -> WarehouseResource:
        return cls(
            warehouse_dir=str(config.warehouse_dir),
            landing_dir=str(config.landing_dir),
            dagster_home=str(config.dagster_home),
            waivers_file=str(config.waivers_file) if config.waivers_file else None,
        )

    @property
    def config(self) -> ComplaintsConfig:
        return ComplaintsConfig(
            landing_dir=Path(self.landing_dir),
            warehouse_dir=Path(self.warehouse_dir),
            dagster_home=Path(self.dagster_home or ComplaintsConfig.resolve().dagster_home),
            waivers_file=Path(self.waivers_file) if self.waivers_file else None,
        )

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
    dbt installed next to this interpreter; where the build database is goes in `--vars`."""
    project_dir = str(dbt_project_dir())
    return DbtCliResource(
        project_dir=project_dir, profiles_dir=project_dir, dbt_executable=dbt_executable()
    )


def default_resources(config: ComplaintsConfig) -> dict[str, object]:
    return {"warehouse": WarehouseResource.from_config(config), "dbt": dbt_resource()}
