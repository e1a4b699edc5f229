"""Write-audit-publish guarantees: faults, bad inputs and readers never lose or corrupt what was
published before (kills: tests/test_reliability_kills.py). Each test starts from a private copy
of the session's publication of the bundled extracts (`workspace`, tests/conftest.py), or reads
the one run on such a copy with three faults in its input (`faulted`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
import yaml

from orchestration.lib.runner import RunSummary
from tests.pipeline import (
    APPENDIX_1,
    APPENDIX_C,
    digest,
    published_outputs,
    replace_in_line,
    run,
)

pytestmark = pytest.mark.integration


def failed_rows(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse / "build.duckdb"), read_only=True) as con:
        return con.execute(
            "select extract_id, level, scope, measure, source_line, stated, computed, status "
            "from mart_reconciliation where status = 'failed' order by all"
        ).fetchall()


@dataclass(frozen=True)
class Faulted:
    """One run on a copy of the publication with three independent faults in the input (so three
    stories cost one pipeline run): each test below asserts that its fault is named, where and
    why, and `test_the_faults_fail_exactly_their_own_checks` that nothing else failed."""

    summary: RunSummary
    warehouse: Path
    published_before: str
    exports_before: dict[str, str]


# Failed control totals each fault causes, as mart_reconciliation states them.
CAUSE_COUNT_RAISED = [
    (
        "brent_2019_20_root_causes",
        "service_area",
        "Community Wellbeing Department - Housing Directorate / Repairs",
        "instances",
        10,
        200,
        201,
        "failed",
    )
]
PERIOD_CONTRADICTED = [
    (
        "brent_2019_20_root_causes",
        "period",
        "title period",
        "fiscal_year_start",
        3,
        2019,
        2020,
        "failed",
    )
]
GRAND_TOTAL_CHANGED = [
    (
        "brent_2022_23_outcome_matrix",
        "grand_total",
        "Grand Total",
        "total",
        539,
        1928,
        1945,
        "failed",
    ),
    # The row's own cells (88+924+341+131+445) no longer add up to its stated total either.
    ("brent_2022_23_outcome_matrix", "row", "Grand Total", "total", 539, 1928, 1929, "failed"),
]


@pytest.fixture(scope="module")
def faulted(baseline: Path, tmp_path_factory: pytest.TempPathFactory) -> Faulted:
    from tests.pipeline import copy_published

    landing, warehouse = copy_published(
        baseline / "landing", baseline / "warehouse", tmp_path_factory.mktemp("faulted")
    )
    published_before = digest(warehouse / "marts.duckdb")
    exports_before = published_outputs(warehouse)
    # 1. One cause count of Repairs raised: its causes add up to 201, not the stated 200.
    replace_in_line(landing / APPENDIX_C, 10, "Service Delayed – 71", "Service Delayed – 72")
    # 2. The manifest declares the 2019/20 Appendix C as 2020/21.
    manifest = yaml.safe_load((landing / "manifest.yml").read_text())
    manifest["extracts"][0]["period"] = "2020/21"
    (landing / "manifest.yml").write_text(yaml.safe_dump(manifest))
    # 3. The stated grand total of Appendix 1 changed: the shipped waiver covers exactly
    # 1929 vs 1945, not 1928.
    lines = (landing / APPENDIX_1).read_text(encoding="utf-8").split("\n")
    assert "1929" in lines[538], lines[538]
    replace_in_line(landing / APPENDIX_1, 539, "1929", "1928")

    summary = run(landing, warehouse)
    return Faulted(summary, warehouse, published_before, exports_before)


def test_faults_publish_nothing(faulted: Faulted) -> None:
    summary, warehouse = faulted.summary, faulted.warehouse
    assert not summary.success
    assert not summary.published_updated
    assert digest(warehouse / "marts.duckdb") == faulted.published_before
    # The exports folder (link, every file) and the report are byte-identical too.
    assert published_outputs(warehouse) == faulted.exports_before
    assert len(faulted.exports_before) > 20
    assert any("published_marts" not in s and "gx_" in s for s in summary.failed_steps)


def test_the_faults_fail_exactly_their_own_checks(faulted: Faulted) -> None:
    assert failed_rows(faulted.warehouse) == sorted(
        CAUSE_COUNT_RAISED + PERIOD_CONTRADICTED + GRAND_TOTAL_CHANGED
    )
    failing = {k for k, (passed, _) in faulted.summary.gate_results.items() if not passed}
    assert failing == {
        "recon_instance_totals:gx_recon_instance_totals",
        "recon_outcome_totals:gx_recon_outcome_totals",
        "mart_reconciliation:gx_mart_reconciliation",
    }
    # The stale waiver is a warning, never a failure: see the grand total's test.
    assert set(faulted.summary.gate_warnings) == {"recon_waivers:waivers_not_stale"}


def test_fault_injected_count_blocks_publication(faulted: Faulted) -> None:
    gate = faulted.summary.gate_results
    assert not gate["recon_instance_totals:gx_recon_instance_totals"][0]
    assert (
        "causes sum to each service area's stated instances (1 rows)"
        in (gate["recon_instance_totals:gx_recon_instance_totals"][1])
    )
    # The build database says why, naming the extract and the source line.
    assert set(CAUSE_COUNT_RAISED) <= set(failed_rows(faulted.warehouse))


def test_title_period_contradicting_the_manifest_blocks_publication(faulted: Faulted) -> None:
    """The manifest declares the 2019/20 Appendix C as 2020/21: a finding, and nothing published."""
    assert set(PERIOD_CONTRADICTED) <= set(failed_rows(faulted.warehouse))
    with duckdb.connect(str(faulted.warehouse / "build.duckdb"), read_only=True) as con:
        (explanation,) = con.execute(
            "select explanation from mart_reconciliation where level = 'period'"
        ).fetchone()
    assert explanation == (
        "the title (line 3) states 2019/20, but 2020/21 was declared for this file: the manifest "
        "may name the wrong file or the wrong period"
    )


def test_waiver_stops_applying_when_a_number_changes(faulted: Faulted) -> None:
    """The shipped waiver covers exactly 1929 vs 1945; a stated grand total of 1928 blocks."""
    assert set(GRAND_TOTAL_CHANGED) <= set(failed_rows(faulted.warehouse))
    gate = faulted.summary.gate_results
    assert not gate["recon_outcome_totals:gx_recon_outcome_totals"][0]
    assert (
        "departments sum to the stated grand total (1 rows)"
        in (gate["recon_outcome_totals:gx_recon_outcome_totals"][1])
    )
    # The waiver for the total no longer matches anything: reported as stale (a warning).
    assert "recon_waivers:waivers_not_stale" not in gate
    assert faulted.summary.gate_warnings["recon_waivers:waivers_not_stale"] == (
        "3 waiver(s) applied, 1 stale"
    )
    with duckdb.connect(str(faulted.warehouse / "build.duckdb"), read_only=True) as con:
        assert con.execute(
            "select measure, status from mart_reconciliation where level = 'grand_total' "
            "and status <> 'ok' order by 1"
        ).fetchall() == [
            ("not_upheld", "waived"),
            ("partly_upheld", "waived"),
            ("total", "failed"),
            ("upheld", "waived"),
        ]


def _edit_manifest(landing: Path, change) -> None:  # type: ignore[no-untyped-def]
    path = landing / "manifest.yml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def _empty(landing: Path) -> str:
    (landing / APPENDIX_C).write_bytes(b"")
    return APPENDIX_C


def _binary(landing: Path) -> str:
    (landing / APPENDIX_1).write_bytes(bytes(range(256)) * 20)
    return APPENDIX_1


def _truncated(landing: Path) -> str:
    data = (landing / APPENDIX_1).read_bytes().split(b"\n")
    (landing / APPENDIX_1).write_bytes(b"\n".join(data[:300]))
    return APPENDIX_1


def _unknown_kind(landing: Path) -> str:
    def change(doc: dict) -> None:
        doc["extracts"][0]["kind"] = "pdf_table"

    _edit_manifest(landing, change)
    return "pdf_table"


def _outside(landing: Path) -> str:
    outside = landing.parent / "elsewhere.txt"
    shutil.copy(landing / APPENDIX_C, outside)

    def change(doc: dict) -> None:
        doc["extracts"][0]["path"] = "../elsewhere.txt"

    _edit_manifest(landing, change)
    return "../elsewhere.txt"


def _unlisted(landing: Path) -> str:
    shutil.copy(landing / APPENDIX_C, landing / "stray_2020-21.txt")
    return "stray_2020-21.txt"


@pytest.mark.parametrize(
    "make_bad",
    [_empty, _binary, _truncated, _unknown_kind, _outside, _unlisted],
    ids=["empty", "binary", "truncated", "unknown-kind", "outside-landing", "not-in-manifest"],
)
def test_bad_input_is_named_and_nothing_published_changes(
    workspace: tuple[Path, Path], make_bad
) -> None:  # type: ignore[no-untyped-def]
    landing, warehouse = workspace
    published = warehouse / "marts.duckdb"
    before = digest(published)
    named = make_bad(landing)

    summary = run(landing, warehouse)

    assert not summary.success
    message = summary.error or "\n".join(summary.failed_steps)
    assert named in message, message
    assert "Traceback" not in message
    assert digest(published) == before
    assert not summary.published_updated


READER = textwrap.dedent(
    """
    import sys, time, duckdb
    path, stop = sys.argv[1], sys.argv[2]
    con = duckdb.connect(path, read_only=True)
    query = "select string_agg(action_text, '|' order by extract_id, action_ordinal) from mart_improvement_actions"
    print("first", hash(con.execute(query).fetchone()[0]), flush=True)
    import os
    reads = 0
    while not os.path.exists(stop):
        print("read", hash(con.execute(query).fetchone()[0]), flush=True)
        reads += 1
        time.sleep(0.05)
    con.close()
    print("reads", reads, flush=True)
    """
)


def test_reader_through_twenty_publish_cycles(workspace: tuple[Path, Path], tmp_path: Path) -> None:
    """A reader process holds a read-only connection while the published file is replaced 20
    times by the published_marts asset: no run fails and the reader keeps one snapshot."""
    from dagster import DagsterInstance, materialize

    from orchestration.defs.publish.assets import published_marts
    from orchestration.resources import WarehouseResource

    landing, warehouse = workspace
    published = warehouse / "marts.duckdb"
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(published), str(stop)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        first = reader.stdout.readline().split()
        assert first[0] == "first"
        instance = DagsterInstance.ephemeral()
        resource = WarehouseResource(warehouse_dir=str(warehouse), landing_dir=str(landing))
        for cycle in range(1, 21):
            # Each cycle publishes different content, so a torn or refreshed view would show.
            with duckdb.connect(str(warehouse / "build.duckdb")) as con:
                con.execute(
                    "update main.mart_improvement_actions set action_text = ? "
                    "where action_ordinal = (select min(action_ordinal) from main.mart_improvement_actions)",
                    [f"cycle {cycle}"],
                )
            result = materialize(
                [published_marts], resources={"warehouse": resource}, instance=instance
            )
            assert result.success, f"publish cycle {cycle} failed"
        stop.write_text("")
        out, _ = reader.communicate(timeout=60)
    finally:
        if reader.poll() is None:
            reader.kill()
    reads = [line.split()[1] for line in out.splitlines() if line.split()[0] == "read"]
    assert len(reads) >= 5
    assert set(reads) == {first[1]}, "the reader's snapshot changed under it"
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute(
            "select count(*) from mart_improvement_actions where action_text = 'cycle 20'"
        ).fetchone() == (1,)


def test_corrupt_published_file_and_failed_run_print_the_step_not_old_rows(
    workspace: tuple[Path, Path], tmp_path: Path
) -> None:
    """A failed run names the failing step and its reason, prints no row counts (there is no
    publication of its own), never opens the unreadable previous file, and leaves it as it was."""
    landing, warehouse = workspace
    published = warehouse / "marts.duckdb"
    published.write_bytes(b"not a database any more" * 100)
    before = digest(published)
    _truncated(landing)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "COMPLAINTS_LANDING": str(landing),
        "COMPLAINTS_WAREHOUSE": str(warehouse),
    }
    complaints = Path(sys.executable).parent / "complaints"

    result = subprocess.run(
        [str(complaints), "run"], env=env, capture_output=True, text=True, timeout=600
    )

    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "FAILED step" in out and APPENDIX_1 in out, out
    assert not re.search(r"^\s+mart_\w+: \d+ rows$", out, re.MULTILINE), out
    assert "FAILED step raw_extracts: extract " in out  # the reason, not a class path
    assert "UNCHANGED (previous publication kept)" in out
    assert "Traceback" not in out and "IOException" not in out
    assert digest(published) == before
    assert not [p.name for p in warehouse.iterdir() if ".tmp" in p.name]


def _read_only_mount_works(folder: Path) -> bool:
    probe = subprocess.run(
        [
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            'mount --bind -o ro "$1" "$1" && ! touch "$1/.probe" 2>/dev/null',
            "sh",
            str(folder),
        ],
        capture_output=True,
        timeout=30,
    )
    return probe.returncode == 0


def test_read_only_warehouse_is_refused_in_a_few_lines(
    workspace: tuple[Path, Path], tmp_path: Path
) -> None:
    """The warehouse folder on a read-only mount (tests run as root, for whom permission bits
    deny nothing): a short message naming the folder, the warehouse exit code, nothing changed."""
    from cli.errors import ExitCode

    landing, warehouse = workspace
    assert shutil.which("unshare") is not None, "unshare not found: apt-get install util-linux"
    assert _read_only_mount_works(warehouse), (
        "unshare -m could not bind-mount a folder read-only: this test needs a mount namespace "
        "(root, or a user namespace allowed by the kernel)"
    )
    published = warehouse / "marts.duckdb"
    before = digest(published)
    listing = sorted(p.name for p in warehouse.iterdir())
    complaints = Path(sys.executable).parent / "complaints"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "COMPLAINTS_LANDING": str(landing),
        "COMPLAINTS_WAREHOUSE": str(warehouse),
    }

    result = subprocess.run(
        [
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            'mount --bind -o ro "$1" "$1" && exec "$2" run',
            "sh",
            str(warehouse),
            str(complaints),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == ExitCode.WAREHOUSE, result.stderr
    assert result.stderr.startswith(
        f"error: cannot write in the warehouse folder {warehouse}: Read-only file system"
    ), result.stderr
    assert len(result.stderr.splitlines()) <= 3, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert digest(published) == before
    assert sorted(p.name for p in warehouse.iterdir()) == listing


def _run_changing_landing_once_parsed(
    landing: Path, warehouse: Path, change: Callable[[], object]
) -> RunSummary:
    """Run the pipeline in this process while a thread applies `change` to the landing folder
    as soon as the run has parsed the manifest, before its ingest steps read it."""
    import threading

    from ingest.manifest import parse_count

    start = parse_count()
    done = threading.Event()

    def change_once_parsed() -> None:
        while parse_count() == start and not done.is_set():
            time.sleep(0.005)
        change()

    changer = threading.Thread(target=change_once_parsed)
    changer.start()
    try:
        return run(landing, warehouse)
    finally:
        done.set()
        changer.join()


def test_manifest_edited_while_a_run_reads_it_is_refused(workspace: tuple[Path, Path]) -> None:
    """The manifest is rewritten once the run has parsed it (a thread watching the parse
    counter), before its ingest steps read it: the run refuses, naming the manifest, and
    publishes nothing; what it had loaded stays as it was (docs/DECISIONS.md)."""
    landing, warehouse = workspace
    published = warehouse / "marts.duckdb"
    before = digest(published)
    outputs_before = published_outputs(warehouse)
    manifest_path = landing / "manifest.yml"
    edited = manifest_path.read_text().replace("council: Brent", "council: Brent Council", 1)
    assert edited != manifest_path.read_text()
    summary = _run_changing_landing_once_parsed(
        landing, warehouse, lambda: manifest_path.write_text(edited)
    )

    assert manifest_path.read_text() == edited
    assert not summary.success and not summary.published_updated
    message = "\n".join(summary.failed_steps)
    assert f"{landing / 'manifest.yml'} changed while this run was reading it" in message
    assert "Traceback" not in message
    assert summary.rows_per_mart == {}
    assert digest(published) == before
    assert published_outputs(warehouse) == outputs_before
    with duckdb.connect(str(warehouse / "build.duckdb"), read_only=True) as con:
        councils = con.execute("select distinct council from raw.extracts").fetchall()
    assert councils == [("Brent",)]
    assert not [p.name for p in warehouse.iterdir() if ".tmp" in p.name]
    # The run parsed the manifest it started from, then the edited one (once each).
    assert summary.manifest_parses == 2


def test_a_run_parses_the_manifest_once(published_warehouse) -> None:  # type: ignore[no-untyped-def]
    """Partition sync, the registry and the ingest step share one parse of manifest.yml."""
    summary, _, _ = published_warehouse
    assert summary.success
    assert summary.manifest_parses == 1


def test_landing_folder_gone_while_a_run_reads_it_fails_naming_it(
    workspace: tuple[Path, Path], tmp_path: Path
) -> None:
    """The landing folder is moved away once the run has parsed its manifest, before the ingest
    steps read the extracts: the run fails naming the folder, publishes nothing and leaves the
    loaded raw rows and the published file as they were."""
    landing, warehouse = workspace
    published = warehouse / "marts.duckdb"
    before = digest(published)
    outputs_before = published_outputs(warehouse)
    with duckdb.connect(str(warehouse / "build.duckdb"), read_only=True) as con:
        raw_before = con.execute("select count(*) from raw.extracts").fetchone()
    elsewhere = tmp_path / "moved_away"
    summary = _run_changing_landing_once_parsed(
        landing, warehouse, lambda: landing.rename(elsewhere)
    )

    assert not landing.exists() and elsewhere.is_dir()
    assert not summary.success and not summary.published_updated
    message = "\n".join([*summary.failed_steps, summary.error or ""])
    # The same words whichever step noticed first (the registry, the ingest step, the parse).
    assert f"the landing folder {landing} does not exist" in message, message
    assert "Traceback" not in message
    assert summary.rows_per_mart == {}
    assert digest(published) == before
    assert published_outputs(warehouse) == outputs_before
    with duckdb.connect(str(warehouse / "build.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from raw.extracts").fetchone() == raw_before
    assert not [p.name for p in warehouse.iterdir() if ".tmp" in p.name]
