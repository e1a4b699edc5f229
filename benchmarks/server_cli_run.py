"""A server run as its users start it: `complaints run --target postgres` on the bundled extracts,
timed end to end (process start to exit, wall and CPU seconds of the CLI and its children, dbt
included), on a throwaway PostgreSQL 15 cluster. On a shared machine the CPU seconds are the
steadier comparison.

    .venv/bin/python benchmarks/server_cli_run.py [--runs 3]

The runs share one warehouse folder and Dagster home, as a deployment's do: the first parses the
dbt project, the later ones reuse that parse. Prints one line per run and the median of the runs
after the first.
"""

from __future__ import annotations

import argparse
import os
import resource
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
        seconds, cpu = [], []
        for i in range(args.runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            result = subprocess.run(
                [complaints, "run", "--target", "postgres", "--landing", str(landing)]
                + ["--warehouse", str(base / "warehouse")],
                env=env,
                capture_output=True,
                text=True,
            )
            seconds.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            print(
                f"run {i + 1}: exit {result.returncode}, {seconds[-1]:.1f} s wall, "
                f"{cpu[-1]:.1f} s CPU",
                flush=True,
            )
            if result.returncode != 0:
                print(result.stdout + result.stderr)
                return 1
        later, later_cpu = seconds[1:] or seconds, cpu[1:] or cpu
        print(
            f"median of runs after the first: {statistics.median(later):.1f} s wall, "
            f"{statistics.median(later_cpu):.1f} s CPU"
        )
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
