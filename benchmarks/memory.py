"""Peak memory against extract size (issue 16): is growth at most linear at every step?

    python benchmarks/run.py --memory [--memory-sizes 1,10,limit] [--full-run-max-mb 10]

One generated Appendix 1 extract (benchmarks/synthetic.py: many departments, every control total
consistent) of about 1 MB, 10 MB and the maximum extract size (COMPLAINTS_MAX_EXTRACT_BYTES, else
ingest.manifest.MAX_EXTRACT_BYTES). Each step runs in a child process of its own and its peak
RSS is the kernel's high-water mark of that process (VmHWM), so no step inherits another's heap:

- imports: the modules the steps below import, nothing else (the interpreter's floor);
- parse: read the file and parse it (ingest.api.parse_entry);
- parse + load: the same, then write the raw tables of a fresh build database;
- complaints run: the whole pipeline (dbt, the gate, publication) as a subprocess; the peak of
  the sum of its process tree's RSS (sampled) and its largest single process. Only up to
  --full-run-max-mb: beyond, the run is not made and the table says so.

Growth is *at most linear* when the memory each further MB of input costs (the peak's increase
between two sizes over the input's) is, between the largest sizes, no more than 1.5 times what it
is between the smallest (a fixed floor plus a constant cost per byte); the verdict is printed
under the table.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if __name__ == "__main__":
    sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT)]

from ingest.manifest import MAX_EXTRACT_BYTES  # noqa: E402

MEMORY_BEGIN = (
    "<!-- memory:begin (written by benchmarks/run.py --memory; edit outside the markers) -->"
)
MEMORY_END = "<!-- memory:end -->"
MB = 1_000_000
STEPS = ("imports", "parse", "load")
STEP_NAMES = {"imports": "imports only", "parse": "parse", "load": "parse + load raw tables"}
LINEAR_FACTOR = 1.5
EXTRACT_ID = "big_outcome_matrix"


def max_extract_bytes() -> int:
    return int(os.environ.get("COMPLAINTS_MAX_EXTRACT_BYTES") or MAX_EXTRACT_BYTES)


# --------------------------------------------------------------------------- the extract


def _render(departments: int, seed: int) -> str:
    from synthetic import Department1, OutcomeDoc, random_outcome_doc, render_outcome_matrix

    rng = random.Random(seed)
    depts: list[Department1] = []
    while len(depts) < departments:
        for d in random_outcome_doc(rng, "Big Council", 2022).departments:
            # Department names are unique within an extract: numbered copies of the real ones.
            depts.append(Department1(f"{d.name} {len(depts):06d}", d.root_causes))
    doc = OutcomeDoc("Big Council", "2022/23", depts[:departments])
    text, _ = render_outcome_matrix(doc, random.Random(seed))
    return text


def write_extract(landing: Path, target_bytes: int, limit: int, seed: int = 7) -> int:
    """A landing folder with one Appendix 1 extract of about `target_bytes` (never above
    `limit`) and its manifest; returns the file's size."""
    landing.mkdir(parents=True, exist_ok=True)
    probe = len(_render(200, seed).encode())
    departments = max(1, int(200 * target_bytes / probe))
    text = _render(departments, seed)
    while len(text.encode()) > limit:
        departments = int(departments * limit / len(text.encode()) * 0.995)
        text = _render(departments, seed)
    path = landing / "big_appendix_1.txt"
    path.write_text(text, encoding="utf-8")
    entry = {
        "id": EXTRACT_ID,
        "path": path.name,
        "council": "Big Council",
        "period": "2022/23",
        "kind": "outcome_matrix",
    }
    (landing / "manifest.yml").write_text(yaml.safe_dump({"extracts": [entry]}, sort_keys=False))
    return path.stat().st_size


# --------------------------------------------------------------------------- child steps


def _child(step: str, landing: Path, db: Path) -> None:
    import duckdb

    from complaints.raw_store import replace_extracts
    from ingest.api import parse_entry
    from ingest.manifest import load_manifest
    from ingest.raw_tables import ExtractMeta

    if step == "imports":
        return
    (entry,) = load_manifest(landing)
    data = entry.read_bytes(max_extract_bytes())
    parsed = parse_entry(entry, data)
    if parsed.failed_totals:
        raise SystemExit(f"{len(parsed.failed_totals)} control totals fail: not a valid extract")
    if step == "load":
        with duckdb.connect(str(db)) as con:
            replace_extracts(
                con,
                [(ExtractMeta.of(entry, data), parsed)],
                {entry.extract_id: entry.fingerprint(data)},
            )


def _own_peak_mb() -> float:
    """This process's peak RSS since its exec (VmHWM): unlike the ru_maxrss that wait4 reports,
    it does not count the parent's pages the child held between fork and exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / MB
    raise RuntimeError("no VmHWM in /proc/self/status")


def _child_call(args: list[str]) -> str:
    """Run this file with `args` in a child process; its last line of output."""
    out = subprocess.run(
        [sys.executable, __file__, *args], cwd=ROOT, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise RuntimeError(f"{args} exited {out.returncode}: {out.stderr[-2000:]}")
    return out.stdout.strip().splitlines()[-1]


def _peak_of_child(step: str, landing: Path, db: Path) -> tuple[float, float]:
    """(peak RSS in MB, wall seconds) of one step in a fresh child process."""
    t0 = time.perf_counter()
    peak = float(_child_call(["--step", step, str(landing), str(db)]))
    return peak, time.perf_counter() - t0


# --------------------------------------------------------------------------- measurement


@dataclass
class SizeMemory:
    label: str
    input_mb: float
    rows: int
    peak_mb: dict[str, float] = field(default_factory=dict)
    wall_s: dict[str, float] = field(default_factory=dict)
    run_tree_mb: float | None = None
    run_process_mb: float | None = None
    run_wall_s: float | None = None
    run_ok: bool | None = None
    run_skipped: str = ""


@dataclass
class MemoryReport:
    limit: int
    sizes: list[SizeMemory] = field(default_factory=list)
    full_run_max_mb: float = 10.0


def measure(
    work: Path,
    labels: list[str],
    full_run_max_mb: float,
    complaints_run: Callable[[Path, Path, Path, Path], Any],
    seed: int = 7,
) -> MemoryReport:
    """`complaints_run` is benchmarks/run.py's (a subprocess, its process tree sampled)."""
    limit = max_extract_bytes()
    report = MemoryReport(limit=limit, full_run_max_mb=full_run_max_mb)
    for label in labels:
        target = limit if label == "limit" else int(float(label) * MB)
        folder = work / f"mem_{label}"
        landing = folder / "landing"
        print(f"[memory {label}] generating about {target / MB:.1f} MB ...", flush=True)
        # In a child: the generator's heap would otherwise stay in this process, and every child
        # forked from it would start from it.
        size = int(
            _child_call(["--generate", str(target), str(limit), str(seed), str(landing), "-"])
        )
        with (landing / "big_appendix_1.txt").open("rb") as f:
            lines = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b"")) + 1
        result = SizeMemory(label, size / MB, lines)
        for step in STEPS:
            db = folder / f"{step}.duckdb"
            result.peak_mb[step], result.wall_s[step] = _peak_of_child(step, landing, db)
            print(
                f"[memory {label}]   {step}: {result.peak_mb[step]:.0f} MB peak, "
                f"{result.wall_s[step]:.1f} s",
                flush=True,
            )
        if result.input_mb <= full_run_max_mb:
            run = complaints_run(
                landing,
                folder / "warehouse",
                folder / "dagster_home",
                folder / "run.log",
            )
            result.run_tree_mb, result.run_process_mb = (
                run.peak_tree_rss_mb * 2**20 / MB,
                (run.max_process_rss_mb * 2**20 / MB),
            )
            result.run_wall_s, result.run_ok = run.wall_s, run.returncode == 0
            print(
                f"[memory {label}]   complaints run: {result.run_tree_mb:.0f} MB tree peak, "
                f"{run.wall_s:.0f} s, exit {run.returncode}",
                flush=True,
            )
        else:
            result.run_skipped = f"not run (input above {full_run_max_mb:g} MB)"
        report.sizes.append(result)
    return report


def marginal(a: SizeMemory, b: SizeMemory, peak_a: float, peak_b: float) -> float:
    """MB of peak added per MB of input from size `a` to the larger `b`."""
    return (peak_b - peak_a) / (b.input_mb - a.input_mb)


def at_most_linear(values: list[float]) -> bool:
    """The memory each further input MB costs does not grow with size (within the factor)."""
    return values[-1] <= LINEAR_FACTOR * max(values[0], 1.0)


def _peaks(r: MemoryReport, step: str) -> list[tuple[SizeMemory, float]]:
    if step == "run":
        return [(s, s.run_tree_mb) for s in r.sizes if s.run_tree_mb is not None]
    return [(s, s.peak_mb[step]) for s in r.sizes]


def render(r: MemoryReport) -> str:
    lines = [
        f"Peak memory against extract size: one generated Appendix 1 extract per size, each step "
        f"in a child process of its own (its VmHWM; `complaints run`: the sampled sum of "
        f"its process tree). Maximum extract size: {r.limit:,} bytes ({r.limit / MB:.1f} MB). "
        f"'Added per input MB' = (peak - peak at the previous size) / (input - previous input): "
        f"the memory each further MB of input costs. Generated by "
        f"`python benchmarks/run.py --memory`.",
        "",
        "| input | MB | lines | step | peak MB | peak / input MB | added per input MB | wall s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    previous: dict[str, tuple[SizeMemory, float]] = {}
    for s in r.sizes:
        rows: list[tuple[str, str, float | None, float | None]] = [
            (step, STEP_NAMES[step], s.peak_mb[step], s.wall_s[step]) for step in STEPS
        ]
        if s.run_tree_mb is not None:
            failed = "" if s.run_ok else ", FAILED: see its log"
            name = f"complaints run (largest process {s.run_process_mb:.0f} MB{failed})"
            rows.append(("run", name, s.run_tree_mb, s.run_wall_s))
        else:
            rows.append(("run", f"complaints run: {s.run_skipped}", None, None))
        for step, name, peak, wall in rows:
            if peak is None:
                lines.append(f"| {s.label} | {s.input_mb:.1f} | {s.rows:,} | {name} | | | | |")
                continue
            added = "–"
            if step in previous:
                added = f"{marginal(previous[step][0], s, previous[step][1], peak):.1f}"
            previous[step] = (s, peak)
            lines.append(
                f"| {s.label} | {s.input_mb:.1f} | {s.rows:,} | {name} | {peak:.0f} | "
                f"{peak / s.input_mb:.1f} | {added} | {wall or 0:.1f} |"
            )
    lines.append("")
    for step in ("parse", "load", "run"):
        peaks = _peaks(r, step)
        if len(peaks) < 3:
            if len(peaks) == 2:
                (a, pa), (b, pb) = peaks
                lines.append(
                    f"- {STEP_NAMES.get(step, 'complaints run')}: "
                    f"{marginal(a, b, pa, pb):.1f} MB per further input MB from {a.label} to "
                    f"{b.label} (two sizes: no trend to judge)"
                )
            continue
        values = [
            marginal(a, b, pa, pb) for (a, pa), (b, pb) in zip(peaks, peaks[1:], strict=False)
        ]
        verdict = (
            "at most linear: each further MB costs no more at the larger sizes"
            if at_most_linear(values)
            else f"MORE than linear: a further MB costs over {LINEAR_FACTOR}x more at the "
            "larger sizes"
        )
        lines.append(
            f"- {STEP_NAMES.get(step, 'complaints run')}: "
            f"{' → '.join(f'{v:.1f}' for v in values)} MB per further input MB from "
            f"{peaks[0][0].label} to {peaks[-1][0].label}: {verdict}"
        )
    return "\n".join(lines)


def write_markdown(path: Path, body: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    block = f"{MEMORY_BEGIN}\n{body}\n{MEMORY_END}"
    if MEMORY_BEGIN in text and MEMORY_END in text:
        head, rest = text.split(MEMORY_BEGIN, 1)
        text = head + block + rest.split(MEMORY_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Peak memory against extract size\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """The child processes: `--step STEP LANDING DB` prints its peak RSS in MB;
    `--generate TARGET LIMIT SEED LANDING -` writes the extract and prints its size."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[0] == "--generate":
        target, limit, seed, landing = argv[1:5]
        print(write_extract(Path(landing), int(target), int(limit), int(seed)))
        return 0
    ap = argparse.ArgumentParser(description="child step of the memory benchmark")
    ap.add_argument("--step", choices=STEPS, required=True)
    ap.add_argument("landing", type=Path)
    ap.add_argument("db", type=Path)
    args = ap.parse_args(argv)
    _child(args.step, args.landing, args.db)
    print(f"{_own_peak_mb():.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
