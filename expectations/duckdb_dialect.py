"""The SQLAlchemy dialect GX's SQL data source uses for the DuckDB build database.

duckdb_sqlalchemy (the maintained fork of duckdb_engine) opens a DuckDB transaction for every
SQLAlchemy one: when GX's `execute_query` returns the connection, SQLAlchemy rolls that
transaction back, and the rollback closes the result set GX reads next (every metric then fails
with an empty result; tests/test_gate_suites.py fails without this dialect). The gate only reads, through a read-only connection, so this dialect leaves
DuckDB in autocommit and makes begin, commit and rollback no-ops: a result stays readable after
the connection is returned, and stays a DuckDB stream (GX runs a query asset's query unlimited to
learn its columns; a buffer would hold the whole table). Registered as `duckdb+gate://`; the
dialect name stays `duckdb`.
"""

from __future__ import annotations

from typing import Any

import duckdb_sqlalchemy
from sqlalchemy.dialects import registry

URL_SCHEME = "duckdb+gate"
# DuckDB runs in the gate's process: without a limit its buffer pool may take 80 % of RAM for
# large tables; above the limit it spills to a temporary folder beside the build database.
MEMORY_LIMIT = "256MB"


class ReadOnlyDuckDBDialect(duckdb_sqlalchemy.Dialect):
    driver = "gate"
    supports_statement_cache = False

    def do_begin(self, dbapi_connection: Any) -> None:
        pass

    def do_commit(self, dbapi_connection: Any) -> None:
        pass

    def do_rollback(self, dbapi_connection: Any) -> None:
        pass


def register() -> None:
    """Make `duckdb+gate://` known to SQLAlchemy in this process (idempotent)."""
    registry.register("duckdb.gate", __name__, "ReadOnlyDuckDBDialect")


def read_only_url(path: str) -> str:
    """A read-only URL: the gate never takes DuckDB's single writer lock."""
    return f"{URL_SCHEME}:///{path}?access_mode=read_only&memory_limit={MEMORY_LIMIT}"
