"""The package (not editable) with its declared dependencies, as uv.lock pins them, installed into
a fresh virtual environment by `uv sync --locked --no-editable`, then `complaints run` from
another folder: the dependencies and their console scripts (`dbt`) come from the lock, the dbt
project, its seeds and macros, the waivers and every data file the code reads ship in the
wheel, and a run writes nothing into the installed package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parent.parent
# Not part of a source tree: environments, caches, build and run artifacts.
NOT_SOURCE = shutil.ignore_patterns(
    ".venv",
    ".git",
    "warehouse",
    ".dagster_home",
    "target",
    "logs",
    "__pycache__",
    "*.egg-info",
    "build",
    "dist",
    ".*_cache",
    ".hypothesis",
)


# Every installed distribution as name==version, names normalised as the lock writes them.
INSTALLED = (
    "import re; from importlib import metadata; "
    "print(*(re.sub(r'[-_.]+', '-', d.metadata['Name']).lower() + '==' + d.version "
    "for d in metadata.distributions()))"
)


def snapshot(folder: Path) -> dict[str, int]:
    return {
        str(p.relative_to(folder)): p.stat().st_size
        for p in folder.rglob("*")
        if "__pycache__" not in p.parts
    }


@pytest.mark.install
def test_install_from_the_lock_then_run_from_another_folder(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    env_dir = tmp_path / "venv"
    python = env_dir / "bin" / "python"
    uv = Path(sys.executable).parent / "uv"
    assert uv.exists(), f"{uv} missing: make installs uv into the virtual environment"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPLAINTS_", "DAGSTER_"))}
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    # Modules are compiled as the run first imports them, as a user's Python would do.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # uv's cache (filled by `make install`) supplies the wheels; the environment is new.
    installing = {**env, "UV_PROJECT_ENVIRONMENT": str(env_dir), "UV_PYTHON_DOWNLOADS": "never"}
    start = time.monotonic()
    subprocess.run(
        [str(uv), "sync", "--locked", "--no-editable", "--python", sys.executable],
        cwd=source,
        env=installing,
        check=True,
        timeout=1200,
    )
    print(f"installed from uv.lock in {time.monotonic() - start:.1f} s")

    with (ROOT / "uv.lock").open("rb") as handle:
        locked = {p["name"]: p["version"] for p in tomllib.load(handle)["package"]}
    installed = subprocess.run(
        [str(python), "-c", INSTALLED],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    versions = dict(line.split("==") for line in installed.split())
    for name in (
        "dagster",
        "dagster-dbt",
        "dbt-core",
        "dbt-duckdb",
        "duckdb",
        "great-expectations",
    ):
        assert versions[name] == locked[name], name
    assert "dbt-core-experimental-parser" not in versions
    # The test extras are not the package's dependencies: not installed.
    assert "pytest" not in versions and "mypy" not in versions
    assert (env_dir / "bin" / "dbt").exists()  # dbt-core's own console script

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    located = subprocess.run(
        [str(python), "-c", "import complaints; print(complaints.__file__)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    package = Path(located).parent
    assert package.is_relative_to(env_dir) and "site-packages" in package.parts
    assert not (package.parent / "dbt_project").exists()  # no top-level folder to lean on
    packaged = package / "dbt_project"
    before = snapshot(packaged)
    assert "seeds/root_cause_categories.csv" in before and "macros/vocabulary.sql" in before

    landing = tmp_path / "landing"
    shutil.copytree(ROOT / "data" / "landing", landing)
    run = subprocess.run(
        [str(env_dir / "bin" / "complaints"), "run", "--landing", str(landing)]
        + ["--warehouse", str(tmp_path / "wh")],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "SUCCESS" in run.stdout and "[updated]" in run.stdout
    with duckdb.connect(str(tmp_path / "wh" / "marts.duckdb"), read_only=True) as con:
        assert con.execute(
            "select count(*), sum(total) from mart_department_scorecard"
        ).fetchone() == (
            15,
            1945,
        )
        assert con.execute(
            "select status, count(*) from mart_reconciliation group by 1 order by 1"
        ).fetchall() == [("ok", 458), ("waived", 4)]  # 458 with the title-period total (issue 11)
    assert (elsewhere / ".dagster_home" / "dagster.yaml").exists()  # the default, where it ran
    assert snapshot(packaged) == before  # dbt wrote its artifacts into the warehouse only
    assert sys.executable != str(python)
