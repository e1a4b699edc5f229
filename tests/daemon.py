"""The real Dagster daemon on a test instance: started in its own process group (a background
`dagster-daemon` ignores SIGINT inherited from a background job, so the group is ended with
SIGKILL after a short grace), with the landing-folder sensor started through Dagster's own CLI and
a short sensor interval. Runs, run keys, skips and failed-run handling are then the daemon's."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from dagster import DagsterInstance, DagsterRun, DagsterRunStatus

PROJECT_ROOT = Path(__file__).resolve().parent.parent
WORKSPACE = PROJECT_ROOT / "workspace.yaml"
BIN = Path(sys.executable).parent
SENSOR = "landing_folder_sensor"
FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


def daemon_env(home: Path, extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPLAINTS_", "DAGSTER_"))}
    # The code the daemon's processes load is this checkout's, whichever is installed.
    env.update(
        DAGSTER_HOME=str(home),
        COMPLAINTS_SENSOR_INTERVAL="2",
        PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")])),
        **extra,
    )
    return env


def start_sensor(env: Mapping[str, str]) -> None:
    subprocess.run(
        [str(BIN / "dagster"), "sensor", "start", SENSOR, "-w", str(WORKSPACE)],
        cwd=PROJECT_ROOT,
        env=dict(env),
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )


@contextlib.contextmanager
def running_daemon(env: Mapping[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`dagster-daemon run` for the duration of the block; its output goes to `log`."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-w", str(WORKSPACE)],
            cwd=PROJECT_ROOT,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield proc
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
            # The runs the daemon launched are processes of their own group: end any left.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


def wait_for(
    what: str, found: Callable[[], object], timeout: float, log: Path | None = None
) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(1)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{tail}")


def finished_runs(instance: DagsterInstance) -> list[DagsterRun]:
    """The instance's finished runs, oldest first."""
    runs = [r for r in instance.get_runs() if r.status in FINISHED]
    return sorted(runs, key=lambda r: instance.get_run_record_by_id(r.run_id).create_timestamp)  # type: ignore[union-attr]


def sensor_ticks(instance: DagsterInstance) -> list[str]:
    """The statuses of the sensor's ticks (SUCCESS, SKIPPED, FAILURE...), newest first."""
    state = next(s for s in instance.all_instigator_state() if s.instigator_name == SENSOR)
    ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id)
    return [t.status.value for t in ticks]


def step_failures(instance: DagsterInstance, run_id: str) -> str:
    """A failed run's step errors, each with its causes: what an assertion should show."""
    lines = []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or not event.is_step_failure:
            continue
        error = event.step_failure_data.error
        lines.append(f"{event.step_key}:")
        while error is not None:
            lines.append(f"  {error.message.strip()}")
            lines.extend(f"    {frame.rstrip()}" for frame in error.stack[-3:])
            error = error.cause
    return "\n".join(lines)
