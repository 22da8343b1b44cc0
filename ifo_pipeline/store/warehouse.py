"""The working warehouse: connection, the raw and ops tables, and the SQL macros the loaders use.

Connections are short-lived (DuckDB allows one writer per process and file); open one per
load. A run holds the file open across its steps (`held_open`), which makes each of them cheap.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from ifo_pipeline.settings import STORAGE_VERSION
from ifo_pipeline.store.ops_descriptions import comment_statements
from ifo_pipeline.store.sources import CSV_SOURCES, OTHER_RAW_TABLES

STORAGE_CONFIG = {"storage_compatibility_version": STORAGE_VERSION}

RAW_AND_OPS_DDL = """
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS ops;

CREATE SEQUENCE IF NOT EXISTS ops.load_sequence;

CREATE TABLE IF NOT EXISTS ops.volume_changes (
    ar INTEGER NOT NULL,
    manad INTEGER NOT NULL,
    avsnitt VARCHAR NOT NULL,
    matt VARCHAR NOT NULL,
    matt_id VARCHAR,
    old_text VARCHAR,
    new_text VARCHAR,
    old_file_sha256 VARCHAR NOT NULL,
    new_file_sha256 VARCHAR NOT NULL,
    changed_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS ops.load_log (
    load_id BIGINT NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    archived_as VARCHAR,
    archived_sha256 VARCHAR,  -- the masked archived copy's hash (the file's own is file_sha256)
    size_bytes BIGINT,
    encoding VARCHAR,
    periods VARCHAR,
    rows_loaded BIGINT,
    rows_rejected BIGINT,
    outcome VARCHAR NOT NULL,
    message VARCHAR,
    loaded_at TIMESTAMP NOT NULL
);
-- Warehouses created before the archive was masked.
ALTER TABLE ops.load_log ADD COLUMN IF NOT EXISTS archived_sha256 VARCHAR;

CREATE TABLE IF NOT EXISTS ops.runs (
    run_id VARCHAR NOT NULL,
    job VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    outcome VARCHAR NOT NULL,  -- running | succeeded | failed | interrupted | nothing_new
    published BOOLEAN NOT NULL,
    months VARCHAR,
    message VARCHAR
);

CREATE TABLE IF NOT EXISTS ops.replacements (
    file_sha256 VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    replaced_key VARCHAR NOT NULL,  -- a period YYYYMM, a year, or 'hela tabellen'
    rows_before BIGINT NOT NULL,
    rows_after BIGINT NOT NULL,
    amount_before DECIMAL(38, 2),
    amount_after DECIMAL(38, 2),
    replaced_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS ops.rejects (
    file_sha256 VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    line_number BIGINT,
    raw VARCHAR,
    reason VARCHAR NOT NULL,
    amount DECIMAL(18, 2),
    rejected_at TIMESTAMP NOT NULL,
    period INTEGER  -- the row's month when it has one: a month's reload replaces its rejects
);
-- Warehouses created before rejects had a period.
ALTER TABLE ops.rejects ADD COLUMN IF NOT EXISTS period INTEGER;

CREATE TABLE IF NOT EXISTS ops.reconciliation (
    file_sha256 VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    rows_in_file BIGINT NOT NULL,
    amount_in_file DECIMAL(38, 2) NOT NULL,
    loaded_sum DECIMAL(38, 2) NOT NULL,
    rejected_sum DECIMAL(38, 2) NOT NULL,
    difference DECIMAL(38, 2) NOT NULL,
    control_sum DECIMAL(38, 2),
    control_difference DECIMAL(38, 2),
    unreadable_amount_rows BIGINT NOT NULL,
    balanced BOOLEAN NOT NULL,
    checked_at TIMESTAMP NOT NULL
);
-- Sums of many amounts outgrow DECIMAL(18, 2); warehouses created before, widened.
ALTER TABLE ops.reconciliation ALTER COLUMN amount_in_file TYPE DECIMAL(38, 2);
ALTER TABLE ops.reconciliation ALTER COLUMN loaded_sum TYPE DECIMAL(38, 2);
ALTER TABLE ops.reconciliation ALTER COLUMN rejected_sum TYPE DECIMAL(38, 2);
ALTER TABLE ops.reconciliation ALTER COLUMN difference TYPE DECIMAL(38, 2);
ALTER TABLE ops.reconciliation ALTER COLUMN control_sum TYPE DECIMAL(38, 2);
ALTER TABLE ops.reconciliation ALTER COLUMN control_difference TYPE DECIMAL(38, 2);
"""
# Every raw table, from its declaration (sources.py).
RAW_AND_OPS_DDL += "\n".join(table.ddl() for table in (*CSV_SOURCES, *OTHER_RAW_TABLES))

# Shared parsing rules, as SQL so they run vectorised inside DuckDB over millions of rows.
MACROS = r"""
-- A CSV field as written: strip the quotes of a quoted field and undouble its quotes.
CREATE OR REPLACE TEMP MACRO csv_unquote(f) AS
    CASE WHEN length(f) >= 2 AND f[1] = '"' AND f[-1] = '"'
         THEN replace(f[2:-2], '""', '"') ELSE f END;
-- Swedish number text -> canonical text: no thousands separators (space, U+00A0, U+202F),
-- '-' for U+2212, '.' for the decimal comma.
CREATE OR REPLACE TEMP MACRO sv_number_canonical(t) AS
    replace(replace(replace(replace(replace(trim(t), ' ', ''), chr(160), ''),
        chr(8239), ''), chr(8722), '-'), ',', '.');
-- An amount as written, at most two decimals (öre), with a leading sign or a trailing minus
-- (as some ERP exports write it): canonical text, NULL if the text is not one.
CREATE OR REPLACE TEMP MACRO sv_amount_text(t) AS
    CASE WHEN regexp_full_match(sv_number_canonical(t), '[-+]?[0-9]+(\.[0-9]{1,2})?')
         THEN ltrim(sv_number_canonical(t), '+')
         WHEN regexp_full_match(sv_number_canonical(t), '[0-9]+(\.[0-9]{1,2})?-')
         THEN '-' || rtrim(sv_number_canonical(t), '-') END;
-- An amount in SEK; NULL if the text is not one or is out of range (a single transaction of
-- a thousand billion kronor is a broken export, and sums of such would outgrow DECIMAL(18,2)).
-- (DECIMAL(18, 2) holds 16 integer digits: a longer amount is NULL here, never an error, and
-- casting to it is a hundred times faster than to a DECIMAL(38, 2).)
CREATE OR REPLACE TEMP MACRO sv_amount(t) AS
    CASE WHEN abs(TRY_CAST(sv_amount_text(t) AS DECIMAL(18, 2))) < 1000000000000
         THEN CAST(sv_amount_text(t) AS DECIMAL(18, 2)) END;
CREATE OR REPLACE TEMP MACRO yyyymm(t) AS
    CASE WHEN regexp_full_match(trim(t), '(19|20)[0-9]{2}(0[1-9]|1[0-2])')
         THEN CAST(trim(t) AS INTEGER) END;
CREATE OR REPLACE TEMP MACRO yyyy(t) AS
    CASE WHEN regexp_full_match(trim(t), '(19|20)[0-9]{2}') THEN CAST(trim(t) AS INTEGER) END;
"""


def connect(
    path: Path, read_only: bool = False, lock_wait_seconds: float = 15
) -> duckdb.DuckDBPyConnection:
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + lock_wait_seconds
    while True:
        try:
            # A file made before keeps its format: the setting applies to a new one only.
            con = duckdb.connect(str(path), read_only=read_only, config=STORAGE_CONFIG)
            break
        except duckdb.IOException as exc:
            # A process that just ended (a stopped run's dbt) may hold the lock a moment more;
            # a run in progress holds it for long, and that is reported.
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    if not read_only:
        create_tables(con)
    con.execute(MACROS)
    return con


# The raw and ops tables are created (and older warehouses migrated) once per version of their
# DDL, which a stamp outside the published schemas records: run on every connection, the DDL
# and its ALTERs cost 50 ms of each of the thirty-odd connections of a night.
DDL_VERSION = hashlib.sha256(
    "\n".join([RAW_AND_OPS_DDL, *comment_statements()]).encode()
).hexdigest()


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The raw and ops tables as declared, with their descriptions, unless the warehouse
    already has this version of them."""
    try:
        stamp = con.execute("SELECT version FROM meta.ddl").fetchone()
    except duckdb.CatalogException:
        stamp = None
    if stamp == (DDL_VERSION,):
        return
    con.execute(RAW_AND_OPS_DDL)
    describe_ops_tables(con)
    con.execute("CREATE SCHEMA IF NOT EXISTS meta")
    con.execute("CREATE OR REPLACE TABLE meta.ddl AS SELECT ? AS version", [DDL_VERSION])


def describe_ops_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The ops tables' Swedish descriptions, written once per warehouse (and again when a new
    column or description appears)."""
    missing = con.execute(
        """SELECT count(*) FROM duckdb_columns()
           WHERE database_name = current_database() AND schema_name = 'ops' AND comment IS NULL"""
    ).fetchone()[0]
    if missing:
        for statement in comment_statements():
            con.execute(statement)


def scratch() -> duckdb.DuckDBPyConnection:
    """An in-memory database with the parsing rules, for reading a file without the
    warehouse (the landing sensor runs while a pipeline run holds ifo.duckdb)."""
    con = duckdb.connect()
    con.execute(MACROS)
    return con


# The warehouses this process holds open (`held_open`), by path.
_held: dict[str, duckdb.DuckDBPyConnection] = {}


@contextmanager
def held_open(path: Path) -> Iterator[None]:
    """Keep the warehouse open in this process while the block runs.

    Every `connect` to it then shares the open database (DuckDB's instance cache): no file to
    open and catalog to read (35 ms), and no checkpoint as each connection that wrote closes.
    A night opens some thirty connections. A step that hands the file to another process
    (dbt) or attaches it to another database (publishing) calls `release` first."""
    key = str(path)
    if key in _held:  # already held by an enclosing block
        yield
        return
    _held[key] = connect(path)
    try:
        yield
    finally:
        release(path)


def release(path: Path) -> None:
    """Close the held warehouse (if it is): once the last connection closes, the file is
    checkpointed and unlocked for another process."""
    con = _held.pop(str(path), None)
    if con is not None:
        con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """All or nothing: a load that fails half-way leaves the tables as they were."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
