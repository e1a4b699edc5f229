"""`complaints check LANDING`: every extract its manifest lists, one line each, the failing and
unreadable ones in full, a total, and the worst exit code (console script, not a terminal)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.pipeline import APPENDIX_1, APPENDIX_C, REAL_LANDING, replace_in_line

C_ID = "brent_2019_20_root_causes"
ONE_ID = "brent_2022_23_outcome_matrix"


def _check(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "complaints"
    return subprocess.run([str(exe), "check", *args], capture_output=True, text=True, timeout=120)


def test_bundled_landing_one_line_each_then_the_failure_in_full() -> None:
    res = _check(str(REAL_LANDING))
    print(res.stdout.splitlines()[:2], res.stdout.splitlines()[-1])
    assert res.returncode == 1, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == (
        f"OK      {C_ID} (root_cause_summary, 2019/20, Brent): all 132 control totals hold"
    )
    assert lines[1] == (
        f"FAILED  {ONE_ID} (outcome_matrix, 2022/23, Brent): 4 of 840 control totals fail"
    )
    # The failing extract in full, as `check FILE` prints it: Public Health's row (line 463).
    assert f"== {ONE_ID}" in lines
    assert "Result: 4 control total(s) FAILED" in res.stdout
    assert "Public Health" in res.stdout and "463" in res.stdout
    assert f"== {C_ID}" not in lines
    assert lines[-1] == (
        f"2 extract(s) in {REAL_LANDING}: 1 reconcile, 1 with failing control totals, "
        "0 unreadable (exit 1)"
    )


def test_an_unreadable_extract_makes_the_worst_exit_code(tmp_path: Path) -> None:
    landing = shutil.copytree(REAL_LANDING, tmp_path / "landing")
    data = (landing / APPENDIX_1).read_bytes().split(b"\n")
    (landing / APPENDIX_1).write_bytes(b"\n".join(data[:300]))
    replace_in_line(landing / APPENDIX_C, 10, "Service Delayed – 71", "Service Delayed – 72")
    res = _check(str(landing))
    assert res.returncode == 2, res.stdout
    lines = res.stdout.splitlines()
    assert lines[0].startswith(f"FAILED  {C_ID} (root_cause_summary, 2019/20, Brent): 1 of ")
    assert lines[1].startswith(f"ERROR   {ONE_ID}: ") and f"{APPENDIX_1}:300: " in lines[1]
    assert f"== {ONE_ID}: cannot be read" in lines and f"== {C_ID}" in lines
    assert lines[-1].endswith("1 with failing control totals, 1 unreadable (exit 2)")
    as_json = json.loads(_check(str(landing), "--json").stdout)
    assert as_json["exit_code"] == 2
    assert [e["id"] for e in as_json["extracts"]] == [C_ID, ONE_ID]
    assert as_json["extracts"][1]["error"]["line"] == 300
    assert as_json["extracts"][0]["reconciles"] is False


def test_a_folder_without_a_manifest_is_unreadable(tmp_path: Path) -> None:
    res = _check(str(tmp_path))
    assert res.returncode == 2
    assert "manifest.yml" in res.stderr
