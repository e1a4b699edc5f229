"""Generate realistic extracts in both layouts for many councils and years, with a manifest.

    python benchmarks/generate.py OUT_DIR --councils N --years Y [--seed 7]   # 2*N*Y extracts
    python benchmarks/generate.py OUT_DIR --extracts 100 [--years 5] [--seed 7]

Extract i belongs to council i // years and year i % years; kinds alternate. The files carry the
same kinds of extraction artifacts as the real ones: dash variants, missing bullets, nested italic
sub-groups, two service areas in one paragraph, lost directorate headings (inferable from the
Actions column), repeated header rows, names split across a tab, stray tokens in empty cells, an
issue type named like its root cause, and one spurious number per extract that only the
control-total arithmetic can repair. Every control total is internally consistent, so each file
passes `complaints check`. Deterministic for a seed.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import yaml

DASHES = ["–", "-", "–", " –", "- "]
CAUSES = [
    "Service failure",
    "Poor communication",
    "Policy or procedure",
    "Service delayed",
    "Service not provided",
    "Attitude",
    "Third party failure",
    "Other",
    "Quality of work",
    "Delay in repair/inspection",
    "Parking Enforcement",
    "Bin Collections",
    "Highways",
]
DIRECTORATES = {
    "Community Wellbeing": ["Housing", "Adult Social Care", "Culture"],
    "Resources": ["Finance", "Digital Services"],
}
SERVICE_AREAS = [
    "Repairs",
    "Customer Care",
    "Tenancy",
    "Lettings",
    "Rent Income",
    "Leasehold Services",
    "Housing Options",
    "Enforcement",
    "Libraries",
    "Sports facilities",
    "Commissioning",
    "Complex Care",
    "Urgent Care",
    "Payroll",
    "Council Tax",
    "Benefits",
    "Insurance",
]
LOST_HEADINGS = [
    "Parking & Lighting",
    "Highways and Infrastructure",
    "CYP",
    "Chief Executive's Service",
]
APPENDIX_1_DEPARTMENTS = [
    "Adult Social Care",
    "Customer Access",
    "Environment and Leisure",
    "Finance",
    "Housing",
    "Legal",
    "Public Health",
    "Regeneration, Growth & Employment",
    "Transformation",
]
ROOT_CAUSES = ["Communication", "Policy / Procedures", "Service Failure"]
ISSUE_TYPES = [
    "Council Tax - Enforcement Action",
    "Council Tax - Other",
    "Repairs To My Property (Including Inspections)",
    "Outstanding Repairs - Other",
    "Housing Customer - Other",
    "Homelessness application - family",
    "Libraries - Other",
    "Care Package",
    "Duty Team",
    "Social worker/ Officer",
    "Bins - missed",
    "Parking & lighting team - permits",
    "Benefits Assessment",
    "Estate Services",
    "Planning Enforcement - Other",
    "Highways & Infrastructure Team - Blocked Drains, Leaks & Floods",
    "Complaints about Wates",
]
OUTCOME_HEADER = (
    "Department, Root Cause and Issue types\tComplaint Withdrawn / Not pursued\tNot Upheld\t"
    "Partly Upheld\tRejected\tUpheld\tGrand Total"
)


def period_of(year: int) -> str:
    return f"{year}/{(year + 1) % 100:02d}"


def _split(rng: random.Random, total: int, parts: int) -> list[int]:
    """total split into `parts` positive integers (total >= parts)."""
    cuts = sorted(rng.sample(range(1, total), parts - 1)) if parts > 1 else []
    return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]


def root_cause_summary(rng: random.Random, council: str, year: int) -> str:
    period = period_of(year)
    out = [
        "",
        f"Appendix C – {period} Complaints Root Cause Summary & Improvement Actions by Department",
        "",
        f"Data caveat – generated test data for {council}; each case can have multiple root causes (instances).",
        "",
    ]

    def area_html(name: str, n: int, nested: bool = False) -> str:
        causes = rng.sample(CAUSES, k=min(len(CAUSES), rng.randint(1, 4)))
        counts = _split(rng, n, len(causes)) if n >= len(causes) else [n]
        causes = causes[: len(counts)]
        bullet = "• " if rng.random() > 0.15 else ""
        items = " ".join(
            f"{bullet}{c}{rng.choice(DASHES)} {k}" for c, k in zip(causes, counts, strict=True)
        )
        if nested:
            return (
                f'<p><i>{name} - {n} instances</i></p> <ul style="list-style-type: none"> {items}'
            )
        upheld = rng.randint(0, n)
        return (
            f"<p>{name}{rng.choice(DASHES)} {n} instances; {upheld} upheld/partly upheld</p> "
            f'<ul style="list-style-type: none"> {items}'
        )

    def actions_html(heading: str) -> str:
        return (
            f"<p>{heading}</p> <p>The service reviewed its complaints in {period}.</p> "
            '<ul style="list-style-type: none"> - Staff briefed on lessons learnt - New case tracker introduced'
        )

    for dept, directorates in DIRECTORATES.items():
        # Service-area names are drawn without replacement per department, not per directorate:
        # the marts' grain is period x council x department x service area (DESIGN.md), so the
        # same name under two directorates of one department would be two rows of one grain.
        pool = rng.sample(SERVICE_AREAS, k=len(SERVICE_AREAS))
        for directorate in rng.sample(directorates, k=rng.randint(1, len(directorates))):
            areas = [pool.pop() for _ in range(rng.randint(2, 5))]
            sizes = [rng.randint(3, 120) for _ in areas]
            out += [
                f"{dept} Department{rng.choice([' - ', ' – '])}{directorate} Directorate ({sum(sizes)} instances)",
                "",
            ]
            half = max(1, len(areas) // 2)
            for chunk in (
                list(zip(areas, sizes, strict=True))[:half],
                list(zip(areas, sizes, strict=True))[half:],
            ):
                if not chunk:
                    continue
                cells = []
                for name, n in chunk:
                    if n > 20 and rng.random() < 0.2:  # a nested italic sub-group inside the area
                        sub = rng.randint(2, n // 3)
                        html = area_html(name, n - sub).replace(
                            f" {n - sub} instances;", f" {n} instances;", 1
                        )
                        cells.append(html + " " + area_html(f"{name} team", sub, nested=True))
                    else:
                        cells.append(area_html(name, n))
                out += [
                    "Root Cause\tActions",
                    " ".join(cells) + f" \t{actions_html(directorate)}",
                    "",
                ]
    # Sections whose directorate heading was lost: inferred from the Actions column.
    for heading in rng.sample(LOST_HEADINGS, k=2):
        a, b = rng.randint(2, 9), rng.randint(2, 9)  # two areas in one paragraph, no cause lists
        # Both areas carry the heading: two lost headings can map to the same department, and a
        # bare "Area two" in both would break the (extract, department, service area) grain.
        para = f"<p>Area one {heading}- {a} instances; {rng.randint(0, a)} upheld Area two {heading}- {b} instances; 0 upheld</p>"
        out += [
            "Root Cause\tActions",
            f"{area_html('Service ' + heading, rng.randint(5, 40))} {para}\t{actions_html(heading)}",
            "",
        ]
    return "\n".join(out) + "\n"


def outcome_matrix(rng: random.Random, council: str, year: int) -> str:
    rows: list[str] = []
    grand = [0] * 6
    repaired = False
    for dept in rng.sample(APPENDIX_1_DEPARTMENTS, k=rng.randint(4, len(APPENDIX_1_DEPARTMENTS))):
        dept_rows: list[str] = []
        dept_vals = [0] * 6
        for rc in ROOT_CAUSES:
            issues = rng.sample(ISSUE_TYPES, k=rng.randint(2, 8))
            if rc == "Communication" and rng.random() < 0.5:
                issues.append("Communication")  # an issue type named like its root cause
            rc_vals = [0] * 6
            issue_rows = []
            for name in issues:
                v = [rng.choice([0, 0, 0, 1, 1, 2, 3, 5]) for _ in range(5)]
                if not any(v):
                    v[1] = 1
                v.append(sum(v))
                rc_vals = [a + b for a, b in zip(rc_vals, v, strict=True)]
                cells = ["" if x == 0 else str(x) for x in v]
                for j in range(5):
                    if cells[j] == "" and rng.random() < 0.03:
                        cells[j] = rng.choice(["•", "_", "<u>t</u>", "T"])  # stray tokens
                if len(name) > 30 and cells[0] == "" and rng.random() < 0.3:
                    cut = rng.randint(
                        len(name) - 8, len(name) - 2
                    )  # name wrapped into the next cell
                    name, cells[0] = name[:cut], name[cut:]
                if not repaired and cells[1] == "" and v[5] >= 1 and rng.random() < 0.1:
                    cells[1] = "4"  # a spurious number the block arithmetic proves wrong
                    repaired = True
                issue_rows.append("\t".join([name, *cells]))
            dept_rows.append("\t".join([rc, *("" if x == 0 else str(x) for x in rc_vals)]))
            dept_rows += issue_rows
            dept_vals = [a + b for a, b in zip(dept_vals, rc_vals, strict=True)]
        rows.append("\t".join([dept, *("" if x == 0 else str(x) for x in dept_vals)]))
        rows += dept_rows
        grand = [a + b for a, b in zip(grand, dept_vals, strict=True)]
    out = [
        "Appendix 1 - Correlation between root cause, issues types and outcomes of complaints by department",
        "",
        "\tOutcomes\tOutcomes\t\t\t\t\t\t",
        OUTCOME_HEADER + "\t\t",
    ]
    for i, row in enumerate(rows):
        if i and i % 40 == 0:  # the header row repeats on every page
            out += ["", OUTCOME_HEADER]
        out.append(row)
    out.append("\t".join(["Grand Total", *(str(x) for x in grand)]))
    return "\n".join(out) + "\n"


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
        text = (root_cause_summary if kind == "root_cause_summary" else outcome_matrix)(
            rng, council, year
        )
        name = f"c{council_no:04d}_{year}_{'appendix_c' if kind == 'root_cause_summary' else 'appendix_1'}.txt"
        (out_dir / name).write_text(text, encoding="utf-8")
        entries.append(
            {
                "id": Path(name).stem,
                "path": name,
                "council": council,
                "period": period_of(year),
                "kind": kind,
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
