"""Every mart has an enforced contract, and every column a type and a description (dbt docs
are persisted into the warehouse, so a controller reads them with duckdb_columns())."""

from __future__ import annotations

import re
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


ENGLISH = re.compile(r"\b(the|and|of|is|when|where|which|this|year|month)\b", re.IGNORECASE)


def test_every_table_and_column_a_controller_reads_describes_itself_in_swedish(demo):
    """marts and ops in ifo.duckdb: every table and column has a description, written in the
    readers' language (a few common English words are enough to catch a forgotten one)."""
    settings, _ = demo
    with closing(connect_published(settings.published_path)) as con:
        tables = con.execute(
            """SELECT schema_name || '.' || table_name, comment FROM duckdb_tables()
               WHERE schema_name IN ('marts', 'ops')"""
        ).fetchall()
        columns = con.execute(
            """SELECT schema_name || '.' || table_name || '.' || column_name, comment
               FROM duckdb_columns() WHERE schema_name IN ('marts', 'ops')"""
        ).fetchall()
    assert {t for t, _ in tables} >= {"ops.load_log", "ops.rejects", "ops.runs", "marts.rapporter"}
    for name, comment in tables + columns:
        assert comment, f"{name} has no description"
        assert not ENGLISH.search(comment), f"{name}: {comment!r}"


def test_docs_marts_is_what_the_contracts_say():
    """docs/marts.md (the controllers' interface, in a clone without ../shared) is written from
    the marts' YAML: a change to a contract changes the page (scripts/marts_doc.py)."""
    import runpy

    render = runpy.run_path(str(DBT_PROJECT_DIR.parent / "scripts" / "marts_doc.py"))["render"]
    page = (DBT_PROJECT_DIR.parent / "docs" / "marts.md").read_text(encoding="utf-8")
    assert page == render(), "run .venv/bin/python scripts/marts_doc.py"
    for sql in MARTS.glob("*.sql"):
        assert f"## marts.{sql.stem}\n" in page
