"""The report of many councils built in one process and in worker processes, paired.

    .venv/bin/python benchmarks/report_pages.py --published WAREHOUSE/marts.duckdb [--repeat 2]

The published file should hold more councils than the single page shows (a run of
`benchmarks/generate.py OUT --councils 100 --years 10`, for instance). Each repetition builds the
report with one process (`workers=1`) and with the default (one worker per CPU), in alternating
order, each into a fresh folder, then once more beside the default's report (every chart reused
from the chart cache); prints wall and CPU seconds (this process and its workers) and the
medians.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from complaints.report.build import build_report, report_workers  # noqa: E402


def _cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(published: Path, out: Path, workers: int) -> tuple[float, float, int]:
    cpu, start = _cpu_s(), time.perf_counter()
    result = build_report(published, out, workers=workers)
    return time.perf_counter() - start, _cpu_s() - cpu, len(result.pages)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--published", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)
    names = ("one process", "workers", "workers, charts cached")
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="report-pages-") as tmp:
        for i in range(args.repeat):
            order = [("one process", 1), ("workers", 0)]
            for name, workers in order if i % 2 == 0 else reversed(order):
                # A fresh folder: no chart of an earlier report to reuse.
                out = Path(tmp) / f"{i}-{workers}" / "report.html"
                wall, cpu, pages = measure(args.published, out, workers)
                samples[name].append((wall, cpu))
                used = report_workers(workers, pages)
                print(f"{name} ({used}): {pages} pages, {wall:.1f} s wall, {cpu:.1f} s CPU")
            # The same publication again, beside the report just built: every chart is reused.
            out = Path(tmp) / f"{i}-0" / "report.html"
            wall, cpu, pages = measure(args.published, out, 0)
            samples[names[2]].append((wall, cpu))
            print(f"{names[2]}: {pages} pages, {wall:.1f} s wall, {cpu:.1f} s CPU")
    medians = {name: statistics.median(w for w, _ in samples[name]) for name in names}
    cpus = {name: statistics.median(c for _, c in samples[name]) for name in names}
    print(
        "medians: "
        + ", ".join(f"{name} {medians[name]:.1f} s wall / {cpus[name]:.1f} s CPU" for name in names)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
