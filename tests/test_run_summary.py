"""A blocked run's summary says what to do, in the words `complaints check` uses.

One real run of `complaints run` on a landing folder that holds three things a user can fix at
once: the bundled Appendix C declared for a council with no department mapping (its lost-heading
sections stay 'Unknown'), under a period its title contradicts (the `period` control total fails
and blocks), with the reviewed waivers of an extract that is not in the landing (they match
nothing: stale, a warning)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from tests.pipeline import APPENDIX_C, REAL_LANDING

COMPLAINTS = Path(sys.executable).parent / "complaints"


def test_a_blocked_run_says_what_to_do(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / APPENDIX_C).write_bytes((REAL_LANDING / APPENDIX_C).read_bytes())
    entry = {
        "id": "testshire_c",
        "path": APPENDIX_C,
        "council": "Testshire",
        "period": "2020/21",
        "kind": "root_cause_summary",
    }
    (landing / "manifest.yml").write_text(yaml.safe_dump({"extracts": [entry]}))
    check = subprocess.run(
        [str(COMPLAINTS), "check", str(landing / APPENDIX_C), "--manifest", str(landing)],
        capture_output=True,
        text=True,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPLAINTS_", "DAGSTER_"))}
    result = subprocess.run(
        [str(COMPLAINTS), "run", "--landing", str(landing)]
        + ["--warehouse", str(tmp_path / "wh"), "--dagster-home", str(tmp_path / "home")],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    out = result.stdout
    assert result.returncode == 1, result.stdout + result.stderr
    assert "UNCHANGED (previous publication kept)" in out

    # The period contradiction: the failing total with the explanation check gives.
    failing = re.search(r"FAILED testshire_c line (\d+) period title period", out)
    assert failing, out
    explanation = "states 2019/20, but 2020/21 was declared for this file"
    assert explanation in out and explanation in check.stdout
    assert "what to do:" in out

    # The stale waivers: a warning, never FAILED, and what to do about them.
    assert re.search(r"warning gate \S+:waivers_not_stale", out), out
    assert not re.search(r"FAILED gate \S+:waivers_not_stale", out), out
    # The step line says so too, as the gate's last suite (the summary counts it with the gate).
    assert re.search(
        r"\] waivers check done: warning \(0 waiver\(s\) applied, \d+ stale", result.stderr
    )
    assert "stale waivers (" in out and "remove them from the waiver file" in out

    # The 'Unknown' sections: counted, with check's own snippet, line for line.
    unknown = re.search(
        r"testshire_c: (\d+) section\(s\), (\d+) instance\(s\) read under department 'Unknown'",
        out,
    )
    assert unknown, out
    assert int(unknown.group(1)) >= 1 and int(unknown.group(2)) >= 1
    snippet = [
        line.strip()
        for line in check.stdout.splitlines()
        if line.strip().startswith(('"', "departments:", "# lines"))
    ]
    assert snippet and all(line in out for line in snippet), (snippet, out)
