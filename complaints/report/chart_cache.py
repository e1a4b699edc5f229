"""Rendered charts kept between reports, keyed by everything that shapes their SVG.

A report is rebuilt whole from every publication, and at many councils its charts are most of a
run; yet a publication that adds one council's extract leaves every other council's charts as
they were. A chart's SVG is a function of its Vega-Lite spec (data included), the id prefix it is
given, and the versions of altair's schema and vl-convert, so those are the key: an entry can
never be served for a chart that would render differently.

The cache is a folder beside the report. Each report build marks the entries it uses (a hit
touches the file, a miss writes it) and then removes every entry it did not use, so the folder
holds the charts of the latest report only. Writes go through a temporary file and a rename, and
a cache that cannot be read or written costs only the speed-up: the chart is rendered.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path

CACHE_DIR = ".report_charts"
SVG_SUFFIX = ".svg"
STARTED_MARKER = ".build_started"


def chart_key(spec: dict[str, object], prefix: str, versions: str) -> str:
    """The SHA-256 of the spec (keys sorted), the id prefix and the renderer's versions."""
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{versions}\n{prefix}\n{text}".encode()).hexdigest()


class ChartCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}{SVG_SUFFIX}"

    def get(self, key: str) -> str | None:
        path = self._path(key)
        try:
            svg = path.read_text(encoding="utf-8")
            os.utime(path)  # used by this build: kept by prune()
        except OSError:
            self.misses += 1
            return None
        if not svg.startswith("<svg"):
            self.misses += 1
            return None
        self.hits += 1
        return svg

    def put(self, key: str, svg: str) -> None:
        path = self._path(key)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(svg, encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            tmp.unlink(missing_ok=True)


def build_started(folder: Path) -> int:
    """The file-system time at which the build starting now began, from a marker file the
    build touches: an entry older than this was not used by it. (The file system's clock, not
    Python's: file times may lag `time.time()` by a clock tick.)"""
    marker = folder / STARTED_MARKER
    try:
        folder.mkdir(parents=True, exist_ok=True)
        marker.touch()
        return marker.stat().st_mtime_ns
    except OSError:
        return 0  # prune() then removes nothing


def prune(folder: Path, started: int) -> int:
    """Remove the entries (and leftover temporary files) not touched since `started`; returns
    how many were removed."""
    removed = 0
    for path in folder.glob("*/*"):
        try:
            if path.stat().st_mtime_ns < started:
                path.unlink()
                removed += 1
        except OSError:
            continue
    return removed
