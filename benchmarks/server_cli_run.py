"""A server run as its users start it: `complaints run --target postgres` on the bundled extracts,
timed end to end (process start to exit, wall and CPU seconds of the CLI and its children, dbt
included), on a throwaway PostgreSQL 15 cluster. On a shared machine the CPU seconds are the
steadier comparison.

    .venv/bin/python benchmarks/server_cli_run.py [--runs 3] [--baseline OLDER_CHECKOUT]

The runs share one warehouse folder and Dagster home, as a deployment's do: the first parses the
dbt project, the later ones reuse that parse. Prints one line per run and the median of the runs
after the first. With --baseline (an older checkout, e.g. `git worktree add /tmp/old COMMIT`,
its dbt project prepared), that checkout's server runs alternate with this one's, run by this
environment, so the two are measured paired.
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


def _command(source: Path | None) -> list[str]:
    """This checkout's `complaints`, or an older checkout's CLI module run by this environment."""
    if source is None:
        return [str(Path(sys.executable).parent / "complaints")]
    module = "cli.main" if (source / "cli" / "main.py").is_file() else "orchestration.cli"
    return [sys.executable, "-m", module]


def _create_database(dsn: str, name: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute(f'create database "{name}"')


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="an older checkout (its dbt project prepared) whose server runs alternate with "
        "this checkout's, each in a database, warehouse and Dagster home of its own",
    )
    args = ap.parse_args(argv)

    from tests.postgres_cluster import start_cluster

    variants: dict[str, Path | None] = {"this checkout": None}
    if args.baseline is not None:
        variants = {"baseline": args.baseline.resolve(), **variants}
    cluster = start_cluster()
    base = Path(tempfile.mkdtemp(prefix="complaints-server-cli-"))
    try:
        landing = shutil.copytree(ROOT / "data" / "landing", base / "landing")
        seconds: dict[str, list[float]] = {name: [] for name in variants}
        cpu: dict[str, list[float]] = {name: [] for name in variants}
        envs = {}
        for n, (name, source) in enumerate(variants.items()):
            _create_database(cluster.dsn(), f"bench{n}")
            home = base / f"home{n}"
            home.mkdir()
            envs[name] = {
                **os.environ,
                "COMPLAINTS_POSTGRES_DSN": cluster.dsn(db=f"bench{n}"),
                "DAGSTER_HOME": str(home),
                **({"PYTHONPATH": str(source)} if source is not None else {}),
            }
        for i in range(args.runs):
            order = list(variants.items())
            for name, source in order if i % 2 == 0 else reversed(order):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                result = subprocess.run(
                    [*_command(source), "run", "--target", "postgres", "--landing", str(landing)]
                    + ["--warehouse", str(base / f"warehouse_{name.replace(' ', '_')}")],
                    env=envs[name],
                    cwd=source or ROOT,
                    capture_output=True,
                    text=True,
                )
                seconds[name].append(time.perf_counter() - start)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu[name].append(
                    after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
                )
                print(
                    f"{name} run {i + 1}: exit {result.returncode}, "
                    f"{seconds[name][-1]:.1f} s wall, {cpu[name][-1]:.1f} s CPU",
                    flush=True,
                )
                if result.returncode != 0:
                    print(result.stdout + result.stderr)
                    return 1
        for name in variants:
            later, later_cpu = seconds[name][1:] or seconds[name], cpu[name][1:] or cpu[name]
            print(
                f"{name}: median of runs after the first: {statistics.median(later):.1f} s wall, "
                f"{statistics.median(later_cpu):.1f} s CPU"
            )
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
