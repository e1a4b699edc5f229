"""`complaints` command line: check one extract, run the pipeline, query the published marts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


@app.callback()
def _root() -> None:
    """Complaints warehouse: parse, reconcile, build and publish complaint appendices."""


@app.command()
def check(
    file: Path = typer.Argument(..., help="The extract file to read."),
    kind: str = typer.Option(..., "--kind", help="root_cause_summary or outcome_matrix"),
    period: str = typer.Option(..., "--period", help="Reporting period, e.g. 2019/20"),
    council: str | None = typer.Option(None, "--council"),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    rows: bool = typer.Option(False, "--rows", help="Also list every per-row check that holds."),
) -> None:
    """Parse one extract and print its reconciliation report.

    Exit 0 when every control total holds, 1 when any fails, 2 when the file cannot be read.
    """
    from ingest.api import parse_extract
    from ingest.errors import ExtractError
    from ingest.report import build_report, render_text

    try:
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise ExtractError(str(file), None, f"cannot read file: {exc.strerror}") from None
        parsed = parse_extract(data, kind, str(file))
    except ExtractError as exc:
        if as_json:
            typer.echo(json.dumps(exc.to_dict(), indent=2))
        else:
            typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    report = build_report(parsed, period=period, council=council)
    typer.echo(
        json.dumps(report, indent=2, ensure_ascii=False)
        if as_json
        else render_text(report, show_rows=rows)
    )
    raise typer.Exit(0 if report["reconciles"] else 1)


def main() -> None:  # pragma: no cover
    app(prog_name="complaints")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
