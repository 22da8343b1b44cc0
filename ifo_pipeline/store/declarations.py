"""How a landed source is declared: once, as data. Everything else is derived from it.

A `CsvSource` names its folder and file patterns, the header it expects, each raw column (how
it is computed from the fields, its SQL type, whether every accepted row has it), the row
rules, and what a file replaces. From that one declaration come the loader's SQL
(`csv_loader.py`), the raw table's DDL (`CsvSource.ddl`, run by `warehouse.connect`) and the
pandera schema's columns and types (`validation/schemas.py`): renaming a column is one change
here (and the staging model that renames it for dbt). A `RawTable` declares the same for a table
that a loader of its own writes (the volume counts, Kolada): its columns, types and nullability.

No imports from the rest of the package: the warehouse, the loaders and the schemas all read
these declarations.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    """A row rule: `bad` is SQL that is true for a row that breaks it; `reason` SQL text."""

    bad: str
    reason: str


@dataclass(frozen=True)
class RawColumn:
    """One column of a raw table: SQL over the fields `c_<header>`, its type, and whether every
    accepted row has a value (NOT NULL; the row rules reject a row without one)."""

    sql: str
    type: str
    required: bool = False


@dataclass(frozen=True)
class Column:
    """A column of a raw table that another loader than the CSV loader writes."""

    type: str
    required: bool = False


@dataclass(frozen=True)
class RawTable:
    """A raw table written by a loader of its own (the workbook reader of ingest/volumes.py,
    the Kolada landing): its columns, in the order the loader inserts them."""

    table: str
    columns: dict[str, Column]

    def ddl(self) -> str:
        return create_table(self.table, self.columns)


def create_table(table: str, columns: dict[str, Column | RawColumn]) -> str:
    definitions = [
        f"{name} {column.type}{' NOT NULL' if column.required else ''}"
        for name, column in columns.items()
    ]
    return f"CREATE TABLE IF NOT EXISTS {table} (\n    " + ",\n    ".join(definitions) + "\n);"


@dataclass(frozen=True)
class LandedSource:
    """A kind of file dropped into one folder of the landing area."""

    name: str
    folder: str
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class CsvSource(LandedSource):
    """A landed CSV source (see sources.py for the five of docs/inputs.md §1–4)."""

    table: str
    columns: tuple[str, ...]  # canonical header names, in the contract's spelling
    optional: frozenset[str]
    select: dict[str, RawColumn]  # raw table column -> how it is computed
    checks: tuple[Check, ...]
    replace_key: str | None = None  # SQL over target columns; None: a file replaces the table
    amount: str | None = None  # target column summed for reconciliation
    total_row: str | None = None  # SQL: the row is a trailing control total
    period_column: str | None = None  # target column holding YYYYMM, for the load log
    # How a file's year is found: "latest_period" (the year of its latest period) or "name"
    # (the year in its name, else its latest period). Rows of another year are rejected: a
    # file never replaces a period of another year. None: files are not bound to a year.
    file_year_from: str | None = None
    # Raw tables the row rules read (a status names a measure of raw.measures): their assets
    # run first.
    reads: tuple[str, ...] = ()
    # Raw columns that name one row: a file holding a key twice loads its later line, and the
    # earlier one is a row reject naming it (a config file edited by hand repeats a row).
    unique_key: tuple[str, ...] = ()

    def ddl(self) -> str:
        """The raw table: where each row came from (file and line), then the declared columns."""
        provenance = {"file_sha256": Column("VARCHAR", True), "line_number": Column("BIGINT", True)}
        return create_table(self.table, {**provenance, **self.select})


def normalise_header(name: str) -> str:
    """Case-, accent- and space-insensitive header key: 'Bokföringsdatum' -> 'bokforingsdatum'."""
    stripped = unicodedata.normalize("NFKD", name.strip().lstrip("\ufeff"))
    ascii_only = "".join(ch for ch in stripped if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]", "", ascii_only.lower())


def csv_unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('""', '"')
    return value


# The field separators a header may use: the semicolon of a Swedish CSV export, or the tab
# of Excel's "Unicode text" (the one the header holds decides; a semicolon first).
DELIMITERS = (";", "\t")


def field_pattern(delimiter: str = ";") -> str:
    """One CSV field after its separator: quoted (with doubled quotes inside) or plain up to
    the next separator. Lines are matched with a separator put in front, so that no match is
    empty (an empty match would make the engine skip the separator after it). The same
    pattern for Python's `re` and DuckDB's RE2."""
    sep = r"\t" if delimiter == "\t" else re.escape(delimiter)
    return rf'{sep}("(?:[^"]|"")*"|[^{sep}]*)'


def split_fields(line: str, delimiter: str = ";") -> list[str]:
    """The fields of one line, unquoted (the loader's rules, for a header or a small file)."""
    found = re.findall(field_pattern(delimiter), delimiter + line.rstrip("\r\n"))
    return [csv_unquote(f) for f in found]


def header_delimiter(line: str) -> str:
    return next((d for d in DELIMITERS if d in line), DELIMITERS[0])
