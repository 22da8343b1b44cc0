"""The improvement plan, the goal indicators and the genomlysning on the demo (issue #14),
checked against figures worked out by hand from the sample's own inputs
(ifo_pipeline/sample/volumes.PLAN_SERIES, sample/organisation.ATGARDER and MALINDIKATORER, the
Kolada snapshot). The arithmetic of each rule is pinned by the marts' dbt unit tests."""

from __future__ import annotations

import shutil
from contextlib import closing

import duckdb
import pytest

from ifo_pipeline.publish import connect_published
from ifo_pipeline.validation.plan import unresolved_drivers, unresolved_indicator_sources


@pytest.fixture(scope="module")
def published(demo):
    settings, _ = demo
    with closing(connect_published(settings.published_path)) as con:
        yield con


def test_which_measures_deliver_in_december_2019_and_for_how_many_kronor(published):
    rows = {
        r[0]: r[1:]
        for r in published.execute("""
            SELECT atgard_id, status, matt_id, baslinje, utfall, effekt_kr_per_ar,
                   maleffekt_kr_per_ar, andel_av_mal
            FROM marts.atgardsuppfoljning WHERE ar = 2019 AND manad = 12""").fetchall()
    }
    # HVB for teenagers: January–September 10, 11, 11, 12, 11, 11, 10, 11, 11 = 98/9; October–
    # December 9, 8, 8 = 25/3; 23/9 fewer placements × 1 600 000 = 4 088 889 a year, of the
    # target's 3 × 1 600 000 = 4 800 000 (85 %).
    status, driver, baseline, outcome, effect, target, share = rows["BU-1"]
    assert (status, driver) == ("pågående", "BOU04")
    assert baseline == pytest.approx(98 / 9) and outcome == pytest.approx(25 / 3)
    assert (effect, target) == (4_088_889, 4_800_000)
    assert share == pytest.approx(4_088_889 / 4_800_000, abs=1e-6)
    # HVB for parents with children rose, 20/9 to 8/3: a cost of 4/9 × 700 000 a year.
    assert rows["BU-2"][4:6] == (-311_111, 700_000)
    # Agency foster homes: 37/9 to 2, −19/9 × 365 000 = 770 556; done in December.
    assert rows["BU-3"][0] == "genomförd" and rows["BU-3"][4] == 770_556
    # Adults' treatment homes: 101/9 to 28/3, −17/9 × 700 000 = 1 322 222 of 3 500 000.
    assert rows["BS-1"][0] == "pågående" and rows["BS-1"][4:6] == (1_322_222, 3_500_000)
    # A measure without a driver is followed by its status only.
    assert rows["BS-2"] == ("planerad", None, None, None, None, None, None)
    delivering = published.execute("""
        SELECT string_agg(atgard_id, ',' ORDER BY atgard_id), sum(effekt_kr_per_ar)
        FROM marts.atgardsuppfoljning WHERE ar = 2019 AND manad = 12 AND effekt_kr_per_ar > 0
        """).fetchone()
    assert delivering == ("BS-1,BU-1,BU-3", 4_088_889 + 770_556 + 1_322_222)


def test_a_status_holds_until_another_is_reported(published):
    statuses = published.execute("""
        SELECT manad, status FROM marts.atgardsuppfoljning
        WHERE atgard_id = 'BU-3' AND ar = 2019 ORDER BY manad""").fetchall()
    assert statuses == [(10, "pågående"), (11, "pågående"), (12, "genomförd")]


def test_the_goal_indicator_reproduces_seed_001(published):
    """Seed 001 (2018): households on försörjningsstöd for more than three months, 257 against
    233: Utfall 10 %, Mål −7 %, Trend Ökat."""
    row = published.execute("""
        SELECT round(utfall, 1), mal, bedomning, trend, manader FROM marts.malupfyllelse
        WHERE indikator_id = 'FS-1' AND ar = 2018 AND manad = 12""").fetchone()
    assert row == (10.3, -7.0, "ej uppfyllt", "ökat", 12)
    assert round(row[0]) == 10
    kolada = published.execute("""
        SELECT ar, utfall, bedomning, trend FROM marts.malupfyllelse
        WHERE indikator_id = 'IFO-1' AND manad = 12 ORDER BY ar""").fetchall()
    # Seed 000: 20,1 % in 2018, 14,4 % in 2019 against a target of 0.
    assert kolada[1:] == [
        (2018, 20.1, "ej uppfyllt", "ökat"),
        (2019, 14.4, "delvis uppfyllt", "minskat"),
    ]
    higher = published.execute("""
        SELECT round(utfall, 1), bedomning, manader FROM marts.malupfyllelse
        WHERE indikator_id = 'MI-1' AND ar = 2019 AND manad = 12""").fetchone()
    assert higher == (9.3, "delvis uppfyllt", 3)  # (8 + 9 + 11) / 3 against 10, higher better


def test_the_genomlysning_shows_which_areas_cost_more_than_the_group(published):
    rows = {
        r[0]: r[1:]
        for r in published.execute("""
            SELECT omrade, kr_inv, kr_inv_grupp, skillnad_kr_inv, skillnad_mnkr
            FROM marts.kostnad_per_omrade WHERE ar = 2019""").fetchall()
    }
    # The snapshot's 2019 values: Tyresö against Liknande kommuner IFO (G36682), × 47 104
    # inhabitants. Seed 000's finding: barn och unga and missbruk above, ekonomiskt bistånd below.
    assert rows["barn och unga"] == (3072, 2422, 650, 30.6)
    assert rows["missbruk vuxna"] == (1167, 826, 341, 16.1)
    assert rows["ekonomiskt bistånd"] == (921, 1266, -345, -16.3)
    # Övrig IFO: 6 143 − 3 072 − 1 167 − 921 = 983 against 5 504,4 − 2 422 − 826 − 1 266 = 990,4.
    assert rows["övrig IFO"] == (983, 990.4, -7.4, -0.3)


def test_an_unknown_or_ambiguous_driver_and_an_unfetched_kpi_are_named(demo, tmp_path):
    settings, _ = demo
    copy = tmp_path / settings.warehouse_path.name  # same name: dbt's views name the catalog
    shutil.copyfile(settings.warehouse_path, copy)
    with closing(duckdb.connect(str(copy))) as con:
        assert unresolved_drivers(con) == [] and unresolved_indicator_sources(con) == []
        con.execute("""INSERT INTO raw.measures (file_sha256, line_number, atgard_id, atgard,
                           matt, start) VALUES
                       ('x', 2, 'N-1', 'Okänd', 'Antal hemliga placeringar', 201910),
                       ('x', 3, 'N-2', 'Tvetydig', 'Antal pågående ärenden', 201910)""")
        con.execute("""INSERT INTO raw.goal_indicators (file_sha256, line_number, indikator_id,
                           indikator, kalla_typ, kalla_namn, berakning, mal, riktning) VALUES
                       ('x', 2, 'K-1', 'Okänt KPI', 'kolada', 'N99999', 'varde', 0, 'lagre')""")
        drivers = unresolved_drivers(con)
        sources = unresolved_indicator_sources(con)
    assert drivers == [
        "config/atgarder.csv N-1: 'Antal hemliga placeringar' is not a measure of the "
        "catalogue (dbt_project/seeds/matt_katalog.csv: its id, name or an alias)",
        "config/atgarder.csv N-2: 'Antal pågående ärenden' names 3 measures of the catalogue: "
        "use its id or an alias",
    ]
    assert sources == [
        "config/malindikatorer.csv K-1: KPI 'N99999' is not fetched from Kolada "
        "(add it to kolada.toml's kpis)"
    ]
