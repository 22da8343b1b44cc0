"""pandera schemas for the published marts, derived from the dbt project's own contracts: one
description of a mart (its YAML beside its model), read from dbt's manifest.

Each mart with an enforced contract gets a schema: its columns and types (`data_type`), a
column nullable unless a `not_null` test guards it, `accepted_values` as a check, and its
`unique_combination` grain. A test restricted by `where` says something about some rows only
and is left to dbt. The publish step validates the candidate file with these before it
replaces the controllers' file (defs/transform.py)."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb
import pandera.polars as pa
import polars as pl

from ifo_pipeline.validation.schemas import Validation, validate_table

PUBLISHED_SCHEMA = "marts"
DBT_TYPES: dict[str, Any] = {
    "string": pl.Utf8,
    "integer": pl.Int32,
    "bigint": pl.Int64,
    "double": pl.Float64,
    "boolean": pl.Boolean,
    "date": pl.Date,
}
DECIMAL = re.compile(r"decimal\((\d+),\s*(\d+)\)")


class ContractError(ValueError):
    """A contract this module cannot turn into a schema (a type it does not know)."""


def polars_type(data_type: str) -> Any:
    """The polars type a DuckDB column of this dbt `data_type` arrives as (through Arrow)."""
    text = data_type.strip().lower()
    if match := DECIMAL.fullmatch(text):
        return pl.Decimal(int(match[1]), int(match[2]))
    if text not in DBT_TYPES:
        raise ContractError(f"no polars type for the dbt data_type {data_type!r}")
    return DBT_TYPES[text]


def mart_schemas(manifest: dict[str, Any]) -> dict[str, pa.DataFrameSchema]:
    """`marts.<name>` -> its schema, for every published mart with an enforced contract."""
    tests: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for node in manifest["nodes"].values():
        generic = node["resource_type"] == "test" and node.get("test_metadata")
        if generic and not node["config"].get("where"):
            tests[node.get("attached_node") or ""].append(node)
    schemas = {}
    for unique_id, node in manifest["nodes"].items():
        config = node["config"]
        if node["resource_type"] != "model" or config.get("schema") != PUBLISHED_SCHEMA:
            continue
        if not config.get("contract", {}).get("enforced"):
            continue
        name = f"{PUBLISHED_SCHEMA}.{node['name']}"
        schemas[name] = _schema(name, node["columns"], tests[unique_id])
    return schemas


def _schema(name: str, columns: dict[str, Any], tests: list[dict[str, Any]]) -> pa.DataFrameSchema:
    not_null: set[str] = set()
    accepted: dict[str, list] = {}
    grain: list[str] | None = None
    for test in tests:
        kind, kwargs = test["test_metadata"]["name"], test["test_metadata"]["kwargs"]
        if kind == "not_null":
            not_null.add(test["column_name"])
        elif kind == "accepted_values":
            accepted[test["column_name"]] = list(kwargs["values"])
        elif kind == "unique_combination":
            grain = list(kwargs["columns"])
    return pa.DataFrameSchema(
        {
            column: pa.Column(
                polars_type(spec["data_type"]),
                checks=[pa.Check.isin(accepted[column])] if column in accepted else None,
                nullable=column not in not_null,
            )
            for column, spec in columns.items()
        },
        name=name,
        unique=grain,
        strict=True,  # a column the contract does not name is a failure too
    )


def load_mart_schemas(manifest_path: Path) -> dict[str, pa.DataFrameSchema]:
    return mart_schemas(json.loads(manifest_path.read_text(encoding="utf-8")))


def validate_marts(
    con: duckdb.DuckDBPyConnection,
    schemas: dict[str, pa.DataFrameSchema],
    catalog: str,
    scope: dict[str, str | None] | None = None,
) -> list[Validation]:
    """Validate each mart of `schemas` in the attached database `catalog`. `scope`: per mart,
    a condition on the rows to check (the months a night replaced in a mart published by
    month, whose other rows were checked when they were published); absent or None: all.
    A mart the database lacks fails by name."""
    found = {
        f"{schema}.{table}"
        for schema, table in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ?",
            [catalog],
        ).fetchall()
    }
    results = []
    for name, schema in sorted(schemas.items()):
        if name not in found:
            results.append(_failed(name, "the mart is missing"))
            continue
        table = f"{catalog}.{name}"
        columns = [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()]
        if columns != list(schema.columns):
            contract = list(schema.columns)
            results.append(_failed(name, f"columns {columns} against the contract's {contract}"))
            continue
        result = validate_table(con, table, schema, where=(scope or {}).get(name))
        result.table = name
        results.append(result)
    return results


def _failed(name: str, check: str) -> Validation:
    """A mart that fails as a whole (missing, or other columns than its contract's)."""
    failed = Validation(name, failures=1)
    failed.sample.append({"column": None, "check": check, "value": None, "row": None})
    return failed


def describe_failures(results: list[Validation]) -> list[str]:
    """One line per failing mart: its name, and the columns, checks and rows that failed."""
    lines = []
    for result in results:
        if result.passed:
            continue
        cases = "; ".join(
            f"{c.get('column') or 'the table'}: {c['check']}"
            + (f" (row {c['row']}: {c['value']})" if c.get("row") is not None else "")
            for c in result.sample[:5]
        )
        lines.append(f"{result.table}: {result.failures} failure(s): {cases}")
    return lines
