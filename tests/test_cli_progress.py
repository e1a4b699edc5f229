"""`complaints run` as its users run it, in a subprocess: what it shows while it runs (plain
lines when its output is not a terminal, a live line on a pseudo-terminal), the paths its
summary names, and the gate's alert to a real SMTP server (tests/smtp_server.py), with the SMTP
password nowhere in its output, its run's tags or any file it wrote."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from dataclasses import replace
from pathlib import Path

import pytest
from dagster import DagsterInstance

from complaints.config import ComplaintsConfig
from orchestration.lib.alerting import alert_on_run
from tests.pipeline import APPENDIX_C, copy_landing, copy_published, digest, replace_in_line
from tests.smtp_server import smtp_server

pytestmark = pytest.mark.integration

PASSWORD = "pw-71ab-never-printed"
EXE = Path(sys.executable).parent / "complaints"


def _env(**extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COMPLAINTS_")}
    return {**clean, "COLUMNS": "200", **extra}


def _args(landing: Path, warehouse: Path, home: Path) -> list[str]:
    return [str(EXE), "run", "--landing", str(landing), "--warehouse", str(warehouse)] + [
        "--dagster-home",
        str(home),
    ]


def test_gate_block_piped_output_and_alert(published_warehouse, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, published, published_landing = published_warehouse
    landing, warehouse = copy_published(published_landing, published, tmp_path)
    home = tmp_path / "home"
    before = digest(warehouse / "marts.duckdb")
    # One cause count of Repairs raised: its causes add up to 201, not the stated 200.
    replace_in_line(landing / APPENDIX_C, 10, "Service Delayed – 71", "Service Delayed – 72")
    with smtp_server() as box:
        res = subprocess.run(
            _args(landing, warehouse, home),
            env=_env(**box.environ(PASSWORD)),
            capture_output=True,
            text=True,
            timeout=600,
        )
    print(res.stderr[-3000:], res.stdout, sep="\n")
    assert res.returncode == 1
    steps = [line for line in res.stderr.splitlines() if re.match(r"^\[ *\d+ s\] ", line)]
    said = [line.split("] ", 1)[1] for line in steps]
    assert "extracts done: 2 of 2 parsed" in said
    assert any(re.fullmatch(r"dbt done: (\d+) of \1 models, (\d+) of \2 tests", s) for s in said)
    gate = [re.fullmatch(r"gate FAILED: (\d+) of (\d+) suites passed", s) for s in said]
    assert any(m and int(m[1]) < int(m[2]) for m in gate), said
    assert not any(s.startswith(("publication done", "report done")) for s in said)
    # No live line: nothing but plain lines on a pipe.
    assert "\r" not in res.stderr and "\x1b[" not in res.stderr
    out = res.stdout.splitlines()
    assert (
        f"published file: {warehouse / 'marts.duckdb'} [UNCHANGED (previous publication kept)]"
        in out
    )
    assert f"exports (Parquet, CSV): {warehouse / 'exports'}/" in out
    assert f"report: {warehouse / 'report.html'} [previous]" in out
    assert digest(warehouse / "marts.duckdb") == before

    # The alert: the failing checks, the control total with stated, computed and line, and that
    # the previous publication stays.
    assert len(box.messages) == 1, [m["Subject"] for m in box.messages]
    message = box.messages[0]
    print("subject:", message["Subject"])
    assert message["Subject"].startswith(
        "[complaints warehouse] publication blocked by the gate: refresh_warehouse "
    )
    body = message.get_content()
    assert "recon_instance_totals:gx_recon_instance_totals" in body
    assert (
        "brent_2019_20_root_causes line 10: service_area 'Community Wellbeing Department - "
        "Housing Directorate / Repairs' instances: stated 200, computed 201" in body
    )
    assert f"The previous publication stays: {warehouse / 'marts.duckdb'} is unchanged" in body
    assert "alert sent to data-team@example.org, on-call@example.org" in res.stderr

    # The password logged in, and is nowhere else.
    assert box.logins == [("alerts", PASSWORD)]
    assert PASSWORD not in res.stdout + res.stderr and PASSWORD not in body
    with DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        assert all(PASSWORD not in v for v in run.tags.values())
        assert not [e for e in instance.all_logs(run.run_id) if PASSWORD in e.message]
        # What the run-failure sensor sends for a run the daemon launched (it leaves this one,
        # tagged by `complaints run`, alone): the same gate alert, read from the same events.
        config = ComplaintsConfig.resolve(landing, warehouse, home, environ={})
        with smtp_server() as daemon_box:
            config = replace(config, alerts=daemon_box.settings())
            assert alert_on_run(config, instance, run.run_id, "launched by the daemon", print)
        (again,) = daemon_box.messages
        assert again["Subject"] == message["Subject"]
        assert again.get_content().split("\n")[2:] == body.split("\n")[2:]
    holding = [
        p for p in tmp_path.rglob("*") if p.is_file() and PASSWORD.encode() in p.read_bytes()
    ]
    assert holding == []


def _run_on_pty(args: list[str], env: dict[str, str], timeout: float) -> tuple[int, str]:
    """Run with stdin, stdout and stderr on a pseudo-terminal; everything it wrote, decoded."""
    leader, follower = pty.openpty()
    # A terminal of 50 rows and 200 columns: the live line fits on one row.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    process = subprocess.Popen(
        args, stdin=follower, stdout=follower, stderr=follower, env=env, close_fds=True
    )
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the last writer closed it
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    os.close(leader)
    return code, b"".join(chunks).decode("utf-8", "replace")


def test_terminal_shows_a_live_line_then_the_summary(tmp_path: Path) -> None:
    landing = copy_landing(tmp_path / "landing")
    warehouse = tmp_path / "warehouse"
    code, text = _run_on_pty(
        _args(landing, warehouse, tmp_path / "home"), _env(TERM="xterm"), timeout=600
    )
    (tmp_path / "terminal.txt").write_text(text)
    print(text[-2500:])
    assert code == 0
    # The live line: redrawn in place (cursor control), with every stage's count.
    assert "\x1b[" in text
    live = re.findall(
        r"extracts \d/2 \| dbt models (\d+)/\d+ \| tests \d+/\d+ \| gate \d+/\d+", text
    )
    print("live model counts seen:", sorted(set(live), key=int))
    assert len(set(live)) > 2, live  # it moved while the run ran
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    assert re.search(r"\] publication done: .*marts\.duckdb", plain)
    assert f"report: {warehouse / 'report.html'}\r\n" in plain
    assert f"exports (Parquet, CSV): {warehouse / 'exports'}/" in plain
    assert f"published file: {warehouse / 'marts.duckdb'} [updated]" in plain


def test_the_dbt_line_calls_warnings_warned_and_only_blocking_failures_failed() -> None:
    from orchestration.lib.progress import Progress, Totals, step_line

    totals = Totals(extracts=1, models=frozenset(), tests=105, suites=10)
    warned = Progress(totals, tests=105, tests_warned=2)
    line = step_line(warned, "complaints_dbt_models", "done", {})
    assert line.endswith("dbt done: 0 of 0 models, 105 of 105 tests (2 warned)"), line
    both = Progress(totals, tests=105, tests_failed=1, tests_warned=2)
    line = step_line(both, "complaints_dbt_models", "FAILED", {})
    assert line.endswith("(1 failed, 2 warned)"), line
    clean = step_line(Progress(totals, tests=105), "complaints_dbt_models", "done", {})
    assert clean.endswith("105 of 105 tests"), clean
    waivers = Progress(totals, waivers_check="passed")
    line = step_line(waivers, "recon_waivers_waivers_not_stale", "done", {})
    assert line.endswith("waivers check done: passed"), line
