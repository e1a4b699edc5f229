"""Open-format exports of one publication: every published table as Parquet, the analyst-facing
marts also as CSV, a JSON manifest and a `views.sql`, in one folder per publication.

A folder cannot be replaced atomically while the target exists, so each publication writes a new
folder `exports.versions/<publication_id>/` (complete and synced before anyone can see it) and
then `exports` (a relative symbolic link beside the published file) is switched to it with one
os.replace: a reader resolving `exports` gets one publication's folder, never a mix. The folder
the link pointed to before stays one more publication, so a reader that resolved it just before a
switch can finish; older folders are removed. A file removed while a reader holds it open stays
readable through that open handle (POSIX), and no file is ever rewritten in place.

No Dagster import here.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

EXPORTS_LINK = "exports"
VERSIONS_DIR = "exports.versions"
MANIFEST_NAME = "manifest.json"
VIEWS_NAME = "views.sql"
MANIFEST_FORMAT = 1
# Analyst-facing marts also go out as CSV (UTF-8, header, ISO dates); everything as Parquet.
CSV_PREFIXES = ("mart_",)


class ExportsError(Exception):
    """The exports cannot be written or switched; the previous exports are unchanged."""


def check_exports_link(warehouse: Path) -> None:
    """Refuse before anything is written if `exports` is something this project did not make."""
    link = warehouse / EXPORTS_LINK
    if link.exists() and not link.is_symlink():
        raise ExportsError(
            f"{link} is a real folder or file, not the link to the current exports that "
            "publication maintains: move it away and publish again"
        )


def current_exports(warehouse: Path) -> Path | None:
    """The folder `exports` points to now (resolved once: read every file from it)."""
    link = warehouse / EXPORTS_LINK
    return link.resolve() if link.is_symlink() and link.exists() else None


def read_manifest(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    return data


def write_exports(
    database: Path, warehouse: Path, header: Mapping[str, object]
) -> tuple[Path, dict[str, Any]]:
    """Export every table of `database` into a new, synced version folder; return it and its
    manifest. Nothing that readers see changes here (see `swap_exports`)."""
    versions = warehouse / VERSIONS_DIR
    versions.mkdir(parents=True, exist_ok=True)
    _remove_partials(versions)
    publication_id = str(header["publication_id"])
    final = versions / publication_id
    partial = versions / f".{publication_id}.partial"
    if final.exists():
        raise ExportsError(f"{final} exists already: publication ids must be new")
    try:
        partial.mkdir()
        with duckdb.connect(str(database), read_only=True) as con:
            tables = [_export_table(con, table, partial, publication_id) for table in _tables(con)]
        manifest: dict[str, Any] = {"manifest_format": MANIFEST_FORMAT, **header, "tables": tables}
        (partial / MANIFEST_NAME).write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        (partial / VIEWS_NAME).write_text(views_sql(manifest), encoding="utf-8")
        for path in partial.iterdir():
            fsync_path(path)
        fsync_path(partial)
        os.rename(partial, final)
        fsync_path(versions)
    except (OSError, duckdb.Error) as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise ExportsError(f"cannot write the exports in {versions}: {exc}") from exc
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final, manifest


def swap_exports(warehouse: Path, version: Path) -> Path:
    """Point `exports` at `version` in one rename; keep the folder it pointed to before, remove
    every other version folder. Returns the link."""
    link = warehouse / EXPORTS_LINK
    previous = link.resolve() if link.is_symlink() else None
    tmp = warehouse / f".{EXPORTS_LINK}.{uuid.uuid4().hex}.tmp"
    os.symlink(os.path.relpath(version, warehouse), tmp)
    try:
        os.replace(tmp, link)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ExportsError(f"cannot switch {link} to {version}: {exc}") from exc
    fsync_path(warehouse)
    keep = {version.resolve(), previous}
    for folder in version.parent.iterdir():
        if folder.is_dir() and not folder.name.startswith(".") and folder.resolve() not in keep:
            shutil.rmtree(folder, ignore_errors=True)
    return link


def _remove_partials(versions: Path) -> None:
    """Folders a killed publication left behind: never linked, so nobody reads them."""
    for folder in versions.glob(".*.partial"):
        shutil.rmtree(folder, ignore_errors=True)


def _tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "select table_name from duckdb_tables() where schema_name = 'main' order by table_name"
    ).fetchall()
    return [r[0] for r in rows]


def _export_table(
    con: duckdb.DuckDBPyConnection, table: str, folder: Path, publication_id: str
) -> dict[str, Any]:
    comment = con.execute(
        "select comment from duckdb_tables() where schema_name = 'main' and table_name = ?",
        [table],
    ).fetchone()
    columns = [
        {"name": name, "type": data_type, "description": text}
        for name, data_type, text in con.execute(
            "select column_name, data_type, comment from duckdb_columns() "
            "where schema_name = 'main' and table_name = ? order by column_index",
            [table],
        ).fetchall()
    ]
    count = con.execute(f'select count(*) from main."{table}"').fetchone()
    files: dict[str, dict[str, object]] = {}
    parquet = folder / f"{table}.parquet"
    # The publication id also rides in each Parquet file's key-value metadata, so a reader
    # holding files from one folder can prove they belong together.
    con.execute(
        f'copy (select * from main."{table}") to {sql_literal(str(parquet))} '
        f"(format parquet, kv_metadata {{publication_id: {sql_literal(publication_id)}}})"
    )
    files["parquet"] = _file_entry(parquet)
    if table.startswith(CSV_PREFIXES):
        csv = folder / f"{table}.csv"
        con.execute(
            f"copy (select {csv_select_list(columns)} from main.{quote_identifier(table)}) "
            f"to {sql_literal(str(csv))} "
            "(format csv, header true, delimiter ',', quote '\"', dateformat '%Y-%m-%d')"
        )
        files["csv"] = _file_entry(csv)
    return {
        "name": table,
        "description": comment[0] if comment else None,
        "rows": int(count[0]) if count else 0,
        "columns": columns,
        "files": files,
    }


# A spreadsheet opening a CSV file reads a cell starting with one of these as a formula (which
# can run commands or leak data): such text cells get a leading apostrophe in the CSV exports
# (OWASP's CSV injection rule). Parquet and the database keep the exact text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Column types whose values are numbers, truth values or times: never text, never neutralised
# (a negative number stays a number).
_NOT_TEXT = re.compile(
    r"(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT"
    r"|VARINT|BIGNUM|FLOAT|DOUBLE|DECIMAL\(\d+,\d+\)|BOOLEAN|DATE|TIME|TIME_NS"
    r"|TIMESTAMP|TIMESTAMP_S|TIMESTAMP_MS|TIMESTAMP_NS|TIMESTAMP WITH TIME ZONE"
    r"|TIME WITH TIME ZONE|INTERVAL|UUID)"
)


def neutralise_formula(text: str) -> str:
    """The text a CSV export holds for a text cell (see FORMULA_TRIGGERS)."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def csv_select_list(columns: list[dict[str, Any]]) -> str:
    """Select list for a CSV export: every column that can hold text (VARCHAR, JSON, ENUM,
    BLOB, nested types) as text with neutralise_formula applied in SQL, the others as they are."""
    triggers = ", ".join(sql_literal(t) for t in FORMULA_TRIGGERS)
    items = []
    for column in columns:
        name = quote_identifier(str(column["name"]))
        if _NOT_TEXT.fullmatch(str(column["type"])):
            items.append(name)
        else:
            text = f"cast({name} as varchar)"
            items.append(
                f"case when left({text}, 1) in ({triggers}) then {sql_literal(chr(39))} || "
                f"{text} else {text} end as {name}"
            )
    return ", ".join(items)


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _file_entry(path: Path) -> dict[str, object]:
    with path.open("rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    return {"path": path.name, "bytes": path.stat().st_size, "sha256": digest}


def views_sql(manifest: Mapping[str, Any]) -> str:
    """One view per table over its Parquet file, with paths relative to the folder (run it from
    there, or set DuckDB's file_search_path to it)."""
    lines = [
        f"-- Views over the Parquet files of publication {manifest['publication_id']}.",
        "-- Run from this folder: duckdb -init views.sql   (or SET file_search_path to it first)",
    ]
    for table in manifest["tables"]:
        path = table["files"]["parquet"]["path"]
        lines.append(
            f'create or replace view "{table["name"]}" as select * from read_parquet({sql_literal(path)});'
        )
    return "\n".join(lines) + "\n"


def sql_literal(text: str) -> str:
    """A SQL string literal (COMMENT ON, ATTACH and COPY take no parameters)."""
    return "'" + text.replace("'", "''") + "'"


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
