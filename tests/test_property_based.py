"""Property tests (hypothesis): the number and cell parsers never raise and never guess, and a
generated ledger always reconciles: loaded + rejected amounts = the file's amounts."""

from __future__ import annotations

import tempfile
from contextlib import closing
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ifo_pipeline.ingest.csv_loader import load_file
from ifo_pipeline.ingest.sources import LEDGER
from ifo_pipeline.ingest.volumes import Cell, CellError, parse_cell
from ifo_pipeline.ingest.warehouse import connect

AMOUNTS = st.decimals(
    min_value=Decimal("-999999999999.99"),
    max_value=Decimal("999999999999.99"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)


def swedish(amount: Decimal, thousands: str, minus: str, trailing_minus: bool) -> str:
    """An amount written the way a Swedish export writes it."""
    whole, _, ore = f"{abs(amount):.2f}".partition(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    text = thousands.join(groups) + "," + ore
    if amount < 0:
        text = text + "-" if trailing_minus else minus + text
    return text


@given(
    AMOUNTS,
    st.sampled_from(["", " ", "\u00a0", "\u202f"]),
    st.sampled_from(["-", "\u2212"]),
    st.booleans(),
)
def test_every_swedish_form_of_an_amount_parses_exactly(sql, amount, thousands, minus, trailing):
    text = swedish(amount, thousands, minus, trailing)
    assert sql.execute("SELECT sv_amount(?)", [text]).fetchone()[0] == amount


@given(st.text(max_size=40))
def test_any_text_is_an_amount_or_null_never_an_error(sql, text):
    value = sql.execute("SELECT sv_amount(?)", [text]).fetchone()[0]
    if value is not None:
        # Only digits, separators, one sign and a decimal comma make an amount: nothing guessed.
        assert set(text.strip()) <= set("0123456789 \u00a0\u202f,.-+\u2212"), text
        assert abs(value) < Decimal("1000000000000")


@given(st.text(max_size=30))
def test_any_cell_parses_or_is_a_cell_error(text):
    try:
        result = parse_cell(text)
    except CellError:
        return
    assert result is None or isinstance(result, Cell)
    if result is None:
        assert text.strip() == ""


@given(st.integers(0, 100), st.integers(0, 999))
def test_a_share_with_its_count_parses_exactly(share, count):
    assert parse_cell(f"{share}% ({count} st)") == Cell(varde=count, andel=share / 100)


# A ledger line: a period (sometimes impossible), an amount (sometimes unreadable or too large).
PERIODS = st.sampled_from(["201901", "201902", "201903", "201913", "2019-03", "", "201812"])
AMOUNT_TEXTS = st.one_of(
    AMOUNTS.map(lambda a: swedish(a, " ", "-", False)),
    st.sampled_from(["", "NaN", "1.234,50", "1,5E3", "12 5OO", "100 000 000 000 000 000,00"]),
)
LINES = st.lists(st.tuples(PERIODS, AMOUNT_TEXTS, st.booleans()), min_size=1, max_size=40)


def readable(text: str) -> Decimal | None:
    """The reference reading of an amount, independent of the SQL macros."""
    canonical = text.replace(" ", "").replace(",", ".")
    try:
        value = Decimal(canonical)
    except ArithmeticError:
        return None
    if not canonical or value.is_nan() or "E" in canonical.upper() or canonical.count(".") > 1:
        return None
    return value if abs(value) < Decimal("1000000000000") else None


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(LINES)
def test_loaded_and_rejected_amounts_add_up_to_the_file(lines):
    body = "Period;Ansvar;Konto;Verksamhet;Belopp;Text\n" + "".join(
        f"{period};{'5310' if good_code else '53X0'};4630;569;{amount};t\n"
        for period, amount, good_code in lines
    )
    in_file = sum((readable(a) or Decimal(0)) for _, a, _ in lines)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger" / "generated.csv"
        path.parent.mkdir()
        path.write_text(body, encoding="utf-8")
        with closing(connect(Path(tmp) / "w.duckdb")) as con:
            result = load_file(con, LEDGER, path, Path(tmp) / "archive", {})
            if result.outcome == "rejected":  # only a file with no readable row at all
                assert "no data rows" in result.message or result.rows_loaded == 0
                return
            loaded = con.execute("SELECT coalesce(sum(belopp), 0) FROM raw.ledger_lines")
            loaded = loaded.fetchone()[0]
            rejected = con.execute("SELECT coalesce(sum(amount), 0) FROM ops.rejects")
            rejected = rejected.fetchone()[0]
            recorded = con.execute(
                "SELECT amount_in_file, difference FROM ops.reconciliation"
            ).fetchone()
    assert loaded + rejected == in_file
    assert recorded == (in_file, 0)
    assert result.rows_loaded + result.rows_rejected == len(lines)
