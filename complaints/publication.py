"""Write-audit-publish, the publishing half: build the analysts' file and its open-format exports
from the build database, then swap both in. No Dagster import: the asset, scripts and tests call
`publish` the same way.

The published file is written with `STORAGE_VERSION` so that DuckDB 1.x clients (and 0.10.3) open
it; DuckDB 2.0's default format is one they cannot read. It carries three publication tables
saying what this publication is: `publication` (one row), `publication_extracts` (one row per
extract it was built from) and `publication_waivers` (one row per reviewed waiver it applied).
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from complaints.exports import (
    VERSIONS_DIR,
    ExportsError,
    check_exports_link,
    fsync_path,
    sql_literal,
    swap_exports,
    write_exports,
)
from complaints.exports import (
    read_manifest as read_exports_manifest,
)

# The storage format of the published file: 'v1.0.0' is the oldest DuckDB 2.0 can write, and
# DuckDB 0.10.3 and every 1.x read it, table and column comments included (docs/exports.md,
# "Published database"). tests/test_published_file.py opens it with a DuckDB 1.4 and a 0.10.3 reader.
STORAGE_VERSION = "v1.0.0"
# A checkout's root (its git commit is recorded); an installed package has no .git there.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
OLDEST_READER = "0.10.3"

PUBLISHED_PREFIXES = ("dim_", "fct_", "mart_")
PUBLICATION_TABLES = ("publication", "publication_extracts", "publication_waivers")

# Distribution name -> column of `publication` holding its version.
LIBRARIES: dict[str, str] = {
    "duckdb": "duckdb_version",
    "dagster": "dagster_version",
    "dagster-dbt": "dagster_dbt_version",
    "dbt-core": "dbt_core_version",
    "dbt-duckdb": "dbt_duckdb_version",
    "great-expectations": "great_expectations_version",
    "pandas": "pandas_version",
}


class PublicationError(Exception):
    """Publishing cannot start or finish; nothing published before was changed."""


@dataclass(frozen=True)
class Publication:
    """Who and what one publication is; stored as the `publication` row."""

    publication_id: str
    run_id: str | None
    published_at: datetime
    project_version: str | None
    git_commit: str | None
    git_dirty: bool | None
    python_version: str
    libraries: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class PublishResult:
    publication: Publication
    rows: dict[str, int]
    exports_dir: Path
    exports_version: Path
    manifest: dict[str, object]


def new_publication(run_id: str | None, now: datetime | None = None) -> Publication:
    """A fresh publication id: the UTC time (sortable) and 8 random hex digits (unique)."""
    published_at = (now or datetime.now(UTC)).astimezone(UTC)
    commit, dirty = _git_state()
    return Publication(
        publication_id=f"{published_at:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}",
        run_id=run_id,
        published_at=published_at,
        project_version=_version("complaints-warehouse"),
        git_commit=commit,
        git_dirty=dirty,
        python_version=platform.python_version(),
        libraries={name: _version(name) for name in LIBRARIES},
    )


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git_state() -> tuple[str | None, bool | None]:
    """The checkout's commit and whether tracked files differ from it; (None, None) when the code
    does not run from a git checkout (an installed wheel) or git is missing."""
    if not (PROJECT_ROOT / ".git").exists():
        return None, None
    try:
        commit = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit or None, bool(status.strip())


def published_tables(con: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    rows = con.execute(
        "select table_name from duckdb_tables() where database_name = ? and schema_name = 'main' "
        "order by table_name",
        [catalog],
    ).fetchall()
    return [r[0] for r in rows if r[0].startswith(PUBLISHED_PREFIXES)]


def publish(build_db: Path, published_db: Path, run_id: str | None = None) -> PublishResult:
    """Build the new file and its exports beside the published one, then swap both in.

    Order: the new database file is written and synced; the exports are written from that very
    file into a new version folder and synced; then the file replaces the published one
    (os.replace) and the `exports` link is switched to the new folder (os.replace of a link).
    Any failure before the swaps leaves the previous file and exports untouched.
    """
    publication = new_publication(run_id)
    return publish_snapshot(
        lambda tmp: _write_database(build_db, tmp, publication), published_db, publication
    )


def publish_snapshot(
    write: Callable[[Path], dict[str, int]],
    published_db: Path,
    publication: Publication | None = None,
) -> PublishResult:
    """`publish` for any writer of the new file: `write(path)` creates the database at `path`
    (its publication tables included) and returns rows per table; the exports and both swaps are
    `publish`'s. Without `publication`, the exports' header is read from the file written (the
    server's copy of its published schema, complaints/postgres.py)."""
    warehouse = published_db.parent
    tmp = published_db.with_name(f".{published_db.name}.{uuid.uuid4().hex}.tmp")
    try:
        check_exports_link(warehouse)
        rows = write(tmp)
        fsync_path(tmp)
        if publication is None:
            publication = _publication_of(tmp)
            kept = warehouse / VERSIONS_DIR / publication.publication_id
            if kept.is_dir():
                # A publication made current again (a rollback): its exports folder, complete
                # and synced when it was written, is still there; it is linked again as it is.
                version, manifest = kept, read_exports_manifest(kept)
            else:
                version, manifest = write_exports(tmp, warehouse, _manifest_header(publication))
        else:
            version, manifest = write_exports(tmp, warehouse, _manifest_header(publication))
        os.replace(tmp, published_db)
        fsync_path(warehouse)
        link = swap_exports(warehouse, version)
    except ExportsError as exc:
        raise PublicationError(str(exc)) from exc
    finally:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
    return PublishResult(
        publication=publication,
        rows=rows,
        exports_dir=link,
        exports_version=version,
        manifest=manifest,
    )


def _publication_of(database: Path) -> Publication:
    with duckdb.connect(str(database), read_only=True) as con:
        row = read_publication(con)
    published_at = row["published_at"]
    assert isinstance(published_at, datetime)
    return Publication(
        publication_id=str(row["publication_id"]),
        run_id=None if row["run_id"] is None else str(row["run_id"]),
        published_at=published_at.replace(tzinfo=UTC),
        project_version=None if row["project_version"] is None else str(row["project_version"]),
        git_commit=None if row["git_commit"] is None else str(row["git_commit"]),
        git_dirty=None if row["git_dirty"] is None else bool(row["git_dirty"]),
        python_version=str(row["python_version"]),
    )


def _manifest_header(publication: Publication) -> dict[str, object]:
    return {
        "publication_id": publication.publication_id,
        "published_at": publication.published_at.isoformat().replace("+00:00", "Z"),
        "run_id": publication.run_id,
        "project_version": publication.project_version,
        "git_commit": publication.git_commit,
        "storage_version": STORAGE_VERSION,
    }


def _write_database(build_db: Path, target: Path, publication: Publication) -> dict[str, int]:
    """Copy every published table with its comments, add the publication tables, checkpoint."""
    counts: dict[str, int] = {}
    with duckdb.connect() as con:
        con.execute(
            f"attach {sql_literal(str(target))} as pub (storage_version {sql_literal(STORAGE_VERSION)})"
        )
        con.execute(f"attach {sql_literal(str(build_db))} as build (read_only)")
        # One transaction: hundreds of CREATE and COMMENT statements, one write-ahead-log flush
        # (autocommitted, each would sync the log on its own).
        con.execute("begin transaction")
        for table in published_tables(con, "build"):
            _copy_table(con, table)
        _write_publication_tables(con, publication)
        for table in [*published_tables(con, "pub"), *PUBLICATION_TABLES]:
            counts[table] = _count(con, f'pub.main."{table}"')
        con.execute("commit")
        con.execute("detach build")
        con.execute("checkpoint pub")
        con.execute("detach pub")
    return counts


def _count(con: duckdb.DuckDBPyConnection, relation: str) -> int:
    row = con.execute(f"select count(*) from {relation}").fetchone()
    return int(row[0]) if row else 0


def _copy_table(con: duckdb.DuckDBPyConnection, table: str) -> None:
    columns = con.execute(
        "select column_name, comment from duckdb_columns() "
        "where database_name = 'build' and schema_name = 'main' and table_name = ? "
        "order by column_index",
        [table],
    ).fetchall()
    order = ", ".join(f'"{c}"' for c, _ in columns)
    # Deterministic row order: re-running with nothing changed gives the same table.
    con.execute(
        f'create table pub.main."{table}" as select * from build.main."{table}" order by {order}'
    )
    comment = con.execute(
        "select comment from duckdb_tables() where database_name = 'build' "
        "and schema_name = 'main' and table_name = ?",
        [table],
    ).fetchone()
    if comment and comment[0]:
        con.execute(f'comment on table pub.main."{table}" is {sql_literal(comment[0])}')
    for column, text in columns:
        if text:
            con.execute(f'comment on column pub.main."{table}"."{column}" is {sql_literal(text)}')


CREATE_PUBLICATION = """
create table pub.main.publication (
    publication_id varchar not null,
    run_id varchar,
    published_at timestamp not null,
    project_version varchar,
    git_commit varchar,
    git_dirty boolean,
    storage_version varchar not null,
    python_version varchar not null,
    {library_columns},
    extract_count integer not null,
    waiver_count integer not null
)
"""
CREATE_EXTRACTS = """
create table pub.main.publication_extracts as
    select ?::varchar as publication_id, extract_id, council, period, kind, source_path,
           source_sha256 as sha256, source_url, title
    from build.main.dim_extract
    order by extract_id
"""
# recon_waivers lists every reviewed waiver; `matched` ones were applied to a control total.
CREATE_WAIVERS = """
create table pub.main.publication_waivers as
    select ?::varchar as publication_id, waiver_id, extract_id, level, scope, measure, stated,
           computed, reason, reviewed_by, reviewed_on
    from build.main.recon_waivers
    where matched
    order by waiver_id
"""

PUBLICATION_COMMENTS: dict[str, tuple[str, dict[str, str]]] = {
    "publication": (
        "This publication (one row): its id, the Dagster run that published it, when (UTC), the "
        "code and library versions that built it. The same id is in exports/manifest.json.",
        {
            "publication_id": "Publication id: UTC time of publication and 8 random hex digits.",
            "run_id": "The Dagster run that published this file (NULL outside Dagster).",
            "published_at": (
                "When this file was published, in UTC (a plain TIMESTAMP, so every client shows "
                "the same value whatever its time zone)."
            ),
            "project_version": "Version of the complaints-warehouse package that built it.",
            "git_commit": "Git commit of the code that built it, when run from a checkout.",
            "git_dirty": "True when tracked files differed from that commit (NULL if unknown).",
            "storage_version": "DuckDB storage version of this file (readable by DuckDB 0.10.3+).",
            "python_version": "Python version that built it.",
            "extract_count": "Extracts this publication was built from (publication_extracts).",
            "waiver_count": "Reviewed waivers applied (publication_waivers).",
            **{col: f"Version of {name} that built it." for name, col in LIBRARIES.items()},
        },
    ),
    "publication_extracts": (
        "One row per extract this publication was built from: its manifest id, council, period, "
        "layout and the SHA-256 of the file as loaded.",
        {
            "publication_id": "The publication (publication.publication_id).",
            "extract_id": "Manifest id of the extract (the Dagster partition key).",
            "council": "Council the extract reports on.",
            "period": "Reporting period, e.g. 2019/20.",
            "kind": "Layout: root_cause_summary (Appendix C) or outcome_matrix (Appendix 1).",
            "source_path": "Path of the file inside the landing folder.",
            "sha256": "SHA-256 of the extract file's bytes as loaded.",
            "source_url": "Where the extract came from, when the manifest says.",
            "title": "Title line of the extract.",
        },
    ),
    "publication_waivers": (
        "One row per reviewed waiver (expectations/waivers.yml) this publication applied: the "
        "control total it accepts, exactly, and why.",
        {
            "publication_id": "The publication (publication.publication_id).",
            "waiver_id": "Waiver id in expectations/waivers.yml.",
            "extract_id": "Extract whose control total is waived.",
            "level": "Control-total level (e.g. grand_total).",
            "scope": "Scope of the control total as written (e.g. Grand Total).",
            "measure": "Measure of the control total (e.g. upheld).",
            "stated": "Value stated in the source.",
            "computed": "Value computed from the rows it covers.",
            "reason": "Why the discrepancy is accepted.",
            "reviewed_by": "Who reviewed it.",
            "reviewed_on": "When it was reviewed.",
        },
    ),
}


def publication_values(
    publication: Publication, storage_version: str, extract_count: int, waiver_count: int
) -> list[object]:
    """The `publication` row, in CREATE_PUBLICATION's column order (the file's and the server's)."""
    return [
        publication.publication_id,
        publication.run_id,
        publication.published_at.replace(tzinfo=None),
        publication.project_version,
        publication.git_commit,
        publication.git_dirty,
        storage_version,
        publication.python_version,
        *(publication.libraries.get(name) for name in LIBRARIES),
        extract_count,
        waiver_count,
    ]


def _write_publication_tables(con: duckdb.DuckDBPyConnection, publication: Publication) -> None:
    library_columns = ",\n    ".join(f"{col} varchar" for col in LIBRARIES.values())
    con.execute(CREATE_PUBLICATION.format(library_columns=library_columns))
    con.execute(CREATE_EXTRACTS, [publication.publication_id])
    con.execute(CREATE_WAIVERS, [publication.publication_id])
    extract_count = _count(con, "pub.main.publication_extracts")
    waiver_count = _count(con, "pub.main.publication_waivers")
    values = publication_values(publication, STORAGE_VERSION, extract_count, waiver_count)
    con.execute(
        f"insert into pub.main.publication values ({', '.join('?' for _ in values)})", values
    )
    for table, (text, columns) in PUBLICATION_COMMENTS.items():
        con.execute(f"comment on table pub.main.{table} is {sql_literal(text)}")
        for column, comment in columns.items():
            con.execute(f"comment on column pub.main.{table}.{column} is {sql_literal(comment)}")


def read_publication(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    """The `publication` row of an open published file, as a dict."""
    cur = con.execute("select * from publication")
    names = [d[0] for d in cur.description or []]
    row = cur.fetchone()
    if row is None:
        raise PublicationError("the published file has an empty publication table")
    return dict(zip(names, row, strict=True))
