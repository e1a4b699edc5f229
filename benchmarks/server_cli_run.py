"""A server run as its users start it: `complaints run --target postgres` on the bundled extracts,
timed end to end (process start to exit), on a throwaway PostgreSQL 15 cluster.

    .venv/bin/python benchmarks/server_cli_run.py [--runs 3]

The runs share one warehouse folder and Dagster home, as a deployment's do: the first parses the
dbt project, the later ones reuse that parse. Prints one line per run and the median of the runs
after the first.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)

    from tests.postgres_cluster import start_cluster

    cluster = start_cluster()
    base = Path(tempfile.mkdtemp(prefix="complaints-server-cli-"))
    try:
        landing = shutil.copytree(ROOT / "data" / "landing", base / "landing")
        env = {**os.environ, "COMPLAINTS_POSTGRES_DSN": cluster.dsn(), "DAGSTER_HOME": str(base)}
        complaints = str(Path(sys.executable).parent / "complaints")
        seconds = []
        for i in range(args.runs):
            start = time.perf_counter()
            result = subprocess.run(
                [complaints, "run", "--target", "postgres", "--landing", str(landing)]
                + ["--warehouse", str(base / "warehouse")],
                env=env,
                capture_output=True,
                text=True,
            )
            seconds.append(time.perf_counter() - start)
            print(f"run {i + 1}: exit {result.returncode}, {seconds[-1]:.1f} s", flush=True)
            if result.returncode != 0:
                print(result.stdout + result.stderr)
                return 1
        later = seconds[1:] or seconds
        print(f"median of runs after the first: {statistics.median(later):.1f} s")
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
