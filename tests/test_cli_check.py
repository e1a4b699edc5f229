"""`complaints check`: report text/JSON and exit codes 0 (holds), 1 (a total fails), 2 (unreadable)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from tests.conftest import APPENDIX_1, APPENDIX_C

runner = CliRunner()


def test_appendix_c_reconciles_exit_0() -> None:
    res = runner.invoke(
        app,
        [
            "check",
            str(APPENDIX_C),
            "--kind",
            "root_cause_summary",
            "--period",
            "2019/20",
            "--council",
            "Brent",
        ],
    )
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    # The verdict comes first, then (nothing fails here) repairs, warnings and the passing totals.
    assert lines[3] == "Result: every control total holds"
    assert "Failures" not in res.output
    assert (
        "Control totals that hold: period 1 of 1, heading 3 of 3, service_area 54 of 54, "
        "service_area_upheld 74 of 74" in lines
    )
    assert "Brent Customer Services [inferred from the Actions column]" in res.output
    assert "stated 780, computed 780" not in res.output  # passing totals only with --all
    every = runner.invoke(
        app,
        ["check", str(APPENDIX_C), "--manifest", str(APPENDIX_C.parent / "manifest.yml"), "--all"],
    )
    assert every.exit_code == 0, every.output
    assert (
        "Community Wellbeing Department - Housing Directorate [instances]: stated 780, computed 780"
        in every.output
    )


def test_appendix_1_grand_total_fails_exit_1_with_explanation() -> None:
    res = runner.invoke(
        app, ["check", str(APPENDIX_1), "--kind", "outcome_matrix", "--period", "2022/23"]
    )
    assert res.exit_code == 1, res.output
    assert (
        "FAILED line  539  grand_total          Grand Total [total]: stated 1929, computed 1945, difference +16"
        in res.output
    )
    assert "'Public Health' (line 463)" in res.output
    assert "line  175 value_repaired: 0/1/0/0/1/1 -> 0/1/0/0/0/1" in res.output
    assert "line  174 row_dropped: 0/1/0/0/1/0 -> (row dropped)" in res.output
    assert "Result: 4 control total(s) FAILED" in res.output


def test_json_report() -> None:
    res = runner.invoke(
        app, ["check", str(APPENDIX_1), "--kind", "outcome_matrix", "--period", "2022/23", "--json"]
    )
    assert res.exit_code == 1
    report = json.loads(res.output)
    assert report["record_counts"] == {
        "departments": 15,
        "root_cause_subtotals": 39,
        "issue_type_rows": 455,
        "complaints": 1945,
    }
    assert report["failed"] == 4
    assert {c["measure"] for c in report["control_totals"] if c["status"] == "failed"} == {
        "not_upheld",
        "partly_upheld",
        "upheld",
        "total",
    }
    assert len(report["repairs"]) == 23


def test_declared_period_differing_from_title_is_a_failure() -> None:
    res = runner.invoke(
        app,
        ["check", str(APPENDIX_C), "--kind", "root_cause_summary", "--period", "2020/21", "--json"],
    )
    assert res.exit_code == 1
    report = json.loads(res.output)
    (period,) = [c for c in report["control_totals"] if c["level"] == "period"]
    assert (period["line"], period["stated"], period["computed"], period["status"]) == (
        3,
        2019,
        2020,
        "failed",
    )
    assert period["explanation"] == (
        "the title (line 3) states 2019/20, but 2020/21 was declared for this file: the manifest "
        "may name the wrong file or the wrong period"
    )


def test_unreadable_file_exit_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    res = runner.invoke(
        app, ["check", str(empty), "--kind", "outcome_matrix", "--period", "2022/23"]
    )
    assert res.exit_code == 2
    assert f"{empty}: file is empty" in res.output
    res = runner.invoke(
        app,
        [
            "check",
            str(tmp_path / "nope.txt"),
            "--kind",
            "outcome_matrix",
            "--period",
            "2022/23",
            "--json",
        ],
    )
    assert res.exit_code == 2
    assert json.loads(res.output)["code"] == "extract_error"


def _console_script(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed `complaints` script, whose `main` ends the process with os._exit."""
    script = Path(sys.executable).parent / "complaints"
    return subprocess.run(
        [str(script), *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_console_script_keeps_exit_codes_and_flushes_output(tmp_path: Path) -> None:
    failing = _console_script(
        "check", str(APPENDIX_1), "--kind", "outcome_matrix", "--period", "2022/23", "--json"
    )
    assert failing.returncode == 1, failing.stderr
    report = json.loads(failing.stdout)  # complete JSON: nothing lost by the fast exit
    assert report["reconciles"] is False

    holding = _console_script(
        "check", str(APPENDIX_C), "--kind", "root_cause_summary", "--period", "2019/20"
    )
    assert holding.returncode == 0, holding.stderr
    assert "Result: every control total holds" in holding.stdout
    # Complete output: the report's last section is the list of departments read.
    assert holding.stdout.rstrip().endswith(
        "department: Unknown [no directorate heading and no mapped service heading]"
    )

    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    unreadable = _console_script(
        "check", str(empty), "--kind", "outcome_matrix", "--period", "2022/23"
    )
    assert unreadable.returncode == 2
    assert str(empty) in unreadable.stderr

    usage = _console_script("check")
    assert usage.returncode == 2 and "Missing argument" in usage.stderr


def test_check_prints_the_verification_coverage_the_parser_computes() -> None:
    """The coverage line counts what ingest/coverage.py finds, and the numbers that rest on the
    source alone are listed with their lines."""
    from ingest.api import parse_extract

    result = parse_extract(APPENDIX_C.read_bytes(), "root_cause_summary", str(APPENDIX_C))
    stated = sum(c.stated for c in result.coverage)
    verified = sum(c.verified for c in result.coverage)
    bounded = sum(c.bounded for c in result.coverage)
    alone = [n for n in result.unverified_numbers if n.verification == "unverified"]
    assert alone, "Appendix C has numbers no control total covers"
    res = runner.invoke(
        app,
        ["check", str(APPENDIX_C), "--kind", "root_cause_summary", "--period", "2019/20", "--all"],
    )
    assert res.exit_code == 0, res.output
    assert (
        f"Verification: {verified} of {stated} stated numbers are checked by a control total, "
        f"{bounded} only bounded (upheld or partly upheld, at most the instances), "
        f"{len(alone)} rest on the source alone"
    ) in res.output.splitlines()
    for n in alone:
        assert f"  line {n.line:>4} {n.kind} {n.scope}: {n.value}" in res.output
