"""Crash recovery: a run whose process died leaves no lasting claim on the warehouse.

Runs that write the build database take the pool `build_db_writer` (one slot). A run killed with
SIGKILL (or by a crash, an out-of-memory kill, a reboot) never releases its slot and stays
"started" in the instance, so every later run would wait for that slot forever. Therefore:

- Every run of these jobs records where its process runs, in run tags (`complaints/host`,
  `complaints/pid`, `complaints/process_started`): `complaints run` sets them when it creates the
  run, and the warehouse resource sets them when a run's resources start (any launcher: the
  daemon's run worker, `dagster job execute`).
- Before a run queues work (`complaints run`, and every run when its resources start), runs of
  ours whose process is gone are marked failed (`DagsterInstance.report_run_failed`) and their
  pool slots freed (`free_concurrency_slots_for_run`, the event log storage's call that Dagster's
  UI and run monitoring use); slots still held by runs that already ended are freed too.
- `complaints run` then waits for a live run that holds the warehouse, for a bounded time, and
  gives up with a message naming that run; while its own run executes, a watchdog does the same
  for a run that took the slot in between.

A process is "gone" only when this host can tell: same host name, and no process with that pid
started at that time (pid reuse is caught by the start time). A run on another host, or without
the tags, is never failed here; it is named in the message instead.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import psutil
from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter

POOL = "build_db_writer"
HOST_TAG = "complaints/host"
PID_TAG = "complaints/pid"
PROCESS_STARTED_TAG = "complaints/process_started"
# A run in one of these states may hold or be about to take the pool's slot.
ACTIVE_STATUSES = (
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
)
RECOVERY_FAILURE_PREFIX = "Marked failed by crash recovery"
"""How the failure message of a run recovery marked failed starts (its alert is recovery's)."""
DEFAULT_WAIT_SECONDS = 900.0
"""How long `complaints run` waits for another live run to release the warehouse (--wait)."""


class Liveness(Enum):
    ALIVE = "alive"
    DEAD = "dead"
    UNKNOWN = "unknown"


def process_tags() -> dict[str, str]:
    """The run tags naming this process (host, pid, start time)."""
    me = psutil.Process()
    return {
        HOST_TAG: socket.gethostname(),
        PID_TAG: str(me.pid),
        PROCESS_STARTED_TAG: f"{me.create_time():.3f}",
    }


def liveness(tags: dict[str, str]) -> Liveness:
    """Whether the process a run's tags name is still running (UNKNOWN: this host cannot tell)."""
    host, pid, started = tags.get(HOST_TAG), tags.get(PID_TAG), tags.get(PROCESS_STARTED_TAG)
    if not host or not pid or host != socket.gethostname():
        return Liveness.UNKNOWN
    try:
        process = psutil.Process(int(pid))
        if process.status() == psutil.STATUS_ZOMBIE:
            return Liveness.DEAD
        create_time = process.create_time()
    except psutil.NoSuchProcess:
        return Liveness.DEAD
    except (ValueError, psutil.Error):
        return Liveness.UNKNOWN
    if started:
        try:
            # Another process now has that pid: the run's process is gone.
            if abs(create_time - float(started)) > 1.0:
                return Liveness.DEAD
        except ValueError:
            return Liveness.UNKNOWN
    return Liveness.ALIVE


def describe(run: DagsterRun) -> str:
    """One line naming a run: id, job, where its process runs."""
    tags = run.tags
    where = (
        f"process {tags[PID_TAG]} on {tags[HOST_TAG]}"
        if PID_TAG in tags and HOST_TAG in tags
        else "no process recorded"
    )
    return f"run {run.run_id} ({run.job_name}, {run.status.value.lower()}, {where})"


@dataclass(frozen=True)
class Recovered:
    run_id: str
    job_name: str
    description: str
    slots_freed: int
    marked_failed: bool

    def line(self) -> str:
        if self.marked_failed:
            return (
                f"recovered: {self.description} had died; marked it failed and freed "
                f"{self.slots_freed} warehouse slot(s)"
            )
        return f"recovered: freed {self.slots_freed} warehouse slot(s) still held by ended run {self.run_id}"


def _slots_by_run(instance: DagsterInstance) -> dict[str, int]:
    """Run id -> slots of the pool it holds or waits for."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return {}
    held: dict[str, int] = {}
    info = storage.get_concurrency_info(POOL)
    for slot in info.claimed_slots:
        held[slot.run_id] = held.get(slot.run_id, 0) + 1
    for step in info.pending_steps:
        held.setdefault(step.run_id, 0)
    for run_id in storage.get_concurrency_run_ids():
        held.setdefault(run_id, 0)
    return held


def _free(instance: DagsterInstance, run_id: str) -> None:
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        storage.free_concurrency_slots_for_run(run_id)


def active_runs(instance: DagsterInstance, exclude: str | None = None) -> list[DagsterRun]:
    runs = instance.get_runs(filters=RunsFilter(statuses=list(ACTIVE_STATUSES)))
    return [r for r in runs if r.run_id != exclude]


def recover_dead_runs(instance: DagsterInstance, exclude: str | None = None) -> list[Recovered]:
    """Mark failed the active runs of ours whose process is gone and free their slots; free the
    slots of runs that ended but still hold some. `exclude`: the calling run itself."""
    recovered: list[Recovered] = []
    slots = _slots_by_run(instance)
    active = active_runs(instance, exclude)
    for run in active:
        if liveness(dict(run.tags)) is not Liveness.DEAD:
            continue
        message = (
            f"{RECOVERY_FAILURE_PREFIX}: its process ({run.tags.get(PID_TAG)} on "
            f"{run.tags.get(HOST_TAG)}) is gone (killed or crashed) and left the run unfinished."
        )
        instance.report_run_failed(run, message)
        _free(instance, run.run_id)
        recovered.append(
            Recovered(run.run_id, run.job_name, describe(run), slots.get(run.run_id, 0), True)
        )
    active_ids = {r.run_id for r in active} | ({exclude} if exclude else set())
    stale = [run_id for run_id in slots if run_id not in active_ids]
    for run_id in stale:
        if any(r.run_id == run_id for r in recovered):
            continue
        ended = instance.get_run_by_id(run_id)
        if ended is not None and ended.status in ACTIVE_STATUSES:
            continue
        _free(instance, run_id)
        if slots[run_id]:
            job = ended.job_name if ended is not None else "unknown job"
            recovered.append(Recovered(run_id, job, f"run {run_id}", slots[run_id], False))
    return recovered


def holders(instance: DagsterInstance, exclude: str | None = None) -> list[DagsterRun]:
    """Live (or not provably dead) runs that hold the warehouse: they hold or wait for the pool's
    slot, or they are runs of ours still in progress."""
    slots = _slots_by_run(instance)
    out = []
    for run in active_runs(instance, exclude):
        ours = PID_TAG in run.tags
        if (ours or run.run_id in slots) and liveness(dict(run.tags)) is not Liveness.DEAD:
            out.append(run)
    return out


class WarehouseBusy(Exception):
    """Another live run held the warehouse for longer than the wait allowed."""

    def __init__(self, runs: list[DagsterRun], waited: float) -> None:
        self.runs = runs
        self.waited = waited
        names = "; ".join(describe(r) for r in runs)
        super().__init__(
            f"the warehouse is held by {names}: waited {waited:.0f} s. Let it finish (Dagster UI, "
            "Runs) or stop it, then run again; --wait SECONDS waits longer"
        )


def wait_for_warehouse(
    instance: DagsterInstance,
    timeout: float,
    *,
    exclude: str | None = None,
    poll: float = 2.0,
    on_wait: Callable[[list[DagsterRun]], None] | None = None,
    on_recover: Callable[[Recovered], None] | None = None,
) -> None:
    """Return once no other live run holds the warehouse; raise WarehouseBusy after `timeout`.
    Runs that die meanwhile are recovered (and reported through `on_recover`)."""
    start = time.monotonic()
    told = False
    while True:
        for item in recover_dead_runs(instance, exclude):
            if on_recover:
                on_recover(item)
        busy = holders(instance, exclude)
        if not busy:
            return
        waited = time.monotonic() - start
        if waited >= timeout:
            raise WarehouseBusy(busy, waited)
        if on_wait and not told:
            on_wait(busy)
            told = True
        time.sleep(min(poll, max(0.05, timeout - waited)))


class Watchdog:
    """While a run executes in this process: recover a run that dies holding the slot our run
    waits for, and give up (calling `on_timeout`) when a live one holds it past the deadline.

    Dagster's executor waits for a slot in a loop that no signal interrupts, so giving up means
    ending this process: `on_timeout` reports our run failed and exits."""

    def __init__(
        self,
        instance: DagsterInstance,
        run_id: Callable[[], str | None],
        timeout: float,
        on_timeout: Callable[[WarehouseBusy], None],
        on_recover: Callable[[Recovered], None] | None = None,
        poll: float = 2.0,
    ) -> None:
        self._instance = instance
        self._run_id = run_id
        self._timeout = timeout
        self._on_timeout = on_timeout
        self._on_recover = on_recover
        self._poll = poll
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="warehouse-watchdog", daemon=True)

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _waiting(self, run_id: str) -> bool:
        storage = self._instance.event_log_storage
        if not storage.supports_global_concurrency_limits:
            return False
        info = storage.get_concurrency_info(POOL)
        mine = [s for s in info.pending_steps if s.run_id == run_id]
        held_by_me = any(s.run_id == run_id for s in info.claimed_slots)
        return bool(mine) and not held_by_me

    def _watch(self) -> None:
        waiting_since: float | None = None
        while not self._stop.wait(self._poll):
            run_id = self._run_id()
            if run_id is None:
                continue
            try:
                if not self._waiting(run_id):
                    waiting_since = None
                    continue
                waiting_since = waiting_since or time.monotonic()
                for item in recover_dead_runs(self._instance, exclude=run_id):
                    if self._on_recover:
                        self._on_recover(item)
                busy = holders(self._instance, exclude=run_id)
                waited = time.monotonic() - waiting_since
                if busy and waited >= self._timeout:
                    self._on_timeout(WarehouseBusy(busy, waited))
                    return
            except Exception:  # the instance is briefly unavailable: look again next time
                continue


def run_of_this_process(instance: DagsterInstance) -> str | None:
    """The id of the active run this process executes (found by its process tags), if any."""
    mine = process_tags()
    for run in active_runs(instance):
        if all(run.tags.get(k) == v for k, v in mine.items()):
            return run.run_id
    return None
