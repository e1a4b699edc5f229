"""Repeated runs keep the build database the size of what it holds (complaints/build_db.py).

dbt-duckdb rebuilds every table model beside the old one and drops the old one; DuckDB keeps the
dropped blocks in the file as free blocks. Twenty real runs take too long for the suite, so the
loop replays, twenty times, exactly what one run does to the file: the raw tables' reload (as
`raw_extracts` commits it) and every SQL statement a real `dbt build` (through the project's
launcher, on this warehouse) sent to DuckDB, read from dbt's JSON debug log, on the connections
and in the transactions dbt used; then the hook the dbt asset calls after dbt."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import pytest

from complaints.build_db import MAX_FREE_FRACTION, usage_of
from complaints.config import ComplaintsConfig
from complaints.dbt_launcher import WORKDIR_FLAG
from complaints.dbt_paths import copy_saved_parse, dbt_launcher, dbt_project_dir, prepare_dbt
from tests.pipeline import copy_published, load_raw

pytestmark = pytest.mark.integration

RUNS = 20


def test_a_rerun_leaves_no_more_than_a_quarter_of_the_build_database_free(
    stock_storage_rerun,  # type: ignore[no-untyped-def]
) -> None:
    """The session's second run on one warehouse (the real pipeline): dbt rebuilt every table."""
    assert stock_storage_rerun.summary.success
    build = stock_storage_rerun.summary.published.parent / "build.duckdb"
    usage = usage_of(build)
    print(
        f"after a rerun: {build.stat().st_size:,} bytes, {usage.free_blocks} of "
        f"{usage.total_blocks} blocks free"
    )
    assert usage.free_fraction <= MAX_FREE_FRACTION, usage


def _dbt_statements(warehouse: Path, work: Path) -> list[tuple[str, str]]:
    """(dbt connection, SQL) of every statement one real `dbt build` sent, in order."""
    project = dbt_project_dir()
    config = ComplaintsConfig.resolve(warehouse=warehouse)
    copy_saved_parse(prepare_dbt(config).parent, work / "target")
    logs = work / "logs"
    done = subprocess.run(
        [dbt_launcher(), "build", WORKDIR_FLAG, str(warehouse)]
        + ["--project-dir", str(project), "--profiles-dir", str(project)]
        + ["--target-path", str(work / "target"), "--log-path", str(logs)]
        + ["--log-format-file", "json", "--log-level-file", "debug", "--quiet"],
        capture_output=True,
        text=True,
        cwd=project,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    statements = []
    for line in (logs / "dbt.log").read_text().splitlines():
        event: dict[str, Any] = json.loads(line)
        if event["info"]["name"] == "SQLQuery":
            # dbt-duckdb logs its seed's COPY with a trailing "..." it does not send.
            sql = _LOGGED_ONLY.sub("", event["data"]["sql"])
            statements.append((event["data"]["conn_name"], sql))
    return statements


_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_LOGGED_ONLY = re.compile(r"\n\s*\.\.\.\s*$")


def _first_word(sql: str) -> str:
    words = _COMMENT.sub("", sql).split()
    return words[0].lower() if words else ""


def _replay(build: Path, statements: list[tuple[str, str]]) -> None:
    """The statements on `build`, each dbt connection a cursor of one database as dbt-duckdb
    has it; a transaction dbt ended with a rollback (not logged as SQL) is rolled back when
    that connection begins the next."""
    with duckdb.connect(str(build)) as con:
        cursors: dict[str, duckdb.DuckDBPyConnection] = {}
        open_tx: set[str] = set()
        for conn, sql in statements:
            cursor = cursors.setdefault(conn, con.cursor())
            word = _first_word(sql)
            if word == "begin" and conn in open_tx:
                cursor.execute("rollback")
            cursor.execute(sql)
            if word == "begin":
                open_tx.add(conn)
            elif word in ("commit", "rollback"):
                open_tx.discard(conn)
        for conn in open_tx:
            cursors[conn].execute("rollback")


def test_twenty_runs_keep_the_build_database_steady(baseline: Path, tmp_path: Path) -> None:
    from orchestration.defs.transform.assets import compact_build_db

    landing, warehouse = copy_published(baseline / "landing", baseline / "warehouse", tmp_path)
    build = warehouse / "build.duckdb"
    config = ComplaintsConfig.resolve(landing=landing, warehouse=warehouse)
    statements = _dbt_statements(warehouse, tmp_path / "dbt")
    assert sum(_first_word(sql) == "create" for _, sql in statements) > 50, "dbt built nothing"
    compact_build_db(config)  # what the real build's step does next
    sizes, free = [build.stat().st_size], [usage_of(build).free_fraction]
    for _ in range(2, RUNS + 1):
        load_raw(landing, warehouse)
        _replay(build, statements)
        compact_build_db(config)
        sizes.append(build.stat().st_size)
        free.append(usage_of(build).free_fraction)
    print("build.duckdb after each run (bytes):", sizes)
    print("free fraction after each run:", [round(f, 2) for f in free])
    assert sizes[RUNS - 1] <= sizes[2] * 1.1, sizes
    assert max(free) <= MAX_FREE_FRACTION, free
    shutil.rmtree(tmp_path / "dbt", ignore_errors=True)
