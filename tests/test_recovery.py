"""Crash recovery, litter, the maximum extract size and CLI failures, at the level of a real Dagster instance and real files: a run whose
process is gone loses its claim on the warehouse; a live one is waited for, bounded; the CLI
refuses an unusable warehouse folder in a few lines with its exit code. (The `kill -9` of a real
run is in tests/test_reliability.py.)"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from dagster import DagsterInstance, DagsterRun, DagsterRunStatus

from cli.errors import ExitCode
from complaints.config import ComplaintsConfig
from orchestration.lib.instance import configure_instance, open_instance
from orchestration.lib.recovery import (
    HOST_TAG,
    PID_TAG,
    POOL,
    PROCESS_STARTED_TAG,
    WarehouseBusy,
    process_tags,
    recover_dead_runs,
    wait_for_warehouse,
)
from orchestration.lib.runner import remove_stale_temporaries
from tests.test_manifest import ALIAS_BOMB


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[DagsterInstance]:
    """A real persistent instance, configured as `complaints run` configures it."""
    config = ComplaintsConfig.resolve(
        landing=tmp_path / "landing", warehouse=tmp_path / "wh", dagster_home=tmp_path / "home"
    )
    configure_instance(config)
    with open_instance(config) as inst:
        yield inst


def _dead_process_tags() -> dict[str, str]:
    """Tags of a process that really ran on this host and has really ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    started = psutil.Process(child.pid).create_time()
    child.wait()
    return {
        HOST_TAG: socket.gethostname(),
        PID_TAG: str(child.pid),
        PROCESS_STARTED_TAG: f"{started:.3f}",
    }


def _holding_run(instance: DagsterInstance, tags: dict[str, str]) -> DagsterRun:
    """A started run of ours that holds the pool's one slot, as a run killed during dbt leaves."""
    run = instance.add_run(
        DagsterRun(
            job_name="refresh_warehouse",
            run_id=str(uuid.uuid4()),
            status=DagsterRunStatus.STARTED,
            tags=tags,
        )
    )
    storage = instance.event_log_storage
    storage.set_concurrency_slots(POOL, 1)
    assert storage.claim_concurrency_slot(POOL, run.run_id, "dbt_models").is_claimed
    return run


def _claimed(instance: DagsterInstance) -> list[str]:
    return [s.run_id for s in instance.event_log_storage.get_concurrency_info(POOL).claimed_slots]


def test_dead_run_is_marked_failed_and_its_slot_freed(instance: DagsterInstance) -> None:
    dead = _holding_run(instance, _dead_process_tags())
    assert _claimed(instance) == [dead.run_id]

    recovered = recover_dead_runs(instance)

    assert [r.run_id for r in recovered] == [dead.run_id]
    assert recovered[0].slots_freed == 1
    assert recovered[0].line().startswith(f"recovered: run {dead.run_id} (refresh_warehouse")
    run = instance.get_run_by_id(dead.run_id)
    assert run is not None and run.status == DagsterRunStatus.FAILURE
    assert _claimed(instance) == []
    # The next run does not wait at all.
    wait_for_warehouse(instance, timeout=0.5, poll=0.05)


def test_live_run_is_waited_for_then_named(instance: DagsterInstance) -> None:
    live = _holding_run(instance, process_tags())  # this very process: alive

    assert recover_dead_runs(instance) == []
    with pytest.raises(WarehouseBusy) as raised:
        wait_for_warehouse(instance, timeout=0.3, poll=0.05)

    assert live.run_id in str(raised.value) and "--wait" in str(raised.value)
    assert _claimed(instance) == [live.run_id]
    run = instance.get_run_by_id(live.run_id)
    assert run is not None and run.status == DagsterRunStatus.STARTED


def test_run_of_another_host_is_never_failed(instance: DagsterInstance) -> None:
    tags = {**_dead_process_tags(), HOST_TAG: "another-host.invalid"}
    other = _holding_run(instance, tags)

    assert recover_dead_runs(instance) == []
    run = instance.get_run_by_id(other.run_id)
    assert run is not None and run.status == DagsterRunStatus.STARTED


def test_stale_temporaries_of_ours_are_removed_others_kept(tmp_path: Path) -> None:
    published = tmp_path / "marts.duckdb"
    ours = tmp_path / f".marts.duckdb.{uuid.uuid4().hex}.tmp"
    wal = Path(f"{ours}.wal")
    theirs = [tmp_path / ".marts.duckdb.notours.tmp", tmp_path / "other.duckdb.tmp"]
    for path in [ours, wal, *theirs]:
        path.write_bytes(b"x" * 10)

    lines = remove_stale_temporaries(published)

    assert len(lines) == 2 and all("left by an earlier, killed run" in line for line in lines)
    assert not ours.exists() and not wal.exists()
    assert all(p.exists() for p in theirs)


def _complaints(tmp_path: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"), **extra_env}
    exe = Path(sys.executable).parent / "complaints"
    return subprocess.run(
        [str(exe), "run", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_warehouse_that_is_a_file_is_refused_in_a_few_lines(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse"
    warehouse.write_text("not a folder")

    result = _complaints(tmp_path, "--warehouse", str(warehouse))

    assert result.returncode == ExitCode.WAREHOUSE
    assert result.stderr.startswith(f"error: the warehouse folder {warehouse} is a file")
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.splitlines()) <= 3
    assert warehouse.read_text() == "not a folder"


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ("extracts: []\n", "'extracts' is empty"),
        (None, "does not exist (moved or removed?)"),
        (ALIAS_BOMB, "YAML anchors and aliases are not allowed here"),
        ("extracts:\n" + "  - " * 400 + "x\n", "levels deep: not a manifest"),
    ],
    ids=["empty", "no-folder", "alias-bomb", "deep-nesting"],
)
def test_unusable_landing_is_an_input_error_that_deletes_nothing(
    tmp_path: Path, manifest: str | None, message: str
) -> None:
    landing = tmp_path / "landing"
    if manifest is not None:
        landing.mkdir()
        (landing / "manifest.yml").write_text(manifest)
    warehouse = tmp_path / "wh"
    warehouse.mkdir()
    published = warehouse / "marts.duckdb"
    published.write_bytes(b"stands for a previous publication")

    result = _complaints(tmp_path, "--landing", str(landing), "--warehouse", str(warehouse))

    assert result.returncode == ExitCode.INPUT
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert published.read_bytes() == b"stands for a previous publication"
    assert not [p for p in warehouse.iterdir() if ".tmp" in p.name]


def test_a_refused_manifest_is_answered_before_dagster_is_imported(tmp_path: Path) -> None:
    """Folders, waivers and the manifest are checked first: a mistake there costs the user no
    wait for Dagster, dbt and Great Expectations to load."""
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "manifest.yml").write_text("extracts: []\n")
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from cli.main import app\n"
        f"r = CliRunner().invoke(app, ['run', '--landing', {str(landing)!r}, "
        f"'--warehouse', {str(tmp_path / 'wh')!r}, '--dagster-home', {str(tmp_path / 'home')!r}])\n"
        "print(r.exit_code, sorted(m for m in ('dagster', 'dbt', 'great_expectations') "
        "if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.split("\n")[-2] == f"{int(ExitCode.INPUT)} []", result.stdout


def test_extract_over_the_maximum_size_is_refused_naming_the_file(tmp_path: Path) -> None:
    from tests.pipeline import APPENDIX_1, REAL_LANDING

    extract = tmp_path / "big.txt"
    extract.write_bytes((REAL_LANDING / APPENDIX_1).read_bytes())
    size = extract.stat().st_size
    env = {**os.environ, "COMPLAINTS_MAX_EXTRACT_BYTES": str(size - 1)}
    exe = Path(sys.executable).parent / "complaints"
    args = [str(exe), "check", str(extract), "--kind", "outcome_matrix", "--period", "2022/23"]

    refused = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    accepted = subprocess.run(
        args,
        env={**env, "COMPLAINTS_MAX_EXTRACT_BYTES": str(size)},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert refused.returncode == ExitCode.INPUT
    assert refused.stderr.startswith(f"error: {extract}")
    assert f"larger than the maximum extract size ({size - 1} bytes)" in refused.stderr
    assert "Traceback" not in refused.stderr
    # Read and reconciled (the four totals the reviewed waivers cover fail here: exit 1, not 2).
    assert accepted.returncode == ExitCode.FAILED, accepted.stderr
    assert "maximum extract size" not in accepted.stdout + accepted.stderr
    assert (
        ComplaintsConfig.resolve(environ={"COMPLAINTS_MAX_EXTRACT_BYTES": "5"}).max_extract_bytes
        == 5
    )


def test_html_in_a_name_is_escaped_in_dagster_markdown() -> None:
    import pandas as pd

    from expectations.runner import markdown_table

    frame = pd.DataFrame({"service": ["<img src=x onerror=alert(1)> & Co | Ltd"], "n": [3]})

    text = markdown_table(frame)

    assert "<img" not in text
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; Co \\| Ltd" in text


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_extract_gets_a_hint_not_binary(encoding: str) -> None:
    from ingest.errors import ExtractEncodingError
    from ingest.text import decode_extract
    from tests.pipeline import APPENDIX_1, REAL_LANDING

    text = (REAL_LANDING / APPENDIX_1).read_text(encoding="utf-8")

    with pytest.raises(ExtractEncodingError) as raised:
        decode_extract(text.encode(encoding), "appendix.txt")

    assert raised.value.source == "appendix.txt"
    assert "not UTF-8" in raised.value.reason and "iconv -f UTF-" in raised.value.reason
    assert "binary" not in str(raised.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "waivers:\n  - id: w1\n    extract_id: x\n",
            "waiver #1 (w1): missing",
        ),
        ("waivers: [\n", "not valid YAML"),
        (None, "does not exist"),
    ],
)
def test_waiver_file_errors_name_the_file_and_the_waiver(
    tmp_path: Path, content: str | None, message: str
) -> None:
    waivers = tmp_path / "my_waivers.yml"
    if content is not None:
        waivers.write_text(content)
    warehouse = tmp_path / "wh"
    warehouse.mkdir()
    published = warehouse / "marts.duckdb"
    published.write_bytes(b"previous publication")

    result = _complaints(tmp_path, "--warehouse", str(warehouse), COMPLAINTS_WAIVERS=str(waivers))

    assert result.returncode == ExitCode.INPUT
    assert result.stderr.startswith("error: ") and str(waivers) in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert published.read_bytes() == b"previous publication"


def test_extract_gone_while_read_is_an_error_naming_it(tmp_path: Path) -> None:
    from ingest.errors import ExtractError
    from ingest.manifest import read_extract

    gone = tmp_path / "landing" / "appendix.txt"

    with pytest.raises(ExtractError) as raised:
        read_extract(gone)

    assert raised.value.source == str(gone)
    assert "run again once it is complete" in raised.value.reason
