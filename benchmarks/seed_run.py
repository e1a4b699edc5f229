"""The seed run alone: `complaints run` on the bundled extracts, fresh warehouse and Dagster home.

    python benchmarks/seed_run.py [--repeat 3] [--json OUT]

Prints each repetition's wall time, where it went (Dagster's step records) and the CPU other
processes used meanwhile; medians and the fastest repetition close it. Used to
measure a change before and after without the hour a full `benchmarks/run.py` takes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# With --source, this process reads that checkout's Dagster instance: import its modules first
# (its dagster.yaml may name a storage class this checkout no longer has).
_SOURCE = sys.argv[sys.argv.index("--source") + 1] if "--source" in sys.argv[:-1] else None
sys.path[:0] = [str(ROOT / "benchmarks"), *([_SOURCE] if _SOURCE else []), str(ROOT)]

from run import FullRun, complaints_run  # noqa: E402

if _SOURCE:  # run.py put this checkout first again
    sys.path.insert(0, _SOURCE)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--landing", type=Path, default=ROOT / "data" / "landing")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--source",
        type=Path,
        default=None,
        help="another checkout (e.g. `git archive` of an older commit) whose CLI to run instead",
    )
    args = ap.parse_args(argv)
    runs: list[FullRun] = []
    with tempfile.TemporaryDirectory(prefix="seed-run-") as tmp:
        for i in range(args.repeat):
            work = Path(tmp) / str(i)
            run = complaints_run(
                args.landing,
                work / "warehouse",
                work / "home",
                Path(tmp) / f"{i}.log",
                source=args.source,
            )
            if run.returncode != 0:
                print(Path(run.log).read_text(), file=sys.stderr)
                return 1
            runs.append(run)
            steps = ", ".join(f"{k} {v:.2f}" for k, v in sorted(run.steps.items()))
            print(
                f"run {i + 1}: {run.wall_s:.2f} s wall, {run.cpu_s:.2f} s CPU (before run {run.before_run_s:.2f}, {steps}, "
                f"after run {run.after_run_s:.2f}; events {run.dagster_events}; "
                f"foreign cores {run.foreign_cores:.2f}; peak RSS {run.peak_tree_rss_mb:.0f} MiB)"
            )
            shutil.rmtree(work, ignore_errors=True)
    walls = [r.wall_s for r in runs]
    cpus = [r.cpu_s for r in runs]
    print(
        f"seed run: fastest {min(walls):.2f} s, median {statistics.median(walls):.2f} s wall; "
        f"CPU least {min(cpus):.2f} s, median {statistics.median(cpus):.2f} s"
    )
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in runs], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
