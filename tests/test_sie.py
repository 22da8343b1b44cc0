"""SIE 4 ledgers: the reader on the real files of ../shared/sie/ (counted independently), the
tokenizer fuzzed, the encodings told apart, and SIE files loaded as the ledger under its rules:
masked, reconciled to the krona, rejects with their reasons, one replacement rule with CSV."""

from __future__ import annotations

import os
import random
import re
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ifo_pipeline.ingest import load_source
from ifo_pipeline.ingest.sie_loader import load_sie_file, scan_sie_periods
from ifo_pipeline.privacy import MASK
from ifo_pipeline.sample.generator import fake_personnummer
from ifo_pipeline.settings import Settings
from ifo_pipeline.sie import SieReader, SieSyntaxError, detect_encoding, quote, tokenize
from ifo_pipeline.store.sources import LEDGER
from ifo_pipeline.store.warehouse import connect
from tests.conftest import reject_reasons, write_text
from tests.test_ledger_loading import HEADER

# --- the reader on real files ------------------------------------------------------------------

TRANS_LINE = re.compile(rb"(?m)^[ \t]*#TRANS[ \t]")
TRANS_AMOUNT = re.compile(
    rb"(?m)^[ \t]*#TRANS[ \t]+\S+[ \t]+\{[^}]*\}[ \t]+(-?[0-9]+(?:\.[0-9]+)?)"
)


def real_files(shared_dir: Path) -> list[Path]:
    return sorted(p for p in (shared_dir / "sie").iterdir() if p.suffix.lower() == ".se")


def test_every_real_sie_file_parses_and_its_trans_lines_match_an_independent_count(shared_dir):
    files = real_files(shared_dir)
    assert len(files) == 8
    for path in files:
        data = path.read_bytes()
        reader = SieReader()
        entries = list(reader.entries(data.decode(detect_encoding(data)).splitlines()))
        # Counted with a byte pattern, not the reader: every #TRANS line, no #RTRANS/#BTRANS.
        assert len(entries) == len(TRANS_LINE.findall(data)), path.name
        amounts = [Decimal(m.decode()) for m in TRANS_AMOUNT.findall(data)]
        read = [e.amount for e in entries if e.amount is not None]
        assert sorted(read) == sorted(amounts), path.name
        assert sum(a for a in read if a > 0) == sum(a for a in amounts if a > 0), path.name
        assert reader.sie_type in {"2", "3", "4"} and reader.financial_year, path.name


def test_the_real_files_say_what_the_standard_means(shared_dir):
    data = (shared_dir / "sie" / "BL0001_typ4.SE").read_bytes()
    assert detect_encoding(data) == "cp437"  # one Latin-1 byte among its CP437 letters
    reader = SieReader()
    entries = list(reader.entries(data.decode("cp437").splitlines()))
    assert len(entries) == 405  # its 6 #RTRANS and 3 #BTRANS are not lines again
    assert reader.financial_year == ("20090701", "20100630")  # a broken year
    assert reader.dimensions["1"] == "Kostnadsställe"
    first = entries[0]
    assert (first.voucher.series, first.voucher.date) == ("#", "20090731")
    assert first.text == "1820\\A012 Cykel"  # a backslash not before a quote is itself
    assert detect_encoding((shared_dir / "sie" / "SIE4_Exempelfil_med_underdim.SE").read_bytes())
    unclosed = SieReader()
    sie4 = (shared_dir / "sie" / "Sie4.se").read_bytes().decode("cp437").splitlines()
    broken = [e for e in unclosed.entries(sie4) if e.problem]
    assert len(broken) == 3 and all("unclosed quote" in e.problem for e in broken)
    assert all(e.amount is not None for e in broken)  # their krona are still accounted for


def test_a_real_type_4_file_loads_reconciled_and_balances_are_refused(shared_dir, settings):
    with closing(connect(settings.warehouse_path)) as con:
        path = shared_dir / "sie" / "transaktioner_ovnbolag.se"
        loaded = load_sie_file(con, path, settings.archive_dir, {"1": "Ansvar", "6": "Projekt"})
        # Its units are named ("Nord"), not coded, and it has no activity dimension: every line
        # is a reject with its reason, and every krona is accounted for.
        assert loaded.rows_loaded + loaded.rows_rejected == 671
        difference, amount = con.execute(
            "SELECT difference, amount_in_file FROM ops.reconciliation"
        ).fetchone()
        assert difference == 0
        positive = sum(
            Decimal(m.decode()) for m in TRANS_AMOUNT.findall(path.read_bytes())
        )  # independent: here every voucher balances
        assert amount == positive
        for name, kind in [("periodsaldo_ovnbolag.se", "2"), ("typ3.se", "3")]:
            refused = load_sie_file(con, shared_dir / "sie" / name, settings.archive_dir)
            assert refused.outcome == "rejected"
            assert f"SIE type {kind} holds balances only" in refused.message


# --- the tokenizer -------------------------------------------------------------------------------

TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\r\n"),
    max_size=20,
).filter(lambda t: not t.endswith("\\"))


@given(st.text(max_size=80))
def test_no_line_crashes_the_tokenizer(line):
    try:
        fields = tokenize(line)
    except SieSyntaxError:
        return
    assert all(isinstance(f, str | tuple) for f in fields)


@given(st.lists(TEXT, max_size=6), st.lists(st.tuples(TEXT, TEXT), max_size=3))
def test_quoted_fields_and_object_lists_round_trip(texts, objects):
    listed = " ".join(f"{quote(d)} {quote(o)}" for d, o in objects)
    line = "#TRANS " + " ".join(quote(t) for t in texts) + " {" + listed + "} 1.00"
    assert tokenize(line) == [
        "#TRANS",
        *texts,
        tuple(x for pair in objects for x in pair),
        "1.00",
    ]


@pytest.mark.parametrize(
    "line, words",
    [
        ('#TRANS 4630 {} 1.00 20190101 "öppen', "an unclosed quote"),
        ("#TRANS 4630 {1 5310 1.00", "not closed"),
        ("#TRANS 4630 {1 {5310}} 1.00", "inside another"),
        ("#TRANS 4630 } 1.00", "without its opening"),
    ],
)
def test_a_broken_line_says_where(line, words):
    with pytest.raises(SieSyntaxError, match=words):
        tokenize(line)


def test_the_encoding_is_detected_not_guessed():
    text = '#FORMAT PC8\n#FNAMN "Åsa Öström Ärende"\n'
    assert detect_encoding(text.encode("cp437")) == "cp437"
    assert detect_encoding(text.encode("cp1252")) == "cp1252"
    assert detect_encoding(text.encode("utf-8")) == "utf-8"
    assert detect_encoding(b"\xef\xbb\xbf" + text.encode("utf-8")) == "utf-8-sig"
    assert detect_encoding(b"#FORMAT PC8\n") == "cp437"


# --- SIE files as the ledger ----------------------------------------------------------------------

# A made-up number with a valid check digit (the repository holds no real one).
MADE_UP = fake_personnummer(random.Random(30))
SIE_HEAD = (
    '#FLAGGA 0\n#FORMAT PC8\n#SIETYP 4\n#RAR 0 20190101 20191231\n#DIM 1 "Ansvar"\n'
    '#DIM 20 "Verksamhet"\n#OBJEKT 1 "5310" "Barn och unga"\n'
)


def sie_file(folder: Path, name: str, body: str, encoding: str = "cp437") -> Path:
    return write_text(folder / "sie" / name, SIE_HEAD + body, encoding)


def mapping(settings: Settings) -> None:
    write_text(
        settings.landing_dir / "config" / "sie_dimensioner.csv",
        "Dimension;Kolumn\n1;Ansvar\n20;Verksamhet\n",
    )


def ledger_rows(settings: Settings) -> list[tuple]:
    with closing(connect(settings.warehouse_path)) as con:
        return con.execute(
            """SELECT period, ansvar, konto, verksamhet, belopp, verifikation,
                      bokforingsdatum::VARCHAR, text
               FROM raw.ledger_lines ORDER BY period, line_number"""
        ).fetchall()


def test_a_sie_file_loads_as_ledger_lines_with_its_rejects_and_every_krona(settings):
    mapping(settings)
    sie_file(
        settings.landing_dir,
        "huvudbok_2019.se",
        '#VER A 1 20190315 "Placering mars"\n{\n'
        f'#TRANS 4630 {{1 "5310" 20 "56910"}} 12500.00 20190315 "Klient {MADE_UP}"\n'
        '#TRANS 4630 {1 "5310" 20 "56910" 6 "P1"} -500.50\n'
        "#TRANS 4630 {1 5310 20 56910} 12,50\n"
        "}\n"
        '#VER A 2 20180315 "Förra året"\n{\n#TRANS 4630 {1 "5310" 20 "56910"} 7.00\n}\n'
        '#TRANS 4630 {1 "5310" 20 "56910"} 1.00\n'
        '#VER A 3 20190401 "Avhuggen"\n{\n#TRANS 4630 {1 "5310" 20 "56910"} 3.00\n',
    )
    (loaded,) = [f for f in load_source(settings, LEDGER) if f.file_name.endswith(".se")]
    assert (loaded.outcome, loaded.rows_loaded, loaded.rows_rejected) == (
        "loaded_with_rejects",
        2,
        4,
    )
    assert ledger_rows(settings) == [
        (
            201903,
            "5310",
            "4630",
            "56910",
            Decimal("12500.00"),
            "A1",
            "2019-03-15",
            f"Klient {MASK}",
        ),
        (201903, "5310", "4630", "56910", Decimal("-500.50"), "A1", "2019-03-15", "Placering mars"),
    ]
    with closing(connect(settings.warehouse_path)) as con:
        reasons = reject_reasons(con)
        assert "'12,50' is not a SIE amount" in reasons[0]
        assert reasons[1] == "period 201803 utanför filens år 20190101–20191231"
        assert reasons[2] == "a #TRANS outside a #VER block"
        assert reasons[3].startswith("ofullständig verifikation")
        raw = con.execute("SELECT raw FROM ops.rejects ORDER BY line_number").fetchall()
        assert raw[1] == ('#TRANS 4630 {1 "5310" 20 "56910"} 7.00',)  # as delivered
        assert con.execute(
            "SELECT amount_in_file, loaded_sum, rejected_sum, difference, balanced "
            "FROM ops.reconciliation"
        ).fetchone() == (Decimal("12010.50"), Decimal("11999.50"), Decimal("11.00"), 0, True)
        assert con.execute(
            "SELECT encoding, periods FROM ops.load_log WHERE file_name = 'huvudbok_2019.se'"
        ).fetchone() == ("cp437", "201903,201904")


def test_a_personnummer_in_an_object_name_never_reaches_the_archive(settings):
    path = sie_file(
        settings.landing_dir,
        "h.se",
        f'#OBJEKT 7 "1" "Anställd {MADE_UP}"\n#VER A 1 20190315 "x"\n{{\n'
        '#TRANS 4630 {1 "5310" 20 "56910"} 1.00\n}\n',
    )
    mapping(settings)
    load_source(settings, LEDGER)
    archived = next((settings.archive_dir / "sie").rglob(path.name)).read_bytes()
    assert MADE_UP.encode() not in archived and MASK.encode() in archived


def test_csv_and_sie_deliveries_of_the_ledger_obey_one_replacement_rule(settings):
    """The latest landed file holding a period is its truth, whichever its format."""
    mapping(settings)
    first = write_text(
        settings.landing_dir / "ledger" / "mars.csv",
        HEADER + "201903;5310;4630;56910;;;;100,00;;;\n",
    )
    second = sie_file(
        settings.landing_dir,
        "mars.se",
        '#VER A 1 20190320 "Rättad"\n{\n#TRANS 4630 {1 "5310" 20 "56910"} 250.00\n}\n',
    )
    third = write_text(
        settings.landing_dir / "ledger" / "mars_igen.csv",
        HEADER + "201903;5310;4630;56910;;;;300,00;;;\n",
    )
    for age, path in enumerate([first, second]):
        os.utime(path, (1_600_000_000 + age, 1_600_000_000 + age))
    third.unlink()
    load_source(settings, LEDGER)
    assert [r[4] for r in ledger_rows(settings)] == [Decimal("250.00")]
    write_text(third, HEADER + "201903;5310;4630;56910;;;;300,00;;;\n")
    load_source(settings, LEDGER)
    assert [r[4] for r in ledger_rows(settings)] == [Decimal("300.00")]
    # The month reloaded from the archive: the newest file holding it (the CSV) again.
    load_source(settings, LEDGER, months=[201903])
    assert [r[4] for r in ledger_rows(settings)] == [Decimal("300.00")]


def test_a_month_is_reloaded_from_an_archived_sie_file(settings):
    mapping(settings)
    sie_file(
        settings.landing_dir,
        "h.se",
        '#VER A 1 20190320 "x"\n{\n#TRANS 4630 {1 "5310" 20 "56910"} 250.00\n}\n'
        '#VER A 2 20190420 "y"\n{\n#TRANS 4630 {1 "5310" 20 "56910"} 40.00\n}\n',
    )
    load_source(settings, LEDGER)
    before = ledger_rows(settings)
    with closing(connect(settings.warehouse_path)) as con:
        con.execute("DELETE FROM raw.ledger_lines WHERE period = 201904")
    loads = load_source(settings, LEDGER, months=[201904])
    assert [f.outcome for f in loads if f.outcome != "already_loaded"] == ["reloaded"]
    assert ledger_rows(settings) == before


def test_the_months_of_a_landed_sie_file_are_read_without_the_warehouse(tmp_path):
    path = sie_file(
        tmp_path,
        "h.se",
        '#VER A 1 20190320 "x"\n{\n#TRANS 4630 {} 1.00\n}\n'
        '#VER A 2 20180420 "y"\n{\n#TRANS 4630 {} 1.00\n}\n',
    )
    assert scan_sie_periods(path) == [201903]  # April 2018 lies outside its year


@pytest.mark.parametrize(
    "body, words",
    [
        ("#FORMAT PC8\n#KONTO 4630 x\n", "no #SIETYP: not a SIE file"),
        ("#SIETYP 3\n#PSALDO 0 201901 4630 {} 1.00\n", "SIE type 3 holds balances only"),
        ("#SIETYP 4\n#KONTO 4630 x\n", "no #TRANS lines"),
    ],
)
def test_a_file_that_is_no_sie_4_ledger_is_refused_with_its_reason(settings, body, words):
    write_text(settings.landing_dir / "sie" / "fel.se", body)
    (refused,) = load_source(settings, LEDGER)
    assert refused.outcome == "rejected" and words in refused.message


def test_a_broken_dimension_mapping_is_refused_naming_its_line(settings):
    write_text(
        settings.landing_dir / "config" / "sie_dimensioner.csv",
        "Dimension;Kolumn\n1;Ansvar\n20;Kommun\n",
    )
    sie_file(settings.landing_dir, "h.se", '#VER A 1 20190320 "x"\n{\n#TRANS 4630 {} 1.00\n}\n')
    loads = load_source(settings, LEDGER)
    refused = next(f for f in loads if f.file_name == "sie_dimensioner.csv")
    assert refused.outcome == "rejected"
    assert "line 3" in refused.message and "'Kommun'" in refused.message


PLAIN = st.text(alphabet="ABCDEFGHIJ0123456789åäö-_.", min_size=1, max_size=8)


@st.composite
def trans_line(draw) -> str:
    """A #TRANS as writers write it: plain or quoted fields, an object list, a date, a text,
    sometimes a quantity after it, sometimes a field that breaks the line."""

    field = st.one_of(PLAIN, TEXT.map(quote))
    pairs = draw(st.lists(st.tuples(field, field), max_size=3))
    objects = "{" + " ".join(f"{d} {o}" for d, o in pairs) + "}"
    amount = draw(st.sampled_from(["1.00", "-12500.50", "0", "12,50", "1e3", "7"]))
    tail = draw(
        st.sampled_from(["", " 20190315", ' ""', " 20190315 " + quote("t"), ' "" ""', " x"])
    )
    tail += draw(st.sampled_from(["", " " + quote(draw(TEXT)), " 2.5", ' "open']))
    space = draw(st.sampled_from([" ", "\t", "  "]))
    indent = draw(st.sampled_from(["", "  ", "\t"]))
    return f"{indent}#TRANS{space}{draw(PLAIN)}{space}{objects}{space}{amount}{tail}"


@given(st.lists(trans_line(), min_size=1, max_size=5))
def test_the_fast_reading_of_a_trans_line_is_the_grammars(lines):
    block = ['#VER A 1 20190315 "v"', "{", *lines, "}"]
    fast = list(SieReader().entries(block))
    grammar = list(SieReader(fast=False).entries(block))
    assert fast == grammar
