"""The floor of a run: what it cannot avoid doing.

Two parts, measured separately and added:
- import time: a fresh interpreter importing the libraries a run needs (Dagster, dagster-dbt,
  dbt, DuckDB, pandas, Great Expectations);
- SQL time: the compiled SQL of every model, seed and data test that a `dbt build` executed, run
  directly on DuckDB in the build's own order (models as `create or replace table|view`, tests as
  `select count(*)` over the failing rows, as dbt wraps them), on a copy of that build's database.
  Unit tests are left out (they run on fixtures, not on the warehouse).

    python benchmarks/seed_floor.py --target T --db D   (T: the build's target folder)
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
RUN_IMPORTS = "import dagster, dagster_dbt, dbt.cli.main, duckdb, pandas, great_expectations"


@dataclass
class Floor:
    import_s: float
    sql_s: float
    models: int
    tests: int
    seeds: int

    @property
    def total_s(self) -> float:
        return self.import_s + self.sql_s


def import_seconds() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", RUN_IMPORTS], check=True, capture_output=True)
    return time.perf_counter() - started


def statements(target: Path) -> list[tuple[str, str]]:
    """(resource type, SQL) of every executed node, in the build's order."""
    manifest = json.loads((target / "manifest.json").read_text())
    results = json.loads((target / "run_results.json").read_text())["results"]
    nodes = manifest["nodes"]
    out: list[tuple[str, str]] = []
    for result in results:
        node = nodes.get(result["unique_id"])
        if node is None or result["status"] not in ("success", "pass", "warn", "fail"):
            continue
        kind = node["resource_type"]
        relation = node.get("relation_name")
        if kind == "seed":
            csv = ROOT / "dbt_project" / node["original_file_path"]
            out.append((kind, f"create or replace table {relation} as from read_csv('{csv}')"))
        elif kind == "model":
            what = "view" if node["config"]["materialized"] == "view" else "table"
            out.append((kind, f"create or replace {what} {relation} as ({node['compiled_code']})"))
        elif kind == "test":
            out.append((kind, f"select count(*) from ({node['compiled_code']}) dbt_internal_test"))
    return out


def sql_seconds(target: Path, db: Path) -> tuple[float, dict[str, int]]:
    work = Path(tempfile.mkdtemp(prefix="floor-"))
    try:
        copy = work / db.name  # same file name: the same catalog name in the compiled SQL
        shutil.copy(db, copy)
        todo = statements(target)
        with duckdb.connect(str(copy)) as con:
            for schema in {s.split(".")[1] for _, s in todo if s.startswith("create")}:
                con.execute(f"create schema if not exists {schema}")
            started = time.perf_counter()
            for _, sql in todo:
                con.execute(sql).fetchall()
            elapsed = time.perf_counter() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)
    counts = {k: sum(1 for kind, _ in todo if kind == k) for k in ("model", "test", "seed")}
    return elapsed, counts


def measure(target: Path, db: Path) -> Floor:
    sql_s, counts = sql_seconds(target, db)
    return Floor(import_seconds(), sql_s, counts["model"], counts["test"], counts["seed"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--target", type=Path, required=True)
    ap.add_argument("--db", type=Path, required=True)
    args = ap.parse_args(argv)
    floor = measure(args.target, args.db)
    print(json.dumps({**floor.__dict__, "total_s": floor.total_s}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
