"""The analysts' HTML report: static, self-contained, built from the published file only."""

from complaints.report.build import REPORT_NAME, ReportResult, build_report

__all__ = ["REPORT_NAME", "ReportResult", "build_report"]
