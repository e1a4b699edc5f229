"""Parse throughput (MB/s, one core) on the real extracts and on a larger workload.

    python benchmarks/parse.py [--repeat N]

The larger workload repeats the body of each real extract (Appendix C sections with their
headings; Appendix 1 department blocks before one Grand Total) to about 5 MB per layout, so it has
the same artifacts in the same proportions. Target: >= 20 MB/s.
"""

from __future__ import annotations

import argparse
import platform
import re
import time
from pathlib import Path

from ingest.api import parse_extract

ROOT = Path(__file__).resolve().parent.parent
LANDING = ROOT / "data" / "landing"
FILES = {
    "root_cause_summary": LANDING / "brent_2019-20_appendix_c_root_causes.txt",
    "outcome_matrix": LANDING / "brent_2022-23_appendix_1_outcome_matrix.txt",
}
TARGET_MB_S = 20.0


def enlarge(kind: str, data: bytes, target_bytes: int) -> bytes:
    lines = data.decode("utf-8").split("\n")
    if kind == "outcome_matrix":
        grand = max(i for i, ln in enumerate(lines) if ln.startswith("Grand Total"))
        head, body, tail = lines[:4], lines[4:grand], lines[grand:]
    else:
        first = next(i for i, ln in enumerate(lines) if re.search(r"\(\d+ instances\)\s*$", ln))
        head, body, tail = lines[:first], lines[first:], []
    times = max(1, target_bytes // len(data))
    copies = [body] + [_renamed(kind, body, n) for n in range(2, times + 1)]
    return "\n".join(head + [ln for copy in copies for ln in copy] + tail).encode("utf-8")


def _renamed(kind: str, body: list[str], n: int) -> list[str]:
    """The n-th copy of `body` with its service areas renamed (`Repairs` -> `Repairs 2`): the
    parsers refuse a service area listed twice under one department, as the warehouse names
    each once."""
    if kind == "outcome_matrix":
        return body
    return [re.sub(r"^(\S.*?)(\s*\(\d+ instances\)\s*)$", rf"\g<1> {n}\g<2>", ln) for ln in body]


def measure(kind: str, data: bytes, min_seconds: float = 1.0) -> tuple[float, int, int]:
    """Returns (MB/s on CPU time, rounds, records of the last parse)."""
    rounds, cpu, records = 0, 0.0, 0
    while cpu < min_seconds:
        start = time.process_time()
        result = parse_extract(data, kind, "bench")
        cpu += time.process_time() - start
        rounds += 1
        records = len(result.service_areas) + len(result.causes) + len(result.outcome_rows)
    return len(data) * rounds / cpu / 1e6, rounds, records


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mb", type=float, default=5.0, help="size of the larger workload per layout")
    args = ap.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    print(f"{'workload':<34} {'size':>10} {'records':>9} {'MB/s':>8}  target {TARGET_MB_S:.0f}")
    worst = float("inf")
    for kind, path in FILES.items():
        data = path.read_bytes()
        for label, payload in (
            (f"real {kind}", data),
            (f"larger {kind}", enlarge(kind, data, int(args.mb * 1e6))),
        ):
            rate, _, records = measure(kind, payload)
            worst = min(worst, rate)
            print(
                f"{label:<34} {len(payload) / 1e6:>8.3f}MB {records:>9} {rate:>8.1f}  {rate / TARGET_MB_S:.2f}x"
            )
    print(
        f"slowest: {worst:.1f} MB/s = {worst / TARGET_MB_S:.2f} x target -> {'MET' if worst >= TARGET_MB_S else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
