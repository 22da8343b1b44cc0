"""One declaration per raw table: the warehouse's tables and the pandera schemas are derived
from the sources' declarations (ingest/sources.py), so they cannot drift apart."""

from __future__ import annotations

import dataclasses

import pytest

from ifo_pipeline.store.declarations import RawColumn
from ifo_pipeline.store.sources import CSV_SOURCES, LEDGER, OTHER_RAW_TABLES
from ifo_pipeline.validation.schemas import SCHEMAS, raw_schema


@pytest.mark.parametrize("source", CSV_SOURCES, ids=lambda s: s.name)
def test_the_raw_table_and_its_schema_are_the_declaration(con, source):
    declared = ["file_sha256", "line_number", *source.select]
    table = con.execute(
        """SELECT column_name, data_type, is_nullable FROM information_schema.columns
           WHERE table_schema || '.' || table_name = ? ORDER BY ordinal_position""",
        [source.table],
    ).fetchall()
    assert [name for name, _, _ in table] == declared
    for name, data_type, nullable in table[2:]:
        column = source.select[name]
        assert data_type == column.type.replace(" ", ""), name
        assert (nullable == "NO") == column.required, name
    schema = SCHEMAS[source.table]
    assert list(schema.columns) == declared
    assert [not schema.columns[n].nullable for n in source.select] == [
        c.required for c in source.select.values()
    ]


def test_a_renamed_column_is_one_change(tmp_path):
    """Rename `belopp` in the declaration: the DDL follows, and a value rule left on the old
    name is refused at once instead of silently checking nothing."""
    select = {("amount" if k == "belopp" else k): v for k, v in LEDGER.select.items()}
    renamed = dataclasses.replace(LEDGER, select=select, amount="amount")
    assert "amount DECIMAL(18, 2) NOT NULL" in renamed.ddl()
    assert "belopp" not in renamed.ddl()
    with pytest.raises(ValueError, match="belopp"):
        raw_schema(renamed, {"belopp": []})
    assert isinstance(renamed.select["amount"], RawColumn)


@pytest.mark.parametrize("declared", OTHER_RAW_TABLES, ids=lambda t: t.table)
def test_the_other_loaders_tables_are_their_declarations(con, declared):
    """The volume counts' and Kolada's raw tables, written by loaders of their own."""
    table = con.execute(
        """SELECT column_name, data_type, is_nullable FROM information_schema.columns
           WHERE table_schema || '.' || table_name = ? ORDER BY ordinal_position""",
        [declared.table],
    ).fetchall()
    assert [(name, data_type, nullable == "NO") for name, data_type, nullable in table] == [
        (name, c.type, c.required) for name, c in declared.columns.items()
    ]
    if declared.table in SCHEMAS:
        schema = SCHEMAS[declared.table]
        assert list(schema.columns) == list(declared.columns)
        assert [not c.nullable for c in schema.columns.values()] == [
            c.required for c in declared.columns.values()
        ]
