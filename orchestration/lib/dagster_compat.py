"""The one module that reaches into Dagster's private internals: a faster SQLite event log.

Nothing else in the product imports `dagster._...` (a test greps for it). What it holds is a
measured speed-up, kept optional: `event_log_storage_yaml()` configures it only on a Dagster
version it was verified against and only when the private hooks it overrides are there; on any
other version the instance uses Dagster's stock SQLite event log and the run says so in one
warning. docs/DECISIONS.md ("The pooled event log") has the measurements and the reasoning.

What it changes: the stock `SqliteEventLogStorage` calls `create_engine` inside every `_connect`
(so every insert also recompiles its SQL: the compiled-statement cache lives on the engine) and
uses `NullPool`, so every event opens a SQLite connection and closes it again; closing the last
connection of a WAL database checkpoints the log and deletes it. Here each shard keeps one engine
and one pooled connection, and a batch of events (Dagster hands them over when
`DAGSTER_EVENT_BATCH_SIZE` is set) is written in one transaction per shard. The files, schema and
transactions are the stock ones, and the per-process lock still serialises access. Other processes
(`dagster dev`, the daemon) are unaffected: in WAL mode an idle connection holds no lock, and
SQLite still checkpoints automatically as the log grows.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

# Dagster releases this module was verified against (the seed pipeline and
# tests/test_event_log_storage.py pass on them). Add a release here after running those tests on it.
# The release uv.lock pins must be one of them: tests/test_lock.py fails when the lock moves on,
# so an update of the lock cannot quietly switch the pooled event log off.
VERIFIED_DAGSTER_VERSIONS: tuple[str, ...] = ("1.13.27",)
# The private methods and attributes of the stock storage that the subclass relies on.
HOOKS: tuple[str, ...] = (
    "_connect",
    "_initdb",
    "conn_string_for_shard",
    "has_table",
    "store_event",
    "store_event_batch",
    "wipe",
    "upgrade",
    "dispose",
)
EVENT_BATCH_SIZE = 2000
"""Events Dagster hands to the storage at once (`DAGSTER_EVENT_BATCH_SIZE`) when ours is used."""


try:
    from dagster._config import Field, StringSource
    from dagster._core.events.log import EventLogEntry
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
        INDEX_SHARD_NAME,
        SqliteEventLogStorage,
    )
    from dagster._core.storage.sql import create_engine
    from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
    from dagster._serdes import ConfigurableClassData
except ImportError as exc:  # pragma: no cover - only on a Dagster that moved its internals
    _IMPORT_PROBLEM: str | None = f"Dagster's private event-log modules moved ({exc})"
else:
    _IMPORT_PROBLEM = None

_warned = False


def partition_range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that make one run cover the partitions `first`..`last` (what Dagster's own
    single-run backfills write). Dagster exposes no public constant or `RunRequest` argument for
    them, so they are read from its tags module here rather than copied by hand."""
    return {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}


def pooled_event_log_problem() -> str | None:
    """Why the pooled event log cannot be used here, or None when it can."""
    if dagster.__version__ not in VERIFIED_DAGSTER_VERSIONS:
        return (
            f"Dagster {dagster.__version__} is not a version the pooled event log was verified "
            f"against ({', '.join(VERIFIED_DAGSTER_VERSIONS)})"
        )
    if _IMPORT_PROBLEM is not None:
        return _IMPORT_PROBLEM
    missing = [name for name in HOOKS if not hasattr(SqliteEventLogStorage, name)]
    if missing:
        return f"Dagster's SqliteEventLogStorage lacks {', '.join(missing)}"
    return None


def uses_pooled_event_log(instance: dagster.DagsterInstance) -> bool:
    return type(instance.event_log_storage).__name__ == "PooledSqliteEventLogStorage"


def _warn_once(problem: str) -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(
            f"{problem}: using Dagster's stock SQLite event log (slower, same results)",
            RuntimeWarning,
            stacklevel=3,
        )


def event_log_storage_yaml(runs_dir: Path) -> str:
    """The `event_log_storage` section of dagster.yaml: ours where verified, else none (stock)."""
    problem = pooled_event_log_problem()
    if problem is not None:
        _warn_once(problem)
        return ""
    return (
        "# The stock SQLite event log, keeping one engine and one connection per file instead of\n"
        "# opening both for every event (orchestration/lib/dagster_compat.py).\n"
        "event_log_storage:\n"
        "  module: orchestration.lib.dagster_compat\n"
        "  class: PooledSqliteEventLogStorage\n"
        "  config:\n"
        f"    base_dir: {json.dumps(str(runs_dir))}\n"
    )


if _IMPORT_PROBLEM is None:  # else dagster.yaml never names the class
    MAX_CACHED_ENGINES = 32

    def _synchronous_normal(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    @dataclass
    class _Batch:
        owner: int  # thread id
        stack: ExitStack  # closes the connections and commits their transactions, in reverse order
        connections: dict[str, Connection]

    class PooledSqliteEventLogStorage(SqliteEventLogStorage):
        """`SqliteEventLogStorage` with one engine and one pooled connection per shard, not per call."""

        def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
            self._engines: dict[str, Engine] = {}
            self._reflection_engine: Engine | None = None
            self._tables_found: set[str] = set()
            self._batch: _Batch | None = None
            super().__init__(base_dir, inst_data=inst_data)

        @classmethod
        def config_type(cls) -> dict[str, Any]:
            # An absolute path, written by `configure_instance`: a custom storage class is not told
            # the instance's home, and readers (benchmarks, scripts) may not set DAGSTER_HOME.
            return {"base_dir": Field(StringSource, is_required=True)}

        @classmethod
        def from_config_value(  # type: ignore[override]  # the fallback is the stock class
            cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
        ) -> SqliteEventLogStorage:
            # A dagster.yaml written before Dagster was upgraded still names this class: fall back.
            problem = pooled_event_log_problem()
            if problem is not None:
                _warn_once(problem)
                return SqliteEventLogStorage(inst_data=inst_data, **config_value)
            return cls(inst_data=inst_data, **config_value)

        def _new_engine(self, shard: str) -> Engine:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                # One connection kept per shard; more only while several threads hold one (never
                # a wait: max_overflow -1). `_db_lock` serialises their use across threads.
                poolclass=QueuePool,
                pool_size=1,
                max_overflow=-1,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            # Dagster creates every shard in WAL mode. There, synchronous=NORMAL skips the fsync on
            # each commit (one per event) and syncs at checkpoints instead: the database stays
            # consistent after a power cut, which may only lose the last events of a run.
            event.listen(engine, "connect", _synchronous_normal)
            return engine

        def has_table(self, table_name: str) -> bool:
            # The stock version builds a new engine per call, and it is asked on every check event,
            # sometimes while `_connect` holds the lock: so no lock here, and a table once found is
            # remembered (Dagster's migrations add tables, never drop them).
            if table_name in self._tables_found:
                return True
            engine = self._reflection_engine
            if engine is None:
                engine = self._reflection_engine = self._new_engine(INDEX_SHARD_NAME)
            with engine.connect() as conn:
                found = bool(engine.dialect.has_table(conn, table_name))
            if found:
                self._tables_found.add(table_name)
            return found

        @contextmanager
        def _connect(self, shard: str) -> Iterator[Connection]:
            batch = self._batch
            if batch is not None and batch.owner == threading.get_ident():
                # Inside store_event_batch (which holds the lock): one transaction per shard.
                conn = batch.connections.get(shard)
                if conn is None:
                    conn = batch.stack.enter_context(self._engine(shard).connect())
                    batch.stack.enter_context(conn.begin())
                    batch.connections[shard] = conn
                yield conn
                return
            with self._db_lock, self._engine(shard).connect() as conn, conn.begin():
                yield conn

        def _engine(self, shard: str) -> Engine:
            """The shard's engine, created (and the shard initialised) on first use; call locked."""
            # Least recently used last out: the index shard is used by nearly every call.
            engine = self._engines.pop(shard, None)
            if engine is None:
                engine = self._new_engine(shard)
            self._engines[shard] = engine
            # One shard per run: a long-lived webserver must not keep an engine per run forever.
            while len(self._engines) > MAX_CACHED_ENGINES:
                self._engines.pop(next(iter(self._engines))).dispose()
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            return engine

        def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
            """All events of a batch in one transaction per shard instead of two or three each.

            Dagster hands over batches only when `DAGSTER_EVENT_BATCH_SIZE` is set (`complaints
            run` sets it while its run executes): the planned events it writes when a run is
            created (one per asset and check) and the materializations of a multi-partition step. The batch is all
            or nothing: on any error it is rolled back and Dagster stores the events one by one.
            """
            if len(events) <= 1:
                for single in events:
                    self.store_event(single)
                return
            with self._db_lock, ExitStack() as stack:
                self._batch = _Batch(threading.get_ident(), stack, {})
                try:
                    for entry in events:
                        self.store_event(entry)
                finally:
                    self._batch = None

        def _dispose_engines(self) -> None:
            # Closes the pooled connections: before files are deleted or the schema migrated.
            with self._db_lock:
                engines = [*self._engines.values(), self._reflection_engine]
                self._engines.clear()
                self._reflection_engine = None
            for engine in engines:
                if engine is not None:
                    engine.dispose()

        def wipe(self) -> None:
            self._dispose_engines()
            self._tables_found.clear()
            super().wipe()

        def upgrade(self) -> None:
            self._dispose_engines()
            super().upgrade()

        def dispose(self) -> None:
            self._dispose_engines()
            super().dispose()


def end_process_stuck_in_a_pool_wait(exit_code: int) -> None:
    """End this process now, from a watchdog thread, with `exit_code`.

    Dagster's in-process executor waits for a pool slot in a loop that neither an exception in
    another thread nor a signal handler interrupts, so a run that gave up waiting for the
    warehouse (its run already reported failed and its slot freed by the caller) cannot return
    normally. A hard exit is the only way out; it lives here, beside the other workaround of
    Dagster's internals, so that no other module carries one.
    """

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exit_code)
