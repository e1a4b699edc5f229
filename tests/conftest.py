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
