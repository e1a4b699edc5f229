"""The analysts' HTML report as an asset downstream of the publication."""

from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from complaints.report import REPORT_NAME, build_report
from orchestration.defs.publish.assets import published_marts
from orchestration.resources import WarehouseResource


@asset(
    group_name="publish",
    kinds={"html"},
    deps=[published_marts],
    description=(
        "The analysts' report (warehouse/report.html): a static, self-contained HTML file (no "
        "scripts, no network; prints as a committee paper) built from the published file only: "
        "department scorecard, service areas with the highest upheld-or-partly share, root-cause "
        "categories by department, change between periods, reconciliation status. Each chart "
        "has its numbers as a table and states its metric."
    ),
)
def analysts_report(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> MaterializeResult[Any]:
    published = warehouse.published_db
    out = Path(published).parent / REPORT_NAME
    result = build_report(published, out, workers=warehouse.config.report_workers)
    context.log.info(f"report for publication {result.publication_id}: {out}")
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(out)),
            "url": MetadataValue.url(out.as_uri()),
            "publication_id": result.publication_id,
            "figures": result.figures,
            "charts_rendered": result.charts_rendered,
            "charts_reused": result.charts_reused,
            "bytes": result.size,
            "preview": MetadataValue.md(result.summary_markdown),
        }
    )
