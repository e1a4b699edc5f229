"""`not_null_columns`, the one test node holding all of a model's not-null rules: it passes on
real rows, and a NULL makes it fail with the failing row stored under the name of its column."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import duckdb

from orchestration.project import dbt_executable, dbt_project_dir
from tests.pipeline import copy_landing, load_raw


def dbt(
    command: str, db: Path, work: Path, select: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    project = str(dbt_project_dir())
    # Its own target and log folders: the project's target/ holds the manifest Dagster reads.
    return subprocess.run(
        [
            dbt_executable(),
            command,
            "--select",
            *(select or ["stg_raw__extracts"]),
            "--indirect-selection",
            "cautious",
        ]
        + ["--vars", json.dumps({"build_db": str(db)}), "--project-dir", project]
        + ["--profiles-dir", project, "--target-path", str(work / "target")]
        + ["--log-path", str(work / "logs")],
        capture_output=True,
        text=True,
        cwd=project,
    )


def test_a_null_fails_naming_its_column(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse"
    load_raw(copy_landing(tmp_path / "landing"), warehouse)
    db = warehouse / "build.duckdb"
    built = dbt("build", db, tmp_path)
    assert built.returncode == 0, built.stdout[-2000:]
    assert "not_null_columns_stg_raw__extracts" in built.stdout

    with duckdb.connect(str(db)) as con:
        con.execute(
            "insert into raw.extracts by name select 'no_council' as extract_id, "
            "'2019/20' as period, 'outcome_matrix' as kind"
        )
    tested = dbt("test", db, tmp_path)
    assert tested.returncode == 1
    with duckdb.connect(str(db), read_only=True) as con:
        ((schema, table),) = con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where table_name like 'not_null_columns_stg_raw__extr%'"
        ).fetchall()
        failing = con.execute(
            f'select failing_column, extract_id from "{schema}"."{table}"'
        ).fetchall()
    assert failing == [("council", "no_council")]
