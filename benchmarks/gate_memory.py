"""Gate memory benchmark (issue 16): peak RSS of the Great Expectations gate against table size.

    python benchmarks/gate_memory.py BUILD_DB [--factors 1,100,1000] [--out DIR]

BUILD_DB is a build database of a real run (the seed extracts: `warehouse/build.duckdb`). For each
factor N it writes a copy whose gated tables hold N copies of every row, each copy a distinct
extract and council (so grains stay unique and every suite still passes), then runs the gate
(`expectations.runner.validate_tables`, every suite) in a child process and reports that
process's peak RSS and wall time. The gate validates in the database, so peak RSS should stay
flat while the tables grow; the pandas gate it replaced read every table whole into memory.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from expectations.suites import SUITES  # noqa: E402

# Columns made distinct per copy: the extract (and with it every grain keyed on it), the council
# (the marts' grains), the instance key (the instance fact's grain).
DISTINCT_PER_COPY = ("extract_id", "council", "instance_key")

CHILD = """
import json, resource, sys, time
from pathlib import Path
from expectations.runner import validate_tables
from expectations.suites import SUITES
start = time.perf_counter()
results = validate_tables(Path(sys.argv[1]), list(SUITES), build_docs=False)
print(json.dumps({
    "seconds": time.perf_counter() - start,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "passed": all(r.success for r in results.values()),
    "rows": sum(r.row_count for r in results.values()),
}))
"""


def scaled_copy(build_db: Path, factor: int, target: Path) -> None:
    shutil.copyfile(build_db, target)
    con = duckdb.connect(str(target))
    try:
        for table in sorted({s.table for s in SUITES.values()}):
            columns = {
                name
                for (name,) in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = 'main' and table_name = ?",
                    [table],
                ).fetchall()
            }
            replaced = [
                f"case when copy = 0 then {c} else {c} || '#' || copy end as {c}"
                for c in DISTINCT_PER_COPY
                if c in columns
            ]
            replace = f" replace ({', '.join(replaced)})" if replaced else ""
            con.execute(
                f"create or replace table main.{table} as select *{replace} from main.{table}, "
                f"range({factor}) as copies(copy) order by copy"
            )
    finally:
        con.close()


def measure(build_db: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(build_db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("build_db", type=Path)
    parser.add_argument("--factors", default="1,100,1000")
    args = parser.parse_args()
    print("| copies of every row | rows validated | build DB MB | gate s | peak RSS MB | passed |")
    print("| ---: | ---: | ---: | ---: | ---: | --- |")
    with tempfile.TemporaryDirectory() as folder:
        for factor in (int(f) for f in args.factors.split(",")):
            target = Path(folder) / f"build_x{factor}.duckdb"
            scaled_copy(args.build_db, factor, target)
            figures = measure(target)
            size = target.stat().st_size / 1e6
            print(
                f"| {factor} | {int(figures['rows']):,} | {size:.0f} | {figures['seconds']:.1f} "
                f"| {figures['peak_rss_mb']:.0f} | {figures['passed']} |",
                flush=True,
            )
            target.unlink()


if __name__ == "__main__":
    main()
