"""`complaints-dbt`: the dbt executable the pipeline's dbt resource starts.

Before every build, dagster-dbt asks its dbt executable for its version (`dbt --version`, to tell
dbt Core from the Fusion engine). dbt loads its whole command line to answer: a process of its
own before every build (docs/DECISIONS.md, "Speed-ups and what each earns"). The answer is the version of the dbt-core distribution installed beside this
interpreter, which its package metadata gives without loading dbt. Every other invocation is
dbt itself: this process becomes it (exec), with the same arguments and environment.

`--complaints-workdir DIR` (anywhere among the arguments, removed before dbt sees them) runs dbt
in DIR. dagster-dbt always starts dbt in the project folder; the pipeline starts it in the
warehouse folder instead, where the profile's relative `build.duckdb` is that warehouse's build
database. So every warehouse has the same profile, and dbt reuses the parse of the project
(partial parsing) instead of parsing it again for each run: dbt parses again whenever the
rendered profile differs (docs/DECISIONS.md, "Speed-ups and what each earns").

Deliberately light: nothing from the rest of the package is imported here.
"""

from __future__ import annotations

import os
import shutil
import sys
from importlib.metadata import version
from pathlib import Path


def beside_interpreter(name: str) -> str | None:
    """The executable `name` in this interpreter's folder (the venv's bin/), if it is there."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else None


def real_dbt() -> str:
    """dbt next to this interpreter (the venv), else on PATH."""
    return beside_interpreter("dbt") or shutil.which("dbt") or "dbt"


def version_text() -> str:
    """What `dbt --version` prints first, in its own words (dagster-dbt reads the number)."""
    return f"Core:\n  - installed: {version('dbt-core')}"


WORKDIR_FLAG = "--complaints-workdir"


def split_workdir(args: list[str]) -> tuple[str | None, list[str]]:
    """The folder `--complaints-workdir` names (None without it) and the arguments for dbt."""
    if WORKDIR_FLAG not in args:
        return None, args
    at = args.index(WORKDIR_FLAG)
    if at + 1 == len(args):
        raise SystemExit(f"complaints-dbt: {WORKDIR_FLAG} needs a folder")
    return args[at + 1], args[:at] + args[at + 2 :]


def main() -> None:
    workdir, args = split_workdir(sys.argv[1:])
    if args == ["--version"]:
        print(version_text())
        return
    if workdir is not None:
        os.chdir(workdir)
    dbt = real_dbt()
    os.execv(dbt, [dbt, *args])


if __name__ == "__main__":
    main()
