"""dbt models as Dagster assets: one `dbt build` per run; dbt tests become asset checks.

Every model and seed asset's materialization carries its row count and column schema, and every
model its column lineage, under dagster-dbt's metadata keys; they are read after the build in two
queries and the lineage comes from a content-addressed cache (complaints/catalogue.py) instead
of dagster-dbt's per-relation `fetch_row_counts()` / `fetch_column_metadata()`. Lineage into the
raw tables is named after the raw table's column, as `raw_extracts` declares its schema
(`<table>.<column>`). Owners come from the dbt project (`meta.dagster.owners`), the asset key of
each source from `_sources.yml` (`meta.dagster.asset_key`); tags and groups from the folder.
"""

import contextlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetSpec,
    Output,
    TableColumn,
    TableColumnDep,
    TableColumnLineage,
    TableSchema,
    get_dagster_logger,
)
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from complaints.build_db import compact
from complaints.catalogue import (
    ColumnDeps,
    LineageCache,
    TableFacts,
    column_lineage,
    read_server_table_facts,
    read_table_facts,
)
from complaints.config import ComplaintsConfig
from complaints.dbt_paths import dbt_location_args
from complaints.postgres import dbt_profile_environment, drop_old_builds, duckdb_type
from complaints.publication import PUBLISHED_PREFIXES
from expectations.runner import import_gx_in_background
from orchestration.defs.ingest.assets import RAW_EXTRACTS_KEY
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
COLUMN_SCHEMA = "dagster/column_schema"


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


def catalogue_metadata(
    manifest: Mapping[str, Any],
    facts: Mapping[str, TableFacts],
    lineage: Mapping[str, ColumnDeps],
    project: DbtProject | None,
) -> dict[str, dict[str, Any]]:
    """dbt unique id -> the metadata its materialization carries, under the keys dagster-dbt's
    `fetch_row_counts()` / `fetch_column_metadata()` use, so the UI shows them the same way."""
    descriptions = {
        uid: {name: col.get("description") or None for name, col in node.get("columns", {}).items()}
        for uid, node in manifest.get("nodes", {}).items()
    }
    raw_tables = raw_source_tables(manifest)
    keys: dict[str, AssetKey] = {}

    def key_of(unique_id: str) -> AssetKey:
        if unique_id not in keys:
            keys[unique_id] = TRANSLATOR.get_asset_spec(manifest, unique_id, project).key
        return keys[unique_id]

    metadata: dict[str, dict[str, Any]] = {}
    for unique_id, fact in facts.items():
        if unique_id not in manifest.get("nodes", {}):
            continue  # a source: its columns only feed the lineage
        documented = descriptions.get(unique_id, {})
        entry: dict[str, Any] = {
            ROW_COUNT: fact.row_count,
            COLUMN_SCHEMA: TableSchema(
                columns=[
                    TableColumn(name=name, type=data_type, description=documented.get(name))
                    for name, data_type in fact.columns
                ]
            ),
        }
        if unique_id in lineage:
            column_lineage = TableColumnLineage(
                deps_by_column={
                    column: [TableColumnDep(asset_key=key_of(p), column_name=c) for p, c in deps]
                    for column, deps in lineage[unique_id].items()
                }
            )
            if unique_id in raw_tables:
                column_lineage = name_raw_columns(column_lineage, raw_tables[unique_id])
            entry[COLUMN_LINEAGE] = column_lineage
        metadata[unique_id] = entry
    return metadata


def with_catalogue(
    events: Iterator[Any], metadata: Mapping[str, Mapping[str, Any]]
) -> Iterator[Any]:
    """Each model's and seed's materialization with its catalogue metadata attached."""
    for event in events:
        if isinstance(event, (Output, AssetMaterialization)):
            unique_id = event.metadata.get("unique_id")
            extra = metadata.get(str(getattr(unique_id, "value", unique_id)))
            if extra:
                event = event.with_metadata({**event.metadata, **extra})
        yield event


def read_catalogue(
    config: ComplaintsConfig,
    manifest: Mapping[str, Any],
    project: DbtProject | None,
    server: Any = None,
) -> dict[str, dict[str, Any]]:
    """The catalogue of the build that just finished (complaints/catalogue.py), from the build
    database or, given the run's `server` connection, the server's build schema; a failure
    here costs the catalogue, never the build, as with dagster-dbt's own fetching."""
    try:
        if server is not None:
            # Where this run's models are (database, schema, adapter) is in the manifest dbt
            # wrote for its target, not in the one the definitions were parsed from.
            manifest = json.loads((config.dbt_target_dir / "manifest.json").read_text("utf-8"))
            facts = read_server_table_facts(server, manifest, duckdb_type)
        else:
            facts = read_table_facts(config.build_db, manifest)
        cache = LineageCache(config.lineage_cache_dirs)
        lineage = column_lineage(manifest, config.dbt_target_dir, facts, cache)
    except Exception as exc:
        get_dagster_logger().warning(f"catalogue metadata skipped: {exc!r}")
        return {}
    get_dagster_logger().debug(
        f"column lineage: {cache.hits} models from the cache, {cache.misses} computed"
    )
    return catalogue_metadata(manifest, facts, lineage, project)


def compact_build_db(config: ComplaintsConfig) -> None:
    """The build database copied into a fresh file when dbt's rebuild left it mostly free
    blocks (complaints/build_db.py); a failure here costs the compaction, never the build."""
    try:
        done = compact(config.build_db)
    except Exception as exc:
        get_dagster_logger().warning(f"build database not compacted: {exc!r}")
        return
    if done is not None:
        get_dagster_logger().info(
            f"build database compacted: {done.before_bytes:,} -> {done.after_bytes:,} bytes "
            f"({done.before.free_blocks} of {done.before.total_blocks} blocks were free)"
        )


def build_dbt_assets(project: DbtProject) -> Any:
    """The dbt models of `project` (its manifest prepared: complaints/dbt_paths.py)."""

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
        server = None
        profile: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
        if warehouse.on_server:
            # One writer from here to the swap; the last run's build (a blocked run's is kept
            # for inspection) and any staged publication go first.
            server = warehouse.server()
            drop_old_builds(server)
            profile = dbt_profile_environment(warehouse.dsn())
        with profile:
            invocation = dbt.cli(
                ["build", *dbt_location_args(config, dbt.dbt_executable)],
                context=context,
                # One target folder per warehouse and target (it also holds the manifest),
                # overwritten each run.
                target_path=config.dbt_target_dir,
            )
        # Only once dbt runs in its own process, so the import does not slow the set-up above.
        import_gx_in_background()  # for the gate checks that follow, while dbt runs
        # Wait for dbt to exit first, reading its output as it comes (`is_successful` keeps it):
        # the catalogue reads the finished database (DuckDB lets no reader in beside its writer).
        invocation.is_successful()
        if server is None:
            compact_build_db(config)
        metadata = read_catalogue(config, invocation.manifest, project, server)
        yield from with_catalogue(invocation.stream(), metadata)

    return complaints_dbt_models
