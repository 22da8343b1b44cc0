"""Publish the marts (and the ops tables) as the file controllers read: `ifo.duckdb`.

A new file is written beside the old one and renamed over it in one step (POSIX rename), so a
reader sees yesterday's file or tonight's, never half of one; a reader holding the old file
open keeps reading it undisturbed, and a failed run never gets here, leaving the old file.

The months of marts.huvudbok (every ledger line) are compared by fingerprints; those of the
file as published are kept beside it (`.ifo.duckdb.months.json`), so that a night computes
only its own side, as long as the file is the one published.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from ifo_pipeline.files import write_text_atomically
from ifo_pipeline.settings import PUBLISHED_DATABASE, STORAGE_VERSION, WORKING_DATABASE
from ifo_pipeline.store.fileinfo import written_state

PUBLISHED_SCHEMAS = ("marts", "ops")
log = logging.getLogger(__name__)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# Tables large enough to publish month by month: only the months whose rows changed since the
# last published file are copied (marts.huvudbok holds every ledger line).
BY_MONTH = {"marts.huvudbok": ("ar", "manad")}


READ_ONLY = 0o444
# The ops tables' kommunkod, added at publish (the marts' comes with its description from dbt).
KOMMUNKOD_DESCRIPTION = "Kommunkoden (fyra siffror) för den kommun vars data raden gäller."


class PublishRefused(Exception):
    """The candidate file failed its check: it was not published, the last good file stays.
    `problems`: one line each, naming the table, column and rows."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


# Checks the candidate file (attached as `published`) before it replaces the published one:
# given each table's rows to check (a condition, None for all), returns the problems found.
PublishCheck = Callable[[duckdb.DuckDBPyConnection, dict[str, str | None]], list[str]]


def publish_marts(
    warehouse_path: Path,
    published_path: Path,
    kommunkod: str | None = None,
    check: PublishCheck | None = None,
) -> dict[str, int]:
    """Copy every table and view of the published schemas; returns rows per table.

    `kommunkod`: the municipality the warehouse holds, put first in every ops table (the
    marts carry it from dbt), so that a region's file can hold many municipalities' ops rows.

    The new file starts as a copy of the last published one when there is one (a file copy is
    far cheaper than rewriting millions of rows): the small tables are replaced whole, a table
    of BY_MONTH only in the months whose rows differ.

    `check`: run on the candidate file, with the rows that changed in each table; any problem
    raises PublishRefused and the published file is left as it was."""
    # A run stopped half-way through publishing left its staging file: never a published one.
    for stale in published_path.parent.glob(f".{published_path.name}.*.tmp"):
        stale.unlink(missing_ok=True)
    staging = published_path.with_name(f".{published_path.name}.{os.getpid()}.tmp")
    kept = read_month_fingerprints(published_path)
    if published_path.exists():
        shutil.copyfile(published_path, staging)
    copied: dict[str, int] = {}
    fingerprints: dict[str, MonthFingerprints] = {}
    changed_rows: dict[str, str | None] = {}  # per table, the rows this publish wrote
    wh = warehouse_path.stem
    try:
        with closing(duckdb.connect()) as con:
            # Attached under its own name: dbt's views refer to the catalog by the file's stem.
            con.execute(f"ATTACH {_quote(str(warehouse_path))} AS {wh} (READ_ONLY)")
            try:
                _attach_published(con, staging)
            except duckdb.Error:  # the last file cannot be built upon: write a new one
                log.warning("%s cannot be reused; publishing a new file", published_path)
                staging.unlink(missing_ok=True)
                _attach_published(con, staging)
            relations = _relations(con, wh)
            names = {f"{schema}.{name}" for schema, name, _ in relations}
            for schema, name, _ in _relations(con, "published"):
                if f"{schema}.{name}" not in names:  # a table the marts no longer have
                    con.execute(f"DROP TABLE published.{schema}.{name}")
            for schema in PUBLISHED_SCHEMAS:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS published.{schema}")
            for schema, name, comment in relations:
                relation = f"{schema}.{name}"
                target = f"published.{relation}"
                source = f"{wh}.{relation}"
                months = BY_MONTH.get(relation)
                if months:
                    fingerprints[relation] = _fingerprint_months(con, source, months)
                if months and _same_columns(con, source, target):
                    known = kept.get(relation)
                    if known is None or known.columns != fingerprints[relation].columns:
                        known = _fingerprint_months(con, target, months)
                    changed = _replace_changed_months(
                        con, source, target, months, fingerprints[relation], known
                    )
                    changed_rows[relation] = _within(months, changed)
                    log.info("%s: %d month(s) changed, copied", relation, len(changed))
                elif kommunkod and not any(c == "kommunkod" for c, _ in _columns(con, source)):
                    con.execute(
                        f"CREATE OR REPLACE TABLE {target} AS "
                        f"SELECT {_quote(kommunkod)} AS kommunkod, * FROM {source}"
                    )
                else:
                    con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {source}")
                _copy_comments(con, wh, schema, name, target, comment)
                if kommunkod and schema == "ops":
                    con.execute(
                        f"COMMENT ON COLUMN {target}.kommunkod IS {_quote(KOMMUNKOD_DESCRIPTION)}"
                    )
                copied[relation] = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
                changed_rows.setdefault(relation, None)
            problems = check(con, changed_rows) if check else []
            if problems:
                raise PublishRefused(problems)
            con.execute("DETACH published")
            con.execute(f"DETACH {wh}")
        # Read-only for everyone: a controller's tool that opens it without read_only cannot
        # change the marts the others read (the next night replaces the file, not its bytes).
        os.chmod(staging, READ_ONLY)
        os.replace(staging, published_path)
    finally:
        staging.unlink(missing_ok=True)
    keep_month_fingerprints(published_path, fingerprints)
    log.info("published %d tables and views to %s", len(copied), published_path)
    return copied


def month_fingerprints_path(published_path: Path) -> Path:
    """Beside the published file: its BY_MONTH tables' month fingerprints, as published."""
    return published_path.with_name(f".{published_path.name}.months.json")


def read_month_fingerprints(published_path: Path) -> dict[str, MonthFingerprints]:
    """The month fingerprints kept when the published file was written, if it is still that
    file (the same inode, size and times) and this DuckDB hashes rows the same way; else
    nothing, and the publish computes them from the file (a third of a second for ten million
    lines, and growing with the ledger's history)."""
    try:
        record = json.loads(month_fingerprints_path(published_path).read_text())
        state = written_state(published_path)
        if state is None or record["file"] != list(state) or record["duckdb"] != duckdb.__version__:
            return {}
        return {name: MonthFingerprints(**found) for name, found in record["tables"].items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def keep_month_fingerprints(published_path: Path, tables: dict[str, MonthFingerprints]) -> None:
    """Keep the fingerprints of the file just published, keyed on its inode, size and times:
    any later write to it moves them, and the record is then not used. (A write within the
    same tick of the filesystem's clock as the publish's own rename would go unseen; nothing
    writes the published file then.) Unwritable, it costs the next publish its comparison."""
    state = written_state(published_path)
    record = {
        "file": list(state or ()),
        "duckdb": duckdb.__version__,
        "tables": {name: asdict(found) for name, found in tables.items()},
    }
    try:
        write_text_atomically(month_fingerprints_path(published_path), json.dumps(record))
    except OSError:
        log.warning("the published months' fingerprints cannot be kept", exc_info=True)


def _attach_published(con: duckdb.DuckDBPyConnection, staging: Path) -> None:
    """Attach the file being published as `published`; a new one in the pipeline's storage
    format (settings.STORAGE_VERSION). A copy of the last published file keeps its own."""
    options = "" if staging.exists() else f" (STORAGE_VERSION {_quote(STORAGE_VERSION)})"
    con.execute(f"ATTACH {_quote(str(staging))} AS published{options}")


def _relations(con: duckdb.DuckDBPyConnection, catalog: str) -> list[tuple[str, str, str]]:
    return con.execute(
        """SELECT schema_name, table_name, comment FROM duckdb_tables()
           WHERE database_name = $db AND schema_name IN ('marts', 'ops')
           UNION ALL
           SELECT schema_name, view_name, comment FROM duckdb_views()
           WHERE database_name = $db AND schema_name IN ('marts', 'ops')
           ORDER BY 1, 2""",
        {"db": catalog},
    ).fetchall()


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    catalog, schema, name = relation.split(".")
    return con.execute(
        """SELECT column_name, data_type FROM duckdb_columns()
           WHERE database_name = ? AND schema_name = ? AND table_name = ?
           ORDER BY column_index""",
        [catalog, schema, name],
    ).fetchall()


def _same_columns(con: duckdb.DuckDBPyConnection, source: str, target: str) -> bool:
    """The published table exists with the same columns (else it is copied whole)."""
    return _columns(con, target) == _columns(con, source)


@dataclass(frozen=True)
class MonthFingerprints:
    """A BY_MONTH table's columns (name, type) and its fingerprint per month: the month's
    keys, its row count and the sum of every row's hash."""

    columns: list[list[str]]
    months: list[list[int]]


def _fingerprint_months(
    con: duckdb.DuckDBPyConnection, relation: str, keys: tuple[str, ...]
) -> MonthFingerprints:
    columns = _columns(con, relation)
    quoted = ", ".join(f'"{c}"' for c, _ in columns)
    rows = con.execute(
        f"""SELECT {", ".join(keys)}, count(*), sum(hash({quoted}))
            FROM {relation} GROUP BY ALL ORDER BY ALL"""
    ).fetchall()
    return MonthFingerprints([list(c) for c in columns], [list(r) for r in rows])


def _replace_changed_months(
    con: duckdb.DuckDBPyConnection,
    source: str,
    target: str,
    keys: tuple[str, ...],
    source_months: MonthFingerprints,
    target_months: MonthFingerprints,
) -> list[tuple]:
    """Replace, in `target`, the months whose fingerprints differ from `source`'s (a month
    either lacks counts as differing). Returns them."""

    def by_month(found: MonthFingerprints) -> dict[tuple, tuple]:
        return {tuple(m[: len(keys)]): tuple(m[len(keys) :]) for m in found.months}

    wanted, published = by_month(source_months), by_month(target_months)
    changed = [k for k in wanted.keys() | published.keys() if wanted.get(k) != published.get(k)]
    if changed:
        month = ", ".join(keys)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE changed_months AS FROM {source} SELECT {month} LIMIT 0"
        )
        con.executemany(
            f"INSERT INTO changed_months VALUES ({', '.join('?' * len(keys))})", changed
        )
        within = f"({month}) IN (SELECT ({month}) FROM changed_months)"
        con.execute(f"DELETE FROM {target} WHERE {within}")
        con.execute(f"INSERT INTO {target} SELECT * FROM {source} WHERE {within}")
    return changed


def _within(keys: tuple[str, ...], months: list[tuple]) -> str:
    """A condition selecting the rows of these months (none: no row)."""
    if not months:
        return "false"
    values = ", ".join(f"({', '.join(str(int(v)) for v in month)})" for month in months)
    return f"({', '.join(keys)}) IN ({values})"


def _copy_comments(
    con: duckdb.DuckDBPyConnection,
    catalog: str,
    schema: str,
    name: str,
    target: str,
    comment: str | None,
) -> None:
    if comment:
        con.execute(f"COMMENT ON TABLE {target} IS {_quote(comment)}")
    for column, column_comment in con.execute(
        """SELECT column_name, comment FROM duckdb_columns()
           WHERE database_name = ? AND schema_name = ?
           AND table_name = ? AND comment IS NOT NULL""",
        [catalog, schema, name],
    ).fetchall():
        con.execute(f'COMMENT ON COLUMN {target}."{column}" IS {_quote(column_comment)}')


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


def publish_region(parts: dict[str, Path], published_path: Path) -> dict[str, int]:
    """The region's file: every table of the municipalities' published files (`parts`, by
    municipality code), their rows one after another, replaced atomically as a municipality's
    file is. A table a municipality's older file lacks `kommunkod` in gets it here."""
    for stale in published_path.parent.glob(f".{published_path.name}.*.tmp"):
        stale.unlink(missing_ok=True)
    staging = published_path.with_name(f".{published_path.name}.{os.getpid()}.tmp")
    copied: dict[str, int] = {}
    try:
        with closing(duckdb.connect()) as con:
            _attach_published(con, staging)
            holders: dict[tuple[str, str], list[str]] = {}
            comments: dict[tuple[str, str], str | None] = {}
            for code, path in sorted(parts.items()):
                con.execute(f"ATTACH {_quote(str(path))} AS k{code} (READ_ONLY)")
                for schema, name, comment in _relations(con, f"k{code}"):
                    holders.setdefault((schema, name), []).append(code)
                    comments.setdefault((schema, name), comment)
            for schema in PUBLISHED_SCHEMAS:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS published.{schema}")
            for (schema, name), codes in sorted(holders.items()):
                selects = []
                for code in codes:
                    source = f"k{code}.{schema}.{name}"
                    has_code = any(c == "kommunkod" for c, _ in _columns(con, source))
                    prefix = "" if has_code else f"{_quote(code)} AS kommunkod, "
                    selects.append(f"SELECT {prefix}* FROM {source}")
                target = f"published.{schema}.{name}"
                con.execute(f"CREATE TABLE {target} AS {' UNION ALL BY NAME '.join(selects)}")
                _copy_comments(con, f"k{codes[0]}", schema, name, target, comments[schema, name])
                copied[f"{schema}.{name}"] = con.execute(
                    f"SELECT count(*) FROM {target}"
                ).fetchone()[0]
            con.execute("DETACH published")
        os.chmod(staging, READ_ONLY)
        os.replace(staging, published_path)
    finally:
        staging.unlink(missing_ok=True)
    log.info("published the region's %d tables to %s", len(copied), published_path)
    return copied
