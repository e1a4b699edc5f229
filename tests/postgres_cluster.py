"""A throwaway PostgreSQL cluster for tests and benchmarks: initdb + pg_ctl in a temporary folder,
on a free local port, run as the `postgres` OS user when we are root (initdb and pg_ctl refuse to
run as root). Debian's `postgresql` package provides the binaries; `make test` installs it
(scripts/system-packages)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

PG_BIN_DIRS = [Path("/usr/lib/postgresql/15/bin")]
SUPERUSER = "complaints_admin"


def find_bin_dir() -> Path | None:
    """Where initdb, pg_ctl and postgres are: $PG_BIN, Debian's folder, or the PATH."""
    # Debian installs each major version side by side; 15 first, else the newest there is.
    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name)
    candidates = [Path(p) for p in [os.environ.get("PG_BIN", "")] if p] + PG_BIN_DIRS
    candidates += [p for p in reversed(installed) if p.parent.name.isdigit()]
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresCluster:
    bin_dir: Path
    base: Path
    port: int
    as_postgres_user: bool

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    def dsn(self, user: str = SUPERUSER, password: str | None = None, db: str = "postgres") -> str:
        auth = f"{user}:{password}" if password else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{db}"

    def _cmd(self, *args: str) -> list[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres_user else []
        return [*prefix, *args]

    def _run(self, *args: str) -> None:
        result = subprocess.run(self._cmd(*args), capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {result.stdout}\n{result.stderr}")

    def start(self) -> None:
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
        )
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.base} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-o",
            options,
            "-l",
            str(self.base / "server.log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        try:
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


def start_cluster() -> PostgresCluster:
    """A running cluster (stop() stops it and removes its folder)."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) not found")
    as_root = os.geteuid() == 0
    base = Path(tempfile.mkdtemp(prefix="complaints-pg-"))
    if as_root:
        shutil.chown(base, "postgres", "postgres")
    cluster = PostgresCluster(bin_dir, base, free_port(), as_root)
    try:
        cluster.start()
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise
    return cluster
