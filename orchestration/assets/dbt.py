"""dbt models as Dagster assets: one `dbt build` per run; dbt tests become asset checks.

Every model asset's materialization carries its row count and column schema, and its column
lineage (dagster-dbt's `fetch_row_counts()` / `fetch_column_metadata()`); lineage into the raw
tables is named after the raw table's column, as `raw_extracts` declares its schema
(`<table>.<column>`). Owners come from the dbt project (`meta.dagster.owners`), the asset key of
each source from `_sources.yml` (`meta.dagster.asset_key`); tags and groups from the folder.
"""

from collections.abc import Iterator, Mapping
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetSpec,
    Output,
    TableColumnDep,
    TableColumnLineage,
)
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from expectations.runner import import_gx_in_background
from orchestration.assets.raw import RAW_EXTRACTS_KEY
from orchestration.publication import PUBLISHED_PREFIXES
from orchestration.resources import WarehouseResource

# Folder under models/ -> (Dagster asset group, layer tag).
_FOLDERS = {
    "staging": ("staging", "staging"),
    "intermediate": ("core", "intermediate"),
    "core": ("core", "core"),
    "marts": ("marts", "marts"),
    "recon": ("marts", "reconciliation"),
}
# The staging model of the extracts registry: every model reads extracts through it.
_REGISTRY_READER = "stg_raw__extracts"
COLUMN_LINEAGE = "dagster/column_lineage"
ROW_COUNT = "dagster/row_count"


def _folder(dbt_resource_props: Mapping[str, Any]) -> str:
    fqn = dbt_resource_props.get("fqn", [])
    if dbt_resource_props["resource_type"] == "seed":
        return "seeds"
    return fqn[1] if len(fqn) > 2 else "core"


class ComplaintsTranslator(DagsterDbtTranslator):
    """Groups and tags by folder; the registry dependency that keeps dbt after the pruning."""

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        # The registry prunes rows of extracts no longer in the manifest; dbt must read after it,
        # also in the rebuild job that parses nothing.
        if spec.key == AssetKey(_REGISTRY_READER):
            spec = spec.merge_attributes(deps=[AssetKey("extract_registry")])
        return spec

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return _FOLDERS.get(_folder(dbt_resource_props), ("core", ""))[0]

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        folder = _folder(dbt_resource_props)
        layer = "seed" if folder == "seeds" else _FOLDERS.get(folder, ("", "core"))[1]
        published = str(dbt_resource_props["name"]).startswith(PUBLISHED_PREFIXES)
        return {
            **super().get_tags(dbt_resource_props),
            "layer": layer,
            "contract": "published" if published else "internal",
        }


TRANSLATOR = ComplaintsTranslator(
    settings=DagsterDbtTranslatorSettings(
        enable_duplicate_source_asset_keys=True, enable_code_references=True
    )
)


def raw_source_tables(manifest: Mapping[str, Any]) -> dict[str, str]:
    """dbt node id -> the one raw table it reads, for nodes reading exactly one."""
    sources = manifest.get("sources", {})
    found: dict[str, str] = {}
    for node, parents in manifest.get("parent_map", {}).items():
        tables = [
            sources[p]["name"]
            for p in parents
            if p in sources
            and sources[p]["source_name"] == "raw"
            and sources[p]["name"] != "waivers"
        ]
        if len(tables) == 1:
            found[node] = tables[0]
    return found


def name_raw_columns(lineage: TableColumnLineage, table: str) -> TableColumnLineage:
    """Deps on `raw_extracts` name the raw table's column as its schema does: `<table>.<col>`."""
    raw = AssetKey(RAW_EXTRACTS_KEY)
    return TableColumnLineage(
        deps_by_column={
            column: [
                TableColumnDep(asset_key=dep.asset_key, column_name=f"{table}.{dep.column_name}")
                if dep.asset_key == raw
                else dep
                for dep in deps
            ]
            for column, deps in lineage.deps_by_column.items()
        }
    )


def view_row_count(adapter: Any, node: Mapping[str, Any]) -> int | None:
    """Row count of a view model (dagster-dbt counts tables only), through the same read-only
    in-process adapter: the staging views are thin selects over the raw tables."""
    if adapter is None or node.get("config", {}).get("materialized") != "view":
        return None
    with adapter.connection_named(f"row_count_{node['unique_id']}"):
        _, table = adapter.execute(f"select count(*) from {node['relation_name']}", fetch=True)
    return int(table[0][0])


def _complete_metadata(events: Iterator[Any], invocation: Any) -> Iterator[Any]:
    """Raw column names in the lineage, and the row counts of views."""
    manifest = invocation.manifest
    tables = raw_source_tables(manifest)
    for event in events:
        metadata = getattr(event, "metadata", None) or {}
        unique_id = metadata.get("unique_id")
        node = str(getattr(unique_id, "value", unique_id))
        extra: dict[str, Any] = {}
        lineage = metadata.get(COLUMN_LINEAGE)
        if lineage is not None and node in tables:
            extra[COLUMN_LINEAGE] = name_raw_columns(
                getattr(lineage, "value", lineage), tables[node]
            )
        if ROW_COUNT not in metadata and isinstance(event, (Output, AssetMaterialization)):
            count = view_row_count(invocation.adapter, manifest["nodes"].get(node, {}))
            if count is not None:
                extra[ROW_COUNT] = count
        yield event.with_metadata({**metadata, **extra}) if extra else event


def close_metadata_adapter(adapter: Any) -> None:
    """Close the build database the in-process dbt-duckdb adapter opened for the metadata.

    dbt-duckdb keeps its database open between connections (`keep_open`, which the dbt process
    needs: reopening the file per node doubles a build), and DuckDB allows one configuration of a
    file per process, so the gate and publication could not open it after. Public dbt-duckdb
    calls: release the adapter's connections, close its environment, forget it.
    """
    if adapter is None:
        return
    adapter.cleanup_connections()
    from dbt.adapters.duckdb import DuckDBConnectionManager

    try:
        environment = DuckDBConnectionManager.env()
    except Exception:  # no environment was ever opened (nothing was fetched)
        return
    environment.close()
    DuckDBConnectionManager.close_all_connections()


def build_dbt_assets(project: DbtProject) -> Any:
    """The dbt models of `project` (its manifest prepared: orchestration/project.py)."""

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=TRANSLATOR,
        pool="build_db_writer",
    )
    def complaints_dbt_models(
        context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
    ) -> Iterator[Any]:
        config = warehouse.config
        import_gx_in_background()  # for the gate checks that follow, while dbt runs
        invocation = dbt.cli(
            ["build", "--vars", config.dbt_vars()],
            context=context,
            # One target folder per warehouse (it also holds the manifest), overwritten each run.
            target_path=config.dbt_target_dir,
        )
        # Wait for dbt to exit first, reading its output as it comes (`is_successful` keeps it):
        # the metadata below needs the finished database (DuckDB lets no reader in beside its
        # writer), and dagster-dbt's metadata thread pool polls in a loop while its input
        # iterator blocks, which held a whole core for the length of the build.
        invocation.is_successful()
        # Row counts and column schemas through a read-only adapter in this process.
        events = invocation.stream().fetch_row_counts().fetch_column_metadata()
        try:
            yield from _complete_metadata(events, invocation)
        finally:
            close_metadata_adapter(invocation.adapter)

    return complaints_dbt_models
