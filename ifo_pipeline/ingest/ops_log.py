"""The one writer of `ops.load_log`: every source, Kolada included, logs through it by name."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

import duckdb


@dataclass(frozen=True)
class LoadLogEntry:
    file_sha256: str
    file_name: str
    source: str
    outcome: str  # loaded | loaded_with_rejects | rejected | reloaded
    message: str
    archived_as: str | None = None
    archived_sha256: str | None = None
    size_bytes: int | None = None
    encoding: str | None = None
    periods: str | None = None  # comma-separated YYYYMM (years for Kolada)
    rows_loaded: int = 0
    rows_rejected: int = 0
    loaded_at: datetime | None = None  # now, unless the entry records an earlier event


def write_load_log(con: duckdb.DuckDBPyConnection, entry: LoadLogEntry) -> None:
    values = asdict(entry)
    columns = ", ".join(f"${name} AS {name}" for name in values if name != "loaded_at")
    con.execute(
        f"""INSERT INTO ops.load_log BY NAME
            SELECT nextval('ops.load_sequence') AS load_id, {columns},
                   coalesce($loaded_at, now()) AS loaded_at""",
        values,
    )
