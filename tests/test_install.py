"""`pip install .` (not editable) into a fresh virtual environment, then `complaints run` from
another folder: the dbt project, its seeds and macros, the waivers and every data file the code
reads ship in the wheel, and a run writes nothing into the installed package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
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


def snapshot(folder: Path) -> dict[str, int]:
    return {
        str(p.relative_to(folder)): p.stat().st_size
        for p in folder.rglob("*")
        if "__pycache__" not in p.parts
    }


@pytest.mark.install
def test_pip_install_then_run_from_another_folder(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    # The dependencies come from the test's own environment, appended to sys.path by a .pth
    # file: a path line in it is added as is, so that environment's editable install of this
    # project (its own .pth finder) is not activated and only the wheel built here can answer
    # `import orchestration`. Installing every dependency again would only re-test pip.
    purelib = Path(sysconfig.get_paths()["purelib"])
    site = Path(
        subprocess.check_output(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            text=True,
        ).strip()
    )
    (site / "zz_test_dependencies.pth").write_text(f"{purelib}\n")
    # The console script pip would have made when installing dbt-core (its entry point).
    dbt = env_dir / "bin" / "dbt"
    dbt.write_text(f"#!{python}\nimport sys\nfrom dbt.cli.main import cli\nsys.exit(cli())\n")
    dbt.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPLAINTS_", "DAGSTER_"))}
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            str(source),
        ],
        env=env,
        check=True,
        timeout=1200,
    )

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
