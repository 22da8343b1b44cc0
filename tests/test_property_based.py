"""Property tests (hypothesis): the number and cell parsers never raise and never guess, a
generated ledger always reconciles (loaded + rejected amounts = the file's amounts), and any
bytes landed under any source folder get an outcome without crashing a load."""

from __future__ import annotations

import random
import tempfile
from contextlib import closing
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ifo_pipeline.ingest import load_source, load_volumes
from ifo_pipeline.ingest.csv_loader import load_file
from ifo_pipeline.ingest.volumes import Cell, CellError, parse_cell
from ifo_pipeline.sample.generator import fake_personnummer
from ifo_pipeline.settings import Settings
from ifo_pipeline.store.ops_log import Outcome
from ifo_pipeline.store.sources import BUDGET, CSV_SOURCES, FORECASTS, LEDGER
from ifo_pipeline.store.warehouse import connect

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


# --- any bytes under any source folder: an outcome for every file, every krona accounted for ---

# Where a file can land, named so that its source takes it.
LANDING_NAMES = [
    "ledger/huvudbok.csv",
    "budget/kommunbidrag_2019.csv",
    "prognos/prognos.csv",
    "config/rapportstruktur.csv",
    "config/rapporter.csv",
    "config/kostnadsslag.csv",
    "config/atgarder.csv",
    "config/atgardsstatus.csv",
    "config/malindikatorer.csv",
    "config/kolumnmappning.csv",
    "verksamhetsmatt/verksamhetsmatt_2019.csv",
    "verksamhetsmatt/verksamhetsmatt_2019.xlsx",
]
HEADERS = {
    **{f"{s.folder}/{s.patterns[0].replace('*', '')}": s.columns for s in CSV_SOURCES},
    "ledger/huvudbok.csv": LEDGER.columns,
    "budget/kommunbidrag_2019.csv": BUDGET.columns,
    "prognos/prognos.csv": FORECASTS.columns,
    "config/kolumnmappning.csv": ("Exportkolumn", "Kolumn"),
    "verksamhetsmatt/verksamhetsmatt_2019.csv": ("Avsnitt", "Matt", "Jan", "Feb", "Mar"),
}
PERSONNUMMER = fake_personnummer(random.Random(7))  # made up, a valid check digit
FIELDS = st.sampled_from(
    [
        "201903", "201812", "201913", "5310", "4630", "56910", "1 234,50", "-12,5", "1O,00",
        "abc", "", '"q;uote"', '"open', "\x00", "Summa", PERSONNUMMER, "2019-03-01", "92%",
        "BU-1", "kolada:N30001", "varde", "lagre", "planerad", "IFO", "2019", "x" * 40, "\u202f",
        "e\u0301", "=1+1",
    ]
)  # fmt: skip
ENCODINGS = ["utf-8", "utf-8-sig", "cp1252", "utf-16", "utf-32"]


@st.composite
def landed_file(draw) -> tuple[str, bytes]:
    name = draw(st.sampled_from(LANDING_NAMES))
    if name.endswith(".xlsx") or draw(st.integers(0, 4)) == 0:  # bytes of any kind
        return name, draw(st.binary(max_size=400))
    separator = draw(st.sampled_from([";", "\t", ","]))
    header = list(HEADERS.get(name, ("Period",)))
    if draw(st.booleans()):
        header = draw(st.permutations(header))
    lines = [separator.join(header)] + [
        separator.join(draw(st.lists(FIELDS, min_size=0, max_size=len(header) + 1)))
        for _ in range(draw(st.integers(0, 6)))
    ]
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = ending.join(lines) + draw(st.sampled_from(["", ending]))
    return name, text.encode(draw(st.sampled_from(ENCODINGS)), errors="replace")


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(landed_file(), min_size=1, max_size=4, unique_by=lambda f: f[0]))
def test_any_landed_bytes_get_an_outcome_and_every_krona_is_accounted_for(files):
    with tempfile.TemporaryDirectory() as tmp:
        settings_ = Settings(warehouse_dir=Path(tmp) / "w", landing_dir=Path(tmp) / "landing")
        for name, data in files:
            path = settings_.landing_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        loads = [f for source in CSV_SOURCES for f in load_source(settings_, source)]
        loads += load_volumes(settings_)
        assert all(f.outcome in set(Outcome) for f in loads)
        with closing(connect(settings_.warehouse_path)) as con:
            logged = {r[0] for r in con.execute("SELECT file_name FROM ops.load_log").fetchall()}
            unbalanced = con.execute(
                "SELECT count(*) FROM ops.reconciliation WHERE difference <> 0"
            ).fetchone()[0]
            reconciled = con.execute("SELECT count(*) FROM ops.reconciliation").fetchone()[0]
            delivered_money = con.execute(
                """SELECT count(*) FROM ops.load_log WHERE source IN ('ledger', 'budget')
                   AND outcome IN ('loaded', 'loaded_with_rejects')"""
            ).fetchone()[0]
    # Every landed file has a verdict in the load log (the column mapping only when it maps
    # something or is refused: an empty mapping is no delivery).
    for name, _ in files:
        if not name.endswith("kolumnmappning.csv"):
            assert Path(name).name in logged, (name, loads)
    assert unbalanced == 0
    assert reconciled == delivered_money
