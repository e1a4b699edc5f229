"""The system packages the tests use: `make test` runs scripts/system-packages first, which
installs what is missing when it can (root with apt-get) and otherwise stops at once naming the
command; and no test skips for a missing component (each fails, naming it)."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "system-packages"
SKIPPING = {"skip", "skipif", "importorskip", "xfail"}


def test_everything_the_tests_use_is_installed_here() -> None:
    done = subprocess.run(["sh", str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == "" and done.stderr == ""  # nothing to install, nothing said


def test_a_user_who_cannot_install_is_stopped_at_once_with_the_command() -> None:
    """Not root, and Chromium not on the PATH: exit 1 in a moment, naming the package and the
    apt-get command (nothing installed, nothing else run)."""
    sh, runuser = shutil.which("sh"), shutil.which("runuser")
    assert sh and runuser, "runuser not found: apt-get install util-linux"
    # A PATH with the few commands the script uses and no chromium, in a folder the
    # unprivileged user can read (pytest's own temporary folders are private to root).
    with tempfile.TemporaryDirectory() as folder:
        bin_dir = Path(folder)
        bin_dir.chmod(0o755)
        for command in ("id", "ls", "apt-get"):
            found = shutil.which(command)
            assert found, f"{command} not found"
            (bin_dir / command).symlink_to(found)
        assert shutil.which("chromium", path=str(bin_dir)) is None
        as_user = [runuser, "-u", "nobody", "--"] if os.geteuid() == 0 else []
        start = time.monotonic()
        done = subprocess.run(
            [*as_user, sh, str(SCRIPT)],
            env={"PATH": str(bin_dir), "HOME": folder},
            capture_output=True,
            text=True,
            timeout=60,
        )
        elapsed = time.monotonic() - start
    assert done.returncode == 1, done.stdout + done.stderr
    assert "not installed: chromium" in done.stderr
    assert "run: sudo apt-get update && sudo apt-get install -y chromium" in done.stderr
    assert "installing" not in done.stdout
    assert elapsed < 5, elapsed


def skip_calls(path: Path) -> list[str]:
    """Where a test file skips or expects a failure: `pytest.skip(...)`, `pytest.importorskip`,
    `pytest.xfail` and the `pytest.mark.skip/skipif/xfail` marks."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and node.attr in SKIPPING:
            dotted = ast.unparse(node)
            if dotted.startswith("pytest."):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {dotted}")
    return found


def test_no_test_skips() -> None:
    """A missing component (PostgreSQL, Chromium, a mount namespace) fails the test that needs
    it, naming it: a skip would let `make test` pass without having run it."""
    files = sorted((ROOT / "tests").glob("*.py"))
    assert len(files) > 30
    assert [call for path in files for call in skip_calls(path)] == []
