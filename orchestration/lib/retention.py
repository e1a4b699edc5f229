"""Keep the Dagster home bounded: old runs and their event logs are deleted, never what the UI
shows as current.

Every run leaves its event log (one SQLite file per run under `history/runs/`, which grows with
the extracts a run parses), its rows in the index and its captured compute logs. After a run
(`complaints run`) and on each tick of the landing sensor while no run is in flight, the runs
beyond the newest `keep_runs` are deleted with `DagsterInstance.delete_run` (run record and
events), and their event-log file and compute logs are removed (deleting a run's events leaves
its SQLite file at its size). Kept whatever their age: the run holding the latest
materialization of every asset (of every partition of a partitioned one) and the latest
evaluation of every asset check, so the UI still shows each asset's current materialization,
metadata and check results. Runs not finished are never touched.

Schedule and sensor ticks are purged by the Dagster daemon as the `retention:` section of
dagster.yaml says (orchestration/lib/instance.py writes it).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from dagster import (
    AssetCheckKey,
    AssetRecordsFilter,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
)

FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


@dataclass
class PruneResult:
    deleted: list[str] = field(default_factory=list)
    protected: set[str] = field(default_factory=set)
    bytes_freed: int = 0

    def line(self) -> str:
        return (
            f"removed {len(self.deleted)} old run(s) from the Dagster home "
            f"({self.bytes_freed / 1e6:.1f} MB of event and compute logs)"
        )


def protected_runs(instance: DagsterInstance, check_keys: Iterable[AssetCheckKey] = ()) -> set[str]:
    """Runs holding what the UI shows as current: the latest materialization of every asset and
    of every partition, the latest evaluation of every check in `check_keys`."""
    keep: set[str] = set()
    for key in instance.get_asset_keys():
        latest = instance.get_latest_materialization_event(key)
        if latest is not None:
            keep.add(latest.run_id)
        by_partition = instance.get_latest_storage_id_by_partition(
            key, DagsterEventType.ASSET_MATERIALIZATION
        )
        ids = sorted(set(by_partition.values()))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            records = instance.fetch_materializations(
                AssetRecordsFilter(asset_key=key, storage_ids=chunk), limit=len(chunk)
            ).records
            keep.update(r.run_id for r in records)
    for check in check_keys:
        record = instance.get_latest_asset_check_evaluation_record(check)
        if record is not None:
            keep.add(record.run_id)
    return keep


def prune_runs(
    instance: DagsterInstance, keep_runs: int, check_keys: Iterable[AssetCheckKey] = ()
) -> PruneResult:
    """Delete the finished runs beyond the newest `keep_runs` (0: keep every run), except the
    protected ones, with their event-log files in the instance's home and their compute logs."""
    home = Path(instance.root_directory)
    result = PruneResult()
    if keep_runs <= 0:
        return result
    runs = instance.get_runs()  # newest first
    older = [r for r in runs[keep_runs:] if r.status in FINISHED]
    if not older:
        return result
    result.protected = protected_runs(instance, check_keys) & {r.run_id for r in older}
    for run in older:
        if run.run_id in result.protected:
            continue
        instance.delete_run(run.run_id)
        result.bytes_freed += _remove_run_files(instance, home, run.run_id)
        result.deleted.append(run.run_id)
    return result


def _remove_run_files(instance: DagsterInstance, home: Path, run_id: str) -> int:
    """The run's event-log file (and its WAL) and its compute logs; the bytes they held."""
    freed = 0
    shard = Path(home) / "history" / "runs" / f"{run_id}.db"
    for path in (shard, shard.with_name(shard.name + "-wal"), shard.with_name(shard.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            freed += path.stat().st_size
            path.unlink()
    logs = Path(home) / "storage" / run_id
    if logs.is_dir():
        freed += sum(p.stat().st_size for p in logs.rglob("*") if p.is_file())
    with contextlib.suppress(Exception):
        instance.compute_log_manager.delete_logs(prefix=[run_id])
    shutil.rmtree(logs, ignore_errors=True)
    return freed
