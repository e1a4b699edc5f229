"""Dev helper: parse every extract of a landing folder and write the raw tables of a build DB.

    python scripts/load_raw.py [--landing DIR] [--db PATH]

The Dagster raw assets do the same per partition; this exists for dbt development and benchmarks.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

from ingest.api import parse_entry
from ingest.manifest import load_manifest
from ingest.raw_tables import ExtractMeta
from orchestration.warehouse import landing_dir, replace_extracts, replace_waivers, warehouse_dir


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--landing", default=None)
    ap.add_argument("--db", default=None)
    args = ap.parse_args()
    landing = landing_dir(args.landing)
    db = Path(args.db) if args.db else warehouse_dir() / "build.duckdb"
    pairs = []
    for entry in load_manifest(landing):
        data = entry.read_bytes()
        import hashlib

        meta = ExtractMeta(
            entry.extract_id,
            entry.council,
            entry.period,
            entry.kind,
            entry.path,
            hashlib.sha256(data).hexdigest(),
            entry.source_url,
        )
        pairs.append((meta, parse_entry(entry, data)))
    with duckdb.connect(str(db)) as con:
        counts = replace_extracts(con, pairs)
        # The real 2022/23 grand-total discrepancy, as the reviewed waiver file will state it.
        replace_waivers(
            con,
            [
                (
                    f"w{i}",
                    "brent_2022_23_outcome_matrix",
                    "grand_total",
                    "Grand Total",
                    m,
                    s,
                    c,
                    "Grand Total omits Public Health's row",
                    "dev",
                    "2026-11-22",
                )
                for i, (m, s, c) in enumerate(
                    [
                        ("not_upheld", 924, 932),
                        ("partly_upheld", 341, 345),
                        ("upheld", 445, 449),
                        ("total", 1929, 1945),
                    ]
                )
            ],
        )
    print(f"wrote {db}: {counts}")


if __name__ == "__main__":
    main()
