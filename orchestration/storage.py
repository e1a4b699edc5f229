"""Dagster's SQLite event log, minus the cost of opening the database for every event.

A full run stores about 1,700 events (one planned and one result event per dbt model and test).
The stock `SqliteEventLogStorage` calls `create_engine` inside every `_connect` (so every insert
also recompiles its SQL: the compiled-statement cache lives on the engine) and uses `NullPool`, so
every event also opens a SQLite connection and closes it again; closing the last connection of a
WAL database checkpoints the log and deletes it. Profiled at about 9 ms per event, 15 s of a 31 s
seed run; replaying a seed run's 1,715 events costs 3.9 ms each with cached engines alone and
0.67 ms with pooled connections (BENCHMARKS.md).

Here each shard keeps one engine and one pooled connection. The files, schema and transactions
are the stock ones, and the per-process lock still serialises access. Other processes (`dagster
dev`, the daemon) are unaffected: in WAL mode an idle connection holds no lock, and SQLite still
checkpoints automatically as the log grows.

Configured in `$DAGSTER_HOME/dagster.yaml` (written by `complaints run`):

    event_log_storage:
      module: orchestration.storage
      class: CachedEngineSqliteEventLogStorage
      config:
        base_dir: /absolute/path/to/dagster_home/history/runs
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from dagster._config import Field, StringSource
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
)
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

MAX_CACHED_ENGINES = 32


def _synchronous_normal(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


@dataclass
class _Batch:
    owner: int  # thread id
    stack: ExitStack  # closes the connections and commits their transactions, in reverse order
    connections: dict[str, Connection]


class CachedEngineSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` with one engine and one pooled connection per shard, not per call."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: dict[str, Engine] = {}
        self._reflection_engine: Engine | None = None
        self._tables_found: set[str] = set()
        self._batch: _Batch | None = None
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        # An absolute path, written by `configure_environment`: a custom storage class is not told
        # the instance's home, and readers (benchmarks, scripts) may not set DAGSTER_HOME.
        return {"base_dir": Field(StringSource, is_required=True)}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: dict[str, Any]
    ) -> CachedEngineSqliteEventLogStorage:
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

        Dagster hands over batches only when `DAGSTER_EVENT_BATCH_SIZE` is set (our runner sets
        it): the planned events it writes when a run is created (one per asset and check, about
        1,100 for our graph) and the materializations of a multi-partition step. The batch is all
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
