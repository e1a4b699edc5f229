"""Server mode on a real PostgreSQL 15 server (the session's throwaway cluster): the same Dagster
graph as on DuckDB, its warehouse resource on the server.

One story, run once per module (fixture `story`), each test asserting one part of it:

1. the bundled extracts through `complaints run --target postgres` in a separate process, its
   Dagster instance on PostgreSQL storage (deploy/dagster.yaml), the server's URL carrying a
   password -> publication A;
2. two generated extracts land: the landing sensor (on a Dagster instance that never saw the
   folder) requests one run over exactly them, and that run publishes -> publication B;
3. a cause count raised in one extract, through the CLI again -> the gate blocks, `marts` stays B;
4. `complaints publish --rollback` -> A again.

The runs share one warehouse folder, as a deployment's runs do. The DuckDB publication of the
same extracts is the reference, table for table, row for row.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
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
    rollback,
)
from tests.pipeline import (
    APPENDIX_C,
    PROJECT_ROOT,
    SEED_ROWS_PER_MART,
    copy_landing,
    digest,
    replace_in_line,
)

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


PASSWORD = "pw-never-on-disk-7f3a"


@dataclass
class Story:
    cluster: Any
    pipeline_dsn: str
    analyst_dsn: str
    dagster_home: Path
    warehouse: Path
    env: dict[str, str]
    seed_cli: subprocess.CompletedProcess[str]
    seed_id: str
    seed_tables: dict[str, Rows]
    sensor_request: Any
    sensor_partitions: list[str]
    new_extracts: list[str]
    sensor_run_success: bool
    sensor_next_tick: Any
    sensor_id: str
    sensor_tables: dict[str, Rows]
    blocked_cli: subprocess.CompletedProcess[str]
    local_before_block: str
    after_block_id: str
    after_block_tables: dict[str, Rows]
    local_after_block: str
    rollback_cli: subprocess.CompletedProcess[str]
    after_rollback_id: str
    after_rollback_tables: dict[str, Rows]
    dagster_url: str


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    complaints = Path(sys.executable).parent / "complaints"
    return subprocess.run(
        [str(complaints), *args], capture_output=True, text=True, env=env, timeout=900
    )


def add_generated(landing: Path, scratch: Path, count: int) -> list[str]:
    """`count` generated extracts added to the landing folder and its manifest; their ids."""
    import yaml

    sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))
    from generate import generate

    entries = generate(scratch, extracts=count, seed=11, years=1)
    manifest = landing / "manifest.yml"
    doc = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    for entry in entries:
        shutil.copy(scratch / entry["path"], landing / entry["path"])
        doc["extracts"].append(entry)
    manifest.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return [e["id"] for e in entries]


def _sensor_story(
    landing: Path, warehouse: Path, dsn: str, scratch: Path
) -> tuple[Any, list[str], list[str], bool, Any]:
    """New files land; one sensor tick on a fresh instance; the run it requests; the next tick."""
    from dagster import (
        AddDynamicPartitionsRequest,
        DagsterInstance,
        DeleteDynamicPartitionsRequest,
        SensorResult,
        build_sensor_context,
    )

    from orchestration.definitions import build_defs
    from orchestration.defs.ingest.partitions import EXTRACTS_PARTITION
    from orchestration.defs.ingest.sensors import landing_folder_sensor
    from orchestration.lib.runner import server_environment
    from orchestration.resources import WarehouseResource

    config = ComplaintsConfig.resolve(
        landing=landing, warehouse=warehouse, target="postgres", postgres_dsn=dsn
    )
    resource = WarehouseResource.from_config(config)
    instance = DagsterInstance.ephemeral()

    def tick() -> Any:
        with build_sensor_context(instance=instance, resources={"warehouse": resource}) as context:
            result = landing_folder_sensor(context)
        if isinstance(result, SensorResult):
            for request in result.dynamic_partitions_requests or []:
                if isinstance(request, AddDynamicPartitionsRequest):
                    instance.add_dynamic_partitions(
                        request.partitions_def_name, request.partition_keys
                    )
                elif isinstance(request, DeleteDynamicPartitionsRequest):
                    for key in request.partition_keys:
                        instance.delete_dynamic_partition(request.partitions_def_name, key)
        return result

    with server_environment(config):
        first = tick()  # registers what the server holds as partitions; requests no run
        assert not isinstance(first, SensorResult) or not first.run_requests, first
        new = add_generated(landing, scratch, 2)
        result = tick()
        assert isinstance(result, SensorResult), result
        (request,) = result.run_requests or []
        keys = list(instance.get_dynamic_partitions(EXTRACTS_PARTITION))
        start = keys.index(request.tags["dagster/asset_partition_range_start"])
        end = keys.index(request.tags["dagster/asset_partition_range_end"])
        job = build_defs(config).resolve_job_def(request.job_name)
        outcome = job.execute_in_process(instance=instance, tags=request.tags, raise_on_error=False)
        return request, keys[start : end + 1], new, outcome.success, tick()


@pytest.fixture(scope="module")
def story(postgres_cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    cluster = postgres_cluster
    apply_roles(cluster)
    # The test cluster trusts local connections: the password is never checked, but every
    # component is handed a URL that carries it (test_no_secret_is_written_or_printed).
    pipeline_dsn = cluster.dsn(user=PIPELINE, password=PASSWORD, db="complaints")
    analyst_dsn = cluster.dsn(user=ANALYST_LOGIN, db="complaints")
    base = tmp_path_factory.mktemp("server")
    warehouse = base / "warehouse"

    # 1. Bundled extracts, through the CLI in another process, Dagster's instance on PostgreSQL.
    home = base / "dagster_home"
    home.mkdir()
    shutil.copy(DAGSTER_YAML, home / "dagster.yaml")
    dagster_url = cluster.dsn(user=PIPELINE, password=PASSWORD, db="dagster")
    env = {
        **os.environ,
        "COMPLAINTS_POSTGRES_DSN": pipeline_dsn,
        "DAGSTER_HOME": str(home),
        "DAGSTER_POSTGRES_URL": dagster_url.replace("postgresql://", "postgresql+psycopg2://"),
    }
    landing = copy_landing(base / "landing")
    where = ["--landing", str(landing), "--warehouse", str(warehouse)]
    seed_cli = _cli("run", "--target", "postgres", *where, env=env)
    assert seed_cli.returncode == 0, seed_cli.stdout + seed_cli.stderr
    seed_id = publication_id(pipeline_dsn)
    seed_tables = postgres_tables(pipeline_dsn)

    # 2. New files land: the sensor's one run over them publishes.
    request, partitions, new, sensor_ok, next_tick = _sensor_story(
        landing, warehouse, pipeline_dsn, base / "generated"
    )
    sensor_id = publication_id(pipeline_dsn)
    sensor_tables = postgres_tables(pipeline_dsn)

    # 3. A fault in one extract: the gate blocks; `marts` and the local copy stay as they are.
    local_before = digest(warehouse / "marts.duckdb")
    replace_in_line(landing / APPENDIX_C, 10, "Service Delayed – 71", "Service Delayed – 72")
    blocked_cli = _cli("run", "--target", "postgres", *where, env=env)
    after_block_id = publication_id(pipeline_dsn)
    after_block_tables = postgres_tables(pipeline_dsn)
    local_after = digest(warehouse / "marts.duckdb")

    # 4. Roll back to the previous publication (the bundled one).
    rollback_cli = _cli(
        "publish", "--rollback", "--target", "postgres", "--warehouse", str(warehouse), env=env
    )
    yield Story(
        cluster=cluster,
        pipeline_dsn=pipeline_dsn,
        analyst_dsn=analyst_dsn,
        dagster_home=home,
        warehouse=warehouse,
        env=env,
        seed_cli=seed_cli,
        seed_id=seed_id,
        seed_tables=seed_tables,
        sensor_request=request,
        sensor_partitions=partitions,
        new_extracts=new,
        sensor_run_success=sensor_ok,
        sensor_next_tick=next_tick,
        sensor_id=sensor_id,
        sensor_tables=sensor_tables,
        blocked_cli=blocked_cli,
        local_before_block=local_before,
        after_block_id=after_block_id,
        after_block_tables=after_block_tables,
        local_after_block=local_after,
        rollback_cli=rollback_cli,
        after_rollback_id=publication_id(pipeline_dsn),
        after_rollback_tables=postgres_tables(pipeline_dsn),
        dagster_url=env["DAGSTER_POSTGRES_URL"],
    )


def _assert_same(pg: dict[str, Rows], reference: dict[str, Rows]) -> None:
    assert sorted(pg) == sorted(reference)
    for table, (columns, rows) in reference.items():
        pg_columns, pg_rows = pg[table]
        assert pg_columns == columns, table
        assert len(pg_rows) == len(rows), table
        assert pg_rows == rows, table


def test_bundled_publication_equals_duckdb(story: Story, published_warehouse: Any) -> None:
    """Every published table, row for row, as the DuckDB target published the same landing
    folder."""
    _, warehouse, _ = published_warehouse
    reference = duckdb_tables(warehouse / "marts.duckdb")
    assert len(reference) >= 15
    _assert_same(story.seed_tables, reference)
    assert {t: len(story.seed_tables[t][1]) for t in SEED_ROWS_PER_MART} == SEED_ROWS_PER_MART


def test_cli_summary_of_a_server_run(story: Story) -> None:
    out = story.seed_cli.stdout
    assert out.splitlines()[0].endswith("SUCCESS (PostgreSQL)"), out
    assert f"published schema marts [updated: publication {story.seed_id}" in out
    for table, rows in SEED_ROWS_PER_MART.items():
        assert f"  {table}: {rows} rows" in out
    assert re.search(r"gate \(Great Expectations\): (\d+) of \1 suites passed", out), out


def test_sensor_requests_one_run_for_new_files_and_it_publishes(story: Story) -> None:
    from dagster import SkipReason

    assert story.sensor_request.job_name == "refresh_warehouse"
    assert story.sensor_partitions == story.new_extracts
    assert story.sensor_run_success
    assert story.sensor_id != story.seed_id
    columns, rows = story.sensor_tables["publication_extracts"]
    ids = {row[columns.index("extract_id")] for row in rows}
    assert ids == {"brent_2019_20_root_causes", "brent_2022_23_outcome_matrix", *story.new_extracts}
    assert isinstance(story.sensor_next_tick, SkipReason), story.sensor_next_tick


def test_blocked_run_leaves_marts_unchanged(story: Story) -> None:
    blocked = story.blocked_cli
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    assert "FAILED gate" in blocked.stdout, blocked.stdout
    assert "published schema marts [UNCHANGED (previous publication kept)]" in blocked.stdout
    assert story.after_block_id == story.sensor_id
    assert story.after_block_tables == story.sensor_tables
    assert story.local_after_block == story.local_before_block


def test_later_runs_in_a_warehouse_reuse_dbts_parse(story: Story) -> None:
    """The story's runs share one warehouse folder, as a deployment's do: the first parsed the
    project for the server's profile, the runs after it reused that parse."""
    log = story.warehouse / "dbt_target_postgres" / "dbt.log"
    runs = log.read_text(errors="replace").split("Running with dbt=")[1:]
    assert runs
    for later in runs[1:]:
        assert "Unable to do partial parsing" not in later


def test_rollback_restores_the_previous_publication(story: Story) -> None:
    assert story.rollback_cli.returncode == 0, story.rollback_cli.stderr
    assert story.seed_id in story.rollback_cli.stdout
    assert story.after_rollback_id == story.seed_id
    assert story.after_rollback_tables == story.seed_tables
    assert publication_id(story.pipeline_dsn, PREVIOUS) == story.sensor_id
    # The warehouse folder's copy followed: the report and `complaints sql` show A again.
    with duckdb.connect(str(story.warehouse / "marts.duckdb"), read_only=True) as con:
        assert con.execute("select publication_id from publication").fetchone() == (story.seed_id,)


def test_analysts_read_marts_and_nothing_else(story: Story) -> None:
    with psycopg.connect(story.analyst_dsn, autocommit=True) as con:
        (n,) = con.execute("select count(*) from marts.mart_reconciliation").fetchone() or (0,)
        assert n == SEED_ROWS_PER_MART["mart_reconciliation"]
        denied = [
            "select count(*) from build_marts.fct_complaint_outcomes",
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


def test_dagster_runs_on_postgres_storage_carry_the_catalogue(
    story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI's runs, read from this process on the same instance: the same job as on DuckDB,
    its checks, and per-model row counts, column schemas and column lineage."""
    from dagster import AssetKey, DagsterEventType, DagsterInstance, DagsterRunStatus

    from expectations.suites import SUITES

    monkeypatch.setenv("DAGSTER_POSTGRES_URL", story.dagster_url)
    with DagsterInstance.from_config(str(story.dagster_home)) as instance:
        assert type(instance.run_storage).__module__.startswith("dagster_postgres")
        runs = instance.get_runs()
        assert [r.job_name for r in runs] == ["refresh_warehouse", "refresh_warehouse"]
        (seed_run,) = [r for r in runs if r.run_id in story.seed_cli.stdout]
        assert seed_run.status == DagsterRunStatus.SUCCESS
        checks = {}
        for event in instance.all_logs(
            seed_run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
        ):
            assert event.dagster_event is not None
            data = event.dagster_event.asset_check_evaluation_data
            checks[(data.asset_key, data.check_name)] = data.passed
        materialized = {}
        for event in instance.all_logs(
            seed_run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
        ):
            assert event.dagster_event is not None
            m = event.dagster_event.step_materialization_data.materialization
            materialized[m.asset_key] = m.metadata
    assert {f"gx_{name}" for name in SUITES} <= {name for _, name in checks}
    assert len(checks) > 100 and all(checks.values())
    for table, rows in SEED_ROWS_PER_MART.items():
        metadata = materialized[AssetKey(table)]
        assert metadata["dagster/row_count"].value == rows, table
        assert metadata["dagster/column_schema"].value.columns, table
        assert metadata["dagster/column_lineage"].value.deps_by_column, table
    lineage = materialized[AssetKey("stg_raw__extracts")]["dagster/column_lineage"].value
    assert any(
        dep.asset_key == AssetKey("raw_extracts") and dep.column_name.startswith("extracts.")
        for deps in lineage.deps_by_column.values()
        for dep in deps
    )
    schema = materialized[AssetKey("mart_reconciliation")]["dagster/column_schema"].value
    # The column types in DuckDB's spelling, as the DuckDB target's runs show them.
    assert {"VARCHAR", "BIGINT"} <= {c.type for c in schema.columns}, schema


def test_no_secret_is_written_or_printed(story: Story) -> None:
    """The password in the server's URL is nowhere on disk in the warehouse folder or the
    Dagster home (Great Expectations' configuration, dbt's artifacts and logs, the run logs),
    nor in anything the CLI printed."""
    found = []
    for folder in (story.warehouse, story.dagster_home):
        for path in folder.rglob("*"):
            if path.is_file() and not path.is_symlink() and PASSWORD.encode() in path.read_bytes():
                found.append(str(path))
    for result in (story.seed_cli, story.blocked_cli, story.rollback_cli):
        if PASSWORD in result.stdout + result.stderr:
            found.append(" ".join(map(str, result.args[:3])))
    gx_config = story.warehouse / "gx" / "gx" / "great_expectations.yml"
    assert gx_config.is_file() and "COMPLAINTS_GX_POSTGRES_URL" in gx_config.read_text()
    assert (story.warehouse / "logs" / "last_run.log").stat().st_size > 0
    assert found == []


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


def test_docs_persisted_as_on_duckdb(story: Story, published_warehouse: Any) -> None:
    """persist_docs: every published table and column carries the comment it has in the DuckDB
    publication (marts holds the bundled publication again after the rollback), and so does the
    local copy the report and exports are built from."""
    _, warehouse, _ = published_warehouse
    reference = _duckdb_comments(warehouse / "marts.duckdb")
    on_server = _postgres_comments(story.pipeline_dsn)
    assert on_server == reference
    assert all(comment for comment, _ in on_server.values())
    assert _duckdb_comments(story.warehouse / "marts.duckdb") == reference


def test_a_second_writer_at_the_same_time_is_refused(story: Story, tmp_path: Path) -> None:
    """While one server run holds the database (its advisory lock), another run and a rollback
    are refused at once, naming why, and change nothing."""
    env = {k: v for k, v in story.env.items() if k != "DAGSTER_POSTGRES_URL"}
    env["DAGSTER_HOME"] = str(tmp_path / "home")
    landing = copy_landing(tmp_path / "landing")
    where = ["--landing", str(landing), "--warehouse", str(tmp_path / "warehouse")]
    with psycopg.connect(story.pipeline_dsn) as other_run:
        other_run.execute("select pg_advisory_lock(%s)", [SERVER_LOCK])
        refused = _cli("run", "--target", "postgres", *where, env=env)
        config = ComplaintsConfig.resolve(target="postgres", postgres_dsn=story.pipeline_dsn)
        with pytest.raises(PostgresError, match="another server run or rollback"):
            rollback(config)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "another server run or rollback is writing" in refused.stdout
    # An expected failure: its reason in the summary, no stack trace on the terminal.
    assert "Traceback" not in refused.stdout + refused.stderr
    assert publication_id(story.pipeline_dsn) == story.after_rollback_id
    assert MARTS == "marts"
