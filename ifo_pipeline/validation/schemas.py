"""pandera (polars) schemas for what the loaders wrote, and a batched validator over DuckDB.

The loaders decide row by row in SQL what is accepted; these schemas check the result
independently, as a second pair of eyes: a bug in a parser (a month 13, an unmasked personal
identity number, a broken code) fails a Dagster asset check instead of reaching a report.
Tables are read in Arrow batches, so validation runs in bounded memory on millions of rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import duckdb
import pandera.polars as pa
import polars as pl
import pyarrow as pa_arrow
from pandera.api.polars.types import PolarsData

from ifo_pipeline.prefetch import prefetched
from ifo_pipeline.privacy import find_identity_numbers
from ifo_pipeline.store import sources
from ifo_pipeline.store.declarations import CsvSource, RawTable

# The shape only (a cheap vectorised prefilter); privacy.find_identity_numbers decides.
PERSONNUMMER = r"\d{6}[-+ \u00a0\u2013]?\d{4}"
BATCH_ROWS = 500_000
# Failure cases kept per failing column and check (a validation's sample names them all).
CASES_PER_CHECK = 3


def contains_personnummer(text: str) -> bool:
    """True if `text` holds a personal identity number (the masking rule of privacy/)."""
    return bool(find_identity_numbers(text))


def _no_personnummer(data: PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(
        pl.col(data.key).map_batches(_free_of_personnummer, return_dtype=pl.Boolean)
    )


def _free_of_personnummer(texts: pl.Series) -> pl.Series:
    """True per text without a personal identity number. The shape is matched vectorised;
    only the rare texts of that shape are checked digit by digit, in Python."""
    shaped = texts.str.contains(PERSONNUMMER).fill_null(False)
    free = ~shaped
    suspects = shaped.arg_true()
    if len(suspects):
        verdicts = [not contains_personnummer(t) for t in texts.gather(suspects).to_list()]
        free = free.scatter(suspects, verdicts)
    return free


def _month_in_range(data: PolarsData) -> pl.LazyFrame:
    col = pl.col(data.key)
    return data.lazyframe.select(
        col.mod(100).is_between(1, 12) & col.floordiv(100).is_between(1900, 2099)
    )


def _code(digits: str) -> pa.Check:
    return pa.Check.str_matches(rf"^[0-9]{{{digits}}}$", error=f"a code of {digits} digits")


MONEY = pl.Decimal(18, 2)
MONTH = pa.Check(_month_in_range, error="a month YYYYMM")
FILE_SHA = pa.Column(pl.Utf8, pa.Check.str_matches(r"^[0-9a-f]{64}$", error="a SHA-256"))
LINE = pa.Column(pl.Int64, pa.Check.ge(2, error="a data line (after the header)"))

# Polars types of the SQL types the raw tables are declared with.
POLARS_TYPES = {
    "VARCHAR": pl.Utf8,
    "INTEGER": pl.Int32,
    "BIGINT": pl.Int64,
    "BOOLEAN": pl.Boolean,
    "DATE": pl.Date,
    "DOUBLE": pl.Float64,
    "DECIMAL(18, 2)": MONEY,
}


def raw_schema(
    source: CsvSource | RawTable,
    checks: dict[str, list[pa.Check]],
    unique: list[str] | None = None,
) -> pa.DataFrameSchema:
    """A raw table as pandera sees it: every declared column with its type and nullability
    (from the one declaration, ingest/sources.py), plus the value rules here."""
    if isinstance(source, CsvSource):  # where each row came from, then the declared columns
        declared, columns = source.select, {"file_sha256": FILE_SHA, "line_number": LINE}
    else:
        declared, columns = source.columns, {}
    unknown = set(checks) - set(declared)
    if unknown:  # a rule for a column the declaration no longer has must not pass silently
        raise ValueError(f"{source.table}: checks for undeclared columns {sorted(unknown)}")
    for name, column in declared.items():
        columns[name] = pa.Column(
            POLARS_TYPES[column.type], checks.get(name, []), nullable=not column.required
        )
    if unique is None and isinstance(source, CsvSource) and source.unique_key:
        unique = list(source.unique_key)  # the loader keeps one row a key (the later one)
    return pa.DataFrameSchema(columns, name=source.table, unique=unique)


NOT_EMPTY = pa.Check.str_length(min_value=1)
YEAR = pa.Check.in_range(1900, 2099)

LEDGER_LINES = raw_schema(
    sources.LEDGER,
    {
        "period": [MONTH],
        "ansvar": [_code("4,6")],
        "konto": [_code("4,5")],
        "verksamhet": [_code("3,5")],
        "motpart": [_code("1,3")],
        "text": [pa.Check(_no_personnummer, error="no personal identity number")],
    },
    unique=["file_sha256", "line_number"],
)

BUDGET_LINES = raw_schema(
    sources.BUDGET, {"period": [MONTH], "ansvar": [_code("4,6")], "verksamhet": [_code("3,5")]}
)

FORECAST_LINES = raw_schema(
    sources.FORECASTS,
    {"prognosmanad": [MONTH], "ansvar": [_code("4,6")]},
)

REPORT_STRUCTURE = raw_schema(
    sources.REPORT_STRUCTURE,
    {
        "giltig_fran": [YEAR],
        "giltig_till": [YEAR],
        "ansvar_fran": [pa.Check.ge(0)],
        "ansvar_till": [pa.Check.ge(0)],
        "rapport": [NOT_EMPTY],
        "rapportrad": [NOT_EMPTY],
    },
)

REPORTS = raw_schema(
    sources.REPORTS,
    {
        "giltig_fran": [YEAR],
        "giltig_till": [YEAR],
        "rapport": [NOT_EMPTY],
        "rubrik": [NOT_EMPTY],
        "summarad": [NOT_EMPTY],
    },
)

_RANGE_END = pa.Check.str_matches(r"^[0-9]{1,6}$", error="a code of 1–6 digits")

COST_KINDS = raw_schema(
    sources.COST_KINDS,
    {
        "konto_fran": [_RANGE_END],
        "konto_till": [_RANGE_END],
        "verksamhet_fran": [_RANGE_END],
        "verksamhet_till": [_RANGE_END],
        "kostnadsslag": [NOT_EMPTY],
    },
)

MEASURES = raw_schema(
    sources.MEASURES,
    {
        "atgard_id": [NOT_EMPTY],
        "atgard": [NOT_EMPTY],
        "baslinje_fran": [MONTH],
        "baslinje_till": [MONTH],
        "start": [MONTH],
        "enhetskostnad": [pa.Check.ge(0)],
    },
)

MEASURE_STATUS = raw_schema(
    sources.MEASURE_STATUS,
    {"manad": [MONTH], "status": [pa.Check.isin(list(sources.MEASURE_STATUSES))]},
)

GOAL_INDICATORS = raw_schema(
    sources.GOAL_INDICATORS,
    {
        "kalla_typ": [pa.Check.isin(["verksamhetsmatt", "kolada"])],
        "berakning": [pa.Check.isin(["varde", "forandring_pct"])],
        "riktning": [pa.Check.isin(["lagre", "hogre"])],
    },
)

VOLUME_CELLS = raw_schema(
    sources.VOLUME_CELLS,
    {
        "ar": [pa.Check.in_range(1900, 2099)],
        "manad": [pa.Check.in_range(1, 12)],
        "avsnitt": [NOT_EMPTY],
        "matt_levererat": [NOT_EMPTY],
        "andel": [pa.Check.in_range(0, 1, error="a share 0–1")],
        "kapacitet": [pa.Check.gt(0)],
    },
)

KOLADA_VALUES = raw_schema(
    sources.KOLADA_TABLES[0],
    {
        "kpi": [pa.Check.str_matches(r"^[A-Z][0-9]{5}$", error="a KPI id")],
        "municipality": [
            pa.Check.str_matches(
                r"^([0-9]{4}|G[0-9]+)$", error="a municipality id (4 digits) or a group (G...)"
            )
        ],
        "period": [pa.Check.in_range(1990, 2099)],
        "gender": [pa.Check.isin(["T", "K", "M"])],
    },
)

SCHEMAS: dict[str, pa.DataFrameSchema] = {
    s.name: s
    for s in (
        LEDGER_LINES,
        BUDGET_LINES,
        FORECAST_LINES,
        REPORT_STRUCTURE,
        REPORTS,
        COST_KINDS,
        MEASURES,
        MEASURE_STATUS,
        GOAL_INDICATORS,
        VOLUME_CELLS,
        KOLADA_VALUES,
    )
}


@dataclass
class Validation:
    table: str
    rows_checked: int = 0
    failures: int = 0
    sample: list[dict] = field(default_factory=list)  # the first failure cases

    @property
    def passed(self) -> bool:
        return self.failures == 0


def _frames(reader: pa_arrow.RecordBatchReader) -> Iterator[pl.DataFrame]:
    for batch in reader:
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        yield frame


def validate_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    schema: pa.DataFrameSchema | None = None,
    batch_rows: int = BATCH_ROWS,
    sample_size: int = 20,
    files: list[str] | None = None,
    where: str | None = None,
) -> Validation:
    """Validate a warehouse table batch by batch; the result lists the first failure cases.

    `files` (SHA-256s): only the rows those files loaded, which is what a night changed (the
    other rows were validated when they were loaded). `where`: a condition on the rows to
    check. Uniqueness is checked per batch only: the dbt tests check it over the whole table.
    """
    schema = schema or SCHEMAS[table]
    columns = ", ".join(schema.columns)
    result = Validation(table)
    conditions = [where] if where else []
    if files is not None:
        conditions.append("file_sha256 IN (SELECT unnest($files::VARCHAR[]))")
    params = {} if files is None else {"files": files}
    filtered = f"WHERE {' AND '.join(f'({c})' for c in conditions)}" if conditions else ""
    reader = con.execute(f"SELECT {columns} FROM {table} {filtered}", params).to_arrow_reader(
        batch_rows
    )
    # DuckDB's fetch and polars' checks each keep about one core busy: overlap them.
    for frame in prefetched(_frames(reader)):
        result.rows_checked += frame.height
        try:
            schema.validate(frame, lazy=True)
        except pa.errors.SchemaErrors as exc:
            cases = exc.failure_cases
            result.failures += cases.height
            # A few cases of each failing column and check, so that every one is named.
            kept = {(c["column"], c["check"]) for c in result.sample}
            firsts = cases.group_by(["column", "check"], maintain_order=True).head(CASES_PER_CHECK)
            for case in firsts.to_dicts():
                if len(result.sample) >= sample_size:
                    break
                if (case["column"], case["check"]) in kept:
                    continue  # named by an earlier batch
                result.sample.append(
                    {
                        "column": case["column"],
                        "check": case["check"],
                        "value": str(case["failure_case"]),
                        "row": case["index"],
                    }
                )
    return result
