"""Server mode on a real PostgreSQL 15 server (the session's throwaway cluster).

One story, run once per session (module fixture `story`), each test asserting one part of it:

1. the bundled extracts through `complaints run --target postgres` in a separate process, its
   Dagster instance on PostgreSQL storage (deploy/dagster.yaml) -> publication A;
2. the generated three-council set of tests/test_multi_council.py through `run_postgres`, an analyst's transaction open on `marts`
   while the swap waits -> publication B;
3. the same set again with a fault injected into the build schema -> blocked;
4. `complaints publish --rollback` -> A again.

The runs share one warehouse folder, as a deployment's runs do. The DuckDB publications of the
same extracts are the reference, table for table, row for row.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
from psycopg import sql

from complaints.config import ComplaintsConfig
from complaints.postgres import (
    MARTS,
    PREVIOUS,
    SERVER_LOCK,
    PostgresError,
    PostgresRunSummary,
    SwapPolicy,
    rollback,
    run_postgres,
    schema_exists,
)
from tests.pipeline import PROJECT_ROOT, SEED_ROWS_PER_MART, copy_landing

pytestmark = pytest.mark.integration

ROLES_SQL = PROJECT_ROOT / "deploy" / "postgres_roles.sql"
DAGSTER_YAML = PROJECT_ROOT / "deploy" / "dagster.yaml"
PIPELINE, ANALYST_LOGIN = "complaints_pipeline", "analyst_alice"
# Tables compared with DuckDB: every published one; of the publication tables those that do not
# name this publication or its engine (`publication` itself holds ids, times and versions).
VARYING = {
    "publication": None,
    "publication_extracts": "publication_id",
    "publication_waivers": "publication_id",
}

Rows = tuple[list[str], list[tuple[Any, ...]]]


def _sort_key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((v is None, v if v is not None else 0) for v in row)


def _normalise(columns: list[str], rows: list[tuple[Any, ...]], table: str) -> Rows:
    drop = VARYING.get(table)
    keep = [i for i, c in enumerate(columns) if c != drop]
    kept = [tuple(r[i] for i in keep) for r in rows]
    return [columns[i] for i in keep], sorted(kept, key=_sort_key)


def duckdb_tables(published: Path) -> dict[str, Rows]:
    out: dict[str, Rows] = {}
    with duckdb.connect(str(published), read_only=True) as con:
        names = [
            r[0]
            for r in con.execute("select table_name from duckdb_tables() order by 1").fetchall()
        ]
        for table in names:
            if table == "publication":
                continue
            cur = con.execute(f'select * from "{table}"')
            columns = [d[0] for d in cur.description or []]
            out[table] = _normalise(columns, cur.fetchall(), table)
    return out


def postgres_tables(dsn: str, schema: str = MARTS) -> dict[str, Rows]:
    out: dict[str, Rows] = {}
    with psycopg.connect(dsn) as con:
        names = [
            r[0]
            for r in con.execute(
                "select tablename from pg_tables where schemaname = %s order by 1", [schema]
            ).fetchall()
        ]
        for table in names:
            if table == "publication":
                continue
            cur = con.execute(
                sql.SQL("select * from {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
            )
            columns = [d.name for d in cur.description or []]
            out[table] = _normalise(columns, cur.fetchall(), table)
    return out


def publication_id(dsn: str, schema: str = MARTS) -> str:
    with psycopg.connect(dsn) as con:
        row = con.execute(
            sql.SQL("select publication_id from {}.publication").format(sql.Identifier(schema))
        ).fetchone()
    assert row is not None
    return str(row[0])


def apply_roles(cluster: Any) -> None:
    """deploy/postgres_roles.sql as a superuser would run it with psql (split at \\connect)."""
    text = ROLES_SQL.read_text()
    before, _, after = text.partition("\\connect complaints")
    for db, part in (("postgres", before), ("complaints", after)):
        code = "\n".join(ln for ln in part.splitlines() if not ln.strip().startswith("--"))
        with psycopg.connect(cluster.dsn(db=db), autocommit=True) as con:
            for statement in code.split(";"):
                if statement.strip():
                    con.execute(statement)
    with psycopg.connect(cluster.dsn(), autocommit=True) as con:
        con.execute(f"create database dagster owner {PIPELINE}")


@dataclass
class AnalystView:
    """What an analyst's single transaction saw while a publication was being swapped in."""

    before: tuple[str, int] | None = None
    after: tuple[str, int] | None = None
    error: BaseException | None = None


# Faults the gate must block, the same on PostgreSQL and on DuckDB ({schema}: the build's schema):
# a negative count (a row-wise expectation) and a rate off its formula (a column the gate derives
# in SQL).
FAULTS = (
    "update {schema}.fct_complaint_outcomes set outcome_count = -1 where outcome_count = "
    "(select max(outcome_count) from {schema}.fct_complaint_outcomes)",
    "update {schema}.mart_outcome_matrix set uphold_rate = 1.5 where source_line = "
    "(select min(source_line) from {schema}.mart_outcome_matrix)",
)


@dataclass
class Story:
    cluster: Any
    pipeline_dsn: str
    analyst_dsn: str
    dagster_home: Path
    seed_cli: subprocess.CompletedProcess[str]
    seed_id: str
    seed_tables: dict[str, Rows]
    multi_landing: Path
    multi: PostgresRunSummary
    multi_tables: dict[str, Rows]
    analyst: AnalystView
    faulted: PostgresRunSummary
    after_fault_id: str
    after_fault_tables: dict[str, Rows]
    rollback_cli: subprocess.CompletedProcess[str]
    after_rollback_id: str
    after_rollback_tables: dict[str, Rows]
    dagster_url: str = ""


def _analyst_reads(con: psycopg.Connection[Any]) -> tuple[str, int]:
    (pid,) = con.execute("select publication_id from marts.publication").fetchone() or ("",)
    (n,) = con.execute("select count(*) from marts.mart_reconciliation").fetchone() or (0,)
    return str(pid), int(n)


def _hold_analyst_transaction(dsn: str, view: AnalystView, ready: threading.Event) -> None:
    try:
        with psycopg.connect(dsn) as con:
            view.before = _analyst_reads(con)
            ready.set()
            threading.Event().wait(3.0)  # a long analyst query, transaction still open
            view.after = _analyst_reads(con)
            con.commit()
    except BaseException as exc:  # reported by the test, not lost in the thread
        view.error = exc
        ready.set()


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    complaints = Path(sys.executable).parent / "complaints"
    return subprocess.run(
        [str(complaints), *args], capture_output=True, text=True, env=env, timeout=900
    )


@pytest.fixture(scope="module")
def story(
    postgres_cluster: Any, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Story]:
    cluster = postgres_cluster
    apply_roles(cluster)
    pipeline_dsn = cluster.dsn(user=PIPELINE, db="complaints")
    analyst_dsn = cluster.dsn(user=ANALYST_LOGIN, db="complaints")
    base = tmp_path_factory.mktemp("server")

    # 1. Bundled extracts, through the CLI in another process, Dagster's instance on PostgreSQL.
    home = base / "dagster_home"
    home.mkdir()
    shutil.copy(DAGSTER_YAML, home / "dagster.yaml")
    env = {
        **os.environ,
        "COMPLAINTS_POSTGRES_DSN": pipeline_dsn,
        "DAGSTER_HOME": str(home),
        "DAGSTER_POSTGRES_URL": cluster.dsn(user=PIPELINE, db="dagster").replace(
            "postgresql://", "postgresql+psycopg2://"
        ),
    }
    seed_landing = copy_landing(base / "seed_landing")
    seed_cli = _cli(
        "run",
        "--target",
        "postgres",
        "--landing",
        str(seed_landing),
        "--warehouse",
        str(base / "warehouse"),
        env=env,
    )
    assert seed_cli.returncode == 0, seed_cli.stdout + seed_cli.stderr
    seed_id = publication_id(pipeline_dsn)
    seed_tables = postgres_tables(pipeline_dsn)

    # 2. A generated multi-council set; an analyst's transaction open on marts during the swap.
    # The session's set, asked for only now: another test worker may still be building it.
    three_councils = request.getfixturevalue("three_councils")
    multi_landing = shutil.copytree(three_councils[1], base / "multi_landing")
    config = ComplaintsConfig.resolve(
        landing=multi_landing,
        warehouse=base / "warehouse",
        dagster_home=home,
        target="postgres",
        postgres_dsn=pipeline_dsn,
    )
    view, ready = AnalystView(), threading.Event()
    threads: list[threading.Thread] = []

    def open_analyst_transaction(stage: str) -> None:
        thread = threading.Thread(target=_hold_analyst_transaction, args=(analyst_dsn, view, ready))
        thread.start()
        threads.append(thread)
        ready.wait(30)

    policy = SwapPolicy(lock_timeout_ms=300, attempts=100, pause_s=0.2)
    multi = run_postgres(config, policy=policy, before_swap=open_analyst_transaction)
    for thread in threads:
        thread.join(60)
    multi_tables = postgres_tables(pipeline_dsn)

    # 3. The same set, faults injected into the build schema before the gate.
    def inject_fault(build: str) -> None:
        with psycopg.connect(pipeline_dsn) as con:
            for fault in FAULTS:
                con.execute(sql.SQL(fault).format(schema=sql.Identifier(build)))

    faulted = run_postgres(config, policy=policy, after_build=inject_fault)
    after_fault_id = publication_id(pipeline_dsn)
    after_fault_tables = postgres_tables(pipeline_dsn)

    # 4. Roll back to the bundled publication.
    rollback_cli = _cli("publish", "--rollback", "--target", "postgres", env=env)
    after_rollback_id = publication_id(pipeline_dsn)
    after_rollback_tables = postgres_tables(pipeline_dsn)

    yield Story(
        cluster,
        pipeline_dsn,
        analyst_dsn,
        home,
        seed_cli,
        seed_id,
        seed_tables,
        multi_landing,
        multi,
        multi_tables,
        view,
        faulted,
        after_fault_id,
        after_fault_tables,
        rollback_cli,
        after_rollback_id,
        after_rollback_tables,
        env["DAGSTER_POSTGRES_URL"],
    )


def _assert_same(pg: dict[str, Rows], reference: dict[str, Rows]) -> None:
    assert sorted(pg) == sorted(reference)
    for table, (columns, rows) in reference.items():
        pg_columns, pg_rows = pg[table]
        assert pg_columns == columns, table
        assert len(pg_rows) == len(rows), table
        assert pg_rows == rows, table


def test_bundled_publication_equals_duckdb(story: Story, published_warehouse: Any) -> None:
    summary, warehouse, _ = published_warehouse
    reference = duckdb_tables(warehouse / "marts.duckdb")
    _assert_same(story.seed_tables, reference)
    assert {t: len(story.seed_tables[t][1]) for t in SEED_ROWS_PER_MART} == SEED_ROWS_PER_MART


def test_multi_council_publication_equals_duckdb(story: Story, three_councils: Any) -> None:
    summary, _, warehouse, _ = three_councils
    assert summary.success, summary
    reference = duckdb_tables(warehouse / "marts.duckdb")
    councils = reference["publication_extracts"][0].index("council")
    assert len({r[councils] for r in reference["publication_extracts"][1]}) == 3
    assert story.multi.success, story.multi.error
    _assert_same(story.multi_tables, reference)


def test_analyst_transaction_delays_the_swap_and_sees_one_publication(story: Story) -> None:
    view = story.analyst
    assert view.error is None, view.error
    assert view.before is not None and view.after is not None
    # The whole transaction saw the bundled publication, consistently, and the run still
    # published: the swap waited (several lock timeouts) rather than failing.
    assert view.before == view.after == (story.seed_id, SEED_ROWS_PER_MART["mart_reconciliation"])
    assert story.multi.success and story.multi.swap_attempts > 1
    assert story.multi.publication_id != story.seed_id


def test_injected_fault_blocks_and_leaves_marts_unchanged(story: Story) -> None:
    faulted = story.faulted
    assert not faulted.success and not faulted.published
    assert faulted.gate_results["gx_fct_complaint_outcomes"][0] is False
    assert "marts` unchanged" in (faulted.error or "")
    assert story.after_fault_id == story.multi.publication_id
    assert story.after_fault_tables == story.multi_tables


def test_the_second_run_in_a_warehouse_reuses_dbts_parse(story: Story) -> None:
    """The story's runs share one warehouse folder, as a deployment's do: the first parsed the
    project, the two after it (the same build schema name, so the same profile) reused that
    parse."""
    log = story.multi_landing.parent / "warehouse" / "dbt_target_postgres" / "dbt.log"
    runs = log.read_text(errors="replace").split("Running with dbt=")[1:]
    assert len(runs) == 3
    assert "Unable to do partial parsing because saved manifest not found" in runs[0]
    for later in runs[1:]:
        assert "Unable to do partial parsing" not in later
        assert "Nothing changed, skipping partial parsing" in later


def test_gate_outcomes_and_failing_rows_equal_duckdb(
    story: Story, three_councils: Any, tmp_path: Path
) -> None:
    """The faulted build schema (kept after the blocked run) and a DuckDB build of the same
    extracts with the same faults give every suite the same outcomes, counts and failing rows."""
    from expectations.postgres import validate_schema
    from expectations.runner import validate_tables
    from expectations.suites import SUITES

    build = tmp_path / "build.duckdb"
    shutil.copyfile(three_councils[2] / "build.duckdb", build)
    con = duckdb.connect(str(build))
    try:
        for fault in FAULTS:
            con.execute(fault.format(schema="main"))
    finally:
        con.close()
    on_duckdb = validate_tables(build, list(SUITES))
    on_postgres = validate_schema(story.pipeline_dsn, story.faulted.build_schema)
    assert not on_duckdb["fct_complaint_outcomes"].success
    assert not on_duckdb["mart_outcome_matrix"].success
    for name in SUITES:
        duck, pg = on_duckdb[name], on_postgres[name]
        assert pg.extra == {"evaluated": "postgres"} and duck.extra == {"evaluated": "duckdb"}
        assert [(o.name, o.success, o.unexpected_count) for o in pg.outcomes] == [
            (o.name, o.success, o.unexpected_count) for o in duck.outcomes
        ], name
        assert (pg.row_count, pg.failing_row_count) == (duck.row_count, duck.failing_row_count)
        # Physical row order may differ between the two databases: compare the rows as sets.
        assert sorted(map(str, pg.failing_rows.values.tolist())) == sorted(
            map(str, duck.failing_rows.values.tolist())
        ), name
        assert (
            pg.failing_rows_markdown().splitlines()[0]
            == (duck.failing_rows_markdown().splitlines()[0])
        )


def test_rollback_restores_the_previous_publication(story: Story) -> None:
    assert story.rollback_cli.returncode == 0, story.rollback_cli.stderr
    assert story.seed_id in story.rollback_cli.stdout
    assert story.after_rollback_id == story.seed_id
    assert story.after_rollback_tables == story.seed_tables
    assert publication_id(story.pipeline_dsn, PREVIOUS) == story.multi.publication_id


def test_analysts_read_marts_and_nothing_else(story: Story) -> None:
    build = story.faulted.build_schema  # a blocked run's build schema is kept for inspection
    with psycopg.connect(story.analyst_dsn, autocommit=True) as con:
        (n,) = con.execute("select count(*) from marts.mart_reconciliation").fetchone() or (0,)
        assert n == SEED_ROWS_PER_MART["mart_reconciliation"]
        denied = [
            f'select count(*) from "{build}".fct_complaint_outcomes',
            "select count(*) from raw.extracts",
            "select count(*) from marts_previous.mart_reconciliation",
            "insert into marts.publication (publication_id) values ('x')",
            "delete from marts.mart_reconciliation",
            "create table marts.mine (x int)",
            "create table public.mine (x int)",
            "create temporary table mine (x int)",
            "create schema mine",
        ]
        for statement in denied:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                con.execute(statement)


def test_dagster_run_on_postgres_storage_is_visible_from_another_process(
    story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run of step 1 happened in the CLI's process; this process reads the same instance."""
    from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus

    monkeypatch.setenv("DAGSTER_POSTGRES_URL", story.dagster_url)
    with DagsterInstance.from_config(str(story.dagster_home)) as instance:
        assert type(instance.run_storage).__module__.startswith("dagster_postgres")
        assert type(instance.event_log_storage).__module__.startswith("dagster_postgres")
        runs = instance.get_runs()
        assert [r.job_name for r in runs] == ["publish_postgres"]
        assert runs[0].status == DagsterRunStatus.SUCCESS
        assert runs[0].run_id in story.seed_cli.stdout
        evaluations = instance.all_logs(
            runs[0].run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
        )
        checks = {
            e.dagster_event.asset_check_evaluation_data.check_name: e.dagster_event.asset_check_evaluation_data.passed
            for e in evaluations
            if e.dagster_event is not None
        }
    from expectations.suites import SUITES

    assert checks == {f"gx_{name}": True for name in SUITES}


def _duckdb_comments(published: Path) -> dict[str, tuple[str | None, dict[str, str | None]]]:
    with duckdb.connect(str(published), read_only=True) as con:
        tables = dict(con.execute("select table_name, comment from duckdb_tables()").fetchall())
        columns: dict[str, dict[str, str | None]] = {t: {} for t in tables}
        for table, column, comment in con.execute(
            "select table_name, column_name, comment from duckdb_columns()"
        ).fetchall():
            if table in columns:  # duckdb_columns() also lists the catalog's views
                columns[table][column] = comment
    return {t: (tables[t], columns[t]) for t in tables}


def _postgres_comments(dsn: str) -> dict[str, tuple[str | None, dict[str, str | None]]]:
    out: dict[str, tuple[str | None, dict[str, str | None]]] = {}
    with psycopg.connect(dsn) as con:
        for table, comment in con.execute(
            "select c.relname, obj_description(c.oid, 'pg_class') from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'marts' "
            "and c.relkind = 'r'"
        ).fetchall():
            columns = dict(
                con.execute(
                    "select a.attname, col_description(a.attrelid, a.attnum) from pg_attribute a "
                    "where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped",
                    [f'marts."{table}"'],
                ).fetchall()
            )
            out[table] = (comment, columns)
    return out


def test_docs_persisted_as_on_duckdb(story: Story, published_warehouse: Any) -> None:
    """persist_docs: every published table and column carries the comment it has in the DuckDB
    publication (marts holds the bundled publication again after the rollback)."""
    _, warehouse, _ = published_warehouse
    reference = _duckdb_comments(warehouse / "marts.duckdb")
    on_server = _postgres_comments(story.pipeline_dsn)
    assert on_server == reference
    assert all(comment for comment, _ in on_server.values())


def test_swap_that_never_gets_its_locks_fails_and_changes_nothing(story: Story) -> None:
    """An analyst's transaction outlasting every attempt: the swap gives up with a clear error,
    `marts` and `marts_previous` are as they were."""
    from complaints.postgres import PostgresError, swap_in

    before = (publication_id(story.pipeline_dsn), publication_id(story.pipeline_dsn, PREVIOUS))
    with psycopg.connect(story.pipeline_dsn, autocommit=True) as owner:
        owner.execute("create schema publish_never")
        owner.execute("create table publish_never.publication (publication_id varchar)")
    with psycopg.connect(story.analyst_dsn) as analyst, psycopg.connect(story.pipeline_dsn) as con:
        _analyst_reads(analyst)  # holds ACCESS SHARE on marts tables until it ends
        with pytest.raises(PostgresError, match="could not take the locks"):
            swap_in(
                con, "publish_never", None, SwapPolicy(lock_timeout_ms=100, attempts=3, pause_s=0)
            )
        analyst.commit()
    with psycopg.connect(story.pipeline_dsn, autocommit=True) as owner:
        owner.execute("drop schema publish_never cascade")
    after = (publication_id(story.pipeline_dsn), publication_id(story.pipeline_dsn, PREVIOUS))
    assert after == before


def test_raw_load_by_copy_replaces_each_extract_once(story: Story, three_councils: Any) -> None:
    """Loading the same landing folder twice leaves exactly the rows of one load, and they are
    the rows of the DuckDB build database for the same extracts."""
    from complaints.postgres import load_raw
    from ingest.raw_tables import RAW_TABLES

    _, landing, warehouse, _ = three_councils
    config = ComplaintsConfig.resolve(
        landing=landing, warehouse=warehouse, target="postgres", postgres_dsn=story.pipeline_dsn
    )
    with psycopg.connect(story.pipeline_dsn) as con:
        load_raw(con, config)
        load_raw(con, config)
        on_server = {
            t: sorted(
                con.execute(sql.SQL("select * from raw.{}").format(sql.Identifier(t))).fetchall(),
                key=_sort_key,
            )
            for t in RAW_TABLES
        }
    with duckdb.connect(str(warehouse / "build.duckdb"), read_only=True) as con:
        in_duckdb = {
            t: sorted(con.execute(f'select * from raw."{t}"').fetchall(), key=_sort_key)
            for t in RAW_TABLES
        }
    assert sum(len(rows) for rows in on_server.values()) > 0
    assert on_server == in_duckdb


def test_dbt_logs_beside_its_artifacts_not_in_the_project(story: Story) -> None:
    """The server build's dbt writes its log into the warehouse's target folder: the project
    folder may be an installed package, which is never written to."""
    target = story.multi_landing.parent / "warehouse" / "dbt_target_postgres"
    assert (target / "dbt.log").stat().st_size > 0
    assert "Running with dbt" in (target / "dbt.log").read_text(errors="replace")


def test_a_second_writer_at_the_same_time_is_refused(story: Story, tmp_path: Path) -> None:
    """While one server run holds the database (its advisory lock), another run and a rollback
    are refused at once, naming why, and change nothing: no build schema dropped or written, the
    same publication in `marts`."""
    config = ComplaintsConfig.resolve(
        landing=story.multi_landing,
        warehouse=tmp_path / "warehouse",
        dagster_home=story.dagster_home,
        target="postgres",
        postgres_dsn=story.pipeline_dsn,
    )
    with psycopg.connect(story.pipeline_dsn) as other_run:
        other_run.execute("select pg_advisory_lock(%s)", [SERVER_LOCK])
        refused = run_postgres(config)
        with pytest.raises(PostgresError, match="another server run or rollback"):
            rollback(config)
    assert not refused.success and not refused.published
    assert "another server run or rollback is writing" in (refused.error or "")
    assert publication_id(story.pipeline_dsn) == story.after_rollback_id
    with psycopg.connect(story.pipeline_dsn) as con:
        assert schema_exists(con, story.faulted.build_schema)  # the blocked build, kept
