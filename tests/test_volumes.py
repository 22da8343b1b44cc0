"""Verksamhetsmått: the cell grammar, the catalogue, re-deliveries, and the demo's mart
against every cell of the reference table."""

from __future__ import annotations

from contextlib import closing

import pytest

from ifo_pipeline.ingest.volumes import (
    VOLUMES,
    Catalogue,
    Cell,
    CellError,
    load_volume_file,
    parse_cell,
    reload_volume_months,
    unknown_measures,
)
from ifo_pipeline.publish import connect_published
from ifo_pipeline.sample.volumes import sample_rows, write_csv, write_xlsx
from tests.conftest import read_semicolon_csv, write_text


@pytest.mark.parametrize(
    "text, cell",
    [
        ("20", Cell(varde=20)),
        ("8,5", Cell(varde=8.5)),
        ("1 234", Cell(varde=1234)),
        ("92%", Cell(andel=0.92)),
        ("100% (17 st)", Cell(varde=17, andel=1.0)),
        ("8,5/7", Cell(varde=8.5, kapacitet=7)),
        (" 6,9 / 7 ", Cell(varde=6.9, kapacitet=7)),
    ],
)
def test_the_cell_grammar(text, cell):
    assert parse_cell(text) == cell


@pytest.mark.parametrize("text", ["", "   "])
def test_an_empty_cell_is_not_reported_not_zero(text):
    assert parse_cell(text) is None


@pytest.mark.parametrize("text", ["ca 20", "20 st", "8,5/", "92 %%", "1.5", "x", "17 (100%)"])
def test_anything_else_is_refused_not_guessed(text):
    with pytest.raises(CellError):
        parse_cell(text)


def test_the_demo_holds_every_reference_cell_typed(demo, shared_dir):
    settings, _ = demo
    reference = read_semicolon_csv(shared_dir / "reference" / "verksamhetsmatt_2019_jan_mar.csv")
    with closing(connect_published(settings.published_path)) as con:
        cursor = con.execute("""SELECT avsnitt, matt, manad, ratt_text, varde, andel, kapacitet
                                FROM marts.verksamhetsmatt WHERE ar = 2019 AND manad <= 3""")
        built = {(a, m, mon): (t, v, s, k) for a, m, mon, t, v, s, k in cursor.fetchall()}
    checked = 0
    for row in reference:
        for month, column in enumerate(("jan", "feb", "mar"), start=1):
            text, value, share, capacity = built[(row["avsnitt"], row["matt"], month)]
            printed = row[column]
            checked += 1
            if printed == "":
                assert (text, value, share, capacity) == (None, None, None, None)
            elif "/" in printed:
                occupied, cap = printed.split("/")
                assert (value, capacity) == (float(occupied.replace(",", ".")), float(cap))
            elif "%" in printed:
                assert share == int(printed.split("%")[0]) / 100
                assert value == (int(printed.split("(")[1].split()[0]) if "(" in printed else None)
            else:
                assert value == float(printed.replace(",", "."))
            assert (text or "") == printed
    assert checked == len(reference) * 3 == 204
    assert built[("Intern öppenvård", "Antal belagda platser på Källan (12/8)", 2)][1:] == (
        8.5,
        None,
        7.0,
    )
    assert built[("Familjevård", "Andel egna familjehem: Barn 0-12 år", 1)][1:3] == (17.0, 1.0)


def test_the_xlsx_quirks_resolve_to_catalogue_measures(demo):
    """2018 comes as XLSX with 'Hästsken', 'Relationsvård', 'Sept' and a split name."""
    settings, _ = demo
    with closing(connect_published(settings.published_path)) as con:
        months = con.execute("""SELECT count(DISTINCT manad), count(*) FROM marts.verksamhetsmatt
                                WHERE ar = 2018""").fetchone()
        sections = {
            r[0]
            for r in con.execute(
                "SELECT DISTINCT avsnitt FROM marts.verksamhetsmatt WHERE ar = 2018"
            ).fetchall()
        }
    assert months == (12, (68 + 4) * 12)  # the printed measures and the plan's four drivers
    assert {"Hästskon", "Relationsvåld"} <= sections


def test_flows_sum_and_stocks_average_per_quarter(demo):
    settings, _ = demo
    with closing(connect_published(settings.published_path)) as con:
        flow = con.execute("""SELECT summa, medel FROM marts.verksamhetsmatt_period
            WHERE ar = 2019 AND periodtyp = 'kvartal' AND period = 1 AND matt_id = 'BOU01'
        """).fetchone()
        stock = con.execute("""SELECT summa, medel, periodslut FROM marts.verksamhetsmatt_period
            WHERE ar = 2019 AND periodtyp = 'ar' AND matt_id = 'MIS02'""").fetchone()
    assert flow == (182 + 216 + 202, None)  # Barn & unga, nya aktualiseringar
    assert stock[0] is None and stock[1] == pytest.approx((166 + 160 + 161) / 3)
    assert stock[2] == 161


def test_cost_per_placement_is_line_cost_over_placements(demo):
    settings, _ = demo
    with closing(connect_published(settings.published_path)) as con:
        placements, cost, per = con.execute("""SELECT placeringar, nettokostnad_manad,
            nettokostnad_per_placering FROM marts.kostnad_per_placering
            WHERE ar = 2019 AND manad = 3 AND rapportrad = 'Vuxen'""").fetchone()
    assert placements == 13 + 10 + 10 + 1  # behandlingshem, stödboende, skyddat, familjehem
    assert float(per) == pytest.approx(float(cost) / placements, abs=0.01)


def _deliver(con, settings, tmp_path, name, rows, writer=write_csv):
    path = tmp_path / "landing" / "verksamhetsmatt" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    writer(path, rows)
    return load_volume_file(con, path, settings.archive_dir, Catalogue.load())


def test_a_redelivery_corrects_a_month_and_records_the_change(con, settings, tmp_path):
    rows = sample_rows(2019)
    first = _deliver(con, settings, tmp_path, "verksamhetsmatt_2019.csv", rows)
    assert first.outcome == "loaded"
    corrected = [(a, m, list(c)) for a, m, c in rows]
    corrected[0][2][1] = "27"  # Missbruk, nya aktualiseringar, February: 26 -> 27
    corrected[0][2][3] = "21"  # and April is delivered for the first time
    second = _deliver(
        con, settings, tmp_path, "verksamhetsmatt_2019_apr.xlsx", corrected, write_xlsx
    )
    assert second.outcome == "loaded"
    assert con.execute("""SELECT manad, ratt_text, varde FROM raw.volume_cells
        WHERE matt_id = 'MIS01' AND manad IN (2, 4) ORDER BY manad""").fetchall() == [
        (2, "27", 27.0),
        (4, "21", 21.0),
    ]
    assert con.execute(
        "SELECT manad, matt_id, old_text, new_text FROM ops.volume_changes"
    ).fetchall() == [(2, "MIS01", "26", "27")]


def test_a_garbage_cell_is_rejected_and_every_other_cell_loads(con, settings, tmp_path):
    rows = [(a, m, list(c)) for a, m, c in sample_rows(2019)]
    rows[5][2][2] = "ca 10"
    result = _deliver(con, settings, tmp_path, "verksamhetsmatt_2019.xlsx", rows, write_xlsx)
    assert (result.outcome, result.rows_loaded, result.rows_rejected) == (
        "loaded_with_rejects",
        (68 + 4) * 12 - 1,
        1,
    )
    line, raw, reason = con.execute("SELECT line_number, raw, reason FROM ops.rejects").fetchone()
    assert raw == "Missbruk!Mar: ca 10"
    assert line == 7  # header row 1, sixth measure
    assert "Antal placeringar stödboende externt (ej Källan) (Missbruk), Mar" in reason


def test_an_unknown_measure_is_reported_by_name(con, settings, tmp_path):
    rows = [*sample_rows(2019), ("Missbruk", "Antal nya mått", ["1"] + [""] * 11)]
    _deliver(con, settings, tmp_path, "verksamhetsmatt_2019.csv", rows)
    assert unknown_measures(con) == ["Missbruk: Antal nya mått"]


def test_a_volume_file_without_a_year_is_refused(con, settings, tmp_path):
    path = write_text(tmp_path / "landing" / VOLUMES.folder / "matt.csv", "Avsnitt;Matt;Jan\n")
    result = load_volume_file(con, path, settings.archive_dir, Catalogue.load())
    assert result.outcome == "rejected" and "year" in result.message


def test_a_month_is_reloaded_from_the_newest_file_of_its_year(con, settings, tmp_path):
    rows = [(a, m, list(c)) for a, m, c in sample_rows(2019)]
    rows[5][2][2] = "ca 10"  # a rejected March cell
    _deliver(con, settings, tmp_path, "verksamhetsmatt_2019.csv", sample_rows(2019))
    _deliver(con, settings, tmp_path, "verksamhetsmatt_2019_v2.xlsx", rows, write_xlsx)
    before = con.execute(
        "SELECT manad, count(*), sum(varde) FROM raw.volume_cells GROUP BY 1 ORDER BY 1"
    ).fetchall()
    con.execute("DELETE FROM raw.volume_cells WHERE manad = 3")

    loads = reload_volume_months(con, [201903, 202001], Catalogue.load())
    assert [(f.file_name, f.outcome, f.periods) for f in loads] == [
        ("verksamhetsmatt_2019_v2.xlsx", "reloaded", [201903]),
        ("", "no_file", [202001]),
    ]
    assert (
        con.execute(
            "SELECT manad, count(*), sum(varde) FROM raw.volume_cells GROUP BY 1 ORDER BY 1"
        ).fetchall()
        == before
    )
    assert con.execute("SELECT period, raw FROM ops.rejects").fetchall() == [
        (201903, "Missbruk!Mar: ca 10")
    ]  # replaced, not duplicated
