"""Helpers for integration tests: a landing folder copy and an in-process run of the whole graph
against temporary folders and an ephemeral Dagster instance."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import duckdb

from complaints.config import ComplaintsConfig
from complaints.dbt_paths import copy_saved_parse, dbt_executable, dbt_project_dir, prepare_dbt
from complaints.raw_store import replace_extracts, write_loaded_state
from ingest.api import parse_entry
from ingest.manifest import load_manifest
from ingest.raw_tables import ExtractMeta
from orchestration.lib.runner import RunSummary, run_pipeline

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REAL_LANDING = PROJECT_ROOT / "data" / "landing"
APPENDIX_C = "brent_2019-20_appendix_c_root_causes.txt"
APPENDIX_1 = "brent_2022-23_appendix_1_outcome_matrix.txt"
# Rows per mart published from the two bundled extracts (worked out by reading them).
SEED_ROWS_PER_MART = {
    "mart_department_scorecard": 15,
    "mart_improvement_actions": 91,
    "mart_outcome_matrix": 455,
    "mart_reconciliation": 462,
    "mart_service_root_causes": 232,
    "mart_service_uphold_rates": 75,
    # Five levels of stated number in Appendix C, four in Appendix 1.
    "mart_verification_coverage": 9,
    # Appendix C: 13 service areas nothing adds up to, 74 upheld counts only bounded.
    "mart_unverified_numbers": 87,
    # Brent 2022/23, the one council-period with an Appendix 1 extract (no residents given).
    "mart_council_comparison": 1,
}


def copy_landing(dest: Path) -> Path:
    shutil.copytree(REAL_LANDING, dest)
    return dest


def copy_published(landing: Path, warehouse: Path, dest: Path) -> tuple[Path, Path]:
    """A private copy of a published landing folder and warehouse: (landing, warehouse) in dest.

    Tests that start from "the bundled extracts, published" copy the session's run instead of
    running the pipeline again. symlinks=True: `exports` stays the relative link publication
    switches (followed, it would be a real folder, which publication refuses to replace)."""
    shutil.copytree(landing, dest / "landing")
    shutil.copytree(warehouse, dest / "warehouse", symlinks=True)
    return dest / "landing", dest / "warehouse"


def replace_in_line(path: Path, line_no: int, old: str, new: str) -> None:
    """Change one occurrence of `old` on one line (1-based), keeping every other byte."""
    lines = path.read_bytes().split(b"\n")
    line = lines[line_no - 1].decode("utf-8")
    assert line.count(old) >= 1, f"{old!r} not on line {line_no}"
    lines[line_no - 1] = line.replace(old, new, 1).encode("utf-8")
    path.write_bytes(b"\n".join(lines))


def config_for(landing: Path, warehouse: Path, waivers: Path | None = None) -> ComplaintsConfig:
    """The configuration of a test run (the Dagster home is unused: instances are given)."""
    return ComplaintsConfig.resolve(
        landing=landing, warehouse=warehouse, dagster_home=warehouse / ".dagster", waivers=waivers
    )


def run(  # type: ignore[no-untyped-def]
    landing: Path, warehouse: Path, instance=None, waivers: Path | None = None
) -> RunSummary:
    from dagster import DagsterInstance

    return run_pipeline(
        config_for(landing, warehouse, waivers), instance=instance or DagsterInstance.ephemeral()
    )


def run_on_persistent_instance(landing: Path, warehouse: Path, home: Path) -> RunSummary:
    """As `complaints run` does: a real Dagster home (dagster.yaml written), its instance."""
    from orchestration.lib.instance import configure_instance, open_instance

    config = ComplaintsConfig.resolve(landing=landing, warehouse=warehouse, dagster_home=home)
    configure_instance(config)
    with open_instance(config) as instance:
        return run_pipeline(config, instance)


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


def load_raw(landing: Path, warehouse: Path, ids: list[str] | None = None) -> None:
    """What `raw_extracts` commits for these extracts (rows, fingerprints, state file)."""
    warehouse.mkdir(parents=True, exist_ok=True)
    pairs, fingerprints = [], {}
    for entry in load_manifest(landing):
        if ids is None or entry.extract_id in ids:
            data = entry.read_bytes()
            pairs.append((ExtractMeta.of(entry, data), parse_entry(entry, data)))
            fingerprints[entry.extract_id] = entry.fingerprint(data)
    with duckdb.connect(str(warehouse / "build.duckdb")) as con:
        replace_extracts(con, pairs, fingerprints)
        write_loaded_state(con, warehouse)


def table_checksums(path: Path) -> dict[str, tuple[int, int]]:
    """Row count and an order-independent hash of every published table (the publication
    tables excepted: each publication has its own id, run and time)."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [
            r[0]
            for r in con.execute("select table_name from duckdb_tables()").fetchall()
            if not r[0].startswith("publication")
        ]
        return {
            t: con.execute(f'select count(*), sum(hash(t)) from main."{t}" as t').fetchone()
            for t in sorted(tables)
        }


def dbt_in(
    warehouse: Path, command: str, select: list[str], work: Path
) -> subprocess.CompletedProcess[str]:
    """`dbt <command> --select ...` on `warehouse`'s build.duckdb, as a run's dbt builds it: in
    the warehouse folder, starting from the project's prepared parse, which it reuses (a
    `--vars` path would change the profile and cost a full parse). Target and log folders in
    `work`: the project's target/ holds the manifest Dagster reads."""
    project = dbt_project_dir()
    prepared = prepare_dbt(config_for(warehouse.parent / "landing", warehouse)).parent
    target = work / "target"
    copy_saved_parse(prepared, target)
    return subprocess.run(
        [dbt_executable(), command, "--select", *select, "--indirect-selection", "cautious"]
        + ["--project-dir", str(project), "--profiles-dir", str(project)]
        + ["--target-path", str(target), "--log-path", str(work / "logs")],
        capture_output=True,
        text=True,
        cwd=warehouse,
    )
