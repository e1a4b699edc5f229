"""The project's Dagster instance: the pooled event log (orchestration/lib/dagster_compat.py, one engine
and connection per shard) keeps the stock files and answers every reader, including one that does
not set DAGSTER_HOME; on a Dagster version it was not verified against, the stock storage is used
with one warning."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from dagster import (
    AssetCheckResult,
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    asset,
    asset_check,
    materialize,
)
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from complaints.config import ComplaintsConfig
from orchestration.lib.dagster_compat import EVENT_BATCH_SIZE, PooledSqliteEventLogStorage
from orchestration.lib.instance import configure_instance

pytestmark = pytest.mark.integration


@asset
def tiny() -> int:
    return 1


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh project Dagster home, configured as `complaints run` does."""
    home = tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", str(EVENT_BATCH_SIZE))  # as `complaints run`
    configure_instance(ComplaintsConfig.resolve(dagster_home=home))
    return home


def test_persistent_instance_uses_cached_engines_and_reopens_without_dagster_home(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = (home / "dagster.yaml").read_text()
    assert f'base_dir: "{home.resolve() / "history" / "runs"}"' in config

    run_ids = []
    with DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        for _ in range(3):
            result = materialize([tiny], instance=instance)
            assert result.success
            run_ids.append(result.run_id)
        # One engine per shard (index + one per run), reused across all the events of a run.
        assert len(instance.event_log_storage._engines) == 4

    # The stock layout: one SQLite file per run plus the index shard.
    runs_dir = home / "history" / "runs"
    assert {p.name for p in runs_dir.glob("*.db")} == {f"{r}.db" for r in run_ids} | {"index.db"}

    monkeypatch.delenv("DAGSTER_HOME")  # benchmarks and scripts open the instance by its folder
    with DagsterInstance.from_config(str(home)) as reader:
        records = reader.fetch_materializations(AssetKey("tiny"), limit=10).records
        assert sorted(r.run_id for r in records) == sorted(run_ids)
        logs = reader.all_logs(run_ids[0], of_type=DagsterEventType.RUN_SUCCESS)
        assert len(logs) == 1


@asset
def downstream(tiny: int) -> int:
    return tiny + 1


@asset_check(asset=tiny, blocking=True)
def tiny_is_one(tiny: int) -> AssetCheckResult:
    return AssetCheckResult(passed=tiny == 1)


def test_planned_events_are_written_as_one_batch_with_the_same_records(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert int(os.environ["DAGSTER_EVENT_BATCH_SIZE"]) > 1

    batches: list[list[str]] = []
    original = PooledSqliteEventLogStorage.store_event_batch

    def spy(self: PooledSqliteEventLogStorage, events: list) -> None:  # type: ignore[type-arg]
        batches.append([e.dagster_event.event_type_value for e in events])
        original(self, events)

    monkeypatch.setattr(PooledSqliteEventLogStorage, "store_event_batch", spy)
    with DagsterInstance.get() as instance:
        result = materialize([tiny, downstream, tiny_is_one], instance=instance)
        assert result.success
        # One batch: two assets and one check planned, sorted by key.
        assert sorted(map(sorted, batches)) == [
            sorted(
                [
                    "ASSET_CHECK_EVALUATION_PLANNED",
                    "ASSET_MATERIALIZATION_PLANNED",
                    "ASSET_MATERIALIZATION_PLANNED",
                ]
            )
        ]
        planned = instance.all_logs(
            result.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION_PLANNED
        )
        assert {e.dagster_event.asset_key for e in planned} == {
            AssetKey("tiny"),
            AssetKey("downstream"),
        }
        # The planned check row in the index shard was found and completed by its evaluation.
        history = instance.event_log_storage.get_asset_check_execution_history(
            tiny_is_one.check_key, limit=5
        )
        assert [h.status for h in history] == [AssetCheckExecutionRecordStatus.SUCCEEDED]
        assert instance.get_latest_materialization_event(AssetKey("downstream")) is not None


def test_a_failing_batch_leaves_nothing_behind(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with DagsterInstance.get() as instance:
        result = materialize([tiny, downstream], instance=instance)
        storage = instance.event_log_storage
        events = instance.all_logs(result.run_id)[:5]
        before = len(instance.all_logs(result.run_id))
        calls = 0
        stock = PooledSqliteEventLogStorage.store_event

        def fail_on_third(self: PooledSqliteEventLogStorage, event: object) -> None:
            nonlocal calls
            calls += 1
            if calls == 3:
                raise RuntimeError("disk full")
            stock(self, event)  # type: ignore[arg-type]

        monkeypatch.setattr(PooledSqliteEventLogStorage, "store_event", fail_on_third)
        with pytest.raises(RuntimeError, match="disk full"):
            storage.store_event_batch(events)
        monkeypatch.undo()
        # The two events stored before the failure were rolled back with it.
        assert len(instance.all_logs(result.run_id)) == before
        # And the storage still works outside a batch.
        assert materialize([tiny], instance=instance).success


def test_hand_written_dagster_yaml_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    configure_instance(ComplaintsConfig.resolve(dagster_home=home))
    assert (home / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"


def test_pooled_connection_is_reused_and_leaves_the_shard_unlocked(home: Path) -> None:
    index_db = home / "history" / "runs" / "index.db"
    with DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, PooledSqliteEventLogStorage)
        assert materialize([tiny], instance=instance).success
        engine = storage._engines["index"]
        first = engine.pool.connect()
        dbapi_id = id(first.dbapi_connection)
        first.close()
        assert materialize([tiny], instance=instance).success
        assert storage._engines["index"] is engine
        again = engine.pool.connect()
        assert id(again.dbapi_connection) == dbapi_id  # the same SQLite connection, kept
        again.close()
        pool = engine.pool
        assert pool.checkedin() == 1

        # Another process's writer gets the write lock at once (timeout 0) while ours is idle.
        other = sqlite3.connect(index_db, timeout=0)
        other.execute("BEGIN IMMEDIATE")
        other.execute("create table if not exists outsider (x integer)")
        other.commit()
        other.close()
        assert materialize([tiny], instance=instance).success
        assert len(instance.get_runs()) == 3
    assert pool.checkedin() == 0  # its connection closed with the instance


def test_a_dagster_it_was_not_verified_on_gets_the_stock_storage_with_one_warning(
    stock_storage_rerun,  # type: ignore[no-untyped-def]
) -> None:
    """On an unverified Dagster the instance is configured with the stock event log (one
    warning), a dagster.yaml written before the upgrade falls back too, and the pipeline on the
    real extracts runs on the stock storage with the same published figures (the session's run,
    tests/conftest.py `stock_storage_rerun`)."""
    from tests.pipeline import SEED_ROWS_PER_MART

    rerun = stock_storage_rerun
    assert "PooledSqliteEventLogStorage" in rerun.yaml_on_verified
    assert rerun.stale_storage == "SqliteEventLogStorage"
    assert rerun.storage == "SqliteEventLogStorage"
    ours = [w for w in rerun.warned if "verified" in w]
    assert len(ours) == 1, rerun.warned
    assert "Dagster 1.13" in ours[0] and "stock SQLite event log" in ours[0]
    assert "event_log_storage" not in rerun.yaml_on_unverified
    assert rerun.summary.success and not rerun.summary.checks_failed, rerun.summary.failed_steps
    assert rerun.summary.rows_per_mart == SEED_ROWS_PER_MART
    assert rerun.run_readable_elsewhere


def test_missing_hooks_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestration.lib import dagster_compat

    assert dagster_compat.pooled_event_log_problem() is None
    monkeypatch.setattr(dagster_compat, "HOOKS", (*dagster_compat.HOOKS, "_gone_in_a_release"))
    assert dagster_compat.pooled_event_log_problem() == (
        "Dagster's SqliteEventLogStorage lacks _gone_in_a_release"
    )
