"""The dbt manifest is prepared by the venv's dbt, also when PATH lacks dbt, into the checkout's
target/ (an installed package is never written to: tests/test_install.py), once: a fresh manifest
is not parsed again."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from complaints import dbt_paths as project
from complaints.config import ComplaintsConfig
from orchestration.defs.transform import project as dagster_project


def _snapshot(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


def test_prepare_parses_into_the_warehouse_with_the_venvs_dbt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert shutil.which("dbt") is None  # what an unactivated venv looks like
    config = ComplaintsConfig.resolve(
        landing=tmp_path / "landing", warehouse=tmp_path / "wh", dagster_home=tmp_path / "home"
    )
    project_dir = project.dbt_project_dir()
    sources = {k: v for k, v in _snapshot(project_dir).items() if not k.startswith("target")}

    manifest = project.prepare_dbt(config, force=True)
    assert manifest == project_dir / "target" / "manifest.json" and manifest.exists()
    assert dagster_project.dbt_project(config).manifest_path == manifest
    after = {k: v for k, v in _snapshot(project_dir).items() if not k.startswith("target")}
    assert after == sources  # nothing else written into the project (no logs/, no .user.yml)
    assert not (tmp_path / "wh").exists()  # preparing creates no warehouse

    parsed_at = manifest.stat().st_mtime_ns
    assert project.prepare_dbt(config) == manifest
    assert manifest.stat().st_mtime_ns == parsed_at  # fresh: not parsed again
    assert project.dbt_model_names()[:2] == ["dim_department", "dim_extract"]


def test_the_resource_starts_dbt_through_the_launcher_which_answers_as_dbt_does() -> None:
    """`complaints-dbt --version` names the installed dbt-core as `dbt --version` does (without
    loading dbt); any other command is dbt itself."""
    import re
    import subprocess
    import sys

    from orchestration.resources import dbt_resource

    launcher = Path(sys.executable).parent / "complaints-dbt"
    assert dbt_resource().dbt_executable == str(launcher)

    def first_version(*argv: str) -> str:
        out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        match = re.search(r"(\d+\.\d+\.\d+)", out)
        assert match, out
        return match.group(1)

    assert first_version(str(launcher), "--version") == first_version(
        project.dbt_executable(), "--version"
    )
    # Anything else is dbt itself (the launcher execs it): dbt's own help.
    ours = subprocess.run([str(launcher), "--help"], capture_output=True, text=True, check=True)
    assert ours.stdout.startswith("Usage: dbt") and "  build " in ours.stdout, ours.stdout


def test_a_run_builds_in_its_warehouse_folder_reusing_the_prepared_parse(
    published_warehouse: Any,
) -> None:
    """The launcher runs dbt in the warehouse folder, so the profile (relative `build.duckdb`)
    is the one `prepare_dbt` parsed with and dbt reuses that parse instead of parsing again;
    nothing is built beside the project or in the tests' folder."""
    _, warehouse, _ = published_warehouse
    log = (warehouse / "dbt_target" / "dbt.log").read_text(encoding="utf-8")
    assert "Partial parsing enabled" in log, log[-2000:]
    assert "Unable to do partial parsing" not in log
    assert (warehouse / "build.duckdb").is_file()
    assert not (project.dbt_project_dir() / "build.duckdb").exists()
    assert not (Path.cwd() / "build.duckdb").exists()


def test_location_args_suit_the_executable(tmp_path: Path) -> None:
    """The launcher gets the warehouse folder; dbt itself (no launcher) the database's path."""
    import json

    config = ComplaintsConfig.resolve(landing=tmp_path, warehouse=tmp_path / "wh")
    assert project.dbt_location_args(config, project.dbt_launcher()) == [
        "--complaints-workdir",
        str(config.warehouse_dir),
    ]
    args = project.dbt_location_args(config, project.dbt_executable())
    assert args[0] == "--vars" and json.loads(args[1]) == {"build_db": str(config.build_db)}


def test_the_launcher_runs_dbt_in_the_folder_it_is_given(tmp_path: Path) -> None:
    """`--complaints-workdir DIR` is removed before dbt sees it and dbt runs in DIR: `dbt debug`
    connects to the profile's relative `build.duckdb`, which DuckDB creates there."""
    import subprocess
    import sys

    launcher = Path(sys.executable).parent / "complaints-dbt"
    folder = project.dbt_project_dir()
    out = subprocess.run(
        [str(launcher), "debug", "--complaints-workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "DBT_PROJECT_DIR": str(folder), "DBT_PROFILES_DIR": str(folder)},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "OK connection ok" in out.stdout, out.stdout
    assert (tmp_path / "build.duckdb").is_file()
    assert not (folder / "build.duckdb").exists()
    missing = subprocess.run(
        [str(launcher), "build", "--complaints-workdir"], capture_output=True, text=True
    )
    assert missing.returncode != 0 and "--complaints-workdir needs a folder" in missing.stderr
