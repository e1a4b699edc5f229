"""One tick of the landing-folder sensor on a warehouse and its Dagster home, then the run it
requests, in this process: what `dagster dev` with the sensor on does (minus the daemon's polling
and the run worker's process start) when many extracts land at once.

    python benchmarks/landing_batch.py --landing L --warehouse W   (DAGSTER_HOME names the home)

Prints the requested run's partitions; exits 1 when the run failed, 0 when nothing was requested.
"""

from __future__ import annotations

import argparse
import sys

from dagster import (
    AddDynamicPartitionsRequest,
    DeleteDynamicPartitionsRequest,
    SensorResult,
    build_sensor_context,
)

from complaints.config import ComplaintsConfig
from complaints.dbt_paths import prepare_dbt
from orchestration.definitions import build_defs
from orchestration.defs.ingest.partitions import EXTRACTS_PARTITION
from orchestration.defs.ingest.sensors import landing_folder_sensor
from orchestration.lib.instance import configure_instance, event_batching, open_instance
from orchestration.resources import WarehouseResource


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--landing", required=True)
    ap.add_argument("--warehouse", required=True)
    args = ap.parse_args(argv)
    config = ComplaintsConfig.resolve(landing=args.landing, warehouse=args.warehouse)
    prepare_dbt(config)
    configure_instance(config)
    defs = build_defs(config)
    with open_instance(config) as instance:
        with build_sensor_context(
            instance=instance, resources={"warehouse": WarehouseResource.from_config(config)}
        ) as context:
            result = landing_folder_sensor(context)
        if not isinstance(result, SensorResult):
            print(f"nothing requested: {result.skip_message}")
            return 0
        # What the daemon does with the tick's result.
        for request in result.dynamic_partitions_requests or []:
            if isinstance(request, AddDynamicPartitionsRequest):
                instance.add_dynamic_partitions(EXTRACTS_PARTITION, request.partition_keys)
            elif isinstance(request, DeleteDynamicPartitionsRequest):
                for key in request.partition_keys:
                    instance.delete_dynamic_partition(EXTRACTS_PARTITION, key)
        ok = True
        for request in result.run_requests or []:
            print(f"run of {request.job_name}: {dict(request.tags)}", flush=True)
            with event_batching(instance):
                outcome = defs.resolve_job_def(request.job_name).execute_in_process(
                    instance=instance,
                    tags=request.tags,
                    raise_on_error=False,
                    # As `complaints run` does: the event log keeps everything.
                    run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
                )
            ok = ok and outcome.success
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
