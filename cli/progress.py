"""How `complaints run` shows a run's progress on stderr: on a terminal, one live line (Rich)
with every stage's count, and a line per step that ended printed above it; otherwise (a log, a
pipe, cron) only the plain line per step."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

from rich.console import Console
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text

if TYPE_CHECKING:
    from orchestration.lib.progress import Progress


class RunDisplay:
    """A context manager whose `update` is the runner's `watch` callback."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None) -> None:
        # Dagster captures each step's output by pointing file descriptors 1 and 2 elsewhere
        # while the step runs: a copy of stderr's descriptor keeps reaching the terminal (or
        # the pipe), and keeps telling Rich that it is one.
        self._own: TextIO | None = None
        if stream is None:
            # A stderr without a descriptor (an embedding program's, a test runner's) is
            # written to as it is.
            with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
                self._own = os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1)
        self._stream = stream or self._own or sys.stderr
        self._live_wanted = self._stream.isatty() if live is None else live
        self._lock = threading.Lock()
        self._console = Console(file=self._stream, highlight=False)
        self._spinner = Spinner("dots", text="starting")
        self._live: Live | None = None

    def __enter__(self) -> RunDisplay:
        if self._live_wanted:
            self._live = Live(
                self._spinner,
                console=self._console,
                refresh_per_second=8,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)
            self._live = None
        if self._own is not None:
            self._own.close()

    def say(self, line: str) -> None:
        """A line of its own (a recovery, a wait, an alert), above the live line if any."""
        with self._lock:
            if self._live is not None:
                self._console.print(Text(line))
            else:
                print(line, file=self._stream, flush=True)

    def update(self, progress: Progress, line: str | None) -> None:
        if line is not None:
            self.say(line)
        if self._live is not None:
            with self._lock:
                self._spinner.update(text=Text(progress.status()))
