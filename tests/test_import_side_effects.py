"""Importing any module of the product changes nothing on disk and nothing in os.environ.

Each package is walked in a fresh interpreter (so every module really is imported, not found in
the cache of this test process), from an empty working folder, with bytecode writing off (the
interpreter's own cache is not the module's doing). The interpreter imports a copy of the source
tree, and that copy is what is watched: other test workers legitimately write into the checkout's
generated folders (dbt's target/) meanwhile."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("ingest", "expectations", "complaints", "cli", "orchestration")
SKIPPED_FOLDERS = {".venv", ".git", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis"}
# What the packages may read at import time, copied beside them (generated folders left out).
COPIED = (*PACKAGES, "dbt_project", "data", "pyproject.toml")
NOT_COPIED = shutil.ignore_patterns("__pycache__", "target", "logs", "dbt_packages")

IMPORT_ALL = """
import importlib, json, os, pkgutil, sys
before = dict(os.environ)
names = []
for package in sys.argv[1:]:
    module = importlib.import_module(package)
    names.append(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        if info.name.endswith("dbt_project") or ".dbt_project." in info.name:
            continue  # data folders shipped as a package, not modules
        importlib.import_module(info.name)
        names.append(info.name)
after = dict(os.environ)
changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
files = {p: sys.modules[p].__file__ for p in sys.argv[1:]}
print(json.dumps({"modules": names, "environ_changed": changed, "files": files}))
"""


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    for current, folders, files in os.walk(folder):
        folders[:] = [d for d in folders if d not in SKIPPED_FOLDERS]
        for name in [*files, *folders]:
            path = Path(current) / name
            stat = path.stat()
            found[str(path.relative_to(folder))] = (stat.st_mtime_ns, stat.st_size)
    return found


def test_importing_every_module_writes_nothing(tmp_path: Path) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("COMPLAINTS_", "DAGSTER_"))
    }
    source = tmp_path / "source"
    for name in COPIED:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=NOT_COPIED)
        else:
            shutil.copy2(ROOT / name, source / name)
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(source), HOME=str(home))
    repo_before, cwd_before, home_before = snapshot(source), snapshot(cwd), snapshot(home)

    out = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL, *PACKAGES],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    # The copy was imported, not the checkout (whose folders other workers write into).
    assert report["files"]["orchestration"].startswith(str(source)), report["files"]

    assert {
        "orchestration.definitions",
        "cli.main",
        "orchestration.resources",
        "orchestration.defs.ingest.sensors",
        "orchestration.defs.schedules",
        "orchestration.defs.transform.assets",
        "orchestration.lib.dagster_compat",
        "expectations.runner",
        "ingest.vocabulary",
    } <= set(report["modules"])
    assert report["environ_changed"] == []
    assert snapshot(cwd) == cwd_before  # no warehouse/, no .dagster_home/
    assert snapshot(home) == home_before
    assert snapshot(source) == repo_before
