"""The dbt project: where it is (a checkout, or the copy shipped in the wheel) and its manifest.

`prepare_dbt(config)` runs `dbt parse` when a run starts or the code location loads (never at
import time) and the manifest is missing or older than a project file. In a checkout it goes to
the project's own (gitignored) `target/`, shared by every warehouse; an installed package is never
written to, so there it goes to the warehouse (`<warehouse>/dbt_target`, beside the artifacts of
`dbt build`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from complaints.config import ComplaintsConfig
from complaints.dbt_launcher import WORKDIR_FLAG, beside_interpreter, real_dbt

_HERE = Path(__file__).resolve().parent
SOURCE_PROJECT_DIR = _HERE.parent / "dbt_project"
"""The design card's top-level folder, in a checkout (editable installs use it in place)."""
PACKAGED_PROJECT_DIR = _HERE / "dbt_project"
"""The same folder as shipped inside the wheel (pyproject.toml maps it there)."""
# Not sources: build artifacts a checkout may hold.
_NOT_SOURCES = {"target", "logs", "dbt_packages", "__pycache__"}


def dbt_project_dir() -> Path:
    """The checkout's dbt project when there is one, else the packaged copy."""
    return SOURCE_PROJECT_DIR if SOURCE_PROJECT_DIR.is_dir() else PACKAGED_PROJECT_DIR


LAUNCHER_NAME = "complaints-dbt"
"""The launcher's console script (pyproject.toml)."""

dbt_executable = real_dbt
"""dbt next to this interpreter (the venv), else on PATH."""


def dbt_launcher() -> str:
    """The dbt the dbt resource starts: `complaints-dbt` (complaints/dbt_launcher.py) when it
    is installed beside this interpreter, else dbt itself."""
    return beside_interpreter(LAUNCHER_NAME) or real_dbt()


def dbt_location_args(config: ComplaintsConfig, executable: str) -> list[str]:
    """Arguments telling `executable` (the dbt resource's) which build database to build: the
    launcher runs dbt in the warehouse folder (the profile's relative `build.duckdb` is then this
    warehouse's, and the profile the one `prepare_dbt` parsed with, so dbt reuses that parse);
    dbt itself gets the database's path as `--vars` (and parses the whole project each run)."""
    if Path(executable).name == LAUNCHER_NAME:
        return [WORKDIR_FLAG, str(config.warehouse_dir)]
    return ["--vars", config.dbt_vars()]


def manifest_dir(config: ComplaintsConfig) -> Path:
    """Where `dbt parse` writes the manifest (see the module's docstring)."""
    if dbt_project_dir() == SOURCE_PROJECT_DIR:
        return SOURCE_PROJECT_DIR / "target"
    return config.dbt_target_dir


def manifest_path(config: ComplaintsConfig) -> Path:
    return manifest_dir(config) / "manifest.json"


def dbt_model_names() -> list[str]:
    """Names of the dbt models, read from the model files (no manifest needed)."""
    return sorted(p.stem for p in (dbt_project_dir() / "models").rglob("*.sql"))


def _newest_source_mtime(project_dir: Path) -> float:
    newest = 0.0
    for folder, subfolders, files in os.walk(project_dir):
        subfolders[:] = [d for d in subfolders if d not in _NOT_SOURCES]
        for name in files:
            newest = max(newest, os.stat(os.path.join(folder, name)).st_mtime)
    return newest


PARTIAL_PARSE = "partial_parse.msgpack"
"""dbt's saved parse, in a target folder beside the manifest."""


def prepare_dbt(config: ComplaintsConfig, force: bool = False) -> Path:
    """Run `dbt parse` into this warehouse's target folder when the manifest is missing or older
    than any project file; returns the manifest path. No `--vars`: the parse (its
    `partial_parse.msgpack`) is then the one every run's `dbt build` in a warehouse folder can
    reuse (`dbt_location_args`); dbt parse itself opens no database."""
    manifest = manifest_path(config)
    project_dir = dbt_project_dir()
    fresh = manifest.exists() and _newest_source_mtime(project_dir) <= manifest.stat().st_mtime
    if fresh and not force:
        return manifest
    target = manifest_dir(config)
    target.mkdir(parents=True, exist_ok=True)
    # Parsed beside the target and moved in file by file: a run, `dg check defs` or a test
    # reading the manifest meanwhile sees the old file or the new one, never half of one.
    with tempfile.TemporaryDirectory(dir=target, prefix=".parse-") as scratch:
        copy_saved_parse(target, Path(scratch))  # dbt then parses only what changed since
        _dbt_parse(project_dir, Path(scratch))
        for artifact in Path(scratch).iterdir():
            if artifact.is_file():
                os.replace(artifact, target / artifact.name)
    return manifest


def copy_saved_parse(from_target: Path, to_target: Path) -> None:
    """dbt's saved parse from one target folder into another, when there is one: a dbt started
    with `to_target` as its target path (and the same profile) reuses it."""
    saved = from_target / PARTIAL_PARSE
    if saved.is_file():
        to_target.mkdir(parents=True, exist_ok=True)
        shutil.copy(saved, to_target / PARTIAL_PARSE)


def _dbt_parse(project_dir: Path, target: Path) -> None:
    subprocess.run(
        [
            dbt_executable(),
            "parse",
            "--quiet",
            "--profiles-dir",
            str(project_dir),
            "--project-dir",
            str(project_dir),
            "--target-path",
            str(target),
        ],
        cwd=project_dir,
        # dbt's own log goes beside its other artifacts, not into the (maybe installed) project.
        env={**os.environ, "DBT_LOG_PATH": str(target)},
        check=True,
    )


if __name__ == "__main__":
    print(f"dbt manifest ready: {prepare_dbt(ComplaintsConfig.resolve())}")
