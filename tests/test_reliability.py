"""Write-audit-publish guarantees: faults, bad inputs, readers and kills never lose or corrupt what
was published before."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest
import yaml

from tests.pipeline import (
    APPENDIX_1,
    APPENDIX_C,
    copy_published,
    digest,
    published_outputs,
    replace_in_line,
    run,
)


@pytest.fixture(scope="module")
def baseline(published_warehouse, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    """A landing folder and a warehouse published once from the real extracts: a copy of the
    session's run (tests/conftest.py), so this module adds no run of its own for it."""
    _, warehouse, landing = published_warehouse
    base = tmp_path_factory.mktemp("baseline")
    copy_published(landing, warehouse, base)
    return base


@pytest.fixture
def workspace(baseline: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the baseline: (landing, warehouse)."""
    return copy_published(baseline / "landing", baseline / "warehouse", tmp_path)


def failed_rows(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse / "build.duckdb"), read_only=True) as con:
        return con.execute(
            "select extract_id, level, scope, measure, source_line, stated, computed, status "
            "from mart_reconciliation where status = 'failed' order by all"
        ).fetchall()


def test_fault_injected_count_blocks_publication(workspace: tuple[Path, Path]) -> None:
    landing, warehouse = workspace
    published = warehouse / "marts.duckdb"
    before = digest(published)
    exports_before = published_outputs(warehouse)
    # One cause count of Repairs changed: its causes now add up to 201, not the stated 200.
    replace_in_line(landing / APPENDIX_C, 10, "Service Delayed – 71", "Service Delayed – 72")

    summary = run(landing, warehouse)

    assert not summary.success
    assert digest(published) == before
    # The exports folder (link, every file) and the report are byte-identical too.
    assert published_outputs(warehouse) == exports_before
    assert len(exports_before) > 20
    assert not summary.published_updated
    gate = {k: v for k, v in summary.gate_results.items() if not v[0]}
    assert set(gate) == {
        "recon_instance_totals:gx_recon_instance_totals",
        "mart_reconciliation:gx_mart_reconciliation",
    }
    assert (
        "causes sum to each service area's stated instances (1 rows)"
        in (gate["recon_instance_totals:gx_recon_instance_totals"][1])
    )
    assert any("published_marts" not in s and "gx_" in s for s in summary.failed_steps)
    # The build database says why, naming the extract and the source line.
    assert failed_rows(warehouse) == [
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


def test_title_period_contradicting_the_manifest_blocks_publication(
    workspace: tuple[Path, Path],
) -> None:
    """The manifest declares the 2019/20 Appendix C as 2020/21: a finding, and nothing published."""
    landing, warehouse = workspace
    published = warehouse / "marts.duckdb"
    before = digest(published)
    manifest = yaml.safe_load((landing / "manifest.yml").read_text())
    manifest["extracts"][0]["period"] = "2020/21"
    (landing / "manifest.yml").write_text(yaml.safe_dump(manifest))

    summary = run(landing, warehouse)

    assert not summary.success and not summary.published_updated
    assert digest(published) == before
    assert failed_rows(warehouse) == [
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
    with duckdb.connect(str(warehouse / "build.duckdb"), read_only=True) as con:
        (explanation,) = con.execute(
            "select explanation from mart_reconciliation where level = 'period'"
        ).fetchone()
    assert explanation == (
        "the title (line 3) states 2019/20, but 2020/21 was declared for this file: the manifest "
        "may name the wrong file or the wrong period"
    )


def test_waiver_stops_applying_when_a_number_changes(workspace: tuple[Path, Path]) -> None:
    """The shipped waiver covers exactly 1929 vs 1945; a stated grand total of 1928 blocks."""
    landing, warehouse = workspace
    published = warehouse / "marts.duckdb"
    before = digest(published)
    lines = (landing / APPENDIX_1).read_text(encoding="utf-8").split("\n")
    assert "1929" in lines[538], lines[538]
    replace_in_line(landing / APPENDIX_1, 539, "1929", "1928")

    summary = run(landing, warehouse)

    assert not summary.success
    assert digest(published) == before
    assert failed_rows(warehouse) == [
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
    gate = summary.gate_results
    assert not gate["recon_outcome_totals:gx_recon_outcome_totals"][0]
    assert (
        "departments sum to the stated grand total (1 rows)"
        in (gate["recon_outcome_totals:gx_recon_outcome_totals"][1])
    )
    # The waiver for the total no longer matches anything: reported as stale (a warning).
    assert gate["recon_waivers:waivers_not_stale"] == (False, "3 waiver(s) applied, 1 stale")
    with duckdb.connect(str(warehouse / "build.duckdb"), read_only=True) as con:
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

    from orchestration.assets.publish import published_marts
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


def _dbt_running(root_pid: int) -> bool:
    import psutil

    try:
        children = psutil.Process(root_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return False
    for child in children:
        try:
            if "build" in child.cmdline() and any("dbt" in part for part in child.cmdline()):
                return True
        except psutil.Error:
            continue
    return False


def test_sigkill_during_dbt_then_next_run_succeeds(
    workspace: tuple[Path, Path], tmp_path: Path
) -> None:
    landing, warehouse = workspace
    published = warehouse / "marts.duckdb"
    before = digest(published)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "COMPLAINTS_LANDING": str(landing),
        "COMPLAINTS_WAREHOUSE": str(warehouse),
    }
    complaints = Path(sys.executable).parent / "complaints"
    proc = subprocess.Popen(
        [str(complaints), "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not _dbt_running(proc.pid):
            assert proc.poll() is None, "the run ended before dbt started"
            assert time.monotonic() < deadline, "dbt never started"
            time.sleep(0.2)
        time.sleep(3)  # well inside the dbt build: models are being rewritten
        assert proc.poll() is None
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert digest(published) == before, "the published file changed during a killed run"
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select sum(total) from mart_department_scorecard").fetchone() == (1945,)

    # The killed run still holds the build_db_writer slot in this Dagster home: the next
    # `complaints run` on the same home must recover it (one line) rather than wait forever.
    from dagster import DagsterInstance

    from orchestration.recovery import POOL

    with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        info = instance.event_log_storage.get_concurrency_info(POOL)
        killed = {s.run_id for s in info.claimed_slots}
    assert killed, "the killed run held no slot: this test no longer reproduces the hang"
    # A temporary publication file a kill during publication leaves (publication.py's naming).
    litter = warehouse / ".marts.duckdb.0123456789abcdef0123456789abcdef.tmp"
    litter.write_bytes(b"half a database")
    Path(f"{litter}.wal").write_bytes(b"wal")

    started = time.monotonic()
    again = subprocess.run(
        [str(complaints), "run", "--wait", "60"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert time.monotonic() - started < 600
    recovered = [line for line in again.stderr.splitlines() if line.startswith("recovered: ")]
    assert len(recovered) == 1 and next(iter(killed)) in recovered[0], again.stderr
    assert "[updated]" in again.stdout
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select sum(total) from mart_department_scorecard").fetchone() == (1945,)
    leftovers = [p.name for p in warehouse.iterdir() if ".tmp" in p.name]
    assert leftovers == []


def test_sigkill_of_a_launched_run_worker_then_complaints_run_recovers(
    workspace: tuple[Path, Path], tmp_path: Path
) -> None:
    """The daemon-holds-the-slot variant: a run started by another launcher (here `dagster job
    execute`, the same in-process execution a daemon's run worker does) records its process where
    its resources start; killed during dbt, it is recovered by the next `complaints run`."""
    import json

    from dagster import DagsterInstance

    from orchestration.config import ComplaintsConfig
    from orchestration.recovery import PID_TAG, POOL
    from orchestration.runner import configure_instance, sync_partitions
    from orchestration.schedules import all_partitions_tags

    landing, warehouse = workspace
    published = warehouse / "marts.duckdb"
    before = digest(published)
    home = tmp_path / "dagster_home"
    configure_instance(
        ComplaintsConfig.resolve(landing=landing, warehouse=warehouse, dagster_home=home)
    )
    with DagsterInstance.from_config(str(home)) as instance:
        keys = sync_partitions(instance, landing)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "COMPLAINTS_LANDING": str(landing),
        "COMPLAINTS_WAREHOUSE": str(warehouse),
    }
    bin_dir = Path(sys.executable).parent
    worker = subprocess.Popen(
        [
            str(bin_dir / "dagster"),
            "job",
            "execute",
            "-m",
            "orchestration.definitions",
            "-j",
            "refresh_warehouse",
            "--tags",
            json.dumps(all_partitions_tags(keys)),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while not _dbt_running(worker.pid):
            assert worker.poll() is None, "the launched run ended before dbt started"
            assert time.monotonic() < deadline, "dbt never started"
            time.sleep(0.2)
        time.sleep(3)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    assert digest(published) == before
    with DagsterInstance.from_config(str(home)) as instance:
        killed = {
            s.run_id for s in instance.event_log_storage.get_concurrency_info(POOL).claimed_slots
        }
        assert len(killed) == 1
        run = instance.get_run_by_id(next(iter(killed)))
        assert run is not None and PID_TAG in run.tags, "the resource did not record the process"

    again = subprocess.run(
        [str(bin_dir / "complaints"), "run", "--wait", "60"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    recovered = [line for line in again.stderr.splitlines() if line.startswith("recovered: ")]
    assert len(recovered) == 1 and next(iter(killed)) in recovered[0], again.stderr
    assert "[updated]" in again.stdout
    assert not [p.name for p in warehouse.iterdir() if ".tmp" in p.name]


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
