"""The dbt project as dagster-dbt sees it: its folder and its manifest's folder (prepared by
`complaints.dbt_paths.prepare_dbt`)."""

from __future__ import annotations

from dagster_dbt import DbtProject

from complaints.config import ComplaintsConfig
from complaints.dbt_paths import dbt_project_dir, manifest_dir


def dbt_project(config: ComplaintsConfig) -> DbtProject:
    """The project with its manifest's folder."""
    project_dir = dbt_project_dir()
    return DbtProject(
        project_dir=project_dir, profiles_dir=project_dir, target_path=manifest_dir(config)
    )
