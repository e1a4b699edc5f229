"""Server mode beside DuckDB: the same extracts run on both targets, measured in one invocation.

    .venv/bin/python benchmarks/postgres_run.py [--extracts 0 1000] [--write]

For each size (0 = the two bundled extracts, N = N generated extracts, benchmarks/generate.py):
a full `run_pipeline` on DuckDB and the same graph on a throwaway PostgreSQL 15 cluster
(tests/postgres_cluster.py), with the server run's seconds per step (Dagster's step events).
With --write, the table between the markers of docs/performance.md is
replaced.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

BEGIN = "<!-- postgres-benchmarks:begin (written by benchmarks/postgres_run.py) -->"
END = "<!-- postgres-benchmarks:end -->"


def _landing(base: Path, extracts: int) -> Path:
    landing = base / f"landing_{extracts}"
    if extracts == 0:
        shutil.copytree(ROOT / "data" / "landing", landing)
    else:
        from generate import generate

        generate(landing, extracts=extracts, seed=7, years=5)
    return landing


def measure(extracts: int, dsn: str, base: Path) -> dict[str, object]:
    from dagster import DagsterInstance

    from complaints.config import ComplaintsConfig
    from orchestration.lib.runner import run_pipeline

    landing = _landing(base, extracts)
    duck = ComplaintsConfig.resolve(
        landing=landing, warehouse=base / f"duck_{extracts}", dagster_home=base / "dh"
    )
    start = time.perf_counter()
    duck_summary = run_pipeline(duck, instance=DagsterInstance.ephemeral())
    duck_s = time.perf_counter() - start
    assert duck_summary.success, duck_summary
    server = ComplaintsConfig.resolve(
        landing=landing,
        warehouse=base / f"pg_{extracts}",
        dagster_home=base / "dh",
        target="postgres",
        postgres_dsn=dsn,
    )
    start = time.perf_counter()
    instance = DagsterInstance.ephemeral()
    pg = run_pipeline(server, instance=instance)
    pg_s = time.perf_counter() - start
    assert pg.success, pg
    marts = sum(pg.rows_per_mart.values())
    return {
        "extracts": "seed (2)" if extracts == 0 else str(extracts),
        "duckdb_s": round(duck_s, 1),
        "postgres_s": round(pg_s, 1),
        "ratio": round(pg_s / duck_s, 2),
        "phases": step_seconds(instance, pg.run_id),
        "mart_rows": marts,
        "same_mart_rows": marts == sum(duck_summary.rows_per_mart.values()),
    }


def step_seconds(instance: object, run_id: str) -> dict[str, float]:
    """Wall seconds per step of a run, from its step start and end events."""
    from dagster import DagsterEventType, DagsterInstance

    assert isinstance(instance, DagsterInstance)
    started: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type == DagsterEventType.STEP_START:
            started[event.step_key] = record.timestamp
        elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            seconds[event.step_key] = round(record.timestamp - started[event.step_key], 1)
    return seconds


def table(rows: list[dict[str, object]]) -> str:
    lines = [
        "| extracts | DuckDB run (s) | PostgreSQL run (s) | PG / DuckDB | PG: raw load | dbt build | gate | publish (swap, local copy, exports) | mart rows (same on both) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        p = r["phases"]
        assert isinstance(p, dict)
        lines.append(
            f"| {r['extracts']} | {r['duckdb_s']} | {r['postgres_s']} | {r['ratio']} | "
            f"{p.get('raw_extracts')} | {p.get('complaints_dbt_models')} | "
            f"{p.get('great_expectations_gate')} | {p.get('published_marts')} | "
            f"{r['mart_rows']} ({'yes' if r['same_mart_rows'] else 'NO'}) |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--extracts", type=int, nargs="+", default=[0, 1000])
    ap.add_argument("--write", action="store_true", help="rewrite the table in docs/performance.md")
    args = ap.parse_args(argv)

    from tests.postgres_cluster import start_cluster

    cluster = start_cluster()
    base = Path(tempfile.mkdtemp(prefix="complaints-pg-bench-"))
    try:
        rows = []
        for n in args.extracts:
            rows.append(measure(n, cluster.dsn(), base))
            print(rows[-1], flush=True)
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
    text = table(rows)
    print(text)
    if args.write:
        path = ROOT / "docs" / "performance.md"
        doc = path.read_text()
        head, _, rest = doc.partition(BEGIN)
        _, _, tail = rest.partition(END)
        path.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
