"""Publish the marts (and the ops tables) as the file controllers read: `marts.duckdb`.

A new file is written beside the old one and renamed over it in one step (POSIX rename), so a
reader sees yesterday's file or tonight's, never half of one; a reader holding the old file
open keeps reading it undisturbed, and a failed run never gets here, leaving the old file.
"""

from __future__ import annotations

import os
from contextlib import closing
from pathlib import Path

import duckdb

PUBLISHED_SCHEMAS = ("marts", "ops")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def publish_marts(warehouse_path: Path, published_path: Path) -> dict[str, int]:
    """Copy every table and view of the published schemas; returns rows per table."""
    staging = published_path.with_name(f".{published_path.name}.{os.getpid()}.tmp")
    staging.unlink(missing_ok=True)
    copied: dict[str, int] = {}
    wh = warehouse_path.stem
    with closing(duckdb.connect()) as con:
        # Attached under its own name: dbt's views refer to the catalog by the file's stem.
        con.execute(f"ATTACH {_quote(str(warehouse_path))} AS {wh} (READ_ONLY)")
        con.execute(f"ATTACH {_quote(str(staging))} AS published")
        relations = con.execute(
            """SELECT schema_name, table_name, comment FROM duckdb_tables()
               WHERE database_name = ? AND schema_name IN ('marts', 'ops')
               UNION ALL
               SELECT schema_name, view_name, comment FROM duckdb_views()
               WHERE database_name = ? AND schema_name IN ('marts', 'ops')
               ORDER BY 1, 2""",
            [wh, wh],
        ).fetchall()
        for schema in PUBLISHED_SCHEMAS:
            con.execute(f"CREATE SCHEMA published.{schema}")
        for schema, name, comment in relations:
            target = f"published.{schema}.{name}"
            con.execute(f"CREATE TABLE {target} AS SELECT * FROM {wh}.{schema}.{name}")
            if comment:
                con.execute(f"COMMENT ON TABLE {target} IS {_quote(comment)}")
            for column, column_comment in con.execute(
                """SELECT column_name, comment FROM duckdb_columns()
                   WHERE database_name = ? AND schema_name = ?
                   AND table_name = ? AND comment IS NOT NULL""",
                [wh, schema, name],
            ).fetchall():
                con.execute(f'COMMENT ON COLUMN {target}."{column}" IS {_quote(column_comment)}')
            copied[f"{schema}.{name}"] = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
        con.execute("DETACH published")
        con.execute(f"DETACH {wh}")
    os.replace(staging, published_path)
    return copied


def connect_published(published_path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published marts, as a controller opens them.

    Opened directly, the file's catalog is called `marts` like its schema, and DuckDB calls
    `marts.resultatrapport` ambiguous; attached as `ifo`, the contract's names work as written.
    """
    con = duckdb.connect()
    con.execute(f"ATTACH {_quote(str(published_path))} AS ifo (READ_ONLY)")
    con.execute("USE ifo")
    return con
