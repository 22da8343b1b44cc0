"""The improvement plan's measures, their monthly status and the goal indicators (docs/inputs.md
§8–9) through the same loader as every source: rows that break a rule go to ops.rejects with
the file, line and reason."""

from __future__ import annotations

from ifo_pipeline.ingest.csv_loader import load_file
from ifo_pipeline.store.sources import GOAL_INDICATORS, MEASURE_STATUS, MEASURES
from ifo_pipeline.validation.schemas import SCHEMAS, validate_table
from tests.conftest import reject_reasons, write_text

MEASURES_CSV = (
    "Id;Omrade;Atgard;Rapportrad;Matt;Malforandring;Enhetskostnad;Baslinje;Start\n"
    "BU-1;Barn- och ungdomsvård;Minska HVB tonåringar;Barn och unga;"
    "Antal placeringar HVB tonåringar;-3;1 600 000;201901-201909;201910\n"
    "BU-3;Barn- och ungdomsvård;Rekrytera jourfamiljer;Barn och unga;;;;;201910\n"
    "X-1;;Utan driver men med mål;;;-1;;;201910\n"
    "X-2;;Baklänges;;Antal placeringar HVB tonåringar;-1;100;201909-201901;201910\n"
    "X-3;;Driver utan kostnad;;Antal placeringar HVB tonåringar;-1;;201901-201909;201910\n"
    "X-4;;Ingen start;;;;;;\n"
)


def test_measures_load_and_a_driver_needs_its_figures(con, settings, tmp_path):
    path = write_text(tmp_path / "config" / "atgarder.csv", MEASURES_CSV)
    result = load_file(con, MEASURES, path, settings.archive_dir)
    assert (result.rows_loaded, result.rows_rejected) == (3, 3)
    assert con.execute(
        "SELECT atgard_id, matt, malforandring, enhetskostnad, baslinje_fran, baslinje_till, "
        "start FROM raw.measures ORDER BY line_number"
    ).fetchall()[0] == (
        "BU-1",
        "Antal placeringar HVB tonåringar",
        -3.0,
        1600000,
        201901,
        201909,
        201910,
    )
    reasons = reject_reasons(con)
    assert "Baslinje 201909-201901 runs backwards" in reasons[0]
    assert "a measure with Matt needs Malforandring, Enhetskostnad and Baslinje" in reasons[1]
    assert "Start '' is not a month YYYYMM" in reasons[2]
    assert validate_table(con, "raw.measures", SCHEMAS["raw.measures"]).passed


def test_a_status_for_an_unknown_measure_is_a_row_reject(con, settings, tmp_path):
    load_file(
        con,
        MEASURES,
        write_text(tmp_path / "config" / "atgarder.csv", MEASURES_CSV),
        settings.archive_dir,
    )
    path = write_text(
        tmp_path / "config" / "atgardsstatus.csv",
        "Manad;Id;Status;Kommentar\n"
        "201910;BU-1;Pågående;Insatsgruppen har startat\n"
        "201911;BU-9;pågående;\n"
        "201911;BU-1;klar;\n",
    )
    result = load_file(con, MEASURE_STATUS, path, settings.archive_dir)
    assert (result.rows_loaded, result.rows_rejected) == (1, 2)
    assert con.execute("SELECT manad, atgard_id, status FROM raw.measure_status").fetchall() == [
        (201910, "BU-1", "pågående")
    ]
    reasons = {
        line: reason
        for line, reason in con.execute(
            "SELECT line_number, reason FROM ops.rejects WHERE source = 'measure_status'"
        ).fetchall()
    }
    assert reasons[3] == "Id 'BU-9' is not a measure of config/atgarder.csv"
    assert "Status 'klar' is not one of planerad, pågående, genomförd, avbruten" in reasons[4]


def test_goal_indicators_name_their_source(con, settings, tmp_path):
    path = write_text(
        tmp_path / "config" / "malindikatorer.csv",
        "Id;Indikator;Kalla;Berakning;Mal;Riktning\n"
        "FS-1;Hushåll > 3 mån minskar 7 %;verksamhetsmatt:Antal hushåll med försörjningsstöd "
        "> 3 mån;forandring_pct;-7;lagre\n"
        "NKA;Nettokostnadsavvikelse IFO;Kolada:N30001;varde;0;lagre\n"
        "BAD;Utan källa;scb:123;varde;1;hogre\n"
        "BAD2;Fel riktning;kolada:N30001;summa;1;upp\n",
    )
    result = load_file(con, GOAL_INDICATORS, path, settings.archive_dir)
    assert (result.rows_loaded, result.rows_rejected) == (2, 2)
    assert con.execute(
        "SELECT indikator_id, kalla_typ, kalla_namn, berakning, mal, riktning "
        "FROM raw.goal_indicators ORDER BY line_number"
    ).fetchall() == [
        (
            "FS-1",
            "verksamhetsmatt",
            "Antal hushåll med försörjningsstöd > 3 mån",
            "forandring_pct",
            -7.0,
            "lagre",
        ),
        ("NKA", "kolada", "N30001", "varde", 0.0, "lagre"),
    ]
    reasons = reject_reasons(con)
    assert "Kalla 'scb:123' is not verksamhetsmatt:<measure> or kolada:<KPI id>" in reasons[0]
    assert "Berakning 'summa' is not one of varde, forandring_pct" in reasons[1]
    assert "Riktning 'upp' is not one of lagre, hogre" in reasons[1]
