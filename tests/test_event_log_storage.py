"""The project's Dagster instance: our event log storage (one SQLAlchemy engine per shard) keeps
the stock files and answers every reader, including one that does not set DAGSTER_HOME."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    asset,
    materialize,
)

from orchestration.runner import configure_environment
from orchestration.storage import CachedEngineSqliteEventLogStorage


@asset
def tiny() -> int:
    return 1


def test_persistent_instance_uses_cached_engines_and_reopens_without_dagster_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    configure_environment(None, None)
    config = (home / "dagster.yaml").read_text()
    assert f'base_dir: "{home.resolve() / "history" / "runs"}"' in config

    run_ids = []
    with DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, CachedEngineSqliteEventLogStorage)
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


def test_hand_written_dagster_yaml_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    configure_environment(None, None)
    assert (home / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"
