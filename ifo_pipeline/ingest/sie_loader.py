"""SIE 4 files (`sie/*.se`, `*.si`, `*.sie`) loaded as the ledger (docs/inputs.md §7).

The SIE reader (`ifo_pipeline.sie`) reads each `#TRANS` with its voucher; every line becomes a
ledger line in the contract's columns (Period from the voucher's date, Konto, Belopp, the
dimensions mapped through `config/sie_dimensioner.csv`, Verifikation, Bokforingsdatum, Text)
and goes through the ledger's own row rules, replacement, reconciliation and load log
(`csv_loader.store_parsed_file`): a SIE delivery and a CSV delivery of the ledger obey one rule
(the latest landed file holding a period is its truth). A line the reader cannot use is a
reject with its reason and the line as delivered. The file is read from its masked archived
copy, as every delivery is.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import duckdb
import pyarrow as pa

from ifo_pipeline.ingest.csv_loader import Span, parse_sql, store_parsed_file
from ifo_pipeline.ingest.lifecycle import FileLoad, identify_new_file, outcome_of
from ifo_pipeline.sie import Entry, SieReader, detect_encoding
from ifo_pipeline.store.archive import archive_masked
from ifo_pipeline.store.fileinfo import UTF8_LATIN, FileInfo, FileRejected
from ifo_pipeline.store.sources import LEDGER, SIE

log = logging.getLogger(__name__)

# The standard's meanings, used without config/sie_dimensioner.csv: 1 is the cost centre
# (resultatenhet: the municipality's ansvar), 6 the project.
DEFAULT_DIMENSIONS = {"1": "Ansvar", "6": "Projekt"}
BATCH = 100_000
STREAM_SCHEMA = pa.schema(
    [
        ("line_number", pa.int64()),
        ("raw", pa.string()),
        ("pre_reason", pa.string()),
        ("source_line", pa.string()),
    ]
)


def load_sie_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    archive_dir: Path,
    dimensions: dict[str, str] | None = None,
) -> FileLoad:
    """Load one SIE file into raw.ledger_lines; never raises for bad input (it is logged)."""
    info = identify_new_file(con, SIE, path, archive_dir, text=False)
    if isinstance(info, FileLoad):
        return info
    delivered = info

    def load() -> FileLoad:
        with path.open("rb") as fh:
            encoding = _encoding(fh.read())
        known = FileInfo(delivered.path, delivered.sha256, delivered.size_bytes, encoding, 0)
        archived = archive_masked(known, SIE.folder, archive_dir)
        copy = FileInfo(archived.path, known.sha256, known.size_bytes, encoding, 0)
        span = parse_sie(con, copy, dimensions or DEFAULT_DIMENSIONS)
        return store_parsed_file(con, LEDGER, copy, archived, span)

    try:
        return outcome_of(con, SIE, info, archive_dir, load)
    finally:
        con.execute("DROP TABLE IF EXISTS parsed")


def _encoding(data: bytes) -> str:
    """The file's encoding; a file that mixes UTF-8 characters into another encoding is
    refused, naming the line (as every landed file is)."""
    encoding = detect_encoding(data)
    mixed = None if encoding.startswith("utf-8") else UTF8_LATIN.search(data)
    if mixed:
        raise FileRejected(
            "the file mixes encodings: it has UTF-8 characters, but its other bytes are not UTF-8",
            data.count(b"\n", 0, mixed.start()) + 1,
        )
    return encoding


def parse_archived_sie(
    con: duckdb.DuckDBPyConnection, path: Path, dimensions: dict[str, str] | None
) -> tuple[FileInfo, Span | None]:
    """An archived SIE copy parsed again (a month reloaded from it): its identity and span."""
    data = path.read_bytes()
    info = FileInfo(path, hashlib.sha256(data).hexdigest(), len(data), detect_encoding(data), 0)
    return info, parse_sie(con, info, dimensions or DEFAULT_DIMENSIONS)


def parse_sie(
    con: duckdb.DuckDBPyConnection, info: FileInfo, dimensions: dict[str, str]
) -> Span | None:
    """The file's `#TRANS` lines into the temporary table `parsed`, judged by the ledger's
    rules; returns the months of its financial year (`#RAR 0`, else its vouchers' year).
    Raises FileRejected for a file that is not SIE type 4 or holds no `#TRANS`."""
    text = info.path.read_text(encoding=info.encoding)
    if "\ufffd" in text:
        line = text.count("\n", 0, text.index("\ufffd")) + 1
        raise FileRejected(
            "the file contains U+FFFD replacement characters: it was already mis-decoded "
            "once before it was exported",
            line,
        )
    reader = SieReader()
    lines = text.splitlines()
    entries = list(reader.entries(lines))
    if reader.sie_type is None:
        raise FileRejected("no #SIETYP: not a SIE file")
    if reader.sie_type != "4":
        raise FileRejected(
            f"SIE type {reader.sie_type} holds balances only: the ledger needs type 4 "
            "(#VER and #TRANS)"
        )
    if not entries:
        raise FileRejected("the file has no #TRANS lines")
    span = _financial_year(reader, entries)
    # Judged here, not after the parse: the reject keeps the line as delivered.
    entries = [_within(entry, span) for entry in entries]
    batches = _ledger_lines(entries, dimensions)
    con.register("batches", pa.RecordBatchReader.from_batches(STREAM_SCHEMA, batches))
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE stream AS FROM batches")
        positions = {column: i for i, column in enumerate(LEDGER.columns, start=1)}
        con.execute(
            "CREATE OR REPLACE TEMP TABLE parsed AS "
            + parse_sql(LEDGER, positions, len(LEDGER.columns), prejudged=True)
        )
    finally:
        con.unregister("batches")
        con.execute("DROP TABLE IF EXISTS stream")
    return span


def _within(entry: Entry, span: Span | None) -> Entry:
    """A line of a voucher dated outside the financial year is a reject: it never replaces a
    period of another year."""
    period = entry.period
    if entry.problem or span is None or period is None or span.first <= period <= span.last:
        return entry
    return replace(entry, problem=f"period {period} utanför filens år {span.label}")


def _financial_year(reader: SieReader, entries: list[Entry]) -> Span | None:
    if reader.financial_year:
        start, end = reader.financial_year
        if start[:6].isdigit() and end[:6].isdigit():
            return Span(int(start[:6]), int(end[:6]), f"{start}–{end}")
    periods = [e.period for e in entries if e.period]
    if not periods:
        return None
    year = max(periods) // 100
    return Span(year * 100 + 1, year * 100 + 12, str(year))


def _ledger_lines(entries: list[Entry], dimensions: dict[str, str]) -> Iterator[pa.RecordBatch]:
    """Each entry as a line in the ledger contract's columns (LEDGER.columns, `;` with the
    CSV quoting), with the reader's verdict and the line as delivered."""
    for start in range(0, len(entries), BATCH):
        chunk = entries[start : start + BATCH]
        yield pa.RecordBatch.from_arrays(
            [
                pa.array([e.line for e in chunk], pa.int64()),
                pa.array([_as_ledger_line(e, dimensions) for e in chunk], pa.string()),
                pa.array([e.problem for e in chunk], pa.string()),
                pa.array([e.raw.strip() for e in chunk], pa.string()),
            ],
            schema=STREAM_SCHEMA,
        )


def _as_ledger_line(entry: Entry, dimensions: dict[str, str]) -> str:
    voucher = entry.voucher
    date = voucher.date if voucher and voucher.date else ""
    values = dict.fromkeys(LEDGER.columns, "")
    for dim, obj in entry.objects:
        if dim in dimensions:
            values[dimensions[dim]] = obj
    values |= {
        "Period": date[:6],
        "Konto": entry.account or "",
        # Swedish form for the ledger's amount rule: the reader accepted only digits and a
        # decimal point.
        "Belopp": str(entry.amount).replace(".", ",") if entry.amount is not None else "",
        "Verifikation": f"{voucher.series}{voucher.number}" if voucher else "",
        "Bokforingsdatum": f"{date[:4]}-{date[4:6]}-{date[6:8]}" if date else "",
        "Text": entry.text or "",
    }
    return ";".join(_csv_field(values[c]) for c in LEDGER.columns)


def _csv_field(value: str) -> str:
    if any(ch in value for ch in ';"'):
        return '"' + value.replace('"', '""') + '"'
    return value


def scan_sie_periods(path: Path) -> list[int]:
    """The months a landed SIE file holds within its financial year, read without the
    warehouse (what the landing sensor and `ifo run` choose a run's months by). Raises
    FileRejected for a file the load would refuse whole."""
    data = path.read_bytes()
    reader = SieReader()
    entries = list(
        reader.entries(data.decode(detect_encoding(data), errors="replace").splitlines())
    )
    if reader.sie_type != "4" or not entries:
        raise FileRejected("not a SIE 4 file with #TRANS lines")
    span = _financial_year(reader, entries)
    periods = {e.period for e in entries if e.period}
    return sorted(p for p in periods if span is None or span.first <= p <= span.last)
