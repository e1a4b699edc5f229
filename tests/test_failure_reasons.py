"""Every failure of `complaints run` says its reason in the summary, without --verbose and without
a stack trace: a full disk (and which folder), an unwritable folder, a folder where the exports
link belongs, a full Dagster home. The faults are real: a tmpfs that fills up, a read-only bind
mount (tests/mounts.py). Whatever the fault, the published file and exports are unchanged."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ingest.errors import ManifestError
from ingest.manifest import load_manifest
from tests.conftest import LANDING
from tests.mounts import fill, free_bytes, read_only, tmpfs
from tests.pipeline import digest, published_outputs

pytestmark = pytest.mark.integration

COMPLAINTS = Path(sys.executable).parent / "complaints"
# What a reader must not see for an expected failure.
NOISE = ("Traceback", "Stack Trace", "Error occurred while executing", "dagster._core", 'File "')


def _run(landing: Path, warehouse: Path, home: Path) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "COMPLAINTS_LANDING": str(landing),
        "COMPLAINTS_WAREHOUSE": str(warehouse),
    }
    done = subprocess.run(
        [str(COMPLAINTS), "run"], env=env, capture_output=True, text=True, timeout=900
    )
    return done.returncode, done.stdout, done.stderr


def _plain(out: str) -> None:
    for word in NOISE:
        assert word not in out, f"{word!r} on the terminal:\n{out}"


def _failed_steps(stdout: str) -> list[str]:
    return [line.strip() for line in stdout.splitlines() if "FAILED step" in line]


def _copy_warehouse(baseline: Path, dest: Path) -> Path:
    """The baseline's warehouse copied into `dest` (a mount point may already exist there)."""
    shutil.copytree(baseline / "warehouse", dest, symlinks=True, dirs_exist_ok=True)
    return dest


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def test_a_folder_where_the_exports_link_belongs_is_named(
    workspace: tuple[Path, Path], tmp_path: Path
) -> None:
    landing, warehouse = workspace
    before = digest(warehouse / "marts.duckdb")
    (warehouse / "exports").unlink()
    (warehouse / "exports").mkdir()

    code, out, err = _run(landing, warehouse, tmp_path / "home")

    print(out, err)
    assert code == 1, out + err
    steps = _failed_steps(out)
    assert len(steps) == 1 and steps[0].startswith("FAILED step published_marts: "), out
    assert f"{warehouse / 'exports'} is a real folder or file" in steps[0], out
    assert "move it away" in steps[0]
    _plain(out + err)
    assert digest(warehouse / "marts.duckdb") == before


def test_an_unwritable_exports_versions_folder_is_named(
    workspace: tuple[Path, Path], tmp_path: Path
) -> None:
    landing, warehouse = workspace
    outputs = published_outputs(warehouse)
    before = digest(warehouse / "marts.duckdb")
    versions = warehouse / "exports.versions"

    with read_only(versions):
        code, out, err = _run(landing, warehouse, tmp_path / "home")

    print(out, err)
    assert code == 1, out + err
    steps = _failed_steps(out)
    assert len(steps) == 1 and steps[0].startswith("FAILED step published_marts: "), out
    assert f"cannot write the exports in {versions}" in steps[0], out
    assert "Read-only file system" in steps[0], out
    _plain(out + err)
    assert digest(warehouse / "marts.duckdb") == before
    assert published_outputs(warehouse) == outputs
    assert not [p.name for p in warehouse.iterdir() if ".tmp" in p.name]


def test_a_full_warehouse_disk_is_named_with_the_folder(baseline: Path, tmp_path: Path) -> None:
    """The warehouse on a tmpfs with 256 KiB left when the run starts: the step that needs the
    space fails and the summary says there is no space left, in which folder."""
    landing = shutil.copytree(baseline / "landing", tmp_path / "landing")
    mount = tmp_path / "disk"
    size = _size(baseline / "warehouse") + (32 << 20)
    with tmpfs(mount, size):
        warehouse = _copy_warehouse(baseline, mount)
        before = digest(warehouse / "marts.duckdb")
        fill(mount, leave=256 << 10)

        code, out, err = _run(landing, warehouse, tmp_path / "home")

        print(out, err)
        assert code == 1, out + err
        steps = _failed_steps(out)
        assert steps, out
        assert re.search(
            rf"no space left on device in the warehouse folder {re.escape(str(warehouse))} "
            r"\([\d,]+ bytes free on its filesystem\)",
            steps[0],
            re.IGNORECASE,
        ), out
        # The system's words, not an error raised while cleaning up after them.
        assert "no transaction is active" not in out, out
        _plain(out + err)
        assert "UNCHANGED (previous publication kept)" in out
        assert digest(warehouse / "marts.duckdb") == before


def test_a_disk_that_fills_during_publication_is_named(baseline: Path, tmp_path: Path) -> None:
    """Another process takes the last free space once publication has started writing the new
    file (observed: its temporary file appears): publication fails naming the full device and
    the folder, the previous publication stays, no temporary file is left."""
    landing = shutil.copytree(baseline / "landing", tmp_path / "landing")
    mount = tmp_path / "disk"
    size = _size(baseline / "warehouse") + (96 << 20)
    with tmpfs(mount, size):
        warehouse = _copy_warehouse(baseline, mount)
        before = digest(warehouse / "marts.duckdb")
        outputs = published_outputs(warehouse)
        seen: list[str] = []
        stop = threading.Event()

        def fill_when_publishing() -> None:
            pattern = re.compile(r"^\.marts\.duckdb\.[0-9a-f]{32}\.tmp$")
            while not stop.is_set():
                found = [p.name for p in warehouse.iterdir() if pattern.match(p.name)]
                if found:
                    fill(mount)
                    seen.append(found[0])
                    return
                time.sleep(0.005)

        watcher = threading.Thread(target=fill_when_publishing, daemon=True)
        watcher.start()
        try:
            code, out, err = _run(landing, warehouse, tmp_path / "home")
        finally:
            stop.set()
            watcher.join(timeout=10)

        print(out, err)
        assert seen, "publication never started: the disk was not filled at the point meant"
        assert code == 1, out + err
        steps = _failed_steps(out)
        assert len(steps) == 1 and steps[0].startswith("FAILED step published_marts: "), out
        assert re.search(
            rf"no space left on device in the warehouse folder {re.escape(str(warehouse))}",
            steps[0],
            re.IGNORECASE,
        ), out
        _plain(out + err)
        assert digest(warehouse / "marts.duckdb") == before
        assert published_outputs(warehouse) == outputs
        assert not [p.name for p in warehouse.iterdir() if ".tmp" in p.name]


def test_a_full_dagster_home_is_a_warehouse_error_naming_it(
    workspace: tuple[Path, Path], tmp_path: Path
) -> None:
    """The Dagster home (configured: its SQLite storage exists) on a full tmpfs: exit 3 (the
    folder cannot be used) naming the Dagster home and the full device, not exit 5 (a bug)."""
    from complaints.config import ComplaintsConfig
    from orchestration.lib.instance import configure_instance, open_instance

    landing, warehouse = workspace
    before = digest(warehouse / "marts.duckdb")
    home = tmp_path / "home"
    with tmpfs(home, 16 << 20):
        config = ComplaintsConfig.resolve(landing=landing, warehouse=warehouse, dagster_home=home)
        configure_instance(config)
        with open_instance(config) as instance:
            instance.get_runs_count()
        fill(home, leave=32 << 10)
        assert free_bytes(home) <= 64 << 10

        code, out, err = _run(landing, warehouse, home)

    print(out, err)
    assert code == 3, out + err
    first = err.strip().splitlines()[0]
    assert first.startswith(f"error: cannot write in the Dagster home {home}: "), err
    assert "no space left on device" in first.lower(), err
    assert "--dagster-home" in err
    _plain(out + err)
    assert digest(warehouse / "marts.duckdb") == before


# --- the unlisted-files refusal ---------------------------------------------------------------


def _landing_with_strays(tmp_path: Path, count: int) -> Path:
    landing = shutil.copytree(LANDING, tmp_path / "landing")
    strays = landing / "strays"
    strays.mkdir()
    for n in range(count):
        (strays / f"stray_{n:05d}.txt").write_bytes(b"x")
    return landing


def test_thousands_of_unlisted_files_are_counted_with_what_to_do(tmp_path: Path) -> None:
    landing = _landing_with_strays(tmp_path, 5000)
    with pytest.raises(ManifestError) as err:
        load_manifest(landing)
    message = str(err.value)
    print(message)
    assert "5,000 files in the landing folder are not listed in manifest.yml" in message
    assert "strays/stray_00000.txt, strays/stray_00001.txt" in message
    assert "and 4,995 more" in message
    assert "list each in manifest.yml" in message and "move them out" in message
    assert "stray_04999" not in message  # counted, not all named
    assert len(message) < 600


def test_the_cli_refuses_unlisted_files_in_one_line_before_the_run(tmp_path: Path) -> None:
    landing = _landing_with_strays(tmp_path, 5000)
    started = time.monotonic()
    code, out, err = _run(landing, tmp_path / "warehouse", tmp_path / "home")
    print(err, f"{time.monotonic() - started:.1f} s")
    assert code == 2, out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "5,000 files" in lines[0] and "move them out" in lines[0], err
    assert not (tmp_path / "warehouse" / "build.duckdb").exists()


def test_one_unlisted_file_is_named_with_what_to_do(tmp_path: Path) -> None:
    landing = shutil.copytree(LANDING, tmp_path / "landing")
    (landing / "extra.txt").write_text("x")
    with pytest.raises(ManifestError) as err:
        load_manifest(landing)
    assert "file extra.txt is in the landing folder but no entry lists it" in str(err.value)
    assert "list it in manifest.yml or move it out" in str(err.value)
