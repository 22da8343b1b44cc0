"""Operational facts in plain Python: what has landed, whether the ledger is late, and what
loaded last. Used by the Dagster sensor and checks and by `ifo status`; no Dagster here."""

from __future__ import annotations

import hashlib
import json
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from ifo_pipeline.ingest.csv_loader import LandedSource, scan_periods
from ifo_pipeline.ingest.fileinfo import FileRejected, inspect_file
from ifo_pipeline.ingest.sources import CSV_SOURCES, LEDGER, landed_files, read_column_map
from ifo_pipeline.ingest.volumes import VOLUMES, file_year
from ifo_pipeline.ingest.warehouse import connect
from ifo_pipeline.months import month_key
from ifo_pipeline.settings import Settings

FILE_SOURCES: tuple[LandedSource, ...] = (*CSV_SOURCES, VOLUMES)


def landing_state(landing_dir: Path) -> dict[str, list[int]]:
    """Every landed file (relative path) with its size and modification time."""
    state = {}
    for source in FILE_SOURCES:
        for path in landed_files(landing_dir, source):
            stat = path.stat()
            state[str(path.relative_to(landing_dir))] = [stat.st_size, stat.st_mtime_ns]
    return state


def changed_files(previous: dict[str, list[int]], current: dict[str, list[int]]) -> list[str]:
    """New or re-delivered files (a different size or time under the same name)."""
    return sorted(name for name, facts in current.items() if previous.get(name) != facts)


def run_key(changed: list[str], current: dict[str, list[int]]) -> str:
    """The same set of deliveries asks for one run only, however often the sensor looks."""
    facts = json.dumps({name: current[name] for name in changed}, sort_keys=True)
    return hashlib.sha256(facts.encode()).hexdigest()[:16]


def file_months(
    landing_dir: Path, relative: str, column_map: dict[str, str] | None = None
) -> list[int] | None:
    """The months (YYYYMM) a landed file delivers: [] for a source without months (budget,
    forecasts, configuration), None when the file cannot be read (its load refuses it)."""
    path = landing_dir / relative
    folder = Path(relative).parts[0]
    try:
        if folder == LEDGER.folder:
            if column_map is None:
                column_map = read_column_map(landing_dir)
            return scan_periods(LEDGER, path, column_map)
        if folder == VOLUMES.folder:  # a volume file is the truth for its whole year
            year = file_year(path)
            return [year * 100 + month for month in range(1, 13)]
    except FileRejected:
        return None
    return []


def months_of(landing_dir: Path, relative_paths: list[str]) -> tuple[set[int], bool]:
    """The months the landed files deliver, and whether one of them cannot be read (it still
    needs a run, which refuses it and says why)."""
    column_map = read_column_map(landing_dir)
    months: set[int] = set()
    unreadable = False
    for relative in relative_paths:
        found = file_months(landing_dir, relative, column_map)
        unreadable |= found is None
        months.update(found or [])
    return months, unreadable


def pending_months(settings: Settings) -> tuple[set[int], bool]:
    """The months of the landed ledger and volume files not loaded yet (see months_of)."""
    with closing(connect(settings.warehouse_path)) as con:
        seen = {r[0] for r in con.execute("SELECT file_sha256 FROM ops.load_log").fetchall()}
    new = [
        str(path.relative_to(settings.landing_dir))
        for source in (LEDGER, VOLUMES)
        for path in landed_files(settings.landing_dir, source)
        if inspect_file(path, text=False).sha256 not in seen
    ]
    return months_of(settings.landing_dir, new)


@dataclass(frozen=True)
class Staleness:
    stale: bool
    expected_period: int
    message: str


def ledger_staleness(loaded_periods: set[int], today: date, due_day: int) -> Staleness:
    """Last month's ledger must have arrived by `due_day` of this month."""
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    expected = year * 100 + month
    latest = max(loaded_periods, default=None)
    if expected in loaded_periods:
        return Staleness(False, expected, f"the ledger for {year}-{month:02d} has arrived")
    if today.day <= due_day:
        return Staleness(
            False,
            expected,
            f"the ledger for {year}-{month:02d} is due by day "
            f"{due_day}; latest loaded: {_period(latest)}",
        )
    return Staleness(
        True,
        expected,
        f"the ledger for {year}-{month:02d} has not arrived "
        f"(due by day {due_day}); latest loaded: {_period(latest)}",
    )


def _period(period: int | None) -> str:
    return "none" if period is None else month_key(period)


def loaded_ledger_periods(con: duckdb.DuckDBPyConnection) -> set[int]:
    return {r[0] for r in con.execute("SELECT DISTINCT period FROM raw.ledger_lines").fetchall()}


def status_report(con: duckdb.DuckDBPyConnection, today: date, due_day: int) -> str:
    """What loaded last, from which file, what failed and why, what is stale."""
    lines = ["Last load per source:"]
    for source, file_name, outcome, rows, rejected, loaded_at in con.execute("""
            SELECT source, file_name, outcome, rows_loaded, rows_rejected, loaded_at
            FROM ops.load_log
            QUALIFY row_number() OVER (PARTITION BY source ORDER BY load_id DESC) = 1
            ORDER BY source""").fetchall():
        lines.append(
            f"  {source:<17} {loaded_at:%Y-%m-%d %H:%M}  {file_name}  {outcome}, "
            f"{rows} rows, {rejected} rejected"
        )
    refused = con.execute("""SELECT source, file_name, message FROM ops.load_log
                             WHERE outcome = 'rejected' ORDER BY load_id DESC LIMIT 10
                          """).fetchall()
    lines.append("Refused files:" if refused else "Refused files: none")
    lines += [f"  {source}: {message}" for source, _, message in refused]
    rejects = con.execute("""SELECT source, count(*) FROM ops.rejects
                             WHERE line_number IS NOT NULL OR raw IS NOT NULL
                             GROUP BY source ORDER BY source""").fetchall()
    lines.append(
        "Rejected rows (ops.rejects): "
        + (", ".join(f"{source} {count}" for source, count in rejects) or "none")
    )
    unbalanced = con.execute(
        "SELECT count(*) FROM ops.reconciliation WHERE difference <> 0"
    ).fetchone()[0]
    lines.append(
        f"Reconciliation: {unbalanced} file(s) with a difference"
        if unbalanced
        else "Reconciliation: every file balances"
    )
    staleness = ledger_staleness(loaded_ledger_periods(con), today, due_day)
    lines.append(("STALE: " if staleness.stale else "Fresh: ") + staleness.message)
    return "\n".join(lines)
