"""`complaints` command line: check one extract, run the pipeline, query the published marts."""

from __future__ import annotations

import gc
import json
import tempfile
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cli.errors import CliError, ExitCode, storage_failure, usable_folder
from complaints.config import ComplaintsConfig
from expectations.waivers import WaiverError, load_waivers
from ingest.api import parse_extract
from ingest.departments import load_department_file
from ingest.errors import ExtractError
from ingest.manifest import Manifest, load_manifest, read_extract, read_manifest
from ingest.report import build_report, render_text

if TYPE_CHECKING:
    from ingest.departments import Department
    from orchestration.lib.runner import RunSummary

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


@app.callback()
def _root() -> None:
    """Complaints warehouse: parse, reconcile, build and publish complaint appendices."""


@app.command()
def check(
    file: Path = typer.Argument(
        ...,
        help="The extract file to read, or a landing folder: every extract its manifest.yml "
        "lists, with the kind, period and council given there.",
    ),
    kind: str | None = typer.Option(None, "--kind", help="root_cause_summary or outcome_matrix"),
    period: str | None = typer.Option(None, "--period", help="Reporting period, e.g. 2019/20"),
    council: str | None = typer.Option(
        None, "--council", help="The council (selects its bundled department mapping)."
    ),
    departments: Path | None = typer.Option(
        None,
        "--departments",
        help="A department mapping file (service_headings: {heading: department}) for sections "
        "that lost their directorate heading.",
    ),
    manifest: Path | None = typer.Option(
        None,
        "--manifest",
        help="Take kind, period, council and departments from the entry of this manifest that "
        "lists FILE (options given explicitly still win).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    show_all: bool = typer.Option(
        False, "--all", "--rows", help="Also list every control total that holds."
    ),
) -> None:
    """Parse one extract and print its reconciliation report: the verdict and the failures
    first, then unresolved departments, repairs and warnings, then the totals that hold.

    Exit 0 when every control total holds, 1 when any fails, 2 when the file cannot be read.
    With a landing folder: one line per extract, then each failing one in full, then a total;
    the exit code is the worst of its extracts'.
    """

    if file.is_dir():
        raise typer.Exit(_check_folder(file, as_json, show_all))
    try:
        inputs = _check_inputs(file, kind, period, council, departments, manifest)
        try:
            data = read_extract(file, ComplaintsConfig.resolve().max_extract_bytes)
        except OSError as exc:
            raise ExtractError(str(file), None, f"cannot read file: {exc.strerror}") from None
        parsed = parse_extract(
            data,
            inputs.kind,
            str(file),
            council=inputs.council,
            period=inputs.period,
            departments=inputs.departments,
        )
    except ExtractError as exc:
        if as_json:
            typer.echo(json.dumps(exc.to_dict(), indent=2))
        else:
            typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    report = build_report(parsed, period=inputs.period, council=inputs.council)
    typer.echo(
        json.dumps(report, indent=2, ensure_ascii=False)
        if as_json
        else render_text(report, show_all=show_all)
    )
    raise typer.Exit(0 if report["reconciles"] else 1)


def _check_folder(landing: Path, as_json: bool, show_all: bool) -> int:
    """`check LANDING`: every extract of its manifest, each with its entry's kind, period,
    council and departments; returns the worst exit code (2 unreadable, 1 failing totals)."""
    try:
        entries = load_manifest(landing)
    except ExtractError as exc:
        typer.echo(json.dumps(exc.to_dict(), indent=2) if as_json else f"error: {exc}", err=True)
        return 2
    limit = ComplaintsConfig.resolve().max_extract_bytes
    results: list[tuple[str, dict[str, object] | None, ExtractError | None]] = []
    for entry in entries:
        try:
            data = read_extract(entry.absolute_path, limit)
            parsed = parse_extract(
                data,
                entry.kind,
                str(entry.absolute_path),
                council=entry.council,
                period=entry.period,
                departments=dict(entry.departments),
            )
            report = build_report(parsed, period=entry.period, council=entry.council)
            results.append((entry.extract_id, report, None))
        except OSError as exc:
            error = ExtractError(
                str(entry.absolute_path), None, f"cannot read file: {exc.strerror}"
            )
            results.append((entry.extract_id, None, error))
        except ExtractError as exc:
            results.append((entry.extract_id, None, exc))
    codes = [2 if e is not None else 0 if r and r["reconciles"] else 1 for _, r, e in results]
    worst = max(codes, default=0)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "landing": str(landing),
                    "extracts": [
                        {"id": i, **(r if r is not None else {"error": e.to_dict() if e else None})}
                        for i, r, e in results
                    ],
                    "exit_code": worst,
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return worst
    for extract_id, found, problem in results:
        typer.echo(_check_line(extract_id, found, problem))
    for extract_id, found, problem in results:
        if problem is not None:
            typer.echo(f"\n== {extract_id}: cannot be read\nerror: {problem}")
        elif found is not None and not found["reconciles"]:
            typer.echo(f"\n== {extract_id}\n" + render_text(found, show_all=show_all))
    failing = codes.count(1)
    unreadable = codes.count(2)
    typer.echo(
        f"\n{len(results)} extract(s) in {landing}: {codes.count(0)} reconcile, {failing} with "
        f"failing control totals, {unreadable} unreadable (exit {worst})"
    )
    return worst


def _check_line(
    extract_id: str, report: dict[str, object] | None, error: ExtractError | None
) -> str:
    if error is not None or report is None:
        return f"ERROR   {extract_id}: {error}"
    summary = report.get("control_totals_summary")
    levels = summary.values() if isinstance(summary, dict) else []
    count = sum(n["ok"] + n["failed"] for n in levels)
    failed = sum(n["failed"] for n in levels)
    what = f"{report['kind']}, {report['period']}, {report['council']}"
    if report["reconciles"]:
        return f"OK      {extract_id} ({what}): all {count} control totals hold"
    return f"FAILED  {extract_id} ({what}): {failed} of {count} control totals fail"


@dataclass(frozen=True)
class _CheckInputs:
    kind: str
    period: str
    council: str | None
    departments: dict[str, Department]


def _check_inputs(
    file: Path,
    kind: str | None,
    period: str | None,
    council: str | None,
    departments: Path | None,
    manifest: Path | None,
) -> _CheckInputs:
    """What to check `file` as: from the options, else from the manifest entry listing it."""

    mapping: dict[str, Department] = {}
    if manifest is not None:
        entries = load_manifest(manifest.parent if manifest.name == "manifest.yml" else manifest)
        entry = next((e for e in entries if e.absolute_path == file.resolve()), None)
        if entry is None:
            raise ExtractError(str(file), None, f"no entry of {manifest} lists this file")
        kind, period = kind or entry.kind, period or entry.period
        council = council or entry.council
        mapping.update(entry.departments)
    if departments is not None:
        mapping.update(load_department_file(departments))
    if kind is None or period is None:
        raise ExtractError(
            str(file), None, "say what the file is: --kind and --period, or --manifest"
        )
    return _CheckInputs(kind, period, council, mapping)


@app.command()
def run(
    landing: Path | None = typer.Option(
        None, "--landing", help="Landing folder (default $COMPLAINTS_LANDING, else ./data/landing)."
    ),
    warehouse: Path | None = typer.Option(
        None,
        "--warehouse",
        help="Warehouse folder (default $COMPLAINTS_WAREHOUSE, else ./warehouse).",
    ),
    dagster_home: Path | None = typer.Option(
        None, "--dagster-home", help="Dagster home (default $DAGSTER_HOME, else ./.dagster_home)."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Print Dagster's debug log."),
    partition: str | None = typer.Option(
        None,
        "--partition",
        help="Parse only this extract (its manifest id); the others keep their raw rows, and "
        "dbt, the gate and publication run on all of them.",
    ),
    wait: float | None = typer.Option(
        None,
        "--wait",
        help="Seconds to wait for another live run holding the warehouse (default 900).",
    ),
    target: str | None = typer.Option(
        None,
        "--target",
        help="duckdb (files in the warehouse folder) or postgres (a server; default "
        "$COMPLAINTS_TARGET, else duckdb).",
    ),
    postgres_dsn: str | None = typer.Option(
        None,
        "--postgres-dsn",
        help="libpq URL of the server for --target postgres (default $COMPLAINTS_POSTGRES_DSN).",
    ),
) -> None:
    """Materialise the whole graph in-process; print a summary; exit 1 if anything failed."""

    try:
        config = ComplaintsConfig.resolve(
            landing, warehouse, dagster_home, target=target, postgres_dsn=postgres_dsn
        )
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(int(ExitCode.INPUT)) from None
    try:
        if config.target == "postgres":
            _require_server(config)
        # Before Dagster, dbt and Great Expectations are imported: a wrong folder, waiver or
        # manifest is answered in a fraction of a second instead of several.
        manifest = _usable_inputs(config)
        s = _run_here(config, manifest, verbose, partition, wait)
    except CliError as exc:
        for line in exc.lines():
            typer.echo(line, err=True)
        raise typer.Exit(int(exc.code)) from None
    except KeyboardInterrupt:
        typer.echo("interrupted: nothing half-published is left", err=True)
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    except Exception as exc:  # a bug: a few lines here, the trace in the log file
        # Unless a folder of the run could not take a write: a full disk, a read-only mount.
        failure = storage_failure(
            exc, {"warehouse folder": config.warehouse_dir, "Dagster home": config.dagster_home}
        )
        if failure is not None:
            for line in failure.lines():
                typer.echo(line, err=True)
            raise typer.Exit(int(failure.code)) from None
        if verbose:
            raise
        trace = _write_trace(config.log_dir)
        typer.echo(f"error: unexpected {type(exc).__name__}: {exc}", err=True)
        typer.echo(f"  the full trace is in {trace} (or run with --verbose)", err=True)
        raise typer.Exit(int(ExitCode.INTERNAL)) from None
    if s.error:
        typer.echo(f"error: {s.error}", err=True)
        raise typer.Exit(int(ExitCode.INPUT))
    if config.target == "postgres":
        _print_server_summary(s, s.published)
    else:
        _print_summary(s, partition is not None, verbose)
    # Everything durable is committed and closed by now; what is left on the heap (Dagster's
    # definitions, dbt's manifest, Great Expectations) needs no final cycle collection.
    gc.freeze()
    raise typer.Exit(0 if s.success and not s.checks_failed else 1)


def _usable_inputs(config: ComplaintsConfig) -> Manifest:
    """The folders, the waiver file and the landing folder's manifest (read and validated once
    here, then handed to the run), or CliError."""

    usable_folder(config.warehouse_dir, "warehouse folder", "--warehouse")
    usable_folder(config.dagster_home, "Dagster home", "--dagster-home")
    _usable_waivers(config)
    try:
        return read_manifest(config.landing_dir)
    except ExtractError as exc:
        raise CliError(ExitCode.INPUT, str(exc)) from None


def _run_here(
    config: ComplaintsConfig,
    manifest: Manifest,
    verbose: bool,
    partition: str | None,
    wait: float | None,
) -> RunSummary:
    """The run in this process, on the instance in the configured Dagster home."""

    # start-up: Dagster and the pipeline load only once the inputs are known to be usable, so a
    # refused input is answered at once.
    from dagster import BetaWarning

    # Filtered before the pipeline loads (the start-up imports below): its decorators warn about
    # beta parameters on import.
    warnings.filterwarnings("ignore", category=BetaWarning)
    from cli.progress import RunDisplay
    from orchestration.lib.instance import configure_instance, open_instance
    from orchestration.lib.recovery import WarehouseBusy
    from orchestration.lib.runner import run_pipeline

    # Dagster's definitions, dbt's manifest and Great Expectations keep a large long-lived heap;
    # with the default thresholds Python walks all of it 8 times in a seed run (1.0 s of CPU,
    # measured with gc.callbacks); 10x fewer full collections cost no measurable memory.
    gc.set_threshold(700, 10, 100)
    configure_instance(config)
    try:
        # With --verbose Dagster's own log is the progress: no live line over it.
        with open_instance(config) as instance, RunDisplay(live=False if verbose else None) as show:
            return run_pipeline(
                config,
                instance,
                manifest=manifest,
                # Dagster's console logger prints a failed step's stack trace at ERROR: without
                # --verbose the summary names the step and its reason; the trace stays in the
                # Dagster UI's event log.
                log_level="DEBUG" if verbose else "CRITICAL",
                partition=partition,
                wait_seconds=wait,
                say=show.say,
                busy_exit_status=int(ExitCode.BUSY),
                watch=show.update,
            )
    except WarehouseBusy as exc:
        raise CliError(ExitCode.BUSY, str(exc)) from None


def _usable_waivers(config: ComplaintsConfig) -> None:
    """The waiver file, read before any run starts: its errors name the file and the waiver."""

    named = config.waivers_file
    if named is not None and not named.is_file():
        raise CliError(
            ExitCode.INPUT,
            f"the waiver file {named} (COMPLAINTS_WAIVERS) does not exist",
            "give the path of the reviewed waiver file, or unset COMPLAINTS_WAIVERS to use the "
            "shipped one",
        )
    try:
        load_waivers(named)
    except WaiverError as exc:
        raise CliError(
            ExitCode.INPUT,
            str(exc),
            "fix that waiver (every field exact, as reviewed) or remove it; nothing was run",
        ) from None


def _write_trace(log_dir: Path) -> Path:
    """The current exception's traceback, in the log folder (the temp folder if unwritable)."""

    text = traceback.format_exc()
    for folder in (log_dir, Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / "complaints-error.log"
            path.write_text(text)
            return path
        except OSError:
            continue
    return Path("<unwritable>")


def _require_server(config: ComplaintsConfig) -> None:
    """`--target postgres` needs a server: said before anything starts."""
    if not config.postgres_dsn:
        raise CliError(
            ExitCode.INPUT,
            "no PostgreSQL server: set COMPLAINTS_POSTGRES_DSN or pass --postgres-dsn "
            "(a libpq URL, e.g. postgresql://complaints_pipeline@db.example.org/complaints)",
        )


def _print_server_summary(s: RunSummary, published: Path | None) -> None:
    """A server run's summary: the schema `marts` and its swap, then the local copy."""
    _print_outcome(s, f"run {s.run_id}: {'SUCCESS' if s.success else 'FAILED'} (PostgreSQL)")
    _print_rows(s)
    if s.publication.get("schema"):
        typer.echo(
            f"published schema marts [updated: publication {s.publication.get('publication_id')}, "
            f"swapped in after {s.publication.get('swap_attempts')} attempt(s)]"
        )
        typer.echo(f"local copy (report, exports, complaints sql): {published}")
    else:
        typer.echo("published schema marts [UNCHANGED (previous publication kept)]")
    if s.log_path is not None:
        typer.echo(
            f"dbt and Dagster log: {s.log_path}  (or --verbose; the Dagster UI keeps it too)"
        )


@app.command()
def publish(
    do_rollback: bool = typer.Option(
        False,
        "--rollback",
        help="Make the previous publication current again (the current one becomes the previous).",
    ),
    target: str | None = typer.Option(None, "--target", help="postgres (server mode)."),
    postgres_dsn: str | None = typer.Option(
        None, "--postgres-dsn", help="libpq URL (default $COMPLAINTS_POSTGRES_DSN)."
    ),
    warehouse: Path | None = typer.Option(
        None,
        "--warehouse",
        help="Warehouse folder whose local copy of the publication follows the rollback "
        "(default $COMPLAINTS_WAREHOUSE, else ./warehouse; nothing is written if it holds none).",
    ),
) -> None:
    """Manage publications on the server: `--rollback` swaps `marts` and `marts_previous` in one
    transaction (waiting, with retries, for analysts' open transactions)."""
    # start-up: psycopg loads only for a server rollback.
    from complaints.postgres import PostgresError, rollback

    config = ComplaintsConfig.resolve(warehouse=warehouse, target=target, postgres_dsn=postgres_dsn)
    if config.target != "postgres" or not do_rollback:
        typer.echo("error: only `publish --rollback --target postgres` is supported", err=True)
        raise typer.Exit(2)
    try:
        publication_id = rollback(config)
    except PostgresError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"rolled back: marts now holds publication {publication_id}")
    if config.published_db.exists():
        # The warehouse folder's copy (report, exports, `complaints sql`) follows the server.
        # start-up: the report's libraries load only when there is a local copy to refresh.
        from complaints.postgres import connect, refresh_local_copy
        from complaints.report import REPORT_NAME, build_report

        try:
            with connect(config.postgres_dsn or "") as con:
                refresh_local_copy(con, config)
            build_report(
                config.published_db,
                config.warehouse_dir / REPORT_NAME,
                workers=config.report_workers,
            )
        except Exception as exc:  # the rollback itself is done: say what is stale, and why
            typer.echo(
                f"error: the local copy in {config.warehouse_dir} still shows the publication "
                f"before the rollback: {exc}",
                err=True,
            )
            raise typer.Exit(1) from None
        typer.echo(f"local copy updated: {config.published_db}")


def _print_summary(s: RunSummary, partitioned: bool, verbose: bool) -> None:
    _print_outcome(s, f"run {s.run_id}: {'SUCCESS' if s.success else 'FAILED'}", partitioned)
    _print_rows(s)
    state = "updated" if s.published_updated else "UNCHANGED (previous publication kept)"
    typer.echo(f"published file: {s.published} [{state}]")
    if s.exports:
        typer.echo(f"exports (Parquet, CSV): {s.exports}/")
    if s.report:
        typer.echo(f"report: {s.report}" + ("" if s.published_updated else " [previous]"))
    if s.data_docs:
        typer.echo(f"data docs: {s.data_docs}")
    if not verbose:
        typer.echo(
            f"dbt and Dagster log: {s.log_path}  (or --verbose; the Dagster UI keeps it too)"
        )


def _print_outcome(s: RunSummary, title: str, partitioned: bool = False) -> None:
    """What a run did, on either target: its extracts, its checks and the gate's suites, what
    failed or warned, and what to do about it."""
    typer.echo(title)
    typer.echo(
        f"extracts {'parsed ' if partitioned else ''}({len(s.extracts)}): "
        f"{', '.join(s.extracts[:10])}{' ...' if len(s.extracts) > 10 else ''}"
    )
    typer.echo(
        f"checks: {len(s.checks_passed)} passed, {len(s.checks_failed)} failed, "
        f"{len(s.checks_warned)} warned"
    )
    gate_failed = [n for n, (ok, _) in s.gate_results.items() if not ok]
    typer.echo(
        f"gate (Great Expectations): {len(s.gate_results) - len(gate_failed)} of "
        f"{len(s.gate_results)} suites passed"
    )
    for name in gate_failed:
        typer.echo(f"  FAILED gate {name}: {s.gate_results[name][1]}")
    for name in s.checks_failed:
        if name not in s.gate_results:
            typer.echo(f"  FAILED check {name}")
    for name, description in s.gate_warnings.items():
        typer.echo(f"  warning gate {name}: {description}")
    for name in s.checks_warned:
        if name not in s.gate_warnings:
            typer.echo(f"  warning {name}")
    for step in s.failed_steps:
        typer.echo(f"  FAILED step {step}")
    _print_findings(s)


def _print_rows(s: RunSummary) -> None:
    # Row counts only of a publication this run made: the previous one's would read as this run's.
    if s.published_updated:
        for table, n in s.rows_per_mart.items():
            typer.echo(f"  {table}: {n} rows")


def _print_findings(s: RunSummary) -> None:
    """What to do, in the words `complaints check` uses for the same findings."""
    if s.failed_totals:
        typer.echo(
            f"control totals that fail ({len(s.failed_totals)}), unless a waiver covers them:"
        )
        for total in s.failed_totals:
            typer.echo("\n".join(f"  {line}" for line in total.lines()))
        typer.echo(
            "  what to do: `complaints check FILE --manifest manifest.yml` shows each extract's "
            "report; correct the manifest entry, or review the source and add a waiver"
        )
    if s.stale_waivers:
        typer.echo(
            f"stale waivers ({len(s.stale_waivers)}): {', '.join(s.stale_waivers)} match no "
            "failing control total any more: review them and remove them from the waiver file"
        )
    for unknown in s.unknown_sections:
        verb = "published" if s.published_updated else "read"
        typer.echo(
            f"{unknown.extract_id}: {unknown.sections} section(s), {unknown.instances} "
            f"instance(s) {verb} under department 'Unknown'"
        )
        typer.echo("\n".join(f"  {line}" for line in unknown.advice))


@app.command()
def sql(
    query: str = typer.Argument(..., help="A read-only SQL query."),
    warehouse: Path | None = typer.Option(
        None, "--warehouse", help="Warehouse folder (default warehouse/)."
    ),
    fmt: str = typer.Option(
        "table", "--format", "-f", help="table, csv, json or markdown.", show_default=True
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        help="Write the result to this file instead of printing it (never inside the warehouse).",
    ),
    limit: int | None = typer.Option(
        None,
        "--limit",
        help="Rows at most (default: 200 for a table printed on the terminal, all otherwise).",
    ),
    timeout: float = typer.Option(
        60.0, "--timeout", help="Stop the query after this many seconds (0: no limit)."
    ),
) -> None:
    """Run one read-only query on the published marts database and print or save the result.

    Only the published tables are reachable: reading or writing other files, ATTACH, INSTALL/LOAD
    and SET are refused. Exit 0 on success, 1 when the query fails or is refused, 2 when the
    published file does not exist yet, an option is wrong or --output cannot be written there,
    3 when the query ran out of time.
    """
    # start-up: DuckDB and Rich load only for a query.
    from complaints.sqlquery import (
        OutputError,
        OutputFormat,
        QueryError,
        QueryTimeout,
        check_output,
        render,
        run_query,
        write_output,
    )

    try:
        out_format = OutputFormat(fmt)
    except ValueError:
        typer.echo(f"error: --format must be one of {', '.join(OutputFormat)}", err=True)
        raise typer.Exit(2) from None
    if not 0 <= timeout < float("inf"):
        typer.echo("error: --timeout must be a number of seconds, 0 or more", err=True)
        raise typer.Exit(2)
    config = ComplaintsConfig.resolve(warehouse=warehouse)
    path = config.published_db
    if not path.exists():
        typer.echo(f"error: {path} does not exist yet: run `complaints run` first", err=True)
        raise typer.Exit(2)
    try:
        if output is not None:
            check_output(output, config.warehouse_dir)
    except OutputError as exc:
        typer.echo(f"error: --output: {exc}", err=True)
        raise typer.Exit(2) from None
    if limit is None and out_format is OutputFormat.table and output is None:
        limit = 200
    try:
        result = run_query(path, query, limit, timeout or None)
    except QueryTimeout as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(3) from None
    except QueryError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    text = render(result, out_format)
    if output is not None:
        try:
            written = write_output(text, output, config.warehouse_dir)
        except OutputError as exc:
            typer.echo(f"error: --output: {exc}", err=True)
            raise typer.Exit(2) from None
        typer.echo(f"{len(result.rows)} row(s) written to {written}", err=True)
    else:
        # color=True: click would otherwise strip escape sequences from the data when stdout is
        # not a terminal, and CSV and JSON are exact.
        typer.echo(text, nl=False, color=True)
    if result.truncated:
        typer.echo(f"only the first {limit} row(s): more with --limit N", err=True)
    elif out_format is OutputFormat.table and output is None:
        typer.echo(f"{len(result.rows)} row(s)")


def main() -> None:
    """Console entry point (`complaints`)."""
    app(prog_name="complaints")


if __name__ == "__main__":  # pragma: no cover
    main()
