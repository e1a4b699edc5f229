"""Jobs: a refresh of some extract partitions (plus everything downstream), and a rebuild."""

from dagster import AssetSelection, define_asset_job

# Everything: raw partitions, registry, waivers, dbt models and checks, publication.
refresh_job = define_asset_job(
    "refresh_warehouse",
    selection=AssetSelection.all(),
    description="Parse the selected extract partitions, rebuild the dbt models, check, publish.",
)

# After an extract was removed: prune its rows, rebuild, check, publish (no partition to parse).
rebuild_job = define_asset_job(
    "rebuild_without_parsing",
    selection=AssetSelection.all() - AssetSelection.assets("raw_extracts"),
    description="Prune removed extracts, rebuild the dbt models, check and publish.",
)
