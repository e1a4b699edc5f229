from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LANDING = ROOT / "data" / "landing"
APPENDIX_C = LANDING / "brent_2019-20_appendix_c_root_causes.txt"
APPENDIX_1 = LANDING / "brent_2022-23_appendix_1_outcome_matrix.txt"


@pytest.fixture(scope="session")
def appendix_c_bytes() -> bytes:
    return APPENDIX_C.read_bytes()


@pytest.fixture(scope="session")
def appendix_1_bytes() -> bytes:
    return APPENDIX_1.read_bytes()


@pytest.fixture(scope="session")
def published_warehouse(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The whole graph materialised once on the real extracts (temporary landing and warehouse
    folders, a persistent Dagster instance in the sibling folder `dagster_home`, configured as
    `complaints run` configures it). Yields (summary, warehouse_dir, landing_dir)."""
    from tests.pipeline import copy_landing, run_on_persistent_instance

    base = tmp_path_factory.mktemp("published")
    landing = copy_landing(base / "landing")
    warehouse = base / "warehouse"
    summary = run_on_persistent_instance(landing, warehouse, base / "dagster_home")
    assert summary.success, summary
    return summary, warehouse, landing
