"""How fast could any CPython parser of the outcome_matrix layout be? A floor, measured.

    python benchmarks/parse_floor.py [--mb 5]

On the same larger workload as benchmarks/parse.py, it times steps every parser of this layout
must take for every line, cumulatively, each in its cheapest CPython form:

1. decode the bytes and split them into lines;
2. + recognise a data row (one compiled regex match: name, six cells);
3. + split its cells and turn them into ints (dict lookup, the fastest str->int for small numbers);
4. + build one slotted record per row (what `OutcomeRow` is; the real parser also keeps a row
   object for the hierarchy pass).

Nothing here recovers the hierarchy, checks a subtotal, records provenance or handles an artifact;
the real parser does all of that (ingest/outcome_matrix.py). The printed MB/s after step 4 is
therefore an upper bound for a pure-Python parser with typed records out, and the ratio to the
real parser shows how much of its time is irreducible per-line work.
"""

from __future__ import annotations

import argparse
import gc
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script, next to parse.py

from parse import FILES, TARGET_MB_S, enlarge  # noqa: E402

from ingest.api import parse_extract  # noqa: E402

_ROW = re.compile(r"^([^\t<]*)((?:\t\d*){5}\t\d+)\t*$")
_INT = {str(i): i for i in range(10000)} | {"": 0}


@dataclass(slots=True)
class _Rec:
    line: int
    name: str
    values: list[int]


def _lines(data: bytes) -> int:
    return len(data.decode("utf-8").split("\n"))


def _match(data: bytes) -> int:
    match = _ROW.match
    return sum(1 for ln in data.decode("utf-8").split("\n") if match(ln))


def _ints(data: bytes) -> int:
    match, get = _ROW.match, _INT.__getitem__
    n = 0
    for ln in data.decode("utf-8").split("\n"):
        m = match(ln)
        if m:
            n += len(list(map(get, m.group(2)[1:].split("\t"))))
    return n


def _records(data: bytes) -> int:
    match, get = _ROW.match, _INT.__getitem__
    out = []
    append = out.append
    for i, ln in enumerate(data.decode("utf-8").split("\n")):
        m = match(ln)
        if m:
            append(_Rec(i + 1, m.group(1), list(map(get, m.group(2)[1:].split("\t")))))
    return len(out)


def _parser(data: bytes) -> int:
    return len(parse_extract(data, "outcome_matrix", "floor").outcome_rows)


def rate(fn, data: bytes, min_seconds: float = 1.0) -> float:  # type: ignore[no-untyped-def]
    """MB/s on this process's CPU time (best of repeated passes over at least min_seconds)."""
    best, spent = float("inf"), 0.0
    while spent < min_seconds:
        gc.disable()  # as the real parser does (ingest/api.py)
        start = time.process_time()
        fn(data)
        took = time.process_time() - start
        gc.enable()
        spent += took
        best = min(best, took)
    return len(data) / best / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mb", type=float, default=5.0)
    args = ap.parse_args()
    data = enlarge("outcome_matrix", FILES["outcome_matrix"].read_bytes(), int(args.mb * 1e6))
    lines = _lines(data)
    print(f"larger outcome_matrix: {len(data) / 1e6:.2f} MB, {lines} lines")
    print(f"{'cumulative work per line':<58} {'MB/s':>7} {'us/line':>8}")
    real = 0.0
    for label, fn in (
        ("1. decode + split into lines", _lines),
        ("2. + regex match of a data row", _match),
        ("3. + split cells, str -> int", _ints),
        ("4. + one slotted record per row (the floor)", _records),
        ("the real parser (hierarchy, repairs, control totals)", _parser),
    ):
        mb_s = rate(fn, data)
        real = mb_s
        us = len(data) / (mb_s * 1e6) / lines * 1e6
        print(f"{label:<58} {mb_s:>7.1f} {us:>8.2f}")
    print(
        f"target {TARGET_MB_S:.0f} MB/s = {len(data) / (TARGET_MB_S * 1e6) / lines * 1e6:.2f} "
        f"us per line for everything; the real parser reaches {real:.1f} MB/s"
    )


if __name__ == "__main__":
    main()
