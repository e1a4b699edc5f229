"""uv.lock is what `make` installs: the test environment is the lock's, the lock matches
pyproject.toml, it leaves out dbt-core's experimental parser, and the pooled event log
(orchestration/lib/dagster_compat.py) was verified on the Dagster release it pins."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.utils import canonicalize_name

from orchestration.lib.dagster_compat import VERIFIED_DAGSTER_VERSIONS, pooled_event_log_problem

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "uv.lock"
PROJECT = "complaints-warehouse"


def locked_versions() -> dict[str, set[str]]:
    """Each package's locked versions: the lock covers every Python the project allows, and a
    few packages (numpy, scipy) pin one version per range of Python versions."""
    with LOCK.open("rb") as handle:
        lock = tomllib.load(handle)
    versions: dict[str, set[str]] = {}
    for package in lock["package"]:
        if package["name"] != PROJECT:
            versions.setdefault(canonicalize_name(package["name"]), set()).add(package["version"])
    return versions


def test_the_pooled_event_log_was_verified_on_the_locked_dagster() -> None:
    (locked,) = locked_versions()["dagster"]
    assert locked in VERIFIED_DAGSTER_VERSIONS, (
        f"uv.lock pins Dagster {locked}, but the pooled event log was verified on "
        f"{', '.join(VERIFIED_DAGSTER_VERSIONS)} only: run tests/test_event_log_storage.py and a "
        f"pipeline on {locked}, then add it to VERIFIED_DAGSTER_VERSIONS in "
        "orchestration/lib/dagster_compat.py"
    )
    # ...and on that release, installed here from the lock, it is switched on.
    assert pooled_event_log_problem() is None


def test_this_environment_is_the_locks() -> None:
    """Every installed package the lock names has the locked version (make installs from it),
    and dbt-core's experimental parser, whose install downloads a binary, is in neither."""
    locked = locked_versions()
    installed = {
        canonicalize_name(dist.metadata["Name"]): dist.version for dist in metadata.distributions()
    }
    differing = {
        name: (installed[name], sorted(versions))
        for name, versions in locked.items()
        if name in installed and installed[name] not in versions
    }
    assert not differing, f"installed, locked: {differing}; run make install"
    for name in ("dagster", "dbt-core", "dbt-duckdb", "dbt-postgres", "duckdb", "mypy"):
        assert installed.get(name) in locked[name], name
    assert all(version.startswith("1.12.") for version in locked["dbt-core"])
    assert "dbt-core-experimental-parser" not in locked
    assert "dbt-core-experimental-parser" not in installed


def test_the_lock_matches_pyproject() -> None:
    """`uv lock --check` (offline): pyproject.toml was not changed without `make lock`."""
    uv = Path(sys.executable).parent / "uv"
    assert uv.exists(), f"{uv} missing: make installs uv into the virtual environment"
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    check = subprocess.run(
        [str(uv), "lock", "--check", "--offline"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr
