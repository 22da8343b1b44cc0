"""Volume counts (verksamhetsmått, docs/inputs.md §5): the units' yearly file, CSV or XLSX.

The files are small (a few hundred cells), so they are read in Python; what matters is that
every cell is accounted for: it parses to its typed parts or goes to `ops.rejects` with file,
sheet, row, column and the raw text. Measure names are resolved through the measure catalogue
(`dbt_project/seeds/matt_katalog.csv`, which the controllers edit); an unknown name keeps its
cells in `raw.volume_cells` with no measure id and is reported by an asset check.

A later delivery of a year replaces that year; every value it changes is recorded in
`ops.volume_changes`, so a corrected February is visible as a correction.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import zip_longest
from pathlib import Path
from typing import NamedTuple

import duckdb
import pyarrow as pa
from openpyxl.utils import get_column_letter

from ifo_pipeline.ingest.lifecycle import (
    DATE_IN_NAME,
    FileLoad,
    archived_copy,
    identify_new_file,
    log_load,
    no_file_for,
    reject_file,
    the_year_in,
    unreadable,
)
from ifo_pipeline.settings import DBT_PROJECT_DIR
from ifo_pipeline.store.archive import archive_masked
from ifo_pipeline.store.declarations import LandedSource, normalise_header
from ifo_pipeline.store.fileinfo import FileInfo, FileRejected, inspect_file
from ifo_pipeline.store.ops_log import (
    DELIVERED,
    Outcome,
    RejectRow,
    write_rejects,
    write_replacements,
)
from ifo_pipeline.store.warehouse import transaction

log = logging.getLogger(__name__)
VOLUMES = LandedSource(name="volumes", folder="verksamhetsmatt", patterns=("*.csv", "*.xlsx"))
CATALOGUE_DIR = DBT_PROJECT_DIR / "seeds"
MONTHS = ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec")
# The month names a Swedish or an English Excel writes, by their first three letters (the
# header key: 'Sept', 'Mars', 'October' and 'maj' alike).
MONTH_OF_KEY = {key: n for n, key in enumerate(MONTHS, start=1)} | {"may": 5, "oct": 10}

_NUMBER = r"\d+(?:[ \u00a0\u202f]\d{3})*(?:,\d+)?"
CELL = re.compile(
    rf"""^(?:
        (?P<share>\d+(?:,\d+)?)\s*%(?:\s*\(\s*(?P<count>\d+)\s*st\s*\))?   # 92%, 100% (17 st)
      | (?P<occupied>{_NUMBER})\s*/\s*(?P<capacity>{_NUMBER})             # 8,5/7
      | (?P<number>-?{_NUMBER})                                          # 20, 8,5
    )$""",
    re.VERBOSE,
)


class CellError(ValueError):
    pass


@dataclass(frozen=True)
class Cell:
    """A parsed cell: `varde` the number (the count for a share with count, the occupied
    places for x/y), `andel` the share 0–1, `kapacitet` the capacity of x/y."""

    varde: float | None = None
    andel: float | None = None
    kapacitet: float | None = None


def _number(text: str) -> float:
    return float(re.sub(r"[ \u00a0\u202f]", "", text).replace(",", "."))


def parse_cell(text: str) -> Cell | None:
    """The cell grammar of the monthly report; None for an empty (not reported) cell.

    Raises CellError for anything else: nothing is guessed.
    """
    text = text.strip()
    if not text:
        return None
    if text.startswith("="):
        raise CellError(
            f"the formula {text} has no calculated value: the workbook was written by a "
            "program and never calculated (open it in Excel and save it, or deliver the values)"
        )
    m = CELL.match(text)
    if not m:
        raise CellError(
            f"cell '{text}' is not a number, a share (92%), a share with count "
            "(100% (17 st)) or occupied/capacity (8,5/7)"
        )
    if m["share"] is not None:
        share = _number(m["share"]) / 100
        return Cell(varde=float(m["count"]) if m["count"] else None, andel=share)
    if m["occupied"] is not None:
        return Cell(varde=_number(m["occupied"]), kapacitet=_number(m["capacity"]))
    return Cell(varde=_number(m["number"]))


def _key(name: str) -> str:
    """Names compare without case, punctuation or spacing: 'MiniMaria, antal nya' ~
    'Minimaria antal nya'."""
    return normalise_header(name)


@dataclass
class Catalogue:
    """Measure names and aliases -> stable measure ids; section aliases -> sections."""

    measures: dict[tuple[str, str], str]  # (section key, name key) -> matt_id
    sections: dict[str, str]  # section key -> canonical section

    @classmethod
    def load(cls, directory: Path = CATALOGUE_DIR) -> Catalogue:
        measures: dict[tuple[str, str], str] = {}
        sections: dict[str, str] = {}
        with (directory / "matt_katalog.csv").open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh, delimiter=";"):
                sections[_key(row["avsnitt"])] = row["avsnitt"]
                for name in [row["matt"], *filter(None, row["alias"].split("|"))]:
                    measures[(_key(row["avsnitt"]), _key(name))] = row["matt_id"]
        with (directory / "avsnitt_alias.csv").open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh, delimiter=";"):
                sections[_key(row["alias"])] = row["avsnitt"]
        return cls(measures, sections)

    def section(self, name: str) -> str:
        return self.sections.get(_key(name), name.strip())

    def measure_id(self, section: str, name: str) -> str | None:
        return self.measures.get((_key(section), _key(name)))


@dataclass(frozen=True)
class RawRow:
    sheet: str | None
    row_number: int
    section: str
    measure: str
    # (month 1-12, column header, raw text, 0-based column index)
    cells: tuple[tuple[int, str, str, int], ...]


def month_of(name: object) -> int | None:
    """The month a header names: 'Jan', 'Sept', 'Mars', 'maj', 'May', 'October', or a date
    (Excel's 'jan-19' is a date formatted as a month); None for anything else."""
    if isinstance(name, datetime | date):
        return name.month
    key = _key(str(name or ""))
    if key.isalpha() and len(key) >= 3 and (month := MONTH_OF_KEY.get(key[:3])):
        return month
    return None


def _month_columns(header: list[object]) -> dict[int, int]:
    """Column index -> month. A header that names a month twice is refused: which column
    holds the month cannot be known."""
    columns: dict[int, int] = {}
    for index, name in enumerate(header):
        month = month_of(name)
        if month is None:
            continue
        if month in columns.values():
            first = next(i for i, m in columns.items() if m == month)
            raise FileRejected(
                f"the header names month {month} twice (columns {first + 1} and {index + 1}: "
                f"{_text(header[first])!r}, {_text(name)!r})"
            )
        columns[index] = month
    return columns


# Columns beside the months that hold no month's count, read by name: a total or an average
# of the months, or a comment.
NOT_A_MONTH = ("summa", "sum", "total", "snitt", "medel", "genomsnitt", "average", "kommentar")


def _unread_columns(header: list[object], months: dict[int, int], first: int) -> list[str]:
    """Header cells after the name column(s) that name no month and no known summary: a
    column the loader would otherwise drop without a word (a month it cannot read)."""
    return [
        _text(name)
        for index, name in enumerate(header)
        if index >= first
        and index not in months
        and _text(name)
        and not _key(_text(name)).startswith(NOT_A_MONTH)
    ]


class Uncalculated(str):
    """A formula cell with no cached value: a workbook written by a program, never calculated
    (its formula text; `parse_cell` rejects it, naming the cell)."""


@dataclass(frozen=True)
class Percent:
    """A number shown with a % format: Excel stores 92 % as 0.92."""

    value: float


def _plain(value: float) -> str:
    """A float as Swedish text without exponent or binary noise (0.92*100 is 92)."""
    number = Decimal(repr(value)).normalize()
    return f"{number:f}".replace(".", ",")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Percent):
        return _plain(float(Decimal(repr(value.value)) * 100)) + "%"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, datetime | date):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, float):
        return _plain(value)
    return unicodedata.normalize("NFC", str(value)).strip()


def _rows_from_table(
    sheet: str | None,
    rows: list[list[object]],
    section_of_row,
    first_row: int,
    first_value_column: int,
) -> Iterator[RawRow]:
    """Measure rows of one table, with the layout quirks of the source documents resolved:
    a name broken over two rows ('Försöks-' / 'lägenheter', the second row without values) is
    joined, and a value-less heading ending in ':' ('Andel egna familjehem:') prefixes the
    measure names below it."""
    months = _month_columns(rows[0])
    header = [_text(v) for v in rows[0]]
    if not months:
        raise FileRejected(f"no month columns (Jan … Dec) in the header: {header}", first_row)
    unread = _unread_columns(rows[0], months, first_value_column)
    if unread:
        raise FileRejected(
            f"the header has column(s) that name no month: {', '.join(unread)} (months are "
            "Jan … Dec, Swedish or English, or dates; beside them only a total, an average or "
            "a comment; a column is never dropped unread)",
            first_row,
        )
    prefix = ""
    pending: RawRow | None = None
    for offset, values in enumerate(rows[1:], start=1):
        texts = [_text(v) for v in values] + [""] * (len(header) - len(values))
        section, name = section_of_row(texts)
        if not name:
            continue
        cells = tuple((months[i], header[i], texts[i], i) for i in sorted(months))
        has_values = any(raw for _, _, raw, _ in cells)
        if not has_values and pending is not None and pending.measure.endswith("-"):
            pending = RawRow(
                pending.sheet,
                pending.row_number,
                pending.section,
                pending.measure[:-1] + name,
                pending.cells,
            )
            continue
        if not has_values and name.endswith(":"):
            prefix = name + " "
            continue
        if pending is not None:
            yield pending
        pending = RawRow(sheet, first_row + offset, section, prefix + name, cells)
    if pending is not None:
        yield pending


def read_volume_rows(info: FileInfo) -> Iterator[RawRow]:
    if info.path.suffix.lower() == ".xlsx":
        yield from _read_xlsx(info.path)
    else:
        yield from _read_csv(info)


def _read_csv(info: FileInfo) -> Iterator[RawRow]:
    text = info.path.read_text(encoding=info.encoding)
    if "\x00" in text:
        raise FileRejected("the file holds NUL bytes: it is not a text export", _line_of_nul(text))
    # A cell may be long (a pasted comment): the csv module's 128 kB default is not a limit of
    # the format.
    csv.field_size_limit(max(csv.field_size_limit(), 64 << 20))
    rows = [list(r) for r in csv.reader(io.StringIO(text), delimiter=";")]
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise FileRejected("the file has no rows")
    header = [_key(h) for h in rows[0]]
    if header[:2] != ["avsnitt", "matt"]:
        raise FileRejected(f"the header must start with Avsnitt;Matt (found: {rows[0][:2]})", 1)
    yield from _rows_from_table(None, rows, lambda t: (t[0], t[1]), 1, 2)


def _line_of_nul(text: str) -> int:
    return text.count("\n", 0, text.index("\x00")) + 1


def _read_xlsx(path: Path) -> Iterator[RawRow]:
    """Each sheet's table, from the row that names months down. A cell is what Excel shows:
    its calculated value (a formula never calculated is kept as its formula, to be rejected),
    and a number with a % format as the share it is."""
    from openpyxl import load_workbook

    try:
        values = load_workbook(path, read_only=True, data_only=True)
        formulas = load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # a corrupt workbook is a file-level problem
        raise FileRejected(f"not a readable XLSX workbook ({exc})") from exc
    try:
        for sheet, formula_sheet in zip(values.worksheets, formulas.worksheets, strict=True):
            rows = [
                [_shown(cell, formula) for cell, formula in zip_longest(row, formula_row)]
                for row, formula_row in zip_longest(
                    sheet.iter_rows(), formula_sheet.iter_rows(), fillvalue=()
                )
            ]
            start = next((i for i, r in enumerate(rows) if _is_header(r)), None)
            if start is None:
                continue
            title = sheet.title
            yield from _rows_from_table(
                title, rows[start:], lambda t, s=title: (s, t[0]), start + 1, 1
            )
    finally:
        values.close()
        formulas.close()


def _shown(cell: object, formula: object) -> object:
    value = getattr(cell, "value", None)
    written = getattr(formula, "value", None)
    if value is None and getattr(formula, "data_type", None) == "f":
        # An array formula's text is on its object; a plain one is the string itself.
        return Uncalculated(str(getattr(written, "text", written)))
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if numeric and "%" in (getattr(cell, "number_format", None) or ""):
        return Percent(float(value))
    return value


def _is_header(row: list[object]) -> bool:
    """The row that names the months: one month by name, or two by date (a lone date above the
    table is when it was made, not a header)."""
    named = sum(1 for v in row if not isinstance(v, datetime | date) and month_of(v))
    dated = sum(1 for v in row if isinstance(v, datetime | date))
    return named >= 1 or dated >= 2


VOLUME_SCHEMA = pa.schema(
    [
        ("sheet", pa.string()),
        ("row_number", pa.int64()),
        ("column_name", pa.string()),
        ("ar", pa.int32()),
        ("manad", pa.int32()),
        ("avsnitt", pa.string()),
        ("matt_levererat", pa.string()),
        ("matt_id", pa.string()),
        ("ratt_text", pa.string()),
        ("varde", pa.float64()),
        ("andel", pa.float64()),
        ("kapacitet", pa.float64()),
    ]
)


def load_volume_file(
    con: duckdb.DuckDBPyConnection, path: Path, archive_dir: Path, catalogue: Catalogue
) -> FileLoad:
    """Load one volume file; never raises for bad input: it gets an outcome in ops.load_log."""
    info = identify_new_file(con, VOLUMES, path, archive_dir, text=path.suffix.lower() != ".xlsx")
    if isinstance(info, FileLoad):
        return info
    try:
        year = file_year(path)
        archived = archive_masked(info, VOLUMES.folder, archive_dir)
        # Read the masked copy: no personnummer typed into a cell reaches a table or a reject.
        copy = FileInfo(archived.path, info.sha256, info.size_bytes, info.encoding, 0)
        cells, rejects = _cells(read_volume_rows(copy), year, catalogue)
        if not cells and not rejects:
            raise FileRejected("the file has a header but no measure rows")
    except FileRejected as exc:
        return reject_file(con, VOLUMES, info, archive_dir, exc)
    except Exception as exc:  # whatever the bytes do to a reader, the file gets an outcome
        return reject_file(con, VOLUMES, info, archive_dir, unreadable(exc))
    outcome = Outcome.LOADED_WITH_REJECTS if rejects else Outcome.LOADED
    message = f"{len(cells)} cells loaded, {len(rejects)} rejected"
    with transaction(con):
        _record_replacement(con, copy, year, cells)
        _store_cells(con, copy, year, cells, rejects)
        log_load(
            con,
            VOLUMES,
            copy,
            archived,
            outcome,
            message,
            len(cells),
            len(rejects),
            sorted({year * 100 + c["manad"] for c in cells if c["ratt_text"]}),
        )
    log.info("%s/%s: %s", VOLUMES.folder, copy.path.name, message)
    return FileLoad(copy.path.name, info.sha256, outcome, len(cells), len(rejects), message)


def _record_replacement(
    con: duckdb.DuckDBPyConnection, info: FileInfo, year: int, cells: list[dict]
) -> None:
    """A delivery replaces its year: the reported values before and after, for the
    replacement check (ops.replacements)."""
    before = con.execute(
        "SELECT count(*) FROM raw.volume_cells WHERE ar = ? AND ratt_text IS NOT NULL", [year]
    ).fetchone()[0]
    if before:
        write_replacements(
            con,
            """SELECT ? AS file_sha256, ? AS file_name, ? AS source, ? AS replaced_key,
                      ? AS rows_before, ? AS rows_after""",
            [
                info.sha256,
                info.path.name,
                VOLUMES.name,
                str(year),
                before,
                sum(1 for c in cells if c["ratt_text"]),
            ],
        )


def file_year(path: Path) -> int:
    """A volume file holds one year, named in the file name (its cells say no year): a date
    beside it is when the file was made."""
    year = the_year_in(DATE_IN_NAME.sub(" ", path.name))
    if year is None:
        raise FileRejected(
            "the file name must hold the year its counts are for, once (verksamhetsmatt_2019.csv)"
        )
    return year


def reload_volume_months(
    con: duckdb.DuckDBPyConnection, months: list[int], catalogue: Catalogue
) -> list[FileLoad]:
    """Make each month what the most recently landed file of its year says (a later delivery
    of a year replaces the year), re-read from that file's archived copy."""
    delivered = con.execute(
        """
        SELECT file_name, archived_as, archived_sha256 FROM ops.load_log
        WHERE source = ? AND outcome IN (SELECT unnest(?::VARCHAR[]))
        ORDER BY load_id""",
        [VOLUMES.name, [str(o) for o in DELIVERED]],
    ).fetchall()
    newest = {file_year(Path(name)): (archived, sha) for name, archived, sha in delivered}
    holders: dict[tuple[str, str | None], list[int]] = {}
    for month in months:
        if month // 100 in newest:
            holders.setdefault(newest[month // 100], []).append(month)
    loads = []
    for (archived_as, archived_sha), held in holders.items():
        archived = archived_copy(con, archived_as, archived_sha, held)
        path = archived.path
        info = inspect_file(path, text=path.suffix.lower() != ".xlsx")
        year = file_year(path)
        cells, rejects = _cells(read_volume_rows(info), year, catalogue)
        cells = [c for c in cells if year * 100 + c["manad"] in held]
        rejects = [r for r in rejects if year * 100 + r.month in held]
        message = f"{len(held)} month(s) of {year} reloaded from the archived file"
        with transaction(con):
            _store_cells(con, info, year, cells, rejects, [m % 100 for m in held])
            log_load(
                con,
                VOLUMES,
                info,
                archived,
                Outcome.RELOADED,
                message,
                len(cells),
                len(rejects),
                held,
            )
        loads.append(
            FileLoad(
                path.name, info.sha256, Outcome.RELOADED, len(cells), len(rejects), message, held
            )
        )
    return loads + no_file_for(VOLUMES, months, holders)


def _store_cells(
    con: duckdb.DuckDBPyConnection,
    info: FileInfo,
    year: int,
    cells: list[dict],
    rejects: list[CellReject],
    months: list[int] | None = None,
) -> None:
    """Replace the year (or only `months` of it, numbered 1-12) with the file's cells."""
    con.register("incoming_cells", pa.Table.from_pylist(cells, schema=VOLUME_SCHEMA))
    try:
        if months is None:
            # A correction is a value that was delivered before and now reads differently.
            con.execute(
                """
                INSERT INTO ops.volume_changes BY NAME
                SELECT old.ar, old.manad, old.avsnitt, old.matt_levererat AS matt, old.matt_id,
                       old.ratt_text AS old_text, new.ratt_text AS new_text,
                       old.file_sha256 AS old_file_sha256, ? AS new_file_sha256,
                       now() AS changed_at
                FROM raw.volume_cells old
                JOIN incoming_cells new USING (ar, manad, avsnitt, matt_levererat)
                WHERE old.ar = ? AND coalesce(old.ratt_text, '') <> ''
                  AND old.ratt_text IS DISTINCT FROM new.ratt_text""",
                [info.sha256, year],
            )
            con.execute("DELETE FROM raw.volume_cells WHERE ar = ?", [year])
        else:
            con.execute(
                """DELETE FROM raw.volume_cells
                           WHERE ar = ? AND manad IN (SELECT unnest(?::INTEGER[]))""",
                [year, months],
            )
            con.execute(
                """DELETE FROM ops.rejects WHERE file_sha256 = ?
                           AND period IN (SELECT unnest(?::INTEGER[]))""",
                [info.sha256, [year * 100 + m for m in months]],
            )
        con.execute("INSERT INTO raw.volume_cells SELECT ?, * FROM incoming_cells", [info.sha256])
    finally:
        con.unregister("incoming_cells")
    write_rejects(
        con,
        [
            RejectRow(
                info.sha256,
                info.path.name,
                VOLUMES.name,
                r.reason,
                r.row_number,
                f"{r.sheet + '!' if r.sheet else ''}{r.column}: {r.raw}",
                period=year * 100 + r.month,
            )
            for r in rejects
        ],
    )


class CellReject(NamedTuple):
    sheet: str | None
    row_number: int
    column: str
    raw: str
    reason: str
    month: int


def _cells(
    rows: Iterator[RawRow], year: int, catalogue: Catalogue
) -> tuple[list[dict], list[CellReject]]:
    cells: list[dict] = []
    rejects: list[CellReject] = []
    for row in rows:
        section = catalogue.section(row.section)
        measure_id = catalogue.measure_id(section, row.measure)
        for month, column, raw, index in row.cells:
            try:
                parsed = parse_cell(raw)
            except CellError as exc:
                where = f"{row.sheet}!{get_column_letter(index + 1)}{row.row_number}, " * bool(
                    row.sheet
                )
                rejects.append(
                    CellReject(
                        row.sheet,
                        row.row_number,
                        column,
                        raw,
                        f"{where}{row.measure} ({section}), {column}: {exc}",
                        month,
                    )
                )
                continue
            cells.append(
                {
                    "sheet": row.sheet,
                    "row_number": row.row_number,
                    "column_name": column,
                    "ar": year,
                    "manad": month,
                    "avsnitt": section,
                    "matt_levererat": row.measure,
                    "matt_id": measure_id,
                    "ratt_text": raw or None,
                    "varde": parsed.varde if parsed else None,
                    "andel": parsed.andel if parsed else None,
                    "kapacitet": parsed.kapacitet if parsed else None,
                }
            )
    return cells, rejects


def unknown_measures(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Delivered measure names the catalogue does not know, as 'section: name'."""
    return [
        f"{a}: {m}"
        for a, m in con.execute(
            """SELECT DISTINCT avsnitt, matt_levererat FROM raw.volume_cells
           WHERE matt_id IS NULL ORDER BY 1, 2"""
        ).fetchall()
    ]
