"""The writers of `ops.load_log`, `ops.rejects` and `ops.replacements`: every source, Kolada
included, writes through them by name, one writer per table."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import duckdb
import pyarrow as pa


class Outcome(StrEnum):
    """What became of a landed file (ops.load_log.outcome)."""

    LOADED = "loaded"
    LOADED_WITH_REJECTS = "loaded_with_rejects"  # loaded; some rows in ops.rejects
    REJECTED = "rejected"  # refused whole, with the reason
    ALREADY_LOADED = "already_loaded"  # the same bytes were seen before: a no-op (not logged)
    RELOADED = "reloaded"  # months re-read from the archived copy
    NO_FILE = "no_file"  # no delivered file holds the months asked for (not logged)


# The outcomes of a file that was delivered, as opposed to refused or seen before.
DELIVERED = (Outcome.LOADED, Outcome.LOADED_WITH_REJECTS)


@dataclass(frozen=True)
class LoadLogEntry:
    file_sha256: str
    file_name: str
    source: str
    outcome: Outcome
    message: str
    archived_as: str | None = None
    archived_sha256: str | None = None
    size_bytes: int | None = None
    encoding: str | None = None
    periods: str | None = None  # comma-separated YYYYMM (years for Kolada)
    rows_loaded: int = 0
    rows_rejected: int = 0
    loaded_at: datetime | None = None  # now, unless the entry records an earlier event


@dataclass(frozen=True)
class RejectRow:
    """One row (or a whole file) set aside, with where it was and why (ops.rejects)."""

    file_sha256: str
    file_name: str
    source: str
    reason: str
    line_number: int | None = None
    raw: str | None = None  # the line (or cell) as delivered, masked
    amount: Decimal | None = None  # its readable amount, for the reconciliation
    period: int | None = None  # its month, YYYYMM: a month's reload replaces its rejects


def write_rejects(con: duckdb.DuckDBPyConnection, rows: list[RejectRow]) -> None:
    """Rejects decided in Python (a refused file, a volume cell)."""
    if not rows:
        return
    table = pa.Table.from_pylist(
        [asdict(row) for row in rows],
        schema=pa.schema(
            [
                ("file_sha256", pa.string()),
                ("file_name", pa.string()),
                ("source", pa.string()),
                ("reason", pa.string()),
                ("line_number", pa.int64()),
                ("raw", pa.string()),
                ("amount", pa.decimal128(18, 2)),
                ("period", pa.int32()),
            ]
        ),
    )
    con.register("decided_rejects", table)
    try:
        insert_rejects(con, "SELECT * FROM decided_rejects")
    finally:
        con.unregister("decided_rejects")


def insert_rejects(
    con: duckdb.DuckDBPyConnection, select_sql: str, params: dict | None = None
) -> None:
    """The one writer of ops.rejects: `select_sql` yields RejectRow's fields by name (a CSV
    file's row rejects come set-based from its parse, a million at a time if need be)."""
    columns = ", ".join(field.name for field in fields(RejectRow))
    con.execute(
        f"""INSERT INTO ops.rejects BY NAME
            SELECT {columns}, now() AS rejected_at FROM ({select_sql})""",
        params or {},
    )


def loaded_hashes(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The SHA-256 of every file logged so far, loaded or refused: their bytes are not new."""
    return {r[0] for r in con.execute("SELECT file_sha256 FROM ops.load_log").fetchall()}


def write_load_log(con: duckdb.DuckDBPyConnection, entry: LoadLogEntry) -> None:
    values = {**asdict(entry), "outcome": str(entry.outcome)}
    columns = ", ".join(f"${name} AS {name}" for name in values if name != "loaded_at")
    con.execute(
        f"""INSERT INTO ops.load_log BY NAME
            SELECT nextval('ops.load_sequence') AS load_id, {columns},
                   coalesce($loaded_at, now()) AS loaded_at""",
        values,
    )


def write_replacements(
    con: duckdb.DuckDBPyConnection, rows_sql: str, params: list | dict | None = None
) -> None:
    """ops.replacements' one writer: `rows_sql` (a query, WITH clauses allowed) selects, by
    name, each key a delivered file replaces with its rows (and net amount, where the source
    has one) before and after; the time is added here."""
    con.execute(
        f"INSERT INTO ops.replacements BY NAME SELECT *, now() AS replaced_at FROM ({rows_sql})",
        params,
    )
