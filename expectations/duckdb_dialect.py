"""The SQLAlchemy dialect GX's SQL data source uses for the DuckDB build database.

duckdb_engine's DuckDB connection is its own cursor: SQLAlchemy rolls back the transaction it
began when GX's `execute_query` returns the connection, and that drops the result set GX reads
next (every metric then fails with an empty result). This dialect buffers each result as it is
executed. GX's queries return aggregates or rows bounded by `partial_unexpected_count`, so the
buffer never holds a table. It is registered as `duckdb+gate://` and keeps the dialect name
`duckdb`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb_engine
from sqlalchemy.dialects import registry

URL_SCHEME = "duckdb+gate"
# DuckDB runs in the gate's process: without a limit its buffer pool may take 80 % of RAM for
# large tables; above the limit it spills to a temporary folder beside the build database.
MEMORY_LIMIT = "256MB"


class _BufferedCursor:
    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor
        self._rows: list[Any] = []
        self.description: Sequence[Any] | None = None

    def execute(self, statement: str, parameters: Any = None, context: Any = None) -> None:
        self._cursor.execute(statement, parameters, context)
        self.description = self._cursor.description
        self._rows = list(self._cursor.fetchall()) if self.description else []

    def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        size = size or 1
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    def close(self) -> None:
        self._rows = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class _Connection:
    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def cursor(self) -> _BufferedCursor:
        return _BufferedCursor(self._connection.cursor())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


class BufferedDuckDBDialect(duckdb_engine.Dialect):
    driver = "gate"
    supports_statement_cache = False

    def connect(self, *cargs: Any, **cparams: Any) -> Any:
        return _Connection(super().connect(*cargs, **cparams))


def register() -> None:
    """Make `duckdb+gate://` known to SQLAlchemy in this process (idempotent)."""
    registry.register("duckdb.gate", __name__, "BufferedDuckDBDialect")


def read_only_url(path: str) -> str:
    """A read-only URL: the gate never takes DuckDB's single writer lock."""
    return f"{URL_SCHEME}:///{path}?access_mode=read_only&memory_limit={MEMORY_LIMIT}"
