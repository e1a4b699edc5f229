"""Real filesystems for fault tests: a small tmpfs that fills up, a read-only bind mount.

Both need root (CAP_SYS_ADMIN). Root ignores file permissions, so a chmod'ed folder is no test
of an unwritable one there; a read-only bind mount refuses root too. Without the privilege the
test fails saying so (a test never skips a component it needs)."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _mount(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(
            f"cannot {what} ({' '.join(argv)}: {done.stderr.strip()}): this test needs root "
            "(CAP_SYS_ADMIN) to mount a real filesystem"
        )


def _unmount(path: Path) -> None:
    if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=True)


@contextlib.contextmanager
def tmpfs(path: Path, size_bytes: int) -> Iterator[Path]:
    """A tmpfs of `size_bytes` mounted on `path` (created), unmounted afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    _mount(["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(path)], "mount")
    try:
        yield path
    finally:
        _unmount(path)


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[Path]:
    """`path` (a folder) bind-mounted read-only onto itself: every write in it fails with
    EROFS, for root too."""
    _mount(["mount", "--bind", str(path), str(path)], "bind-mount")
    try:
        _mount(["mount", "-o", "remount,ro,bind", str(path)], "remount read-only")
        yield path
    finally:
        _unmount(path)


def free_bytes(path: Path) -> int:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def fill(folder: Path, leave: int = 0, name: str = ".filler") -> Path:
    """Take the free space of `folder`'s filesystem but `leave` bytes, in one file; returns it."""
    filler = folder / name
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        want = free_bytes(folder) - leave
        while want > 0:
            try:
                os.posix_fallocate(fd, os.fstat(fd).st_size, want)
                break
            except OSError as exc:  # someone else wrote meanwhile: take a little less
                if exc.errno != errno.ENOSPC:
                    raise
                want = min(want, free_bytes(folder) - leave) - 4096
    finally:
        os.close(fd)
    return filler
