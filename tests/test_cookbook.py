"""Every SQL block of the cookbook (docs/cookbook.md) runs against the published file and answers."""

from __future__ import annotations

import re

import duckdb

from tests.pipeline import PROJECT_ROOT


def cookbook_queries() -> list[str]:
    cookbook = (PROJECT_ROOT / "docs" / "cookbook.md").read_text(encoding="utf-8")
    return re.findall(r"```sql\n(.*?)```", cookbook, flags=re.S)


def test_cookbook_has_the_questions_analysts_ask() -> None:
    queries = cookbook_queries()
    assert len(queries) >= 5
    text = "\n".join(queries)
    for table in (
        "mart_service_uphold_rates",
        "mart_department_scorecard",
        "mart_service_root_causes",
        "mart_outcome_matrix",
        "mart_reconciliation",
    ):
        assert table in text, table


def test_cookbook_queries_run_on_the_published_file(published_warehouse) -> None:  # type: ignore[no-untyped-def]
    _, warehouse, _ = published_warehouse
    with duckdb.connect(str(warehouse / "marts.duckdb"), read_only=True) as con:
        results = [con.execute(q).fetchall() for q in cookbook_queries()]
    assert all(results), "every cookbook query returns rows"
    top_service = results[0][0]
    assert top_service[3:7] == ("Repairs", 200, 139, 0.695)
    scorecard = results[1]
    assert scorecard[0][2] == "Housing" and scorecard[0][4] == 1014
    reconciliation = {(r[0], r[2]): r[3] for r in results[4]}
    assert reconciliation == {
        ("brent_2019_20_root_causes", "ok"): 132,
        ("brent_2022_23_outcome_matrix", "ok"): 326,
        ("brent_2022_23_outcome_matrix", "waived"): 4,
    }


def test_cookbook_queries_run_on_the_parquet_exports(published_warehouse) -> None:  # type: ignore[no-untyped-def]
    """The same questions answered from the Parquet folder (views.sql, as docs/exports.md shows) give
    exactly the answers of the published file."""
    _, warehouse, _ = published_warehouse
    exports = (warehouse / "exports").resolve()
    with duckdb.connect(str(warehouse / "marts.duckdb"), read_only=True) as con:
        expected = [con.execute(q).fetchall() for q in cookbook_queries()]
    with duckdb.connect() as con:
        con.execute(f"set file_search_path = '{exports}'")
        con.execute((exports / "views.sql").read_text(encoding="utf-8"))
        got = [con.execute(q).fetchall() for q in cookbook_queries()]
    assert got == expected
    assert all(got)
