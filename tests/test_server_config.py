"""Server mode's configuration: target and DSN through ComplaintsConfig and the CLI (no server)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli.main import app
from complaints.config import ComplaintsConfig
from complaints.postgres import dbt_environment

DSN = "postgresql://complaints_pipeline:s3cret@db.example.org:6543/complaints?sslmode=require"


def test_target_defaults_to_duckdb_and_option_beats_environment() -> None:
    assert ComplaintsConfig.resolve(environ={}).target == "duckdb"
    env = {"COMPLAINTS_TARGET": "postgres", "COMPLAINTS_POSTGRES_DSN": DSN}
    from_env = ComplaintsConfig.resolve(environ=env)
    assert (from_env.target, from_env.postgres_dsn) == ("postgres", DSN)
    explicit = ComplaintsConfig.resolve(
        environ=env, target="duckdb", postgres_dsn="postgresql:///x"
    )
    assert (explicit.target, explicit.postgres_dsn) == ("duckdb", "postgresql:///x")


def test_unknown_target_is_refused_and_dsn_stays_out_of_repr() -> None:
    with pytest.raises(ValueError, match="duckdb, postgres"):
        ComplaintsConfig.resolve(environ={}, target="sqlite")
    config = ComplaintsConfig.resolve(environ={}, target="postgres", postgres_dsn=DSN)
    assert "s3cret" not in repr(config)


def test_dbt_profile_environment_from_the_dsn() -> None:
    env = dbt_environment(DSN, "build_x")
    assert env["COMPLAINTS_PG_HOST"] == "db.example.org"
    assert env["COMPLAINTS_PG_PORT"] == "6543"
    assert env["COMPLAINTS_PG_USER"] == "complaints_pipeline"
    assert env["COMPLAINTS_PG_DBNAME"] == "complaints"
    assert env["COMPLAINTS_PG_SSLMODE"] == "require"
    assert env["COMPLAINTS_PG_SCHEMA"] == "build_x"
    # The password only in the variable dbt scrubs from its logs.
    assert env["DBT_ENV_SECRET_PG_PASSWORD"] == "s3cret"
    assert [k for k, v in env.items() if v == "s3cret"] == ["DBT_ENV_SECRET_PG_PASSWORD"]


def test_run_on_postgres_without_a_server_says_how_to_give_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("COMPLAINTS_POSTGRES_DSN", raising=False)
    result = CliRunner().invoke(app, ["run", "--target", "postgres"])
    assert result.exit_code == 2
    assert "COMPLAINTS_POSTGRES_DSN" in result.output and "--postgres-dsn" in result.output


def test_unreachable_server_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.postgres_cluster import free_port

    dsn = f"postgresql://nobody@127.0.0.1:{free_port()}/complaints?connect_timeout=2"
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--target",
            "postgres",
            "--postgres-dsn",
            dsn,
            "--warehouse",
            str(tmp_path / "w"),
            "--dagster-home",
            str(tmp_path / "h"),
        ],
    )
    assert result.exit_code == 1
    assert "cannot connect to the PostgreSQL server" in result.output
    assert "Traceback" not in result.output
