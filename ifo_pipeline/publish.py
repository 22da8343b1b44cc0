"""Publish the marts (and the ops tables) as the file controllers read: `ifo.duckdb`.

A new file is written beside the old one and renamed over it in one step (POSIX rename), so a
reader sees yesterday's file or tonight's, never half of one; a reader holding the old file
open keeps reading it undisturbed, and a failed run never gets here, leaving the old file.
"""

from __future__ import annotations

import logging
import os
from contextlib import closing
from pathlib import Path

import duckdb

from ifo_pipeline.settings import PUBLISHED_DATABASE, WORKING_DATABASE

PUBLISHED_SCHEMAS = ("marts", "ops")
log = logging.getLogger(__name__)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def publish_marts(warehouse_path: Path, published_path: Path) -> dict[str, int]:
    """Copy every table and view of the published schemas; returns rows per table."""
    # A run stopped half-way through publishing left its staging file: never a published one.
    for stale in published_path.parent.glob(f".{published_path.name}.*.tmp"):
        stale.unlink(missing_ok=True)
    staging = published_path.with_name(f".{published_path.name}.{os.getpid()}.tmp")
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
    try:
        os.replace(staging, published_path)
    finally:
        staging.unlink(missing_ok=True)
    log.info("published %d tables and views to %s", len(copied), published_path)
    return copied


def connect_published(published_path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published marts, as a controller opens them: the file's
    catalog is `ifo`, so `marts.resultatrapport` means the schema's table without an ATTACH."""
    return duckdb.connect(str(published_path), read_only=True)


def migrate_layout(warehouse_dir: Path) -> list[str]:
    """A warehouse from before the rename: the working database was `ifo.duckdb` and the
    published one `marts.duckdb`. Rename both, once; returns what was done."""
    done: list[str] = []
    old_working, old_published = warehouse_dir / "ifo.duckdb", warehouse_dir / "marts.duckdb"
    working = warehouse_dir / WORKING_DATABASE
    if old_working.exists() and not working.exists():
        for suffix in ("", ".wal"):
            source = Path(f"{old_working}{suffix}")
            if source.exists():
                os.replace(source, Path(f"{working}{suffix}"))
        if old_published.exists():
            os.replace(old_published, warehouse_dir / PUBLISHED_DATABASE)
        done.append(
            f"migrated {warehouse_dir}: the working database is now {WORKING_DATABASE}, the "
            f"published one {PUBLISHED_DATABASE} (was marts.duckdb)"
        )
    return done
