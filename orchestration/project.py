"""The dbt project, prepared (``dbt parse``) explicitly rather than at import time."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

from dagster_dbt import DbtProject

from orchestration.warehouse import BUILD_DB_NAME, PROJECT_ROOT, warehouse_dir

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


def dbt_executable() -> str:
    """dbt next to this interpreter (the venv), else on PATH."""
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else (shutil.which("dbt") or "dbt")


@cache
def dbt_project() -> DbtProject:
    # Under `dagster dev`, re-parse when a project file changed, as `make prepare` does and with
    # the venv's dbt: the stock `prepare_if_dev` looks for `dbt` on PATH, which an unactivated
    # venv does not provide (the code location then fails to load).
    if os.getenv("DAGSTER_IS_DEV_CLI"):
        prepare_dbt()
    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def manifest_path() -> Path:
    return DBT_PROJECT_DIR / "target" / "manifest.json"


def _newest_source_mtime() -> float:
    newest = 0.0
    for folder, subfolders, files in os.walk(DBT_PROJECT_DIR):
        # Build artifacts are not sources (and target/ can be large).
        subfolders[:] = [d for d in subfolders if d not in {"target", "logs", "dbt_packages"}]
        for name in files:
            newest = max(newest, os.stat(os.path.join(folder, name)).st_mtime)
    return newest


def prepare_dbt(force: bool = False) -> Path:
    """Run `dbt parse` when the manifest is missing or older than any project file."""
    manifest = manifest_path()
    if not force and manifest.exists():
        newest = _newest_source_mtime()
        if newest <= manifest.stat().st_mtime:
            return manifest
    env = {**os.environ}
    env.setdefault("COMPLAINTS_BUILD_DB", str(warehouse_dir() / BUILD_DB_NAME))
    subprocess.run(
        [
            dbt_executable(),
            "parse",
            "--quiet",
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
        ],
        cwd=DBT_PROJECT_DIR,
        env=env,
        check=True,
    )
    return manifest


if __name__ == "__main__":
    print(f"dbt manifest ready: {prepare_dbt()}")
