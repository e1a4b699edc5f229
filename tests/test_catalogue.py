"""The asset catalogue a data engineer reads in the Dagster UI, read back from the real instance
of a real run (tests/conftest.py `published_warehouse`): every dbt model carries its row count and
column schema (checked against the build database itself), marts and facts carry column lineage
that reaches the raw tables' columns, and every asset has owners, tags and code references."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance

from complaints.catalogue import LineageCache, column_lineage, compiled_sql, read_table_facts
from orchestration.definitions import OWNERS, build_defs
from orchestration.defs.transform.assets import build_dbt_assets
from orchestration.defs.transform.project import dbt_project
from tests.pipeline import config_for

pytestmark = pytest.mark.integration

RAW = AssetKey("raw_extracts")


@pytest.fixture(scope="module")
def catalogue(published_warehouse) -> Iterator[tuple[Any, DagsterInstance, Path]]:  # type: ignore[no-untyped-def]
    _, warehouse, landing = published_warehouse
    config = config_for(landing, warehouse)
    graph = build_defs(config).resolve_asset_graph()
    with DagsterInstance.from_config(str(warehouse.parent / "dagster_home")) as instance:
        yield graph, instance, warehouse


def latest(instance: DagsterInstance, key: AssetKey) -> dict[str, Any]:
    event = instance.get_latest_materialization_event(key)
    assert event is not None and event.asset_materialization is not None, key
    return dict(event.asset_materialization.metadata)


def dbt_keys(warehouse: Path) -> list[AssetKey]:
    config = config_for(warehouse.parent / "landing", warehouse)
    return sorted(build_dbt_assets(dbt_project(config)).keys, key=str)


def test_every_dbt_model_has_its_row_count_and_column_schema(catalogue) -> None:  # type: ignore[no-untyped-def]
    _, instance, warehouse = catalogue
    keys = dbt_keys(warehouse)
    assert len(keys) >= 40
    with duckdb.connect(str(warehouse / "build.duckdb"), read_only=True) as con:
        for key in keys:
            name = key.path[-1]
            metadata = latest(instance, key)
            rows = con.execute(f'select count(*) from main."{name}"').fetchone()
            assert metadata["dagster/row_count"].value == rows[0], name
            columns = con.execute(
                "select column_name, data_type from duckdb_columns() "
                "where schema_name = 'main' and table_name = ? order by column_index",
                [name],
            ).fetchall()
            schema = metadata["dagster/column_schema"].value
            assert [(c.name, sql_type(c.type)) for c in schema.columns] == [
                (n, sql_type(t)) for n, t in columns
            ], name


def sql_type(text: str) -> str:
    """dbt's adapter spells DuckDB's VARCHAR the ANSI way, 'character varying(256)'."""
    upper = text.upper()
    return "VARCHAR" if upper.startswith("CHARACTER VARYING") else upper


def upstream_raw_columns(
    instance: DagsterInstance, key: AssetKey, column: str, seen: set[tuple[AssetKey, str]]
) -> set[str]:
    """The raw_extracts columns (`<table>.<column>`) one column derives from, walking the
    lineage of each model's latest materialization."""
    if (key, column) in seen:
        return set()
    seen.add((key, column))
    if key == RAW:
        return {column}
    lineage = latest(instance, key).get("dagster/column_lineage")
    if lineage is None:
        return set()
    found: set[str] = set()
    for dep in lineage.value.deps_by_column.get(column, []):
        found |= upstream_raw_columns(instance, dep.asset_key, dep.column_name, seen)
    return found


def test_marts_and_facts_have_column_lineage_down_to_the_raw_columns(catalogue) -> None:  # type: ignore[no-untyped-def]
    graph, instance, warehouse = catalogue
    raw_schema = {c.name for c in latest(instance, RAW)["dagster/column_schema"].value.columns}
    published = [k for k in dbt_keys(warehouse) if k.path[-1].startswith(("mart_", "fct_"))]
    # Nine marts (mart_council_comparison among them) and the two facts.
    assert len(published) == 11
    reached: dict[str, set[str]] = {}
    for key in published:
        metadata = latest(instance, key)
        columns = [c.name for c in metadata["dagster/column_schema"].value.columns]
        deps = metadata["dagster/column_lineage"].value.deps_by_column
        assert set(deps) == set(columns), key
        for column in columns:
            for dep in deps[column]:
                # Every dependency names a real column of a real upstream asset.
                assert dep.asset_key in graph.get(key).parent_keys, (key, column, dep)
                upstream = latest(instance, dep.asset_key)["dagster/column_schema"].value
                assert dep.column_name in {c.name for c in upstream.columns}, (key, column, dep)
            reached[f"{key.path[-1]}.{column}"] = upstream_raw_columns(instance, key, column, set())
    every_raw = set().union(*reached.values())
    assert every_raw <= raw_schema
    # The measures analysts read trace to the cells the parser wrote.
    assert "outcome_rows.upheld" in reached["mart_outcome_matrix.upheld"]
    assert "outcome_rows.not_upheld" in reached["mart_department_scorecard.fault_found_rate"]
    assert reached["mart_service_uphold_rates.instances"] == {"service_areas.instances"}
    assert "causes.instances" in reached["fct_complaint_instances.instances"]
    assert "control_totals.stated" in reached["mart_reconciliation.stated"]
    assert reached["mart_verification_coverage.numbers_stated"] == {"coverage.stated"}
    assert reached["mart_unverified_numbers.source_line"] == {"unverified_numbers.line"}
    assert "outcome_rows.line" in reached["fct_complaint_outcomes.source_line"]
    # Keys and provenance of every mart and fact reach the raw tables.
    for key in published:
        for column in ("extract_id", "source_line"):
            name = f"{key.path[-1]}.{column}"
            if name in reached:
                assert reached[name], name


def test_every_asset_has_owners_tags_and_code_references(catalogue) -> None:  # type: ignore[no-untyped-def]
    graph, _, warehouse = catalogue
    layers: dict[str, set[str]] = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable:
            continue
        assert list(node.owners) == OWNERS, key
        assert node.tags["contract"] in {"published", "internal"}, key
        layers.setdefault(node.tags["layer"], set()).add(key.path[-1])
        references = node.metadata["dagster/code_references"].code_references
        assert references, key
        for reference in references:
            path = Path(reference.file_path)
            assert path.is_file(), (key, path)
            if path.suffix == ".sql":
                assert path.stem == key.path[-1]
    assert {"ingest", "staging", "intermediate", "core", "marts", "reconciliation", "seed"} <= set(
        layers
    )
    assert "published_marts" in layers["publish"]
    published = {k.path[-1] for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}
    assert {
        name for name in published if graph.get(AssetKey(name)).tags["contract"] == "published"
    } == {n for n in published if n.startswith(("dim_", "fct_", "mart_"))} | {"published_marts"}


def test_column_lineage_from_the_cache_is_the_lineage_computed_afresh(catalogue, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The cache returns what sqlglot computes, keyed by content: a second warehouse reuses it,
    a changed model's SQL misses it, and an unwritable cache folder falls back to the next."""
    _, instance, warehouse = catalogue
    config = config_for(warehouse.parent / "landing", warehouse)
    manifest = json.loads((config.dbt_target_dir / "manifest.json").read_text())
    facts = read_table_facts(config.build_db, manifest)
    marts = {
        "model.complaints.mart_department_scorecard",
        "model.complaints.fct_complaint_outcomes",
    }
    blocked = tmp_path / "not_a_folder"
    blocked.write_text("a file where the first cache folder would be")
    cold = LineageCache([blocked / "lineage", tmp_path / "fallback"])
    first = column_lineage(manifest, config.dbt_target_dir, facts, cold, models=marts)
    assert set(first) == marts and (cold.hits, cold.misses) == (0, 2)
    assert len(list((tmp_path / "fallback").glob("*.json"))) == 2
    warm = LineageCache([tmp_path / "fallback"])
    assert column_lineage(manifest, config.dbt_target_dir, facts, warm, models=marts) == first
    assert (warm.hits, warm.misses) == (2, 0)
    # What the run attached to the instance is this lineage, in asset keys.
    recorded = latest(instance, AssetKey("mart_department_scorecard"))["dagster/column_lineage"]
    assert {
        column: sorted((dep.asset_key.path[-1], dep.column_name) for dep in deps)
        for column, deps in recorded.value.deps_by_column.items()
    } == {
        column: sorted((uid.split(".")[-1], name) for uid, name in deps)
        for column, deps in first["model.complaints.mart_department_scorecard"].items()
    }
    # Another folder holding an edited model's SQL: its key changes, the other model's does not.
    edited = tmp_path / "target"
    for uid in marts:
        node = manifest["nodes"][uid]
        sql = compiled_sql(config.dbt_target_dir, node)
        assert sql is not None
        path = edited / "compiled" / node["package_name"] / node["original_file_path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql + ("\n-- edited\n" if "scorecard" in uid else ""))
    again = LineageCache([tmp_path / "fallback"])
    assert column_lineage(manifest, edited, facts, again, models=marts) == first
    assert (again.hits, again.misses) == (1, 1)
