"""The quality gate: each Great Expectations suite as a blocking Dagster asset check.

`published_marts` depends on every guarded model, so a failed blocking check stops publication
and the analysts keep the last good file. GX is imported inside the check functions only.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
    asset_check,
    multi_asset_check,
)

from expectations.suites import SUITES
from orchestration.resources import WarehouseResource

if TYPE_CHECKING:
    import pandas as pd
import pandas as pd

from expectations.runner import SuiteResult, markdown_table, validate_target

GATED_TABLES: tuple[str, ...] = tuple(s.table for s in SUITES.values())


def _result_metadata(result: object, docs: Path | None) -> dict[str, Any]:

    assert isinstance(result, SuiteResult)

    expectations = pd.DataFrame(
        [
            {
                "expectation": o.name,
                "type": o.expectation_type,
                "success": o.success,
                "unexpected_rows": o.unexpected_count,
                "observed": o.observed,
            }
            for o in result.outcomes
        ]
    )
    metadata: dict[str, Any] = {
        "rows_validated": result.row_count,
        "expectations_evaluated": len(result.outcomes),
        "expectations_failed": len(result.failed),
        "expectations": MetadataValue.md(markdown_table(expectations)),
        "failing_rows": MetadataValue.md(result.failing_rows_markdown()),
        "failing_row_count": result.failing_row_count,
    }
    if docs is not None:
        metadata["data_docs"] = MetadataValue.path(str(docs))
    return metadata


GATE_SPECS = [
    AssetCheckSpec(
        name=f"gx_{suite.name}",
        asset=AssetKey(suite.table),
        blocking=suite.blocking,
        description=f"Great Expectations suite '{suite.name}': {suite.description}",
    )
    for suite in SUITES.values()
]


# One step for every suite: GX is imported and its context opened once, and Data Docs are built
# once per run; each suite is still its own blocking check on the model it guards.
@multi_asset_check(
    specs=GATE_SPECS,
    name="great_expectations_gate",
    description="Great Expectations suites (expectations/suites.py) guarding publication.",
)
def great_expectations_gate(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource
) -> Iterator[AssetCheckResult]:

    results = validate_target(warehouse.gate_target(), list(SUITES), Path(warehouse.warehouse_dir))
    for suite in SUITES.values():
        result = results[suite.name]
        if not result.success:
            context.log.error(result.summary() + "\n" + result.failing_rows_markdown())
        yield AssetCheckResult(
            asset_key=AssetKey(suite.table),
            check_name=f"gx_{suite.name}",
            passed=result.success,
            severity=AssetCheckSeverity.ERROR,
            description=result.summary(),
            metadata=_result_metadata(result, result.docs_index),
        )


@asset_check(
    asset=AssetKey("recon_waivers"),
    name="waivers_not_stale",
    blocking=False,
    description=(
        "Every reviewed waiver (expectations/waivers.yml) still matches a failing control total "
        "exactly. A stale waiver no longer applies: review it and remove it."
    ),
)
def waivers_not_stale(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource
) -> AssetCheckResult:

    # One row per reviewed waiver (expectations/waivers.yml), so as small as that file.
    frame = warehouse.build_table("recon_waivers", order_by="waiver_id")
    stale = frame.loc[~frame["matched"].astype(bool)]
    applied = frame.loc[frame["matched"].astype(bool)]
    if not stale.empty:
        context.log.warning(f"{len(stale)} stale waiver(s): {', '.join(stale['waiver_id'])}")
    if not applied.empty:
        context.log.warning(
            f"{len(applied)} control total(s) waived: "
            + ", ".join(f"{r.extract_id} {r.scope} {r.measure}" for r in applied.itertuples())
        )
    columns = ["waiver_id", "extract_id", "level", "scope", "measure", "stated", "computed"]
    return AssetCheckResult(
        passed=stale.empty,
        severity=AssetCheckSeverity.WARN,
        description=(
            f"{len(applied)} waiver(s) applied, {len(stale)} stale"
            if not stale.empty
            else f"{len(applied)} waiver(s) applied, none stale"
        ),
        metadata={
            "waivers": len(frame),
            "applied": len(applied),
            "stale": len(stale),
            "stale_waivers": MetadataValue.md(
                markdown_table(stale[columns]) if not stale.empty else "_none_"
            ),
            "applied_waivers": MetadataValue.md(
                markdown_table(applied[columns]) if not applied.empty else "_none_"
            ),
        },
    )


def gate_checks() -> list[AssetChecksDefinition]:
    return [great_expectations_gate, waivers_not_stale]
