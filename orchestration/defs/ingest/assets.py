"""Ingest assets: each extract partition -> its rows in the raw tables of the warehouse target
(the build database, or the server's `raw` schema: WarehouseResource.raw_store)."""

from typing import Any

from dagster import (
    AssetExecutionContext,
    BackfillPolicy,
    Failure,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
)

from complaints.raw_store import WAIVER_COLUMNS, write_context_state
from expectations.waivers import load_waivers
from ingest.api import parse_entry
from ingest.errors import ExtractError
from ingest.manifest import (
    MANIFEST_NAME,
    Manifest,
    ManifestEntry,
    context_fingerprint,
    require_landing,
)
from ingest.raw_tables import COUNCIL_CONTEXT_TABLE, RAW_TABLES, SIDE_TABLES, ExtractMeta
from orchestration.defs.ingest.partitions import MANIFEST_SHA256_TAG, extracts_partitions
from orchestration.resources import WarehouseResource

PARSED_PREFIX = "parsed extract "
"""Each extract's log line once parsed: `complaints run` counts them for its progress line."""

RAW_EXTRACTS_KEY = "raw_extracts"


def manifest_entries(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> list[ManifestEntry]:
    """The manifest's entries, refused when they are not the manifest the run started from."""
    return list(started_manifest(context, warehouse).entries)


def started_manifest(context: AssetExecutionContext, warehouse: WarehouseResource) -> Manifest:
    """The manifest (with its council context), refused when it is not the one the run started
    from."""
    try:
        manifest = warehouse.manifest()
    except ExtractError as exc:
        raise Failure(description=str(exc)) from None
    started = context.run.tags.get(MANIFEST_SHA256_TAG)
    if started is not None and started != manifest.sha256:
        raise Failure(
            description=f"{warehouse.landing / MANIFEST_NAME} changed while this run was "
            f"reading it (SHA-256 {started[:12]} at the start, {manifest.sha256[:12]} now): "
            "nothing was loaded or published from it; run again once the edit is complete",
            metadata={"manifest_sha256_at_start": started, "manifest_sha256": manifest.sha256},
        )
    return manifest


@asset(
    name=RAW_EXTRACTS_KEY,
    group_name="ingest",
    kinds={"python", "duckdb"},
    partitions_def=extracts_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    description=(
        "Each landing-folder extract parsed by `ingest/` (hierarchy recovered, artifacts repaired "
        "by control-total arithmetic, provenance kept) and written to the raw.* tables of the build "
        "database. One dynamic partition per extract; a run replaces exactly its partitions' rows "
        "in one transaction, so re-running is idempotent."
    ),
    pool="build_db_writer",
    # Prune first, then parse: the registry must not run after new rows were written.
    deps=["extract_registry"],
)
def raw_extracts(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> MaterializeResult[Any]:
    keys = list(context.partition_keys)
    entries = {e.extract_id: e for e in manifest_entries(context, warehouse)}
    missing = [k for k in keys if k not in entries]
    if missing:
        raise Failure(
            description=f"partition(s) {', '.join(missing)} are not in the manifest of "
            f"{warehouse.landing}; remove them or restore their entries"
        )
    parsed = []
    fingerprints: dict[str, str] = {}
    per_extract: list[str] = []
    for key in keys:
        entry = entries[key]
        try:
            data = entry.read_bytes(warehouse.config.max_extract_bytes)
            result = parse_entry(entry, data)
        except ExtractError as exc:
            # A folder moved away mid-run reads as a missing extract: name the folder instead.
            try:
                require_landing(warehouse.landing)
            except ExtractError as gone:
                raise Failure(description=str(gone)) from None
            raise Failure(
                description=f"extract {key}: {exc}",
                metadata={"file": entry.path, "line": exc.line or 0, "reason": exc.reason},
            ) from None
        parsed.append((ExtractMeta.of(entry, data), result))
        fingerprints[key] = entry.fingerprint(data)
        context.log.info(f"{PARSED_PREFIX}{key}")
        failed = len(result.failed_totals)
        per_extract.append(
            f"| {key} | {entry.kind} | {entry.period} | {len(result.repairs)} | "
            f"{len(result.warnings)} | {failed} |"
        )
    # With the fingerprints the landing sensor compares the folder with (sensors.py).
    with warehouse.raw_store() as store:
        counts = store.replace(parsed, fingerprints)
    schema = TableSchema(
        columns=[
            TableColumn(f"{table}.{name}", sql_type)
            for table, columns in RAW_TABLES.items()
            for name, sql_type in columns
        ]
    )
    table = (
        "| extract | kind | period | repairs | warnings | failed control totals |\n"
        "|---|---|---|---|---|---|\n" + "\n".join(per_extract)
    )
    return MaterializeResult(
        metadata={
            "extracts": len(keys),
            "dagster/row_count": sum(counts.values()),
            "rows_per_table": MetadataValue.json(counts),
            "dagster/column_schema": schema,
            "parsed": MetadataValue.md(
                table if len(per_extract) <= 50 else f"{len(keys)} extracts"
            ),
        }
    )


@asset(
    group_name="ingest",
    kinds={"python", "duckdb"},
    description=(
        "The manifest's set of extracts: rows of extracts no longer listed in the landing "
        "folder's manifest.yml are removed from every raw table."
    ),
    pool="build_db_writer",
)
def extract_registry(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> MaterializeResult[Any]:
    listed = {e.extract_id for e in manifest_entries(context, warehouse)}
    with warehouse.raw_store() as store:
        stale = sorted(store.held() - listed)
        store.remove(stale)
    if stale:
        context.log.info(f"removed rows of extracts no longer in the manifest: {stale}")
    return MaterializeResult(metadata={"listed": len(listed), "removed": MetadataValue.json(stale)})


@asset(
    group_name="ingest",
    kinds={"yaml", "duckdb"},
    description=(
        "Reviewed waivers (expectations/waivers.yml, or the file the configuration names) loaded "
        "into raw.waivers. A waiver applies "
        "only when extract, check, scope, measure, stated and computed values all match exactly."
    ),
    pool="build_db_writer",
)
def reviewed_waivers(warehouse: WarehouseResource) -> MaterializeResult[Any]:

    waivers = load_waivers(warehouse.config.waivers_file)
    rows = [w.as_row() for w in waivers]
    with warehouse.raw_store() as store:
        store.replace_waivers(rows)
    return MaterializeResult(
        metadata={
            "waivers": len(rows),
            "dagster/row_count": len(rows),
            "dagster/column_schema": TableSchema(
                columns=[TableColumn(name, sql_type) for name, sql_type in WAIVER_COLUMNS]
            ),
        }
    )


@asset(
    name=COUNCIL_CONTEXT_TABLE,
    group_name="ingest",
    kinds={"csv", "duckdb"},
    description=(
        "Residents per council and period from the CSV file the manifest names "
        "(`council_context:`), every row checked against the manifest's extracts, loaded into "
        "raw.council_context (emptied when the manifest names none): the denominators of "
        "mart_council_comparison's per-resident rates."
    ),
    pool="build_db_writer",
)
def council_context(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> MaterializeResult[Any]:
    found = started_manifest(context, warehouse).council_context
    with warehouse.raw_store() as store:
        rows = store.replace_council_context(found)
    write_context_state(warehouse.config.warehouse_dir, context_fingerprint(found))
    columns = SIDE_TABLES[COUNCIL_CONTEXT_TABLE]
    return MaterializeResult(
        metadata={
            "file": found.path if found else "none named by the manifest",
            "dagster/row_count": rows,
            "dagster/column_schema": TableSchema(
                columns=[TableColumn(name, sql_type) for name, sql_type in columns]
            ),
        }
    )
