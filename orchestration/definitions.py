"""The code location: `dagster dev` (via workspace.yaml) and `complaints run` load `defs`."""

from dagster import Definitions, in_process_executor

from orchestration.assets.dbt import complaints_dbt_models
from orchestration.assets.publish import published_marts
from orchestration.assets.raw import extract_registry, raw_extracts, reviewed_waivers
from orchestration.checks import gate_checks
from orchestration.jobs import rebuild_job, refresh_job
from orchestration.resources import default_resources
from orchestration.schedules import weekly_full_refresh
from orchestration.sensors import landing_folder_sensor

defs = Definitions(
    assets=[
        raw_extracts,
        extract_registry,
        reviewed_waivers,
        complaints_dbt_models,
        published_marts,
    ],
    asset_checks=gate_checks(),
    jobs=[refresh_job, rebuild_job],
    schedules=[weekly_full_refresh],
    sensors=[landing_folder_sensor],
    resources=default_resources(),
    # One writer of the build database at a time: every step runs in the run's own process.
    executor=in_process_executor,
)
