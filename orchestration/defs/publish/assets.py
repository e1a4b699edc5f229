"""Write-audit-publish: copy dims, facts and marts into a new file, then os.replace it over the
published database. A reader holding the old file keeps its snapshot until it reconnects.

On a server the build schema's tables are swapped in as the schema `marts` instead
(complaints/postgres.py), and the warehouse folder's `marts.duckdb` and exports become a copy of
what was published there, so the report, the exports and `complaints sql` serve both targets
the same way."""

from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from complaints.dbt_paths import dbt_model_names
from complaints.postgres import MARTS, PostgresError, SwapPolicy, publish_schema, snapshot_marts
from complaints.publication import PUBLISHED_PREFIXES, publish, publish_snapshot
from orchestration.defs.gate.checks import GATED_TABLES
from orchestration.resources import WarehouseResource

# How the server's swap waits for analysts' open transactions (complaints/postgres.py).
SWAP_POLICY = SwapPolicy()


def publish_deps() -> list[AssetKey]:
    """Every published model, and every model a blocking gate check guards: a blocking check
    stops only the assets directly downstream of the asset it checks."""

    return [
        AssetKey(name)
        for name in dbt_model_names()
        if name.startswith(PUBLISHED_PREFIXES) or name in GATED_TABLES
    ]


@asset(
    group_name="publish",
    kinds={"duckdb"},
    deps=publish_deps(),
    description=(
        "The analysts' database (warehouse/marts.duckdb, readable by DuckDB 0.10.3 and later): "
        "dims, facts, marts and the publication tables copied from the build database into a "
        "new file that atomically replaces the published one, with its Parquet/CSV exports "
        "(warehouse/exports). Runs only when every blocking check upstream passed, so a failed "
        "run leaves the last good marts and exports."
    ),
)
def published_marts(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> MaterializeResult[Any]:
    server: dict[str, Any] = {}
    if warehouse.on_server:
        con = warehouse.server()
        try:
            swapped = publish_schema(con, context.run.run_id, SWAP_POLICY)
        except PostgresError as exc:
            raise Failure(description=str(exc)) from None
        server = {"schema": MARTS, "swap_attempts": swapped.swap_attempts}
        context.log.info(
            f"swapped publication {swapped.publication.publication_id} in as schema {MARTS} "
            f"after {swapped.swap_attempts} attempt(s)"
        )
        result = publish_snapshot(
            lambda tmp: snapshot_marts(con, tmp), warehouse.published_db, swapped.publication
        )
    else:
        result = publish(warehouse.build_db, warehouse.published_db, run_id=context.run.run_id)
    counts = result.rows
    context.log.info(
        f"published {len(counts)} tables to {warehouse.published_db} and "
        f"{result.exports_version} (publication {result.publication.publication_id})"
    )
    return MaterializeResult(
        metadata={
            **server,
            "path": MetadataValue.path(str(warehouse.published_db)),
            "publication_id": result.publication.publication_id,
            "exports": MetadataValue.path(str(result.exports_version)),
            "tables": len(counts),
            "rows_per_table": MetadataValue.json(counts),
            "dagster/row_count": sum(counts.values()),
        }
    )
