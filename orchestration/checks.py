"""Quality-gate asset checks (Great Expectations suites) guarding publication."""

from __future__ import annotations

from dagster import AssetChecksDefinition


def gate_checks() -> list[AssetChecksDefinition]:
    return []
