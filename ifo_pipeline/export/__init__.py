"""Hand the raw layer to another engine: every table the dbt sources read, as Parquet.

A region or a national body runs the same dbt project on Spark (docs/scaling.md): each
municipality's pipeline loads and validates its own files, exports the raw layer with
`ifo export --format parquet DIR`, and `export.spark.register_raw_tables` makes the files
`raw.*` (and `ops.load_log`) tables in Spark. Plain DuckDB; no Spark here.
"""

from __future__ import annotations

import shutil
from contextlib import closing
from pathlib import Path

import duckdb

# The relations the dbt project's sources read (dbt_project/models/staging/__sources.yml).
EXPORTED_SCHEMAS = ("raw",)
EXPORTED_TABLES = ("ops.load_log",)
# Tables large enough to split by year (one folder per year, Hive-style: year=2019/).
BY_YEAR = {"raw.ledger_lines": "period // 100"}


def exported_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    raw = [
        f"{schema}.{name}"
        for schema, name in con.execute(
            """SELECT schema_name, table_name FROM duckdb_tables()
               WHERE database_name = current_database() AND schema_name IN (SELECT unnest(?))
               ORDER BY schema_name, table_name""",
            [list(EXPORTED_SCHEMAS)],
        ).fetchall()
    ]
    return raw + list(EXPORTED_TABLES)


MARKER = ".ifo-export"  # marks a folder this module wrote, and may replace


class ExportRefused(ValueError):
    """The target folder holds something other than an earlier export."""


def export_parquet(warehouse_path: Path, directory: Path) -> dict[str, int]:
    """`directory/<schema>/<table>/` for each exported table (rows per table). The folder is
    written beside the target and swapped in, so a reader never sees half an export. Only an
    empty folder or an earlier export is replaced."""
    if directory.exists() and any(directory.iterdir()) and not (directory / MARKER).exists():
        raise ExportRefused(
            f"{directory} is not empty and not an earlier export: choose a new folder"
        )
    staging = directory.with_name(f".{directory.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    written: dict[str, int] = {}
    with closing(duckdb.connect(str(warehouse_path), read_only=True)) as con:
        for table in exported_tables(con):
            schema, name = table.split(".")
            target = staging / schema / name
            target.mkdir(parents=True)
            rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            if table in BY_YEAR and rows:
                con.execute(
                    f"COPY (SELECT *, {BY_YEAR[table]} AS year FROM {table}) TO '{target}' "
                    "(FORMAT parquet, PARTITION_BY (year), OVERWRITE_OR_IGNORE)"
                )
            else:
                con.execute(f"COPY {table} TO '{target / 'part-0.parquet'}' (FORMAT parquet)")
            written[table] = rows
    (staging / MARKER).write_text("written by ifo export\n", encoding="utf-8")
    shutil.rmtree(directory, ignore_errors=True)
    staging.rename(directory)
    return written
