"""Generate realistic extracts in both layouts for many councils and years, with a manifest.

    python benchmarks/generate.py OUT_DIR --councils N --years Y [--seed 7]   # 2*N*Y extracts
    python benchmarks/generate.py OUT_DIR --extracts 100 [--years 5] [--seed 7]

Extract i belongs to council i // years and year i % years; kinds alternate. The records and the
rendering come from `benchmarks/synthetic.py`, which is also the oracle of the parser's property
tests: the files carry the same kinds of extraction artifacts as the real ones, every control total
is internally consistent (each file passes `complaints check`), and the manifest entry of each
Appendix C extract maps the service headings of its sections that lost their heading. Deterministic
for a seed. `generate_records` also returns each extract's records: the oracle of
tests/test_marts_oracle.py, which compares the published marts with them.
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.synthetic import (  # noqa: E402
    ExpectedOutcomes,
    ExpectedRootCauses,
    period_of,
    random_outcome_doc,
    random_root_cause_doc,
    render_outcome_matrix,
    render_root_cause_summary,
)


@dataclass(frozen=True)
class GeneratedExtract:
    """One generated extract: its manifest entry and the records a correct pipeline publishes
    from it (`ExpectedRootCauses` or `ExpectedOutcomes`, benchmarks/synthetic.py)."""

    entry: dict
    expected: ExpectedRootCauses | ExpectedOutcomes


def root_cause_summary(
    rng: random.Random, council: str, year: int, shared_names: bool = False
) -> tuple[str, dict[str, str], ExpectedRootCauses]:
    """The text, the manifest's `departments:` mapping for its lost headings, and its records."""
    doc = random_root_cause_doc(rng, council, year, shared_names=shared_names)
    text, expected = render_root_cause_summary(doc, rng)
    return text, doc.departments_map(), expected


def outcome_matrix(rng: random.Random, council: str, year: int) -> tuple[str, ExpectedOutcomes]:
    return render_outcome_matrix(random_outcome_doc(rng, council, year), rng)


def generate(
    out_dir: Path, extracts: int, seed: int = 7, years: int = 5, *, shared_names: bool = False
) -> list[dict]:
    """Write `extracts` files and their manifest.yml into out_dir; return the manifest entries."""
    return [g.entry for g in generate_records(out_dir, extracts, seed, years, shared_names)]


def generate_records(
    out_dir: Path, extracts: int, seed: int = 7, years: int = 5, shared_names: bool = False
) -> list[GeneratedExtract]:
    """`generate`, returning each extract's records too. With `shared_names`, service-area names
    are unique only within a department, and half the lost headings stay unresolved (department
    `Unknown`), so one name recurs under several departments and several unresolved sections."""
    out_dir.mkdir(parents=True, exist_ok=True)
    generated = []
    for i in range(extracts):
        council_no, year_no = divmod(i // 2, years)
        council = f"Council {council_no:04d}"
        year = 2018 + year_no
        kind = "root_cause_summary" if i % 2 == 0 else "outcome_matrix"
        rng = random.Random(f"{seed}:{i}")
        entry: dict = {"kind": kind}
        expected: ExpectedRootCauses | ExpectedOutcomes
        if kind == "root_cause_summary":
            text, departments, expected = root_cause_summary(rng, council, year, shared_names)
            if departments:
                entry["departments"] = departments
        else:
            text, expected = outcome_matrix(rng, council, year)
        name = f"c{council_no:04d}_{year}_{'appendix_c' if kind == 'root_cause_summary' else 'appendix_1'}.txt"
        (out_dir / name).write_text(text, encoding="utf-8")
        entry = {
            "id": Path(name).stem,
            "path": name,
            "council": council,
            "period": period_of(year),
            **entry,
        }
        generated.append(GeneratedExtract(entry, expected))
    entries = [g.entry for g in generated]
    (out_dir / "manifest.yml").write_text(yaml.safe_dump({"extracts": entries}, sort_keys=False))
    return generated


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
