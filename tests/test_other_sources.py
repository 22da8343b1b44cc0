"""Budget, forecasts and the report structure through the same loader."""

from __future__ import annotations

from decimal import Decimal

from ifo_pipeline.ingest.csv_loader import load_file
from ifo_pipeline.store.sources import BUDGET, COST_KINDS, FORECASTS, REPORT_STRUCTURE
from tests.conftest import reject_reasons, write_text


def test_a_budget_revision_replaces_the_year(con, settings, tmp_path):
    first = write_text(
        tmp_path / "budget" / "kommunbidrag_2019.csv",
        "Period;Ansvar;Kommunbidrag\n201901;5310;100,00\n201902;5310;100,00\n",
    )
    load_file(con, BUDGET, first, settings.archive_dir)
    revised = write_text(
        tmp_path / "budget" / "kommunbidrag_2019_rev.csv",
        "Period;Ansvar;Kommunbidrag\n201901;5310;150,00\n",
    )
    load_file(con, BUDGET, revised, settings.archive_dir)
    assert con.execute("SELECT period, kommunbidrag FROM raw.budget_lines").fetchall() == [
        (201901, Decimal("150.00"))
    ]


def test_a_budget_row_outside_the_files_year_is_rejected(con, settings, tmp_path):
    path = write_text(
        tmp_path / "budget" / "kommunbidrag_2019.csv",
        "Period;Ansvar;Kommunbidrag\n201901;5310;1,00\n201801;5310;2,00\n",
    )
    result = load_file(con, BUDGET, path, settings.archive_dir)
    assert (result.rows_loaded, result.rows_rejected) == (1, 1)
    assert (
        "period 201801 utanför filens år 2019"
        in con.execute("SELECT reason FROM ops.rejects").fetchone()[0]
    )


def test_forecasts_are_history_each_month_kept(con, settings, tmp_path):
    for month, amount in (("201902", "-1 000"), ("201903", "-7 923")):
        path = write_text(
            tmp_path / "prognos" / f"prognos_{month}.csv",
            f"Prognosmanad;Ansvar;Prognos\n{month};5310;{amount}\n",
        )
        load_file(con, FORECASTS, path, settings.archive_dir)
    assert con.execute(
        "SELECT prognosmanad, prognos FROM raw.forecast_lines ORDER BY 1"
    ).fetchall() == [(201902, Decimal("-1000")), (201903, Decimal("-7923"))]


def test_report_structure_ranges_and_flags(con, settings, tmp_path):
    path = write_text(
        tmp_path / "config" / "rapportstruktur.csv",
        "GiltigFran;GiltigTill;Ansvar;Rapport;Rapportrad;Sarskild;Ordning\n"
        "2019;;5300-5399;IFO;Barn och unga;0;3\n"
        "2019;2019;5900;IFO;Boendekedjan;1;10\n"
        "2019;;5999-5900;IFO;Baklänges;0;11\n",
    )
    result = load_file(con, REPORT_STRUCTURE, path, settings.archive_dir)
    assert (result.rows_loaded, result.rows_rejected) == (2, 1)
    assert con.execute("""SELECT ansvar_fran, ansvar_till, sarskild, giltig_till
                          FROM raw.report_structure ORDER BY ordning""").fetchall() == [
        (5300, 5399, False, None),
        (5900, 5900, True, 2019),
    ]
    assert "runs backwards" in con.execute("SELECT reason FROM ops.rejects").fetchone()[0]


def test_cost_kind_rules_accept_codes_prefixes_and_ranges(con, settings, tmp_path):
    path = write_text(
        tmp_path / "config" / "kostnadsslag.csv",
        "Konto;Verksamhet;Kostnadsslag\n"
        "4630;56910;HVB barn och unga\n"
        "46;;Köp av verksamhet\n"
        ";559;Vuxen\n"
        "4649-4630;;Baklänges\n"
        "463-4649;;Olika längd\n"
        ";;Ingen kod\n"
        "46x;;Skräp\n"
        "4640;;\n",
    )
    result = load_file(con, COST_KINDS, path, settings.archive_dir)
    assert (result.rows_loaded, result.rows_rejected) == (3, 5)
    assert con.execute(
        "SELECT konto_fran, konto_till, verksamhet_fran, kostnadsslag FROM raw.cost_kinds "
        "ORDER BY line_number"
    ).fetchall() == [
        ("4630", "4630", "56910", "HVB barn och unga"),
        ("46", "46", None, "Köp av verksamhet"),
        (None, None, "559", "Vuxen"),
    ]
    reasons = reject_reasons(con)
    assert "Konto range 4649-4630 must run upwards between codes of one length" in reasons[0]
    assert "Konto range 463-4649 must run upwards" in reasons[1]
    assert "a rule needs a Konto, a Verksamhet or both" in reasons[2]
    assert "Konto '46x' is not a code or a range like 4630-4649" in reasons[3]
    assert "Kostnadsslag is empty" in reasons[4]
