"""Under `dagster dev` the dbt project re-parses with the venv's dbt, also when PATH lacks dbt."""

from __future__ import annotations

import shutil

import pytest

from orchestration import project


def test_dev_reparse_uses_the_venvs_dbt_without_dbt_on_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert shutil.which("dbt") is None  # what an unactivated venv looks like
    monkeypatch.setenv("DAGSTER_IS_DEV_CLI", "1")
    monkeypatch.setattr(project, "_newest_source_mtime", lambda: float("inf"))  # force a parse
    before = project.manifest_path().stat().st_mtime_ns
    project.dbt_project.cache_clear()
    try:
        dbt_project = project.dbt_project()
    finally:
        project.dbt_project.cache_clear()
    assert dbt_project.manifest_path == project.manifest_path()
    assert project.manifest_path().stat().st_mtime_ns > before  # dbt parse ran and rewrote it
