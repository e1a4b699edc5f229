"""Helpers for integration tests: a landing folder copy and an in-process run of the whole graph
against temporary folders and an ephemeral Dagster instance."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from orchestration.runner import RunSummary, run_pipeline
from orchestration.warehouse import LANDING_ENV, PROJECT_ROOT, WAREHOUSE_ENV

REAL_LANDING = PROJECT_ROOT / "data" / "landing"
APPENDIX_C = "brent_2019-20_appendix_c_root_causes.txt"
APPENDIX_1 = "brent_2022-23_appendix_1_outcome_matrix.txt"


def copy_landing(dest: Path) -> Path:
    shutil.copytree(REAL_LANDING, dest)
    return dest


def replace_in_line(path: Path, line_no: int, old: str, new: str) -> None:
    """Change one occurrence of `old` on one line (1-based), keeping every other byte."""
    lines = path.read_bytes().split(b"\n")
    line = lines[line_no - 1].decode("utf-8")
    assert line.count(old) >= 1, f"{old!r} not on line {line_no}"
    lines[line_no - 1] = line.replace(old, new, 1).encode("utf-8")
    path.write_bytes(b"\n".join(lines))


def run(landing: Path, warehouse: Path, instance=None) -> RunSummary:  # type: ignore[no-untyped-def]
    from dagster import DagsterInstance

    os.environ[LANDING_ENV] = str(landing)
    os.environ[WAREHOUSE_ENV] = str(warehouse)
    return run_pipeline(instance=instance or DagsterInstance.ephemeral())


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def published_outputs(warehouse: Path) -> dict[str, str]:
    """What readers see besides the database: where `exports` points, the digest of every file
    in every export version, and of the report."""
    outputs = {"exports ->": os.readlink(warehouse / "exports")}
    for path in sorted((warehouse / "exports.versions").rglob("*")):
        if path.is_file():
            outputs[str(path.relative_to(warehouse))] = digest(path)
    outputs["report.html"] = digest(warehouse / "report.html")
    return outputs
