"""Keep the build database's file the size of what it holds.

Every run rebuilds dbt's tables: dbt-duckdb writes each new table beside the old one and then
drops the old one. DuckDB keeps the dropped table's blocks in its file as free blocks and reuses
them for later writes, but it gives them back to the filesystem only when they are at the end of
the file; neither CHECKPOINT nor VACUUM moves data to close the holes. So a rebuilt build
database holds its data and, beside it, roughly one more copy's worth of free blocks; the raw
tables' replaced rows add their own.

After dbt, when the free blocks are more than `MAX_FREE_FRACTION` of the file, the database is
copied into a fresh file (`COPY FROM DATABASE`: every schema, table, view and comment, no free
block) that then replaces it with one os.replace. A kill during the copy leaves the old file
whole, and the copy's temporary file is removed by the next compaction. The caller must hold the
build database alone (a run's dbt step does: the `build_db_writer` pool).

No Dagster import here.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from complaints.exports import fsync_path, sql_literal

# A rebuilt file is about half free blocks; a fresh copy has none. Compacting above a quarter
# keeps the file within a third more than its data, at the cost of one copy of the database.
MAX_FREE_FRACTION = 0.25


@dataclass(frozen=True)
class BlockUsage:
    total_blocks: int
    free_blocks: int
    block_size: int

    @property
    def free_fraction(self) -> float:
        return self.free_blocks / self.total_blocks if self.total_blocks else 0.0


@dataclass(frozen=True)
class Compaction:
    before_bytes: int
    after_bytes: int
    before: BlockUsage
    after: BlockUsage


def block_usage(con: duckdb.DuckDBPyConnection, catalog: str | None = None) -> BlockUsage:
    """`pragma database_size` of a catalog of `con` (its default one without `catalog`)."""
    if catalog is None:
        current = con.execute("select current_database()").fetchone()
        catalog = str(current[0]) if current else ""
    row = con.execute(
        "select total_blocks, free_blocks, block_size from pragma_database_size() "
        "where database_name = ?",
        [catalog],
    ).fetchone()
    if row is None:
        raise ValueError(f"no database {catalog!r} attached")
    return BlockUsage(int(row[0]), int(row[1]), int(row[2]))


def usage_of(path: Path) -> BlockUsage:
    with duckdb.connect(str(path), read_only=True) as con:
        return block_usage(con)


def _temporaries(path: Path) -> list[Path]:
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.[0-9a-f]{{32}}\.compact(\.wal)?$")
    return [p for p in path.parent.iterdir() if pattern.match(p.name)]


def compact(path: Path, max_free_fraction: float = MAX_FREE_FRACTION) -> Compaction | None:
    """Copy the database at `path` into a fresh file and swap it in when more than
    `max_free_fraction` of its blocks are free; None when it was not needed (or no file)."""
    if not path.is_file():
        return None
    for leftover in _temporaries(path):
        leftover.unlink(missing_ok=True)
    # A write connection first: it replays a write-ahead log into the file and checkpoints, so
    # the copy below reads everything and no log is left to pair with the new file.
    with duckdb.connect(str(path)) as con:
        con.execute("checkpoint")
        before = block_usage(con)
    if before.free_fraction <= max_free_fraction or Path(f"{path}.wal").exists():
        return None
    before_bytes = path.stat().st_size
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.compact")
    try:
        with duckdb.connect() as con:
            con.execute(f"attach {sql_literal(str(path))} as old (read_only)")
            con.execute(f"attach {sql_literal(str(tmp))} as new")
            con.execute("copy from database old to new")
            con.execute("checkpoint new")
            after = block_usage(con, "new")
            con.execute("detach new")
            con.execute("detach old")
        fsync_path(tmp)
        os.replace(tmp, path)
        fsync_path(path.parent)
    finally:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
    return Compaction(before_bytes, path.stat().st_size, before, after)
