"""The ledger loader on small real files: the general rules of docs/inputs.md, one by one."""

from __future__ import annotations

from decimal import Decimal

from ifo_pipeline.ingest.column_map import read_column_map
from ifo_pipeline.ingest.csv_loader import load_file
from ifo_pipeline.sample.generator import fake_personnummer
from ifo_pipeline.store.sources import LEDGER
from tests.conftest import reject_reasons, write_text

HEADER = (
    "Period;Ansvar;Konto;Verksamhet;Aktivitet;Projekt;Motpart;Belopp;Verifikation;"
    "Bokforingsdatum;Text\n"
)


def ledger_file(
    tmp_path,
    name: str,
    rows: list[str],
    total: str | None = None,
    encoding: str = "utf-8",
    header: str = HEADER,
):
    body = header + "".join(r + "\n" for r in rows)
    if total is not None:
        body += f";Summa;;;;;;{total};;;\n"
    return write_text(tmp_path / "landing" / "ledger" / name, body, encoding)


def load(con, settings, path):
    return load_file(con, LEDGER, path, settings.archive_dir, read_column_map(settings.landing_dir))


ROWS_JAN = [
    "201901;5310;4630;56910;;;86;12 500,00;A1;2019-01-15;Placering",
    "201901;5310;3410;56910;;;;-1 234,50;A2;2019-01-16;Avgift",
    "201901;5310;2440;56910;;;;−0,5;A3;2019-01-16;Periodisering",
]


def test_a_file_loads_with_swedish_numbers_and_reconciles(con, settings, tmp_path):
    path = ledger_file(tmp_path, "jan.csv", ROWS_JAN, total="11 265,00")
    result = load(con, settings, path)
    assert (result.outcome, result.rows_loaded, result.rows_rejected) == ("loaded", 3, 0)
    amounts = sorted(r[0] for r in con.execute("SELECT belopp FROM raw.ledger_lines").fetchall())
    assert amounts == [Decimal("-1234.50"), Decimal("-0.50"), Decimal("12500.00")]
    recon = con.execute("""SELECT amount_in_file, loaded_sum, rejected_sum, difference,
                           control_sum, control_difference, balanced
                           FROM ops.reconciliation""").fetchone()
    assert recon == (
        Decimal("11265.00"),
        Decimal("11265.00"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("11265.00"),
        Decimal("0.00"),
        True,
    )
    archived = list(settings.archive_dir.rglob("jan.csv"))
    assert len(archived) == 1 and archived[0].read_bytes() == path.read_bytes()


def test_landing_the_same_bytes_twice_changes_nothing(con, settings, tmp_path):
    first = ledger_file(tmp_path, "jan.csv", ROWS_JAN)
    assert load(con, settings, first).outcome == "loaded"
    before = con.execute("SELECT count(*), sum(belopp) FROM raw.ledger_lines").fetchone()
    copy = write_text(tmp_path / "landing" / "ledger" / "jan_again.csv", first.read_text())
    again = load(con, settings, copy)
    assert again.outcome == "already_loaded"
    assert con.execute("SELECT count(*), sum(belopp) FROM raw.ledger_lines").fetchone() == before
    assert con.execute("SELECT count(*) FROM ops.load_log").fetchone()[0] == 1


def test_a_corrected_export_replaces_its_month_and_only_that(con, settings, tmp_path):
    load(con, settings, ledger_file(tmp_path, "jan.csv", ROWS_JAN))
    load(
        con,
        settings,
        ledger_file(tmp_path, "feb.csv", ["201902;5310;4630;56910;;;;1 000,00;B1;2019-02-01;x"]),
    )
    corrected = ledger_file(
        tmp_path, "jan_rattad.csv", ["201901;5310;4630;56910;;;;999,99;C1;2019-01-31;rättelse"]
    )
    assert load(con, settings, corrected).outcome == "loaded"
    by_period = dict(
        con.execute("SELECT period, sum(belopp) FROM raw.ledger_lines GROUP BY period").fetchall()
    )
    assert by_period == {201901: Decimal("999.99"), 201902: Decimal("1000.00")}


def test_one_bad_amount_goes_to_rejects_and_the_rest_loads(con, settings, tmp_path):
    rows = [*ROWS_JAN, "201901;5310;4630;56910;;;;12 5OO,00;A4;2019-01-20;Bad amount"]
    # The export's control total includes the row whose amount cannot be read.
    path = ledger_file(tmp_path, "jan.csv", rows, total="23 765,00")
    result = load(con, settings, path)
    assert (result.outcome, result.rows_loaded, result.rows_rejected) == (
        "loaded_with_rejects",
        3,
        1,
    )
    reject = con.execute("SELECT file_name, line_number, raw, reason FROM ops.rejects").fetchone()
    assert reject[0] == "jan.csv"
    assert reject[1] == 5  # header is line 1
    assert "12 5OO,00" in reject[2]
    assert "Belopp '12 5OO,00' is not an amount" in reject[3]
    recon = con.execute("""SELECT amount_in_file, loaded_sum, rejected_sum, difference,
                           control_difference, unreadable_amount_rows, balanced
                           FROM ops.reconciliation""").fetchone()
    # Every readable krona is accounted for; the control total's gap is exactly the one row
    # whose amount could not be read, and the table says so.
    assert recon[:4] == (Decimal("11265.00"), Decimal("11265.00"), Decimal("0.00"), Decimal("0.00"))
    assert recon[4:] == (Decimal("12500.00"), 1, False)


def test_a_rejected_row_with_a_readable_amount_is_reconciled(con, settings, tmp_path):
    rows = [*ROWS_JAN, "201913;5310;4630;56910;;;;100,00;A5;;month 13"]
    result = load(con, settings, ledger_file(tmp_path, "jan.csv", rows, total="11 365,00"))
    assert result.rows_rejected == 1
    assert (
        "Period '201913' is not a month YYYYMM"
        in con.execute("SELECT reason FROM ops.rejects").fetchone()[0]
    )
    assert con.execute("""SELECT loaded_sum, rejected_sum, difference, control_difference,
                          balanced FROM ops.reconciliation""").fetchone() == (
        Decimal("11265.00"),
        Decimal("100.00"),
        Decimal("0.00"),
        Decimal("0.00"),
        True,
    )


def test_every_broken_rule_is_named(con, settings, tmp_path):
    rows = [
        "201901;53;4630;56910;;;;1,00;;;",  # unit too short
        "201901;5310;46;56910;;;;1,00;;;",  # account too short
        "201901;5310;4630;x;;;;1,00;;;",  # activity not a code
        "201901;5310;4630;56910;;;86a;1,00;;;",  # counterparty
        "201901;5310;4630;56910;;;;1,005;;;",  # three decimals
        "201901;5310;4630;56910;;;;1,00;;2019-13-01;",  # date
        "201901;5310;4630;56910;;;;1,00;;",  # one field short
        '201901;5310;4630;56910;;;;1,00;;;"unclosed',  # quote
    ]
    load(con, settings, ledger_file(tmp_path, "bad.csv", rows))
    reasons = reject_reasons(con)
    expected = [
        "Ansvar '53'",
        "Konto '46'",
        "Verksamhet 'x'",
        "Motpart '86a'",
        "Belopp '1,005'",
        "Bokforingsdatum '2019-13-01'",
        "expected 11 fields, found 10",
        "a quoted field is not closed",
    ]
    assert len(reasons) == len(expected)
    for reason, fragment in zip(reasons, expected, strict=True):
        assert fragment in reason


def test_quoted_fields_may_hold_semicolons(con, settings, tmp_path):
    row = '201901;5310;4630;56910;;;;10,00;;;"Resor; tåg ""SJ"""'
    load(con, settings, ledger_file(tmp_path, "q.csv", [row]))
    assert con.execute("SELECT text FROM raw.ledger_lines").fetchone()[0] == 'Resor; tåg "SJ"'


def test_windows_1252_export_is_detected_and_decoded(con, settings, tmp_path):
    row = "201901;5310;4630;56910;;;;1\xa0234,00;;;Försörjningsstöd – utbetalning"
    path = ledger_file(tmp_path, "cp.csv", [row], encoding="cp1252")
    assert load(con, settings, path).outcome == "loaded"
    assert con.execute("SELECT encoding FROM ops.load_log").fetchone()[0] == "cp1252"
    assert con.execute("SELECT text, belopp FROM raw.ledger_lines").fetchone() == (
        "Försörjningsstöd – utbetalning",
        Decimal("1234.00"),
    )


def test_a_file_mixing_encodings_is_rejected_naming_the_line(con, settings, tmp_path):
    path = tmp_path / "landing" / "ledger" / "mixed.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(
        HEADER.encode()
        + "201901;5310;4630;56910;;;;1,00;;;Försörjning\n".encode()
        + "201901;5310;4630;56910;;;;1,00;;;Försörjning\n".encode("cp1252")
    )
    result = load(con, settings, path)
    assert result.outcome == "rejected"
    assert "ledger/mixed.csv, line 3" in result.message and "mixes encodings" in result.message
    assert con.execute("SELECT count(*) FROM raw.ledger_lines").fetchone()[0] == 0
    assert con.execute("SELECT outcome FROM ops.load_log").fetchone()[0] == "rejected"
    assert list(settings.archive_dir.rglob("mixed.csv")), "a rejected file is archived too"


def test_a_wrong_header_rejects_the_file(con, settings, tmp_path):
    path = ledger_file(tmp_path, "hdr.csv", ROWS_JAN, header="Period;Ansvar;Konto;Summa\n")
    result = load(con, settings, path)
    assert result.outcome == "rejected"
    assert "line 1" in result.message and "Verksamhet, Belopp" in result.message


def test_an_empty_file_is_rejected(con, settings, tmp_path):
    path = write_text(tmp_path / "landing" / "ledger" / "empty.csv", "")
    assert "empty" in load(con, settings, path).message
    only_header = ledger_file(tmp_path, "header_only.csv", [])
    assert "no data rows" in load(con, settings, only_header).message


def test_a_municipality_header_is_mapped(con, settings, tmp_path):
    write_text(
        tmp_path / "landing" / "config" / "kolumnmappning.csv",
        "Exportkolumn;Kolumn\nAnsvarsområde;Ansvar\nBelopp SEK;Belopp\n",
    )
    header = "PERIOD;Ansvarsområde;Konto;Verksamhet;Belopp SEK;Bokföringsdatum;Extra\n"
    path = ledger_file(
        tmp_path, "mapped.csv", ["201901;5310;4630;56910;5,00;2019-01-02;z"], header=header
    )
    assert load(con, settings, path).outcome == "loaded"
    assert con.execute(
        "SELECT ansvar, belopp, bokforingsdatum::VARCHAR FROM raw.ledger_lines"
    ).fetchone() == ("5310", Decimal("5.00"), "2019-01-02")


def test_personal_identity_numbers_never_reach_the_warehouse(con, settings, tmp_path):
    import random

    pnr = fake_personnummer(random.Random(7))
    long_form = "19" + pnr.replace("-", "")
    rows = [
        f"201901;5310;4630;56910;;;;10,00;;;Placering avser {pnr}",
        f"201901;5310;4630;56910;;;;1O,00;;;Avser {long_form}",
    ]  # rejected: raw kept
    load(con, settings, ledger_file(tmp_path, "pnr.csv", rows))
    assert (
        con.execute("SELECT text FROM raw.ledger_lines").fetchone()[0]
        == "Placering avser [personnummer]"
    )
    assert "[personnummer]" in con.execute("SELECT raw FROM ops.rejects").fetchone()[0]
    con.execute("CHECKPOINT")
    con.close()
    stored = settings.warehouse_path.read_bytes()
    for needle in (pnr, long_form, pnr.replace("-", "")):
        assert needle.encode() not in stored


def test_a_night_validates_the_rows_its_files_loaded_and_only_those(con):
    """pandera checks what a night changed; the rows of earlier nights were checked when they
    were loaded (and a row that breaks a rule in a new file is still found)."""
    from ifo_pipeline.validation.schemas import SCHEMAS, validate_table

    good, bad = "a" * 64, "b" * 64
    con.execute(
        """INSERT INTO raw.ledger_lines (file_sha256, line_number, period, ansvar, konto,
                                         verksamhet, belopp, text)
           VALUES (?, 2, 201903, '5300', '4610', '410', 100.00, 'Placering'),
                  (?, 2, 201903, '5300', '46X0', '410', 50.00, 'Konto felskrivet')""",
        [good, bad],
    )
    schema = SCHEMAS["raw.ledger_lines"]
    tonight = validate_table(con, "raw.ledger_lines", schema, files=[good])
    assert (tonight.rows_checked, tonight.failures) == (1, 0)
    with_bad = validate_table(con, "raw.ledger_lines", schema, files=[good, bad])
    assert with_bad.rows_checked == 2 and with_bad.failures == 1
    assert with_bad.sample[0]["column"] == "konto"
    assert validate_table(con, "raw.ledger_lines", schema).rows_checked == 2


def test_validation_reads_every_batch_and_finds_a_failure_in_the_last(con):
    """The batches are fetched one ahead of the checks: all of them are still checked."""
    from ifo_pipeline.validation.schemas import validate_table

    sha = "c" * 64
    con.execute(
        """INSERT INTO raw.ledger_lines (file_sha256, line_number, period, ansvar, konto,
                                         verksamhet, belopp, text)
           SELECT ?, i, 201903, '5300', CASE WHEN i = 301 THEN '46X0' ELSE '4610' END,
                  '410', 1.00, 'Placering'
           FROM range(2, 302) t(i)""",
        [sha],
    )
    result = validate_table(con, "raw.ledger_lines", batch_rows=100, files=[sha])
    assert (result.rows_checked, result.failures) == (300, 1)
    assert result.sample[0]["value"] == "46X0"
