"""The one writer of `ops.load_log`: every source, Kolada included, logs through it by name."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import duckdb


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
    """The writer for rejects decided in Python (a refused file, a volume cell); a CSV file's
    row rejects are inserted set-based from its parse, into the same columns."""
    if not rows:
        return
    con.executemany(
        """INSERT INTO ops.rejects BY NAME
           SELECT ? AS file_sha256, ? AS file_name, ? AS source, ? AS reason,
                  ? AS line_number, ? AS raw, ?::DECIMAL(18, 2) AS amount,
                  ? AS period, now() AS rejected_at""",
        [list(asdict(row).values()) for row in rows],
    )


def write_load_log(con: duckdb.DuckDBPyConnection, entry: LoadLogEntry) -> None:
    values = {**asdict(entry), "outcome": str(entry.outcome)}
    columns = ", ".join(f"${name} AS {name}" for name in values if name != "loaded_at")
    con.execute(
        f"""INSERT INTO ops.load_log BY NAME
            SELECT nextval('ops.load_sequence') AS load_id, {columns},
                   coalesce($loaded_at, now()) AS loaded_at""",
        values,
    )
