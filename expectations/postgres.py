"""The Great Expectations gate on a PostgreSQL build schema (server mode, complaints/postgres.py).

The same suites (expectations/suites.py) and the same runner as on DuckDB: each suite is a query
asset of GX's PostgreSQL data source (`add_postgres`) over a table of the build schema, its
derived columns computed by the server, every expectation evaluated as SQL there. A failed
suite blocks publication exactly as on DuckDB.
"""

from __future__ import annotations

from pathlib import Path

from expectations.runner import GateTarget, SuiteResult, validate_target
from expectations.suites import SUITES

# A row's physical place (block, item) as one orderable number: failing rows in table order.
ROW_POSITION = "((ctid::text::point)[0]::bigint * 65536 + (ctid::text::point)[1]::bigint)"


def _sqlalchemy_url(dsn: str) -> str:
    """GX's PostgreSQL data source goes through SQLAlchemy with psycopg2 (installed with
    dbt-postgres); a libpq URL is already an SQLAlchemy URL for it."""
    if dsn.startswith("postgres://"):
        dsn = "postgresql://" + dsn[len("postgres://") :]
    return dsn


def postgres_target(dsn: str, schema: str) -> GateTarget:
    return GateTarget("postgres", _sqlalchemy_url(dsn), schema, ROW_POSITION)


def validate_schema(
    dsn: str, schema: str, warehouse_dir: Path | None = None, suite_names: list[str] | None = None
) -> dict[str, SuiteResult]:
    """Every suite (or those named) on the tables of `schema`; Data Docs built once at the end."""
    return validate_target(postgres_target(dsn, schema), suite_names or list(SUITES), warehouse_dir)
