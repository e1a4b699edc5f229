"""The code location: `dagster dev` / `dg` (via workspace.yaml) load `defs`, the CLI `build_defs`.

Importing this module builds nothing: `defs` is loaded lazily (`@dg.definitions`), so the dbt
manifest is read, and prepared if missing, only when a tool loads the code location.
"""

from __future__ import annotations

from collections.abc import Sequence

from dagster import (
    AssetsDefinition,
    AssetSpec,
    Definitions,
    definitions,
    in_process_executor,
    map_asset_specs,
    with_source_code_references,
)

from complaints.config import ComplaintsConfig
from complaints.dbt_paths import prepare_dbt
from orchestration.defs.alerts import alert_sensors, freshness_policy
from orchestration.defs.gate.checks import gate_checks
from orchestration.defs.ingest.assets import (
    council_context,
    extract_registry,
    raw_extracts,
    reviewed_waivers,
)
from orchestration.defs.ingest.sensors import landing_folder_sensor_for
from orchestration.defs.jobs import rebuild_job, refresh_job
from orchestration.defs.publish.assets import published_marts
from orchestration.defs.publish.report import analysts_report
from orchestration.defs.schedules import weekly_full_refresh_for
from orchestration.defs.transform.assets import build_dbt_assets
from orchestration.defs.transform.project import dbt_project
from orchestration.resources import default_resources

OWNERS = ["team:complaints-warehouse"]
"""Every asset's owner (the dbt models get the same from dbt_project.yml's meta.dagster)."""


def _catalogue(spec: AssetSpec) -> AssetSpec:
    """Owners and tags of the Python assets, like the translator gives the dbt models."""
    published = spec.key == published_marts.key
    return spec.merge_attributes(
        owners=OWNERS,
        tags={
            "layer": spec.group_name or "ingest",
            "contract": "published" if published else "internal",
        },
    )


def python_assets() -> Sequence[AssetsDefinition]:
    assets = [
        raw_extracts,
        extract_registry,
        reviewed_waivers,
        council_context,
        published_marts,
        analysts_report,
    ]
    referenced = with_source_code_references(map_asset_specs(_catalogue, assets))
    return [a for a in referenced if isinstance(a, AssetsDefinition)]


PUBLISHED_ASSETS = (published_marts.key, analysts_report.key)
"""What analysts read: each carries the freshness policy, and the freshness sensor watches it."""


def with_freshness(
    assets: Sequence[AssetsDefinition], config: ComplaintsConfig
) -> list[AssetsDefinition]:
    """The published assets with the configuration's freshness policy (the others unchanged)."""
    policy = freshness_policy(config)
    mapped = map_asset_specs(
        lambda spec: (
            spec.replace_attributes(freshness_policy=policy)
            if spec.key in PUBLISHED_ASSETS
            else spec
        ),
        assets,
    )
    return [a for a in mapped if isinstance(a, AssetsDefinition)]


def build_defs(config: ComplaintsConfig) -> Definitions:
    """The definitions for one configuration (its dbt manifest prepared: `prepare_dbt`), on
    either target: the same assets, checks, jobs, schedule and sensor."""
    return Definitions(
        assets=[*with_freshness(python_assets(), config), build_dbt_assets(dbt_project(config))],
        asset_checks=gate_checks(),
        jobs=[refresh_job, rebuild_job],
        schedules=[weekly_full_refresh_for(config.automation)],
        sensors=[
            landing_folder_sensor_for(config.automation, config.sensor_interval_seconds),
            *alert_sensors(config, PUBLISHED_ASSETS),
        ],
        resources=default_resources(config),
        # One writer of the build database at a time: every step runs in the run's own process.
        executor=in_process_executor,
    )


@definitions
def defs() -> Definitions:
    """What `dagster dev` and `dg check defs` load: the configuration from the environment."""
    # Either target (COMPLAINTS_TARGET): the same graph, the warehouse resource picks the target.
    config = ComplaintsConfig.resolve()
    prepare_dbt(config)
    return build_defs(config)
