"""Load one landed CSV file into the warehouse: docs/inputs.md's general rules for every source.

The bytes are streamed (pyarrow reads the file line by line in blocks, transcoding Windows-1252)
straight into DuckDB, which splits the fields, parses Swedish numbers, masks personal identity
numbers and decides each row's fate in SQL: no Python loop over rows, no whole file in memory.

Per file: SHA-256 identity (the same bytes twice is a no-op), a copy in the archive, rows that
cannot be loaded kept in `ops.rejects` with line and reason, the rows replacing what the file
supersedes (a period, a year, the whole table) in one transaction, `ops.load_log`, and for money
sources `ops.reconciliation`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ifo_pipeline.ingest.lifecycle import (
    FileLoad,
    PreparedFile,
    archived_copy,
    identify_new_file,
    log_load,
    newest_holders,
    no_file_for,
    outcome_of,
    the_year_in,
)
from ifo_pipeline.months import months_text
from ifo_pipeline.store.archive import (
    Archived,
    archive_masked,
)
from ifo_pipeline.store.declarations import (
    CsvSource,
    field_pattern,
    header_delimiter,
    normalise_header,
    split_fields,
)
from ifo_pipeline.store.fileinfo import (
    FileInfo,
    FileRejected,
    inspect_file,
    sniff_encoding,
)
from ifo_pipeline.store.ops_log import (
    Outcome,
    insert_rejects,
    write_replacements,
)
from ifo_pipeline.store.sources import SIE
from ifo_pipeline.store.warehouse import transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Span:
    """The months a file is bound to (its year): a row outside is a reject, never a
    replacement. `label` names it in the reject's reason."""

    first: int  # YYYYMM
    last: int
    label: str


MONTH = re.compile(r"(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])")


def period_field(source: CsvSource) -> str:
    """The CSV column (contract spelling) that holds the period."""
    return next(c for c in source.columns if normalise_header(c) == source.period_column)


def field_name(column: str) -> str:
    return "c_" + normalise_header(column)


def read_header(path: Path, encoding: str) -> tuple[list[str], str]:
    """The header's fields and the separator the file uses."""
    with path.open(encoding=encoding, newline="") as fh:
        line = fh.readline()
    delimiter = header_delimiter(line)
    return split_fields(line, delimiter), delimiter


def resolve_columns(
    source: CsvSource, header: list[str], column_map: dict[str, str]
) -> dict[str, int]:
    """Map canonical column -> 1-based field position, through the municipality's mapping."""
    positions: dict[str, int] = {}
    for index, name in enumerate(header, start=1):
        key = normalise_header(column_map.get(normalise_header(name), name))
        if key in positions and key in {normalise_header(c) for c in source.columns}:
            raise FileRejected(
                f"the column {name} appears twice in the header (fields {positions[key]} and "
                f"{index}): which one holds the data cannot be known",
                1,
            )
        positions.setdefault(key, index)
    found = {
        c: positions[normalise_header(c)]
        for c in source.columns
        if normalise_header(c) in positions
    }
    missing = [c for c in source.columns if c not in found and c not in source.optional]
    if missing:
        raise FileRejected(
            f"the header lacks the column(s) {', '.join(missing)} "
            f"(found: {';'.join(header) or 'nothing'}); a column mapping in "
            "config/kolumnmappning.csv can map other names onto these",
            1,
        )
    return found


def _lines(path: Path, encoding: str) -> tuple[pa.Schema, Iterator[pa.RecordBatch], list[int]]:
    """The file's lines after the header as Arrow batches (line_number, raw)."""
    bad_rows: list[int] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        bad_rows.append(row.number or -1)
        return "skip"

    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(
            encoding="utf8" if encoding.startswith("utf-8") else encoding,
            column_names=["raw"],
            skip_rows=1,
            block_size=16 << 20,
            use_threads=False,
        ),
        # One column per physical line: the delimiter is a control character no export has.
        parse_options=pacsv.ParseOptions(
            delimiter="\x1f",
            quote_char=False,
            ignore_empty_lines=False,
            invalid_row_handler=on_invalid,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={"raw": pa.string()},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    schema = pa.schema([("line_number", pa.int64()), ("raw", pa.string())])

    def batches() -> Iterator[pa.RecordBatch]:
        next_line = 2
        for batch in reader:
            n = batch.num_rows
            numbers = pa.array(range(next_line, next_line + n), pa.int64())
            next_line += n
            yield pa.RecordBatch.from_arrays([numbers, batch.column(0)], schema=schema)

    return schema, batches(), bad_rows


def parse_sql(
    source: CsvSource,
    positions: dict[str, int],
    n_fields: int,
    delimiter: str = ";",
    prejudged: bool = False,
) -> str:
    """The SQL that splits, types and judges the lines of the table `stream` (line_number,
    raw). `prejudged`: the stream also has `pre_reason` (a reader's own verdict on the line,
    which comes first) and `source_line` (the line as delivered, kept in a reject): a SIE
    file's lines, read into the ledger's columns."""
    carried = ", pre_reason, source_line" if prejudged else ""
    first_reason = "WHEN pre_reason IS NOT NULL THEN pre_reason" if prejudged else ""
    as_written = "coalesce(source_line, raw)" if prejudged else "raw"
    field_cols = []
    for column in source.columns:
        name = field_name(column)
        if column in positions:
            field = f"f[{positions[column]}]"
            # Only a line with a quote has a field to unquote: most lines skip the work.
            value = f"CASE WHEN quoted THEN csv_unquote({field}) ELSE {field} END"
            field_cols.append(f"nullif(trim({value}), '') AS {name}")
        else:
            field_cols.append(f"CAST(NULL AS VARCHAR) AS {name}")
    typed = [f"{column.sql} AS {name}" for name, column in source.select.items()]
    checks = source.checks
    reasons = ", ".join(f"CASE WHEN coalesce({c.bad}, false) THEN {c.reason} END" for c in checks)
    total = source.total_row or "false"
    amount = source.amount or "NULL"
    sep = sql_separator(delimiter)
    return f"""
        WITH normalised AS (
            -- One form of every letter (NFC): a name pasted from a PDF (NFD, a letter and its
            -- accent apart) must equal the one typed. Free on ASCII lines.
            SELECT line_number, nfc_normalize(raw) AS raw{carried} FROM stream
            WHERE regexp_matches(raw, '[^ ]')  -- not blank (cheaper than trim)
        ), split AS (
            -- Most lines have no quotes: a plain split is many times faster than the regex.
            SELECT line_number, raw{carried}, contains(raw, '"') AS quoted,
                CASE WHEN contains(raw, '"')
                     THEN regexp_extract_all({sep} || raw, '{field_pattern(delimiter)}', 1)
                     ELSE string_split(raw, {sep}) END AS f
            FROM normalised
        ), fields AS (
            SELECT line_number, raw{carried}, len(f) AS n_fields,
                CASE WHEN quoted THEN list_bool_or(list_transform(f, x -> x[1] = '"'
                    AND (length(x) < 2 OR x[-1] <> '"'))) ELSE false END AS bad_quote,
                {", ".join(field_cols)}
            FROM split
        ), typed AS (
            SELECT *, {", ".join(typed)} FROM fields
        ), judged AS (
            SELECT *, coalesce({total}, false) AS is_total_row,
                CASE {first_reason}
                     WHEN n_fields <> {n_fields} AND NOT bad_quote
                         THEN 'expected {n_fields} fields, found ' || n_fields
                     WHEN bad_quote THEN 'a quoted field is not closed on its line'
                     WHEN contains(raw, chr(0))
                         THEN 'the line holds a NUL byte: the export is corrupt here'
                     ELSE nullif(concat_ws('; ', {reasons}), '') END AS reject_reason
            FROM typed
        )
        SELECT line_number, {", ".join(source.select)},
            is_total_row, reject_reason, {amount} AS row_amount,
            -- The line as written (already masked: it comes from the archived copy).
            CASE WHEN reject_reason IS NOT NULL OR is_total_row THEN {as_written} END AS raw_line
        FROM judged
    """


def sql_separator(delimiter: str) -> str:
    """The separator as a SQL expression (a tab as chr(9): no escapes in SQL strings)."""
    return "chr(9)" if delimiter == "\t" else f"'{delimiter}'"


def load_file(
    con: duckdb.DuckDBPyConnection,
    source: CsvSource,
    path: Path,
    archive_dir: Path,
    column_map: dict[str, str] | None = None,
    prepared: PreparedFile | None = None,
) -> FileLoad:
    """Load one file; returns what happened. Never raises for bad input: it is logged.

    `prepared`: the file already inspected and archived (`prepared_files`)."""
    info = identify_new_file(con, source, path, archive_dir, prepared=prepared)
    if isinstance(info, FileLoad):
        return info
    archived = prepared.archived if prepared else None

    def load() -> FileLoad:
        if isinstance(archived, FileRejected):  # met while archiving ahead
            raise archived
        return _load_checked_file(con, source, info, archive_dir, column_map or {}, archived)

    try:
        return outcome_of(con, source, info, archive_dir, load)
    finally:
        con.execute("DROP TABLE IF EXISTS parsed")


def _load_checked_file(
    con: duckdb.DuckDBPyConnection,
    source: CsvSource,
    info: FileInfo,
    archive_dir: Path,
    column_map: dict[str, str],
    archived: Archived | None = None,
) -> FileLoad:
    archived = archived or archive_masked(info, source.folder, archive_dir)
    # Every load reads the masked copy: what a later reload reads is what was loaded.
    copy = FileInfo(archived.path, info.sha256, info.size_bytes, info.encoding, info.line_count)
    span = parse_file(con, source, copy, column_map)
    if source.total_row:
        check_control_total(con)
    return store_parsed_file(con, source, copy, archived, span)


def store_parsed_file(
    con: duckdb.DuckDBPyConnection,
    source: CsvSource,
    copy: FileInfo,
    archived: Archived,
    span: Span | None,
) -> FileLoad:
    """What `parsed` holds replaces what the file supersedes, in one transaction with its
    rejects, its reconciliation and its load log entry (every loader of a CSV source's table:
    the CSV files, and SIE files for the ledger)."""
    rows, rejected = _counts(con)
    outcome = Outcome.LOADED_WITH_REJECTS if rejected else Outcome.LOADED
    message = (
        f"{rows} rows loaded, {rejected} rejected (see ops.rejects)"
        if rejected
        else f"{rows} rows loaded"
    )
    with transaction(con):
        periods = file_periods(con, source, span)
        _store_parsed(con, source, copy, span)
        if source.amount:
            _reconcile(con, source, copy)
        log_load(con, source, copy, archived, outcome, message, rows, rejected, periods)
    log.info("%s/%s: %s", copy.path.parent.parent.name, copy.path.name, message)
    return FileLoad(copy.path.name, copy.sha256, outcome, rows, rejected, message, periods)


def parse_file(
    con: duckdb.DuckDBPyConnection,
    source: CsvSource,
    info: FileInfo,
    column_map: dict[str, str],
    months: list[int] | None = None,
) -> Span | None:
    """Parse the file into the temporary table `parsed`; returns the months of the file's
    year (see CsvSource.file_year_from), after rejecting the rows of another year.

    `months`: parse only the lines of those months (a month reloaded from a yearly file)."""
    header, delimiter = read_header(info.path, info.encoding)
    positions = resolve_columns(source, header, column_map)

    where = ""
    if months is not None and source.period_column:
        # A line with quotes is always parsed: its fields cannot be told by a plain split.
        wanted = ", ".join(f"'{m}'" for m in months)
        period_at = positions[period_field(source)]
        where = (
            f"WHERE contains(raw, '\"') OR "
            f"trim(split_part(raw, {sql_separator(delimiter)}, {period_at})) IN ({wanted})"
        )
    schema, batches, bad_rows = _lines(info.path, info.encoding)
    stream = pa.RecordBatchReader.from_batches(schema, batches)
    con.register("batches", stream)
    try:
        # The lines land in a table first: DuckDB parses a table on every core, a stream of
        # Arrow batches on one.
        con.execute(f"CREATE OR REPLACE TEMP TABLE stream AS FROM batches {where}")
        con.execute(
            "CREATE OR REPLACE TEMP TABLE parsed AS "
            + parse_sql(source, positions, len(header), delimiter)
        )
    finally:
        con.unregister("batches")
        con.execute("DROP TABLE IF EXISTS stream")
    if bad_rows:
        raise FileRejected("the line holds the control character U+001F", bad_rows[0])
    if con.execute("SELECT count(*) FROM parsed WHERE NOT is_total_row").fetchone()[0] == 0:
        raise FileRejected("the file has a header but no data rows")
    span = _reject_other_years(con, source, info.path.name)
    _reject_earlier_duplicates(con, source)
    return span


def _reject_earlier_duplicates(con: duckdb.DuckDBPyConnection, source: CsvSource) -> None:
    """A key the file holds twice: its later line is loaded (the one edited last, as a later
    file replaces an earlier), the earlier one is a reject that names the later line."""
    if not source.unique_key:
        return
    key = ", ".join(source.unique_key)
    named = " || ' ' || ".join(f"coalesce(CAST({c} AS VARCHAR), '')" for c in source.unique_key)
    con.execute(f"""
        UPDATE parsed SET reject_reason = '{"/".join(source.unique_key)} ' || later.key_text
            || ' appears again on line ' || later.last_line || ': the later line is loaded'
        FROM (
            SELECT line_number, {named} AS key_text,
                   max(line_number) OVER (PARTITION BY {key}) AS last_line
            FROM parsed WHERE reject_reason IS NULL AND NOT is_total_row
        ) later
        WHERE parsed.line_number = later.line_number AND later.last_line > later.line_number""")


def year_in_name(source: CsvSource, name: str) -> int | None:
    """The file's year from its name, for a source whose year is read from the name
    (CsvSource.file_year_from == "name"); None: the year of its latest period decides."""
    return the_year_in(name) if source.file_year_from == "name" else None


def _reject_other_years(
    con: duckdb.DuckDBPyConnection, source: CsvSource, name: str
) -> Span | None:
    """The months of the file's year; a row for a period of another year becomes a reject,
    so that a stray row never replaces a closed month of another year."""
    if source.file_year_from is None:
        return None
    year = year_in_name(source, name)
    if year is None:
        year = con.execute(
            f"SELECT max({source.period_column}) // 100 FROM parsed WHERE NOT is_total_row"
        ).fetchone()[0]
        if year is None:  # no row has a readable period: every row is a reject already
            return None
    span = Span(year * 100 + 1, year * 100 + 12, str(year))
    reject_outside(con, source, span)
    return span


def reject_outside(con: duckdb.DuckDBPyConnection, source: CsvSource, span: Span) -> None:
    """A row whose period lies outside the file's year is a reject ("period utanför filens
    år"): it never replaces a period of another year."""
    con.execute(
        f"""UPDATE parsed SET reject_reason = concat_ws('; ', reject_reason,
                'period ' || {source.period_column} || ' utanför filens år {span.label}')
            WHERE NOT is_total_row
              AND {source.period_column} NOT BETWEEN {span.first} AND {span.last}"""
    )


def check_control_total(con: duckdb.DuckDBPyConnection) -> None:
    """An export whose total row disagrees with its lines, when every amount could be read,
    is incomplete: refused whole. (With unreadable amounts the gap is theirs: the file loads and
    the reconciliation check reports it.)"""
    unreadable_rows, amount, control, line = con.execute("""
        SELECT count(*) FILTER (WHERE NOT is_total_row AND row_amount IS NULL),
               coalesce(sum(row_amount) FILTER (WHERE NOT is_total_row), 0),
               arg_max(row_amount, line_number) FILTER (WHERE is_total_row),
               max(line_number) FILTER (WHERE is_total_row)
        FROM parsed""").fetchone()
    if control is not None and unreadable_rows == 0 and control != amount:
        raise FileRejected(
            f"exportens totalrad säger {format_sek(control)}, raderna summerar till "
            f"{format_sek(amount)}: exporten är ofullständig",
            line,
        )


def format_sek(amount: Decimal) -> str:
    """Swedish: '-1 234 567,50 kr'."""
    text = f"{amount:,.2f}".replace(",", " ").replace(".", ",")
    return f"{text} kr"


def _counts(
    con: duckdb.DuckDBPyConnection,
    months: list[int] | None = None,
    period_column: str | None = None,
) -> tuple[int, int]:
    """Rows to load and rows rejected in `parsed` (within `months` when given)."""
    where = f"AND {_in_months(period_column)}" if months is not None else ""
    return con.execute(
        f"""
        SELECT count(*) FILTER (WHERE reject_reason IS NULL),
               count(*) FILTER (WHERE reject_reason IS NOT NULL)
        FROM parsed WHERE NOT is_total_row {where}""",
        {"months": months} if months is not None else {},
    ).fetchone()


def file_periods(con: duckdb.DuckDBPyConnection, source: CsvSource, span: Span | None) -> list[int]:
    """The periods the parsed file is the truth for: every period on its rows (rejected rows
    too: a corrected re-export of a month replaces the month), except periods outside the
    file's year where a file holds one year (those rows are rejected, not a delivery)."""
    if not source.period_column:
        return []
    return [
        r[0]
        for r in con.execute(f"""
        SELECT DISTINCT {source.period_column} FROM parsed
        WHERE {_delivered_rows(source, source.period_column, span)} ORDER BY 1""").fetchall()
    ]


def _delivered_rows(source: CsvSource, key: str, span: Span | None) -> str:
    """SQL: the rows of `parsed` that say what the file replaces (see file_periods)."""
    condition = f"NOT is_total_row AND {key} IS NOT NULL"
    if span is not None:
        condition += f" AND {source.period_column} BETWEEN {span.first} AND {span.last}"
    return condition


def scan_periods(source: CsvSource, path: Path, column_map: dict[str, str]) -> list[int]:
    """The periods a landed file holds, read without the warehouse: what the landing sensor
    and `ifo run` need to choose a run's months, before the load.

    Only the period column is read (Arrow's multi-threaded CSV reader: a small fraction of a
    parse). The load's parse remains the truth, logged in ops.load_log; a line this reader
    skips (a broken line the load rejects) can only leave a month out of the run's range,
    never out of the load. Raises FileRejected for a file the load would refuse whole."""
    encoding = sniff_encoding(path)
    header, delimiter = read_header(path, encoding)
    positions = resolve_columns(source, header, column_map)
    names = [f"f{i}" for i in range(1, len(header) + 1)]
    wanted = names[positions[period_field(source)] - 1]
    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(
            encoding="utf8" if encoding.startswith("utf-8") else encoding,
            column_names=names,
            skip_rows=1,
            block_size=16 << 20,
        ),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=lambda _: "skip"),
        convert_options=pacsv.ConvertOptions(
            include_columns=[wanted], column_types={wanted: pa.string()}
        ),
    )
    values = pc.unique(pc.utf8_trim_whitespace(table.column(wanted))).to_pylist()
    periods = sorted({int(v) for v in values if v and MONTH.fullmatch(v)})
    if not periods:  # the load refuses it, or rejects every line: a run must still say so
        raise FileRejected("no line holds a readable period")
    if source.file_year_from is None:
        return periods
    year = year_in_name(source, path.name) or periods[-1] // 100
    return [p for p in periods if p // 100 == year]


def _store_parsed(
    con: duckdb.DuckDBPyConnection,
    source: CsvSource,
    info: FileInfo,
    span: Span | None,
    months: list[int] | None = None,
) -> None:
    """Replace what the file supersedes with its rows and rejects: everything it holds, or
    only `months` (months reloaded from the file's archived copy)."""
    params: dict = {"sha": info.sha256}
    within = ""
    if months is not None:
        params["months"] = months
        within = f"AND {_in_months(source.period_column)}"
        con.execute(
            f"DELETE FROM {source.table} WHERE {_in_months(source.period_column)}",
            {"months": months},
        )
        con.execute(
            f"DELETE FROM ops.rejects WHERE file_sha256 = $sha AND {_in_months('period')}", params
        )
    elif source.replace_key is None:
        record_replacements(con, source, info, "'hela tabellen'", "NOT is_total_row")
        con.execute(f"DELETE FROM {source.table}")
    else:
        # A file replaces every key it holds, read from all its rows (rejected ones too):
        # a corrected re-export of a month replaces that month, it never adds to it.
        delivered = _delivered_rows(source, source.replace_key, span)
        record_replacements(con, source, info, source.replace_key, delivered)
        con.execute(f"""
            DELETE FROM {source.table} WHERE {source.replace_key} IN (
                SELECT DISTINCT {source.replace_key} FROM parsed WHERE {delivered})""")
    target_cols = ", ".join(source.select)
    con.execute(
        f"""
        INSERT INTO {source.table} (file_sha256, line_number, {target_cols})
        SELECT $sha, line_number, {target_cols} FROM parsed
        WHERE NOT is_total_row AND reject_reason IS NULL {within}""",
        params,
    )
    insert_rejects(
        con,
        f"""
        SELECT $sha AS file_sha256, $name AS file_name, $source AS source,
               reject_reason AS reason, line_number, raw_line AS raw, row_amount AS amount,
               {source.period_column or "NULL"} AS period
        FROM parsed WHERE NOT is_total_row AND reject_reason IS NOT NULL {within}""",
        {**params, "name": info.path.name, "source": source.name},
    )


def record_replacements(
    con: duckdb.DuckDBPyConnection, source: CsvSource, info: FileInfo, key: str, delivered: str
) -> None:
    """Before a file replaces what it supersedes: each replaced key's rows and net amount
    before and after, in ops.replacements (the replacement check judges the share removed)."""
    amount = source.amount or "NULL"
    write_replacements(
        con,
        f"""
        WITH replaced AS (SELECT DISTINCT {key} AS key FROM parsed WHERE {delivered}),
        before AS (
            SELECT {key} AS key, count(*) AS n, sum({amount}) AS amount FROM {source.table}
            WHERE {key} IN (SELECT key FROM replaced) GROUP BY ALL
        ), after AS (
            SELECT {key} AS key, count(*) AS n, sum({amount}) AS amount FROM parsed
            WHERE {delivered} AND reject_reason IS NULL GROUP BY ALL
        )
        SELECT $sha AS file_sha256, $name AS file_name, $source AS source,
               CAST(before.key AS VARCHAR) AS replaced_key,
               before.n AS rows_before, coalesce(after.n, 0) AS rows_after,
               before.amount AS amount_before,
               CASE WHEN before.amount IS NOT NULL THEN coalesce(after.amount, 0) END
                   AS amount_after
        FROM before LEFT JOIN after USING (key)""",
        {"sha": info.sha256, "name": info.path.name, "source": source.name},
    )


def _in_months(column: str) -> str:
    """SQL: `column` is one of the months bound as $months."""
    return f"{column} IN (SELECT unnest($months))"


def reload_months(
    con: duckdb.DuckDBPyConnection,
    source: CsvSource,
    months: list[int],
    column_map: dict[str, str] | None = None,
    dimensions: dict[str, str] | None = None,
) -> list[FileLoad]:
    """Make each month what the most recently landed file holding it says, re-read from that
    file's archived copy: a single month reloaded or backfilled without a new delivery. A
    ledger month a SIE file holds is read from it with the SIE `dimensions`."""
    holders = newest_holders(con, source, months)
    loads = []
    for (archived_as, archived_sha), held in holders.items():
        archived = archived_copy(con, archived_as, archived_sha, held)
        try:
            if archived.path.parent.parent.name == SIE.folder:
                # Imported here: the SIE loader builds on this module's rules.
                from ifo_pipeline.ingest.sie_loader import parse_archived_sie

                info, span = parse_archived_sie(con, archived.path, dimensions)
            else:
                info = inspect_file(archived.path)
                span = parse_file(con, source, info, column_map or {}, held)
            rows, rejected = _counts(con, held, source.period_column)
            message = f"{months_text(held)} reloaded from the archived file: {rows} rows"
            with transaction(con):
                _store_parsed(con, source, info, span, held)
                log_load(
                    con, source, info, archived, Outcome.RELOADED, message, rows, rejected, held
                )
        finally:
            con.execute("DROP TABLE IF EXISTS parsed")
        log.info("%s/%s: %s", source.folder, info.path.name, message)
        loads.append(
            FileLoad(info.path.name, info.sha256, Outcome.RELOADED, rows, rejected, message, held)
        )
    return loads + no_file_for(source, months, holders)


def _reconcile(con: duckdb.DuckDBPyConnection, source: CsvSource, info: FileInfo) -> None:
    """Sum of the file = loaded + rejected, each measured where it ended up, to the öre."""
    con.execute(
        f"""
        INSERT INTO ops.reconciliation BY NAME
        WITH file_side AS (
            SELECT count(*) FILTER (WHERE NOT is_total_row) AS rows_in_file,
                   coalesce(sum(row_amount) FILTER (WHERE NOT is_total_row), 0) AS amount_in_file,
                   count(*) FILTER (WHERE NOT is_total_row AND row_amount IS NULL)
                       AS unreadable_amount_rows,
                   arg_max(row_amount, line_number) FILTER (WHERE is_total_row) AS control_sum
            FROM parsed
        ), loaded AS (
            SELECT coalesce(sum({source.amount}), 0) AS s FROM {source.table}
            WHERE file_sha256 = $sha
        ), rejected AS (
            SELECT coalesce(sum(amount), 0) AS s FROM ops.rejects WHERE file_sha256 = $sha
        )
        SELECT $sha AS file_sha256, $name AS file_name, rows_in_file, amount_in_file,
            loaded.s AS loaded_sum, rejected.s AS rejected_sum,
            amount_in_file - loaded.s - rejected.s AS difference,
            control_sum, control_sum - amount_in_file AS control_difference,
            unreadable_amount_rows,
            amount_in_file - loaded.s - rejected.s = 0
                AND coalesce(control_sum = amount_in_file, true) AS balanced,
            now() AS checked_at
        FROM file_side, loaded, rejected
    """,
        {"sha": info.sha256, "name": info.path.name},
    )
