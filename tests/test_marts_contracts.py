"""Every mart has an enforced contract, and every column a type and a description (dbt docs
are persisted into the warehouse, so a controller reads them with duckdb_columns())."""

from __future__ import annotations

import hashlib
import re
import shutil
from contextlib import closing
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml
from dagster_dbt import DbtProject

from ifo_pipeline.defs.resources import WarehouseResource
from ifo_pipeline.defs.transform import MARTS_CONTRACT_CHECK, build_publish_asset
from ifo_pipeline.publish import connect_published
from ifo_pipeline.settings import DBT_PROJECT_DIR, Settings
from ifo_pipeline.validation.contracts import describe_failures, load_mart_schemas, validate_marts

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


# pandera at the publish step, from the same contracts (ifo_pipeline/validation/contracts.py).


def test_every_mart_gets_a_pandera_schema_from_its_contract_and_the_demo_passes(demo):
    settings, _ = demo
    schemas = load_mart_schemas(DBT_PROJECT_DIR / "target" / "manifest.json")
    assert set(schemas) == {f"marts.{sql.stem}" for sql in MARTS.glob("*.sql")}
    grain = schemas["marts.resultatrapport"]
    assert grain.unique == ["kommunkod", "ar", "manad", "rapport", "rapportrad"]
    assert grain.columns["kommunkod"].nullable is False
    assert grain.columns["arsprognos"].nullable is True
    with closing(duckdb.connect()) as con:
        con.execute(f"ATTACH '{settings.published_path}' AS published (READ_ONLY)")
        results = validate_marts(con, schemas, "published")
    assert describe_failures(results) == []
    assert all(r.rows_checked > 0 for r in results if r.table != "marts.atgardsuppfoljning")


@pytest.fixture
def broken_candidate(demo, tmp_path) -> Settings:
    """A copy of the demo's warehouse and published file, settings pointing at them."""
    settings, _ = demo
    copy = Settings(warehouse_dir=tmp_path / "warehouse", landing_dir=settings.landing_dir)
    copy.warehouse_dir.mkdir()
    shutil.copy(settings.warehouse_path, copy.warehouse_path)
    shutil.copy(settings.published_path, copy.published_path)
    return copy


def test_a_mart_that_breaks_its_contract_is_not_published_and_the_check_names_it(
    broken_candidate,
):
    """A value outside accepted_values and a null in a not_null column, in the working
    warehouse: the published asset's check fails naming mart, column and rows, the run
    fails, and the controllers' file is the one they had, byte for byte."""
    settings = broken_candidate
    before = hashlib.sha256(settings.published_path.read_bytes()).hexdigest()
    with closing(duckdb.connect(str(settings.warehouse_path))) as con:
        con.execute(
            """UPDATE marts.resultatrapport SET radtyp = 'fel'
               WHERE ar = 2019 AND manad = 3 AND rapport = 'IFO' AND radtyp = 'summa'"""
        )
        con.execute("UPDATE marts.verksamhetsmatt SET matt_id = NULL WHERE manad = 3")
    project = DbtProject(project_dir=DBT_PROJECT_DIR)
    published = build_publish_asset([], project)
    result = dg.materialize(
        [published],
        resources={"warehouse": WarehouseResource.from_settings(settings)},
        raise_on_error=False,
    )
    assert not result.success
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.check_name == MARTS_CONTRACT_CHECK and not evaluation.passed
    cases = evaluation.metadata["failure_cases"].records
    named = {(r.data["mart"], r.data["column"]) for r in cases}
    assert ("marts.resultatrapport", "radtyp") in named
    assert ("marts.verksamhetsmatt", "matt_id") in named
    assert "fel" in {r.data["value"] for r in cases}
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "were not published" in failure.step_failure_data.error.message
    assert "marts.resultatrapport: " in evaluation.description  # the check says which, once
    assert "marts.resultatrapport" not in failure.step_failure_data.error.message
    assert hashlib.sha256(settings.published_path.read_bytes()).hexdigest() == before
    assert not list(settings.warehouse_dir.glob(".ifo.duckdb.*.tmp"))
    with closing(duckdb.connect(str(settings.warehouse_path), read_only=True)) as con:
        [published_flag] = con.execute(
            "SELECT published FROM ops.runs WHERE run_id = ?", [result.run_id]
        ).fetchone()
    assert published_flag is False


def test_a_mart_with_other_columns_or_none_at_all_fails_by_name(tmp_path):
    """Columns the contract does not name, or a mart the candidate lacks, fail the check as
    a whole, named, and the check's metadata says so."""
    from ifo_pipeline.defs.transform import contracts_result

    schemas = load_mart_schemas(DBT_PROJECT_DIR / "target" / "manifest.json")
    picked = {name: schemas[name] for name in ("marts.rapporter", "marts.resultatrapport")}
    with closing(duckdb.connect()) as con:
        con.execute(f"ATTACH '{tmp_path / 'candidate.duckdb'}' AS published")
        con.execute("CREATE SCHEMA published.marts")
        con.execute("CREATE TABLE published.marts.rapporter (kommunkod VARCHAR, extra INTEGER)")
        results = validate_marts(con, picked, "published")
    lines = describe_failures(results)
    assert len(lines) == 2
    assert lines[0].startswith("marts.rapporter: 1 failure(s): the table: columns")
    assert lines[1].startswith("marts.resultatrapport: 1 failure(s): the table: the mart is")
    result = contracts_result(results)
    assert not result.passed
    assert len(result.metadata["failure_cases"].records) == 2
