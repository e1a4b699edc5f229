from __future__ import annotations

import fcntl
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings

T = TypeVar("T")

# Hypothesis profiles: `dev` (the default) is quick for a developer's edit-run loop; `ci`, which
# `make test` and CI select with HYPOTHESIS_PROFILE=ci, runs the full counts (docs/testing.md).
# Each test states its full count as a multiple of the profile's unit (see `examples`).
settings.register_profile(
    "dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci",
    max_examples=250,
    deadline=None,
    derandomize=True,  # CI failures reproduce: the same examples on every run
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


# The longest test files, longest first, as `make test` measured them (pytest --durations): its
# workers (pytest-xdist, `--dist loadfile --no-loadscope-reorder`) take files in this order, so
# the long ones start early instead of ending the run alone. The first two build the session's
# shared runs (`published_warehouse`, `three_councils`) side by side, and the third starts with
# a run of its own before it needs them, so no worker waits idle for another's. A file not
# listed runs after these, the pipeline's first.
LONGEST_FIRST = (
    "test_reliability.py",
    "test_multi_council.py",
    "test_postgres.py",
    "test_reliability_kills.py",
    "test_failure_reasons.py",
    "test_build_db_size.py",
    "test_cli_progress.py",
    "test_sensor.py",
    "test_event_log_storage.py",
    "test_install.py",
    "test_vocabulary.py",
    "test_gate_suites.py",
    "test_report.py",
    "test_fuzz_parsers.py",
    "test_warehouse_integration.py",
    "test_parser_properties.py",
    "test_sql_cli.py",
    "test_published_file.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files in the order of LONGEST_FIRST, then the other files that run the pipeline, then the
    rest (a stable sort: tests keep their order within a file)."""
    slow = {"integration", "install"}

    def rank(item: pytest.Item) -> tuple[int, int]:
        name = item.path.name
        if name in LONGEST_FIRST:
            return (0, LONGEST_FIRST.index(name))
        return (1, 0 if slow & {m.name for m in item.iter_markers()} else 1)

    items.sort(key=rank)


def examples(factor: int) -> int:
    """`factor` x the profile's unit: the dev profile's 25 or the ci profile's 250 examples."""
    return factor * settings().max_examples


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
    `complaints run` configures it). Yields (summary, warehouse_dir, landing_dir).

    Once per `make test`, not once per worker: the first worker to need it builds it in the
    folder the workers share, the others wait for it and read its summary. Tests that change a
    warehouse work on a copy (tests/pipeline.py `copy_published`)."""
    from tests.pipeline import copy_landing, run_on_persistent_instance

    def build(base: Path) -> tuple[Any, Path, Path]:
        landing = copy_landing(base / "landing")
        warehouse = base / "warehouse"
        summary = run_on_persistent_instance(landing, warehouse, base / "dagster_home")
        assert summary.success, summary
        return summary, warehouse, landing

    return _once_per_session(tmp_path_factory, "published", build)


def _once_per_session(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], T]
) -> T:
    """build(folder) in this process, or, under pytest-xdist, once for all workers: under a file
    lock in the parent of the workers' temporary folders, its result pickled for the others."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return build(tmp_path_factory.mktemp(name))
    shared = tmp_path_factory.getbasetemp().parent
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = shared / f"{name}.pickle"
        if result.exists():
            value: T = pickle.loads(result.read_bytes())
            return value
        (shared / name).mkdir()
        value = build(shared / name)
        result.write_bytes(pickle.dumps(value))
        return value


@dataclass
class StockStorageRerun:
    """What `stock_storage_rerun` saw (picklable, for the other test workers)."""

    yaml_on_verified: str
    stale_storage: str
    storage: str
    warned: list[str]
    yaml_on_unverified: str
    summary: Any
    run_readable_elsewhere: bool
    seen_before: Any
    seen_during: Any
    checksums_before: dict[str, Any]
    checksums_after: dict[str, Any]


@pytest.fixture(scope="session")
def stock_storage_rerun(published_warehouse, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The real extracts run again on a copy of the session's publication, on a Dagster release
    the pooled event log was not verified against (so on Dagster's stock SQLite event log, with
    one warning), while an analyst's read-only connection to the published file stays open.
    One run for two stories: tests/test_event_log_storage.py (the fallback) and
    tests/test_warehouse_integration.py (a reader never blocks a run, a rerun is identical)."""
    import warnings

    import duckdb
    from dagster import DagsterInstance

    from complaints.config import ComplaintsConfig
    from orchestration.lib import dagster_compat
    from orchestration.lib.instance import configure_instance, open_instance
    from orchestration.lib.runner import run_pipeline
    from tests.pipeline import copy_published, table_checksums

    def build(base: Path) -> StockStorageRerun:
        _, published_dir, published_landing = published_warehouse
        landing, warehouse = copy_published(published_landing, published_dir, base)
        config = ComplaintsConfig.resolve(
            landing=landing, warehouse=warehouse, dagster_home=base / "dagster_home"
        )
        configure_instance(config)  # on the verified version: ours, named in dagster.yaml
        yaml_on_verified = (config.dagster_home / "dagster.yaml").read_text()
        published = warehouse / "marts.duckdb"
        checksums_before = table_checksums(published)
        query = "select sum(total) from mart_department_scorecard"
        with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always")
            patch.setattr(dagster_compat, "_warned", False)
            patch.setattr(dagster_compat, "VERIFIED_DAGSTER_VERSIONS", ("0.0.0",))
            with open_instance(config) as stale:  # the dagster.yaml written before the "upgrade"
                stale_storage = type(stale.event_log_storage).__name__
            configure_instance(config)
            analyst = duckdb.connect(str(published), read_only=True)
            try:
                seen_before = analyst.execute(query).fetchone()
                with open_instance(config) as instance:
                    storage = type(instance.event_log_storage).__name__
                    summary = run_pipeline(config, instance)
                seen_during = analyst.execute(query).fetchone()
            finally:
                analyst.close()
        with DagsterInstance.from_config(str(config.dagster_home)) as reader:
            readable = reader.get_run_by_id(summary.run_id) is not None
        return StockStorageRerun(
            yaml_on_verified=yaml_on_verified,
            stale_storage=stale_storage,
            storage=storage,
            warned=[str(w.message) for w in warned if issubclass(w.category, RuntimeWarning)],
            yaml_on_unverified=(config.dagster_home / "dagster.yaml").read_text(),
            summary=summary,
            run_readable_elsewhere=readable,
            seen_before=seen_before,
            seen_during=seen_during,
            checksums_before=checksums_before,
            checksums_after=table_checksums(published),
        )

    return _once_per_session(tmp_path_factory, "stock_rerun", build)


# Every council of this seed reports some departments in both periods, in both layouts (the
# report's change between periods has something to show) and the councils share department names;
# with `shared_names`, its Appendix C extracts also hold the variation classes the marts oracle
# needs (tests/test_marts_oracle.py asserts which: it fails if a new seed loses one); and its
# largest Appendix 1 count is in one cell only, so the fault tests/test_postgres.py injects there
# fails fewer rows than the gate samples and both databases show the same ones.
COUNCILS_SEED = 293


@pytest.fixture(scope="session")
def three_councils(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """(summary, landing, warehouse, dagster_home) after one DuckDB run over 3 generated councils
    x 2 periods x 2 layouts (benchmarks/generate.py, `shared_names`: the same service-area names
    under several departments and unresolved sections), on a persistent Dagster instance in
    `dagster_home`: tests/test_multi_council.py checks it, tests/test_report.py reads its report's
    change between periods, and the server-mode tests compare the PostgreSQL publication of the
    same landing folder with it. Built once per `make test`, as
    `published_warehouse` is; a test that runs again works on a copy (warehouse and home)."""
    import sys

    from tests.pipeline import run_on_persistent_instance

    def build(base: Path) -> tuple[Any, Path, Path, Path]:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from generate import generate

        landing, warehouse, home = base / "landing", base / "warehouse", base / "dagster_home"
        # years=2: extracts 4k to 4k+3 are council k's Appendix C and Appendix 1 for 2018/19,
        # then for 2019/20.
        generate(landing, extracts=4 * 3, seed=COUNCILS_SEED, years=2, shared_names=True)
        summary = run_on_persistent_instance(landing, warehouse, home)
        return summary, landing, warehouse, home

    return _once_per_session(tmp_path_factory, "councils", build)


@pytest.fixture(scope="session")
def postgres_cluster():  # type: ignore[no-untyped-def]
    """A throwaway PostgreSQL server for the session (tests/postgres_cluster.py): initdb and
    pg_ctl in a temporary folder, as the `postgres` OS user when we are root; stopped and removed
    afterwards. Without the server binaries every test using it fails, naming the package (`make
    test` installs it first: scripts/system-packages)."""
    from tests.postgres_cluster import find_bin_dir, start_cluster

    if find_bin_dir() is None:
        pytest.fail(
            "PostgreSQL server binaries (initdb, pg_ctl) are not installed: "
            "apt-get install postgresql (or set PG_BIN to their folder)",
            pytrace=False,
        )
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def baseline(published_warehouse, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    """A landing folder and a warehouse published once from the real extracts: a copy of the
    session's run (tests/conftest.py), so this module adds no run of its own for it."""
    from tests.pipeline import copy_published

    _, warehouse, landing = published_warehouse
    base = tmp_path_factory.mktemp("baseline")
    copy_published(landing, warehouse, base)
    return base


@pytest.fixture
def workspace(baseline: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the baseline: (landing, warehouse)."""
    from tests.pipeline import copy_published

    return copy_published(baseline / "landing", baseline / "warehouse", tmp_path)
