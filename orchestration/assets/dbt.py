"""dbt models as Dagster assets: one `dbt build` per run; dbt tests become asset checks."""

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetSpec
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from expectations.runner import import_gx_in_background
from orchestration.assets.raw import RAW_EXTRACTS_KEY
from orchestration.project import dbt_project
from orchestration.resources import WarehouseResource

# Folder under models/ -> Dagster asset group.
_GROUPS = {
    "staging": "staging",
    "intermediate": "core",
    "core": "core",
    "marts": "marts",
    "recon": "marts",
}
# dbt source tables loaded by assets other than raw_extracts.
_SOURCE_ASSETS = {"waivers": "reviewed_waivers"}
# The staging model of the extracts registry: every model reads extracts through it.
_REGISTRY_READER = "stg_raw__extracts"


class ComplaintsTranslator(DagsterDbtTranslator):
    """Maps dbt sources onto the Python assets that write them, so lineage runs unbroken from
    each extract partition through every model to the published marts."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey(_SOURCE_ASSETS.get(dbt_resource_props["name"], RAW_EXTRACTS_KEY))
        return AssetKey(dbt_resource_props["name"])

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: Any
    ) -> AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        # The registry prunes rows of extracts no longer in the manifest; dbt must read after it,
        # also in the rebuild job that parses nothing.
        if spec.key == AssetKey(_REGISTRY_READER):
            spec = spec.merge_attributes(deps=[AssetKey("extract_registry")])
        return spec

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props["resource_type"] == "seed":
            return "core"
        folder = fqn[1] if len(fqn) > 2 else "core"
        return _GROUPS.get(folder, "core")


TRANSLATOR = ComplaintsTranslator(
    settings=DagsterDbtTranslatorSettings(enable_duplicate_source_asset_keys=True)
)


@dbt_assets(
    manifest=dbt_project().manifest_path,
    project=dbt_project(),
    dagster_dbt_translator=TRANSLATOR,
    pool="build_db_writer",
)
def complaints_dbt_models(
    context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[object]:
    # The profile reads the absolute build-database path from the environment.
    os.environ["COMPLAINTS_BUILD_DB"] = str(warehouse.build_db)
    # One fixed target folder per warehouse, overwritten each run (dagster-dbt would otherwise add
    # a folder of artifacts under dbt_project/target for every invocation).
    target = Path(warehouse.warehouse_dir) / "dbt_target"
    import_gx_in_background()  # for the gate checks that follow, while dbt runs
    yield from dbt.cli(["build"], context=context, target_path=target).stream()
