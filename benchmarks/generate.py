"""Generate realistic extracts in both layouts for many councils and years, with a manifest.

    python benchmarks/generate.py OUT_DIR --councils N --years Y [--seed 7]   # 2*N*Y extracts
    python benchmarks/generate.py OUT_DIR --extracts 100 [--years 5] [--seed 7]

Extract i belongs to council i // years and year i % years; kinds alternate. The records and the
rendering come from `benchmarks/synthetic.py`, which is also the oracle of the parser's property
tests: the files carry the same kinds of extraction artifacts as the real ones, every control total
is internally consistent (each file passes `complaints check`), and the manifest entry of each
Appendix C extract maps the service headings of its sections that lost their heading. Deterministic
for a seed.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.synthetic import (  # noqa: E402
    period_of,
    random_outcome_doc,
    random_root_cause_doc,
    render_outcome_matrix,
    render_root_cause_summary,
)


def root_cause_summary(rng: random.Random, council: str, year: int) -> tuple[str, dict[str, str]]:
    """The text and the manifest's `departments:` mapping for its lost headings."""
    doc = random_root_cause_doc(rng, council, year)
    text, _ = render_root_cause_summary(doc, rng)
    return text, doc.departments_map()


def outcome_matrix(rng: random.Random, council: str, year: int) -> str:
    text, _ = render_outcome_matrix(random_outcome_doc(rng, council, year), rng)
    return text


def generate(out_dir: Path, extracts: int, seed: int = 7, years: int = 5) -> list[dict]:
    """Write `extracts` files and their manifest.yml into out_dir; return the manifest entries."""
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for i in range(extracts):
        council_no, year_no = divmod(i // 2, years)
        council = f"Council {council_no:04d}"
        year = 2018 + year_no
        kind = "root_cause_summary" if i % 2 == 0 else "outcome_matrix"
        rng = random.Random(f"{seed}:{i}")
        entry: dict = {"kind": kind}
        if kind == "root_cause_summary":
            text, departments = root_cause_summary(rng, council, year)
            if departments:
                entry["departments"] = departments
        else:
            text = outcome_matrix(rng, council, year)
        name = f"c{council_no:04d}_{year}_{'appendix_c' if kind == 'root_cause_summary' else 'appendix_1'}.txt"
        (out_dir / name).write_text(text, encoding="utf-8")
        entries.append(
            {
                "id": Path(name).stem,
                "path": name,
                "council": council,
                "period": period_of(year),
                **entry,
            }
        )
    (out_dir / "manifest.yml").write_text(yaml.safe_dump({"extracts": entries}, sort_keys=False))
    return entries


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("out_dir", type=Path)
    ap.add_argument(
        "--extracts", type=int, default=None, help="default 10, or 2 x councils x years"
    )
    ap.add_argument("--councils", type=int, default=None, help="both layouts for each year")
    ap.add_argument("--years", type=int, default=5, help="years per council (default 5)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if args.extracts is not None and args.councils is not None:
        ap.error("give --extracts or --councils, not both")
    extracts = args.extracts if args.councils is None else 2 * args.councils * args.years
    entries = generate(
        args.out_dir, extracts if extracts is not None else 10, args.seed, args.years
    )
    print(f"wrote {len(entries)} extracts and manifest.yml to {args.out_dir}")


if __name__ == "__main__":
    main()
