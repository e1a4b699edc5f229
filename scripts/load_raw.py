"""Dev helper: parse every extract of a landing folder and write the raw tables of a build DB.

    python scripts/load_raw.py [--landing DIR] [--db PATH]

The Dagster raw assets do the same per partition; this exists for dbt development and benchmarks.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

from complaints.config import ComplaintsConfig
from complaints.raw_store import replace_extracts, replace_waivers
from expectations.waivers import load_waivers
from ingest.api import parse_entry
from ingest.manifest import load_manifest
from ingest.raw_tables import ExtractMeta


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--landing", default=None)
    ap.add_argument("--db", default=None)
    args = ap.parse_args()
    config = ComplaintsConfig.resolve(landing=args.landing)
    landing = config.landing_dir
    db = Path(args.db) if args.db else config.build_db
    db.parent.mkdir(parents=True, exist_ok=True)
    pairs = []
    fingerprints = {}
    for entry in load_manifest(landing):
        data = entry.read_bytes()
        pairs.append((ExtractMeta.of(entry, data), parse_entry(entry, data)))
        fingerprints[entry.extract_id] = entry.fingerprint(data)
    with duckdb.connect(str(db)) as con:
        counts = replace_extracts(con, pairs, fingerprints)
        # The reviewed waivers the pipeline would load (expectations/waivers.yml).
        replace_waivers(con, [w.as_row() for w in load_waivers(config.waivers_file)])
    print(f"wrote {db}: {counts}")


if __name__ == "__main__":
    main()
