"""The Dagster home stays bounded over repeated runs (orchestration/lib/retention.py): runs
beyond the newest `keep_runs` are deleted with their event-log files and compute logs, never the
runs holding an asset's (or a partition's) latest materialization or a check's latest result,
so the UI keeps showing what is current. Real persistent Dagster instances, configured as
`complaints run` configures them (our dagster.yaml, the pooled event log)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import yaml
from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetKey,
    DagsterInstance,
    MaterializeResult,
    StaticPartitionsDefinition,
    asset,
    asset_check,
    materialize,
)

from complaints.config import ComplaintsConfig
from orchestration.lib.instance import configure_instance, open_instance
from orchestration.lib.retention import prune_runs
from orchestration.lib.runner import run_pipeline

PAYLOAD = "x" * 200_000  # metadata, so that every run's event log has a size worth bounding


@asset
def often() -> MaterializeResult:  # type: ignore[type-arg]
    return MaterializeResult(metadata={"payload": PAYLOAD})


@asset_check(asset=often)
def often_ok() -> AssetCheckResult:
    return AssetCheckResult(passed=True)


@asset(partitions_def=StaticPartitionsDefinition(["p1", "p2"]))
def parted() -> MaterializeResult:  # type: ignore[type-arg]
    return MaterializeResult(metadata={"payload": PAYLOAD})


@asset
def once() -> MaterializeResult:  # type: ignore[type-arg]
    return MaterializeResult(metadata={"payload": PAYLOAD})


@asset_check(asset=once)
def once_ok() -> AssetCheckResult:
    return AssetCheckResult(passed=True, metadata={"note": "evaluated in one run only"})


CHECKS = [AssetCheckKey(AssetKey("often"), "often_ok"), AssetCheckKey(AssetKey("once"), "once_ok")]


def home_bytes(home: Path) -> int:
    return sum(p.stat().st_size for p in home.rglob("*") if p.is_file())


def test_the_home_stays_bounded_and_keeps_what_the_ui_shows(tmp_path: Path) -> None:
    config = ComplaintsConfig.resolve(
        landing=tmp_path / "landing", warehouse=tmp_path / "wh", dagster_home=tmp_path / "home"
    )
    configure_instance(config)
    written = yaml.safe_load((config.dagster_home / "dagster.yaml").read_text())
    assert written["retention"]["sensor"]["purge_after_days"] == config.tick_retention_days
    keep = 3
    sizes = []
    with open_instance(config) as instance:
        first = [
            materialize([parted], instance=instance, partition_key="p1").run_id,
            materialize([parted], instance=instance, partition_key="p2").run_id,
            materialize([once, once_ok], instance=instance).run_id,
        ]
        for _ in range(12):
            last = materialize([often, often_ok], instance=instance).run_id
            prune_runs(instance, keep, CHECKS)
            sizes.append(home_bytes(config.dagster_home))
        runs = {r.run_id for r in instance.get_runs()}
        # The newest three, and the three old runs that hold the latest of something.
        assert len(runs) == keep + len(first)
        assert set(first) <= runs and last in runs
        shards = {p.stem for p in (config.dagster_home / "history" / "runs").glob("*.db")}
        assert shards - {"index"} == runs
        assert {p.name for p in (config.dagster_home / "storage").iterdir()} <= runs
        # What the UI shows: each asset's and partition's latest materialization, each check's.
        latest = instance.get_latest_materialization_event(AssetKey("often"))
        assert latest is not None and latest.run_id == last
        by_partition = instance.get_latest_storage_id_by_partition(
            AssetKey("parted"), _materialization()
        )
        assert sorted(by_partition) == ["p1", "p2"]
        once_check = instance.get_latest_asset_check_evaluation_record(CHECKS[1])
        assert once_check is not None and once_check.run_id == first[2]
        often_check = instance.get_latest_asset_check_evaluation_record(CHECKS[0])
        assert often_check is not None and often_check.run_id == last
    # Bounded: once the first runs were pruned and SQLite's files took the pages they reuse
    # (they grow in steps, never shrink), the home no longer grows with each run.
    print(f"\nDagster home after each run (bytes): {sizes}")
    assert max(sizes[6:]) <= sizes[5] * 1.1 + 100_000, sizes


def _materialization():  # type: ignore[no-untyped-def]
    from dagster import DagsterEventType

    return DagsterEventType.ASSET_MATERIALIZATION


def test_keep_runs_zero_keeps_every_run(tmp_path: Path) -> None:
    instance = DagsterInstance.ephemeral()
    for _ in range(3):
        materialize([often], instance=instance)
    assert prune_runs(instance, 0).deleted == []
    assert len(instance.get_runs()) == 3


def test_the_configuration_reads_the_environment() -> None:
    env = {"COMPLAINTS_KEEP_RUNS": "5", "COMPLAINTS_TICK_RETENTION_DAYS": "0"}
    config = ComplaintsConfig.resolve(environ=env)
    assert (config.keep_runs, config.tick_retention_days) == (5, 0)
    for bad in ("-1", "x", "2.5"):
        try:
            ComplaintsConfig.resolve(environ={"COMPLAINTS_KEEP_RUNS": bad})
        except ValueError as exc:
            assert "COMPLAINTS_KEEP_RUNS must be a whole number" in str(exc)
        else:
            raise AssertionError(f"{bad!r} was accepted")


def test_a_pipeline_run_prunes_the_run_before_it(published_warehouse, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """On the real pipeline: with keep_runs=1 the second run deletes the first run's records and
    files (it re-materialized everything), and every asset and check still shows its latest."""
    _, warehouse, landing = published_warehouse
    home = Path(warehouse).parent / "dagster_home"
    base = tmp_path / "copy"
    shutil.copytree(landing, base / "landing")
    shutil.copytree(warehouse, base / "warehouse", symlinks=True)
    shutil.copytree(home, base / "home")
    config = replace(
        ComplaintsConfig.resolve(
            landing=base / "landing", warehouse=base / "warehouse", dagster_home=base / "home"
        ),
        keep_runs=1,
    )
    configure_instance(config)
    before = home_bytes(config.dagster_home)
    index = config.dagster_home / "history" / "runs" / "index.db"
    index_before = index.stat().st_size
    with open_instance(config) as instance:
        (old,) = [r.run_id for r in instance.get_runs()]
        summary = run_pipeline(config, instance)
        assert summary.success, summary.failed_steps
        assert [r.run_id for r in instance.get_runs()] == [summary.run_id]
        assert not (config.dagster_home / "history" / "runs" / f"{old}.db").exists()
        for key in instance.get_asset_keys():
            latest = instance.get_latest_materialization_event(key)
            assert latest is not None and latest.run_id == summary.run_id, key
        report = instance.get_latest_materialization_event(AssetKey("analysts_report"))
        assert report is not None and report.asset_materialization is not None
        assert "preview" in report.asset_materialization.metadata
        gate = AssetCheckKey(AssetKey("mart_council_comparison"), "gx_mart_council_comparison")
        record = instance.get_latest_asset_check_evaluation_record(gate)
        assert record is not None and record.run_id == summary.run_id
    after = home_bytes(config.dagster_home)
    print(f"\nDagster home: {before:,} bytes after one run, {after:,} after the second")
    # The first run's event log and compute logs are gone; the event index held both runs' rows
    # for a moment and keeps their pages for the next runs to reuse (SQLite does not shrink a
    # file), so the home grew by at most one run's index rows, never by a run's event log.
    assert after <= before + index_before, (before, after, index_before)
