"""Every mart has an enforced contract, and every column a type and a description (dbt docs
are persisted into the warehouse, so a controller reads them with duckdb_columns())."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import yaml

from ifo_pipeline.publish import connect_published
from ifo_pipeline.settings import DBT_PROJECT_DIR

MARTS = DBT_PROJECT_DIR / "models" / "marts"


def model_yaml(sql: Path) -> dict:
    documents = yaml.safe_load(sql.with_suffix(".yml").read_text(encoding="utf-8"))
    [model] = [m for m in documents["models"] if m["name"] == sql.stem]
    return model


def test_every_mart_has_an_enforced_contract_and_documented_columns():
    models = sorted(MARTS.glob("*.sql"))
    assert len(models) >= 11
    for sql in models:
        model = model_yaml(sql)
        assert model.get("config", {}).get("contract", {}).get("enforced") is True, sql.stem
        assert model.get("description"), sql.stem
        for column in model["columns"]:
            assert column.get("data_type"), f"{sql.stem}.{column['name']}"
            assert column.get("description"), f"{sql.stem}.{column['name']}"


def test_the_published_marts_are_the_contracts_columns_with_their_descriptions(demo):
    settings, _ = demo
    with closing(connect_published(settings.published_path)) as con:
        published = con.execute(
            """SELECT table_name, column_name, comment FROM duckdb_columns()
               WHERE schema_name = 'marts' ORDER BY table_name, column_index"""
        ).fetchall()
    by_table: dict[str, list[tuple[str, str | None]]] = {}
    for table, column, comment in published:
        by_table.setdefault(table, []).append((column, comment))
    for sql in sorted(MARTS.glob("*.sql")):
        declared = [c["name"] for c in model_yaml(sql)["columns"]]
        assert [c for c, _ in by_table[sql.stem]] == declared, sql.stem
        assert all(comment for _, comment in by_table[sql.stem]), sql.stem
