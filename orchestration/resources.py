"""Resources: where the warehouse lives (build and published DuckDB files) and how to run dbt."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import duckdb
from dagster import ConfigurableResource
from dagster_dbt import DbtCliResource

from orchestration.project import DBT_PROJECT_DIR
from orchestration.warehouse import (
    BUILD_DB_NAME,
    PUBLISHED_DB_NAME,
    landing_dir,
    warehouse_dir,
)


class WarehouseResource(ConfigurableResource):
    """The landing folder and the warehouse folder (build.duckdb is written only by the pipeline;
    marts.duckdb is only ever replaced whole)."""

    warehouse_dir: str
    landing_dir: str

    @property
    def build_db(self) -> Path:
        return Path(self.warehouse_dir) / BUILD_DB_NAME

    @property
    def published_db(self) -> Path:
        return Path(self.warehouse_dir) / PUBLISHED_DB_NAME

    @property
    def landing(self) -> Path:
        return Path(self.landing_dir)

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        Path(self.warehouse_dir).mkdir(parents=True, exist_ok=True)
        return duckdb.connect(str(self.build_db), read_only=read_only)


def dbt_executable() -> str:
    """dbt next to this interpreter (the venv), else on PATH."""
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else (shutil.which("dbt") or "dbt")


def default_resources() -> dict[str, object]:
    warehouse = warehouse_dir()
    # dbt's profile reads the build database path from this variable; always absolute.
    os.environ["COMPLAINTS_BUILD_DB"] = str(warehouse / BUILD_DB_NAME)
    return {
        "warehouse": WarehouseResource(
            warehouse_dir=str(warehouse), landing_dir=str(landing_dir())
        ),
        "dbt": DbtCliResource(
            project_dir=str(DBT_PROJECT_DIR),
            profiles_dir=str(DBT_PROJECT_DIR),
            dbt_executable=dbt_executable(),
        ),
    }
