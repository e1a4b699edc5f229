"""The code location: `dagster dev` (via workspace.yaml) and `complaints run` load `defs`."""

from dagster import Definitions, in_process_executor

from orchestration.assets.dbt import complaints_dbt_models
from orchestration.assets.publish import published_marts
from orchestration.assets.raw import extract_registry, raw_extracts, reviewed_waivers
from orchestration.assets.report import analysts_report
from orchestration.checks import gate_checks
from orchestration.jobs import rebuild_job, refresh_job
from orchestration.resources import default_resources
from orchestration.schedules import weekly_full_refresh
from orchestration.sensors import landing_folder_sensor


def build_defs(resources: dict[str, object] | None = None) -> Definitions:
    """The definitions, with resources read from the environment now (or given): the CLI and the
    tests point the same graph at other landing and warehouse folders."""
    return Definitions(
        assets=[
            raw_extracts,
            extract_registry,
            reviewed_waivers,
            complaints_dbt_models,
            published_marts,
            analysts_report,
        ],
        asset_checks=gate_checks(),
        jobs=[refresh_job, rebuild_job],
        schedules=[weekly_full_refresh],
        sensors=[landing_folder_sensor],
        resources=resources if resources is not None else default_resources(),
        # One writer of the build database at a time: every step runs in the run's own process.
        executor=in_process_executor,
    )


defs = build_defs()
