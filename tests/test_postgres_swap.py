"""The server's swap against analysts' open transactions, with real sessions on the session's
PostgreSQL cluster (its own database, so no other test's publication is touched).

An analyst's transaction that has read one `marts` table and then reads another while a swap is
trying to get in must never be aborted (no `deadlock detected`): the swap takes its locks without
waiting, so it never holds a lock the analyst then waits on while itself waiting on the analyst.
It publishes once the analyst commits, or gives up clearly after its wait, `marts` unchanged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest

from complaints.postgres import MARTS, PREVIOUS, PostgresError, SwapPolicy, swap_in

pytestmark = pytest.mark.integration

# Alphabetical order matters to the fault: the swap's one LOCK statement takes the tables in name
# order, so `mart_department_scorecard` comes before `publication`, which the analyst holds.
TABLES = ("dim_extract", "fct_complaint_outcomes", "mart_department_scorecard", "publication")


def _publish(con: psycopg.Connection[Any], schema: str, publication_id: str) -> None:
    """A schema with the tables of a publication (one row each, naming it)."""
    con.execute(f"create schema {schema}")
    for table in TABLES:
        con.execute(f"create table {schema}.{table} (publication_id varchar)")
        con.execute(f"insert into {schema}.{table} values (%s)", [publication_id])


@pytest.fixture
def database(postgres_cluster: Any) -> Iterator[str]:
    """A fresh database with `marts` (publication A) and `marts_previous` (publication P)."""
    name = f"swap_{time.monotonic_ns()}"
    with psycopg.connect(postgres_cluster.dsn(), autocommit=True) as admin:
        admin.execute(f"create database {name}")
    dsn = postgres_cluster.dsn(db=name)
    with psycopg.connect(dsn, autocommit=True) as con:
        _publish(con, MARTS, "A")
        _publish(con, PREVIOUS, "P")
    yield dsn
    with psycopg.connect(postgres_cluster.dsn(), autocommit=True) as admin:
        admin.execute(f"drop database {name} with (force)")


@dataclass
class Analyst:
    """What one analyst's transaction read, and how it ended."""

    reads: list[tuple[str, str]] = field(default_factory=list)
    error: BaseException | None = None
    first_read: threading.Event = field(default_factory=threading.Event)
    committed_at: float = 0.0


def _analyst(dsn: str, analyst: Analyst, pause_s: float) -> None:
    """Read marts.publication, think for `pause_s`, read marts.mart_department_scorecard, commit."""
    try:
        with psycopg.connect(dsn) as con:
            for table in ("publication", "mart_department_scorecard"):
                row = con.execute(f"select publication_id from {MARTS}.{table}").fetchone()
                analyst.reads.append((table, str(row[0]) if row else ""))
                if table == "publication":
                    analyst.first_read.set()
                    time.sleep(pause_s)
            con.commit()
            analyst.committed_at = time.monotonic()
    except BaseException as exc:  # reported by the test, not lost in the thread
        analyst.error = exc
        analyst.first_read.set()


def _current(dsn: str, schema: str) -> str:
    with psycopg.connect(dsn) as con:
        row = con.execute(f"select publication_id from {schema}.publication").fetchone()
    return str(row[0]) if row else ""


def test_an_analysts_transaction_is_never_aborted_by_a_swap(database: str) -> None:
    """Two real sessions: the analyst reads one table, the swap starts, the analyst reads a second
    table a while later. The analyst's transaction sees publication A in both reads and commits;
    the swap, retried meanwhile, publishes B right after."""
    with psycopg.connect(database, autocommit=True) as owner:
        _publish(owner, "publish_b", "B")
    analyst = Analyst()
    thread = threading.Thread(target=_analyst, args=(database, analyst, 2.0))
    thread.start()
    assert analyst.first_read.wait(30)
    # PostgreSQL looks for deadlocks after deadlock_timeout (1 s): the analyst's second read
    # comes 2 s after the swap started, so a deadlock would be found and broken.
    with psycopg.connect(database) as con:
        attempts = swap_in(
            con,
            "publish_b",
            None,
            SwapPolicy(max_wait_s=60, max_pause_s=0.2, lock_timeout_ms=10_000),
        )
        swapped_at = time.monotonic()
    thread.join(30)
    assert analyst.error is None, repr(analyst.error)
    assert analyst.reads == [("publication", "A"), ("mart_department_scorecard", "A")]
    assert attempts > 1  # the swap waited for the analyst, attempt after attempt
    assert swapped_at >= analyst.committed_at > 0
    assert (_current(database, MARTS), _current(database, PREVIOUS)) == ("B", "A")


def test_a_swap_that_never_gets_its_locks_fails_clearly_and_changes_nothing(
    database: str,
) -> None:
    """An analyst's transaction outlasting the swap's whole wait: the swap gives up naming why,
    `marts` and `marts_previous` are as they were, and the analyst's transaction is intact."""
    with psycopg.connect(database, autocommit=True) as owner:
        _publish(owner, "publish_never", "N")
    with psycopg.connect(database) as analyst, psycopg.connect(database) as con:
        analyst.execute(f"select * from {MARTS}.publication").fetchall()
        started = time.monotonic()
        with pytest.raises(PostgresError, match="could not take the locks.*`marts` is unchanged"):
            swap_in(con, "publish_never", None, SwapPolicy(max_wait_s=1.5, max_pause_s=0.2))
        waited = time.monotonic() - started
        row = analyst.execute(f"select * from {MARTS}.mart_department_scorecard").fetchone()
        analyst.commit()
    assert row == ("A",)
    assert 1.0 <= waited < 10
    assert (_current(database, MARTS), _current(database, PREVIOUS)) == ("A", "P")
