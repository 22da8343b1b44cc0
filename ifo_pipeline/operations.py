"""Operational facts in plain Python: what has landed, whether the ledger is late, and what
loaded last. Used by the Dagster sensor and checks and by `ifo status`; no Dagster here."""

from __future__ import annotations

import hashlib
import json
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from ifo_pipeline.incremental import BuildBasis
from ifo_pipeline.ingest.column_map import column_map_or_empty
from ifo_pipeline.ingest.csv_loader import format_sek, scan_periods
from ifo_pipeline.ingest.sie_loader import scan_sie_periods
from ifo_pipeline.ingest.volumes import VOLUMES, file_year
from ifo_pipeline.kolada.landing import fetch_identity, latest_fetch
from ifo_pipeline.months import month_key, months_between
from ifo_pipeline.runs import last_runs
from ifo_pipeline.settings import Settings
from ifo_pipeline.stopping import is_stop
from ifo_pipeline.store.declarations import LandedSource
from ifo_pipeline.store.fileinfo import file_identity, identities_kept_in
from ifo_pipeline.store.landing import landed_files
from ifo_pipeline.store.ops_log import loaded_hashes
from ifo_pipeline.store.sources import (
    COLUMN_MAP,
    CSV_SOURCES,
    LEDGER,
    SIE,
    SIE_DIMENSIONS,
)
from ifo_pipeline.store.warehouse import connect

FILE_SOURCES: tuple[LandedSource, ...] = (*CSV_SOURCES, SIE, VOLUMES)


def landing_state(landing_dir: Path) -> dict[str, list[int]]:
    """Every landed file (relative path) with its size and modification time."""
    state = {}
    for source in FILE_SOURCES:
        for path in landed_files(landing_dir, source):
            stat = path.lstat()  # a dangling link is a landed name too
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
                column_map = column_map_or_empty(landing_dir)
            return scan_periods(LEDGER, path, column_map)
        if folder == SIE.folder:
            return scan_sie_periods(path)
        if folder == VOLUMES.folder:  # a volume file is the truth for its whole year
            year = file_year(path)
            return [year * 100 + month for month in range(1, 13)]
    except Exception as exc:  # what cannot be read here is refused, with its reason, by the load
        if is_stop(exc):
            raise KeyboardInterrupt from exc
        return None
    return []


def months_of(landing_dir: Path, relative_paths: list[str]) -> tuple[set[int], bool]:
    """The months the landed files deliver, and whether one of them cannot be read (it still
    needs a run, which refuses it and says why)."""
    column_map = column_map_or_empty(landing_dir)
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
        seen = loaded_hashes(con)
    with identities_kept_in(settings.file_identities):
        new = [
            str(path.relative_to(settings.landing_dir))
            for source in (LEDGER, SIE, VOLUMES)
            for path in landed_files(settings.landing_dir, source)
            if file_identity(path) not in seen
        ]
    return months_of(settings.landing_dir, new)


def not_loaded(settings: Settings, relative_paths: list[str]) -> list[str] | None:
    """The landed files (paths relative to the landing directory) whose bytes no load has seen
    yet: a file `ifo run` loaded is not new to the landing sensor either. None when the load
    log cannot be read now (a run holds the warehouse): ask again later."""
    if not settings.warehouse_path.exists():
        return relative_paths
    try:
        with closing(duckdb.connect(str(settings.warehouse_path), read_only=True)) as con:
            seen = loaded_hashes(con)
    except duckdb.Error:
        return None
    with identities_kept_in(settings.file_identities):
        return [
            relative
            for relative in relative_paths
            if file_identity(settings.landing_dir / relative) not in seen
        ]


def nothing_new(settings: Settings) -> bool:
    """Every landed file (and the latest Kolada fetch) was seen before, the last finance run
    succeeded and published, and the marts were built by this release's dbt project: a run
    would rebuild the same marts. (A new release's first night rebuilds and publishes them
    in its shape, with nothing landed.)"""
    if not (settings.warehouse_path.exists() and settings.published_path.exists()):
        return False
    if BuildBasis(settings.dbt_build_basis).stale():
        return False
    with closing(connect(settings.warehouse_path)) as con:
        seen = loaded_hashes(con)
        # The last finance run must have published: a night whose loads failed runs the
        # other sources' loads on their own (they succeed) and publishes nothing.
        last = con.execute(
            """SELECT outcome, published FROM ops.runs WHERE job = 'ifo_all'
               ORDER BY started_at DESC LIMIT 1"""
        ).fetchone()
    if last is None or last != ("succeeded", True):
        return False
    with identities_kept_in(settings.file_identities):
        if any(
            file_identity(path) not in seen
            for source in (*FILE_SOURCES, COLUMN_MAP, SIE_DIMENSIONS)
            for path in landed_files(settings.landing_dir, source)
        ):
            return False
    fetch = latest_fetch(settings.landing_dir)
    return fetch is None or fetch_identity(fetch) in seen


@dataclass(frozen=True)
class Staleness:
    stale: bool
    expected_period: int
    message: str


def ledger_staleness(loaded_periods: set[int], today: date, due_day: int) -> Staleness:
    """Last month's ledger must have arrived by `due_day` of this month (0: no expectation).

    A warehouse whose latest ledger month is more than a year old is a historical extract (the
    demo's sample ends in 2019-03): it is not expected to be current, and says so."""
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    expected = year * 100 + month
    latest = max(loaded_periods, default=None)
    if expected in loaded_periods:
        return Staleness(False, expected, f"the ledger for {year}-{month:02d} has arrived")
    if due_day == 0:
        return Staleness(False, expected, "no freshness expected (IFO_LEDGER_DUE_DAY=0)")
    if latest is not None and months_between(latest, expected) > 12:
        return Staleness(
            False,
            expected,
            f"the ledger ends at {_period(latest)}: a historical extract, not expected to be "
            "current",
        )
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


@dataclass(frozen=True)
class Status:
    lines: list[str]
    attention: list[str]  # what needs a person; empty when all is well

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def status_report(
    con: duckdb.DuckDBPyConnection, today: date, due_day: int, replacement_share: float = 0.5
) -> Status:
    """The last runs, what loaded last, what was refused and not yet re-delivered, what does
    not add up, what is stale, and the last good Kolada fetch."""
    lines, attention = ["Last runs:"], []
    runs = last_runs(con)
    for run in runs:
        when = f"{run.started_at:%Y-%m-%d %H:%M}"
        what = "published" if run.published else "nothing published"
        lines.append(
            f"  {run.job:<8} {when}  {run.outcome}, {what}"
            + (f": {run.message}" if run.message and run.outcome != "succeeded" else "")
        )
        if run.outcome in ("failed", "interrupted"):
            attention.append(f"the last {run.job} run {run.outcome}")
    if not runs:
        lines.append("  none recorded yet")
    lines.append("Last load per source:")
    for source, file_name, outcome, rows, rejected, loaded_at in con.execute("""
            SELECT source, file_name, outcome, rows_loaded, rows_rejected, loaded_at
            FROM ops.load_log
            QUALIFY row_number() OVER (PARTITION BY source ORDER BY load_id DESC) = 1
            ORDER BY source""").fetchall():
        lines.append(
            f"  {source:<17} {loaded_at:%Y-%m-%d %H:%M}  {file_name}  {outcome}, "
            f"{rows} rows, {rejected} rejected"
        )
    refused = outstanding_refusals(con)
    _section(
        lines,
        attention,
        refused,
        f"REFUSED: {len(refused)} file(s) refused and not re-delivered since:",
        "Refused files: none outstanding",
        f"{len(refused)} refused file(s)",
    )
    rejects = con.execute("""SELECT source, count(*) FROM ops.rejects
                             WHERE line_number IS NOT NULL OR raw IS NOT NULL
                             GROUP BY source ORDER BY source""").fetchall()
    lines.append(
        "Rejected rows (ops.rejects): "
        + (", ".join(f"{source} {count}" for source, count in rejects) or "none")
    )
    unbalanced = [u.describe() for u in unbalanced_files(con)]
    _section(
        lines,
        attention,
        unbalanced,
        f"UNBALANCED: {len(unbalanced)} file(s) do not add up (ops.reconciliation):",
        "Reconciliation: every file balances, to the öre",
        f"{len(unbalanced)} unbalanced file(s)",
    )
    replaced = [r.describe() for r in large_replacements(con, replacement_share)]
    _section(
        lines,
        attention,
        replaced,
        f"LARGE REPLACEMENTS: deliveries that removed more than {replacement_share:.0%} "
        "of what they replaced (ops.replacements):",
        None,
        f"{len(replaced)} large replacement(s)",
    )
    staleness = ledger_staleness(loaded_ledger_periods(con), today, due_day)
    lines.append(("STALE: " if staleness.stale else "Fresh: ") + staleness.message)
    if staleness.stale:
        attention.append("the ledger is late")
    kolada = con.execute(
        """SELECT file_name, loaded_at FROM ops.load_log
           WHERE source = 'kolada' AND file_name LIKE '%manifest.json'
           ORDER BY load_id DESC LIMIT 1"""
    ).fetchone()
    lines.append(
        f"Kolada: last good fetch {kolada[0].split('/')[0]}, loaded {kolada[1]:%Y-%m-%d %H:%M}"
        if kolada
        else "Kolada: no fetch loaded yet"
    )
    lines.append("NEEDS ATTENTION: " + "; ".join(attention) if attention else "All is well.")
    return Status(lines, attention)


def _section(
    lines: list[str],
    attention: list[str],
    items: list[str],
    heading: str,
    all_clear: str | None,
    needs: str,
) -> None:
    """A status section: its heading and items when there are any (and a person is needed),
    else its all-clear line."""
    if items:
        lines.append(heading)
        lines += [f"  {item}" for item in items]
        attention.append(needs)
    elif all_clear:
        lines.append(all_clear)


def outstanding_refusals(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Refused files whose name has not been delivered successfully since."""
    return [
        row[0]
        for row in con.execute(
            """SELECT message FROM ops.load_log refused
               WHERE outcome = 'rejected' AND NOT EXISTS (
                   SELECT 1 FROM ops.load_log later
                   WHERE later.source = refused.source AND later.file_name = refused.file_name
                     AND later.load_id > refused.load_id
                     AND later.outcome IN ('loaded', 'loaded_with_rejects'))
               ORDER BY load_id"""
        ).fetchall()
    ]


@dataclass(frozen=True)
class Replacement:
    file_name: str
    source: str
    replaced_key: str
    rows_before: int
    rows_after: int
    amount_before: Decimal | None
    amount_after: Decimal | None

    def describe(self) -> str:
        text = f"{self.source} {self.replaced_key}: {self.file_name} replaced {self.rows_before} "
        text += f"rows with {self.rows_after}"
        if self.amount_before is not None:
            text += f", net {format_sek(self.amount_before)} -> {format_sek(self.amount_after)}"
        return text


def large_replacements(
    con: duckdb.DuckDBPyConnection, share: float, file_hashes: list[str] | None = None
) -> list[Replacement]:
    """Replacements that removed more than `share` of a period's rows or net amount: by the
    files `file_hashes`, or else the latest replacement of each period (not superseded)."""
    rows = con.execute(
        """
        WITH considered AS (
            SELECT * FROM ops.replacements
            WHERE $hashes IS NULL OR list_contains($hashes, file_sha256)
            QUALIFY $hashes IS NOT NULL OR row_number() OVER (
                PARTITION BY source, replaced_key ORDER BY replaced_at DESC) = 1
        )
        SELECT file_name, source, replaced_key, rows_before, rows_after, amount_before,
               amount_after
        FROM considered
        WHERE rows_before - rows_after > $share * rows_before
           OR abs(amount_before) - abs(amount_after) > $share * abs(amount_before)
        ORDER BY source, replaced_key""",
        {"hashes": file_hashes, "share": share},
    ).fetchall()
    return [Replacement(*row) for row in rows]


@dataclass(frozen=True)
class Unbalanced:
    file_name: str
    difference: Decimal
    control_difference: Decimal | None
    unreadable_amount_rows: int

    def describe(self) -> str:
        if self.difference:
            return f"{self.file_name}: {format_sek(self.difference)} not accounted for"
        return (
            f"{self.file_name}: the export's total row differs from its lines by "
            f"{format_sek(self.control_difference)}, with {self.unreadable_amount_rows} "
            "unreadable amount(s) in ops.rejects"
        )


def unbalanced_files(
    con: duckdb.DuckDBPyConnection, file_hashes: list[str] | None = None
) -> list[Unbalanced]:
    """Files whose krona do not add up: loaded + rejected ≠ the file (never expected), or the
    lines ≠ the export's own total row (unreadable amounts explain the gap)."""
    rows = con.execute(
        """SELECT file_name, difference, control_difference, unreadable_amount_rows
           FROM ops.reconciliation
           WHERE ($hashes IS NULL OR list_contains($hashes, file_sha256)) AND NOT balanced
           ORDER BY file_name""",
        {"hashes": file_hashes},
    ).fetchall()
    return [Unbalanced(*row) for row in rows]
