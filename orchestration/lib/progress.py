"""Live progress of an in-process run, read from the instance's event log by a thread while the
run executes (the events Dagster writes anyway, so nothing in the assets changes for it): the
extracts parsed, the dbt models and tests done out of their totals, the gate's suites, the
publication and the report. The CLI renders it (cli/progress.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    Definitions,
)

from orchestration.defs.ingest.assets import PARSED_PREFIX

PUBLISHED = AssetKey("published_marts")
REPORT = AssetKey("analysts_report")
WAIVERS_CHECK = "waivers_not_stale"
POLL_SECONDS = 0.25


@dataclass
class Totals:
    """What the run will do, from the definitions."""

    extracts: int
    models: frozenset[AssetKey]
    tests: int
    suites: int

    @classmethod
    def of(cls, defs: Definitions, extracts: int) -> Totals:
        graph = defs.resolve_asset_graph()
        models = frozenset(
            k for k in graph.materializable_asset_keys if "dbt" in graph.get(k).kinds
        )
        checks = list(graph.asset_check_keys)
        suites = sum(1 for c in checks if c.name.startswith("gx_"))
        tests = sum(1 for c in checks if c.asset_key in models and _is_dbt_test(c.name))
        return cls(extracts, models, tests, suites)


def _is_dbt_test(check_name: str) -> bool:
    return not check_name.startswith("gx_") and check_name != WAIVERS_CHECK


@dataclass
class Progress:
    totals: Totals
    started: float = field(default_factory=time.monotonic)
    parsed: int = 0
    models: int = 0
    tests: int = 0
    tests_failed: int = 0
    tests_warned: int = 0
    """Warning-severity tests that did not pass: they never block, so never called failed."""
    suites: int = 0
    suites_failed: int = 0
    waivers_check: str = ""
    """The waivers check's outcome once evaluated (the gate's last suite, a step of its own):
    `passed`, or `warning` or `failed` with its description."""
    # While dbt runs, its own log says what finished (the dbt step hands its events to Dagster
    # only once dbt has exited): the live counts until Dagster's arrive.
    dbt_log_models: int = 0
    dbt_log_tests: int = 0
    published: bool = False
    report: bool = False
    step: str = "starting"
    failed_steps: list[str] = field(default_factory=list)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def status(self) -> str:
        """One line: every stage's count so far (the live line on a terminal)."""
        t = self.totals
        models = min(max(self.models, self.dbt_log_models), len(t.models))
        tests = min(max(self.tests, self.dbt_log_tests), t.tests)
        parts = [
            f"extracts {self.parsed}/{t.extracts}",
            f"dbt models {models}/{len(t.models)}",
            f"tests {tests}/{t.tests}",
            f"gate {self.suites}/{t.suites}",
            f"publication {'done' if self.published else '-'}",
            f"report {'done' if self.report else '-'}",
        ]
        return " | ".join(parts) + f" ({self.step}, {self.elapsed:.0f} s)"


# The steps of the refresh job and what their line says when they end.
STAGES = {
    "extract_registry": "extract registry",
    "reviewed_waivers": "waivers",
    "raw_extracts": "extracts",
    "complaints_dbt_models": "dbt",
    "great_expectations_gate": "gate",
    "recon_waivers_waivers_not_stale": "waivers check",
    "published_marts": "publication",
    "analysts_report": "report",
}


def _outcome(check: AssetCheckEvaluation) -> str:
    """`passed`, or `warning`/`failed` (by the check's severity) with its description."""
    if check.passed:
        return "passed"
    kind = "warning" if check.severity == AssetCheckSeverity.WARN else "failed"
    return f"{kind} ({check.description or 'no description'})"


def step_line(progress: Progress, step: str, outcome: str, where: dict[str, str]) -> str:
    """The plain line for a step that ended (`outcome`: done, FAILED, skipped)."""
    t = progress.totals
    name = STAGES.get(step.split("[")[0], step)
    detail = ""
    if name == "extracts":
        detail = f": {progress.parsed} of {t.extracts} parsed"
    elif name == "dbt":
        flagged = [
            f"{count} {word}"
            for count, word in (
                (progress.tests_failed, "failed"),
                (progress.tests_warned, "warned"),
            )
            if count
        ]
        detail = (
            f": {progress.models} of {len(t.models)} models, {progress.tests} of {t.tests} tests"
            + (f" ({', '.join(flagged)})" if flagged else "")
        )
    elif name == "gate":
        detail = f": {progress.suites - progress.suites_failed} of {t.suites} suites passed"
    elif name == "waivers check" and progress.waivers_check:
        detail = f": {progress.waivers_check}"
    elif name in ("publication", "report") and outcome == "done":
        detail = f": {where.get(name, '')}"
    return f"[{progress.elapsed:4.0f} s] {name} {outcome}{detail}"


class ProgressWatcher:
    """Polls the run's events from a thread and reports each change: `on_change(progress,
    line)` with `line` set when a step ended (the plain line), None for a count that moved."""

    def __init__(
        self,
        instance: DagsterInstance,
        run_id: str,
        totals: Totals,
        on_change: Callable[[Progress, str | None], None],
        where: dict[str, str],
        dbt_log: Path | None = None,
    ) -> None:
        self.progress = Progress(totals)
        self._dbt_log = dbt_log
        self._dbt_offset: int | None = None
        self._instance = instance
        self._run_id = run_id
        self._on_change = on_change
        self._where = where
        self._cursor: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="run-progress", daemon=True)

    def __enter__(self) -> ProgressWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._read()  # whatever the last poll missed

    def _poll(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                self._read()
            except Exception:  # the run not created yet, the log briefly busy: next poll
                continue

    def _read(self) -> None:
        self._read_dbt_log()
        while True:
            batch = self._instance.get_records_for_run(self._run_id, cursor=self._cursor)
            self._cursor = batch.cursor
            for record in batch.records:
                self._apply(record.event_log_entry)
            if not batch.has_more:
                return

    def _read_dbt_log(self) -> None:
        """New lines of dbt's JSON log since the dbt step started: each model, seed or test
        that finished is one result line."""
        if self._dbt_log is None or self._dbt_offset is None:
            return
        try:
            size = self._dbt_log.stat().st_size
            if size < self._dbt_offset:  # rotated
                self._dbt_offset = 0
            with self._dbt_log.open("rb") as log:
                log.seek(self._dbt_offset)
                chunk = log.read(size - self._dbt_offset)
        except OSError:
            return
        complete = chunk.rfind(b"\n") + 1
        self._dbt_offset += complete
        text = chunk[:complete]
        models = text.count(b'"name": "LogModelResult"') + text.count(b'"name": "LogSeedResult"')
        tests = text.count(b'"name": "LogTestResult"')
        if models or tests:
            self.progress.dbt_log_models += models
            self.progress.dbt_log_tests += tests
            self._on_change(self.progress, None)

    def _apply(self, entry: object) -> None:
        from_log = getattr(entry, "user_message", "") or ""
        event = getattr(entry, "dagster_event", None)
        p = self.progress
        if event is None:
            if from_log.startswith(PARSED_PREFIX):
                p.parsed += 1
                self._on_change(p, None)
            return
        kind = event.event_type
        step = event.step_key or ""
        if kind == DagsterEventType.STEP_START:
            p.step = STAGES.get(step, step)
            if p.step == "dbt" and self._dbt_log is not None:
                try:
                    self._dbt_offset = self._dbt_log.stat().st_size
                except OSError:
                    self._dbt_offset = 0
            self._on_change(p, None)
        elif kind == DagsterEventType.ASSET_MATERIALIZATION:
            key = event.asset_key
            if key in p.totals.models:
                p.models += 1
            elif key == PUBLISHED:
                p.published = True
            elif key == REPORT:
                p.report = True
            self._on_change(p, None)
        elif kind == DagsterEventType.ASSET_CHECK_EVALUATION:
            check = event.asset_check_evaluation_data
            if check.check_name.startswith("gx_"):
                p.suites += 1
                p.suites_failed += 0 if check.passed else 1
            elif check.check_name == WAIVERS_CHECK:
                p.waivers_check = _outcome(check)
            elif check.asset_key in p.totals.models and _is_dbt_test(check.check_name):
                p.tests += 1
                if not check.passed and check.severity == AssetCheckSeverity.WARN:
                    p.tests_warned += 1
                elif not check.passed:
                    p.tests_failed += 1
            self._on_change(p, None)
        elif kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            outcome = "done" if kind == DagsterEventType.STEP_SUCCESS else "FAILED"
            if outcome == "FAILED":
                p.failed_steps.append(step)
            self._on_change(p, step_line(p, step, outcome, self._where))
        elif kind == DagsterEventType.STEP_SKIPPED:
            self._on_change(p, step_line(p, step, "skipped", self._where))
