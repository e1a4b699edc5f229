"""Older DuckDB clients in isolated virtual environments (created once, then reused), and what
each of them reads from a published file.

    python -m tests.duckdb_clients warehouse/marts.duckdb 0.10.2 0.10.3 1.0.0 1.4.*

prints, per version, whether it opens the file and reads every table (the versions docs/exports.md
names come from this).
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

# Runs inside the old client's interpreter: every table with its comment, columns (name, type,
# comment) and rows, as JSON. Values go through str() so any DuckDB version can print them.
READER = r"""
import json, sys
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
out = {"version": duckdb.__version__, "tables": {}}
for name, comment in con.execute(
    "select table_name, comment from duckdb_tables() where schema_name = 'main' order by 1"
).fetchall():
    columns = con.execute(
        "select column_name, data_type, comment from duckdb_columns() "
        "where schema_name = 'main' and table_name = ? order by column_index", [name]
    ).fetchall()
    rows = con.execute(f'select * from main."{name}"').fetchall()
    out["tables"][name] = {
        "comment": comment,
        "columns": [list(c) for c in columns],
        "rows": [[None if v is None else str(v) for v in row] for row in rows],
    }
print(json.dumps(out))
"""


def client_python(cache: Path, spec: str) -> Path:
    """The interpreter of a venv holding `duckdb==spec` (created under `cache` on first use)."""
    folder = cache / ("duckdb-" + spec.replace("*", "x"))
    python = folder / "bin" / "python"
    marker = folder / ".installed"
    if not marker.exists():
        # No pip of its own (ensurepip takes longer than the install): this interpreter's pip
        # installs into it.
        venv.EnvBuilder(with_pip=False, clear=True).create(folder)
        subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
            + ["--disable-pip-version-check", f"duckdb=={spec}"],
            check=True,
            timeout=600,
        )
        marker.write_text(spec)
    return python


def read_with(python: Path, database: Path) -> dict[str, Any]:
    """Everything the client at `python` reads from `database` (raises with its stderr)."""
    done = subprocess.run(
        [str(python), "-c", READER, str(database)], capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr else "failed")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def read_here(database: Path) -> dict[str, Any]:
    """The same reading with this interpreter's DuckDB (the one that wrote the file)."""
    done = subprocess.run(
        [sys.executable, "-c", READER, str(database)], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> None:
    database, *specs = sys.argv[1:]
    cache = Path(".pytest_cache") / "d" / "duckdb-clients"
    reference = read_here(Path(database))
    for spec in specs:
        try:
            seen = read_with(client_python(cache, spec), Path(database))
            same = seen["tables"] == reference["tables"]
            print(f"{spec:10} {seen['version']:8} opens: yes  every table identical: {same}")
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            print(f"{spec:10} opens: no   ({exc})")


if __name__ == "__main__":
    main()
