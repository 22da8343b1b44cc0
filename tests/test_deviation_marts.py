"""Budget deviation, forecast accuracy and cost drivers on the demo (issue: deviation marts).

The arithmetic of each reference forecast is pinned by dbt unit tests on hand-computed
examples (dbt_project/models/marts/budgetavvikelse.yml), which run inside every `dbt build`.
"""

from __future__ import annotations

from contextlib import closing

from ifo_pipeline.publish import connect_published


def test_march_2019_flags_barn_och_unga_with_its_forecast_drop(demo):
    settings, _ = demo
    with closing(connect_published(settings.published_path)) as con:
        row = con.execute("""SELECT flagga, flaggorsak, arsprognos, forandring_mot_fg_prognos,
                                    prognos_linjar, prognos_budgetkvot, prognos_fg_ar_profil,
                                    avvikelse_mot_linjar
                             FROM marts.budgetavvikelse WHERE ar = 2019 AND manad = 3
                             AND rapport = 'IFO' AND rapportrad = 'Barn och unga'""").fetchone()
    flag, reason, forecast, change, linear, ratio, profile, gap = row
    assert flag is True
    assert "prognosen försämrad med 6\u202f923 tkr sedan februari" in reason
    assert round(change / 1000) == -6923
    assert None not in (linear, ratio, profile)
    assert gap == forecast - linear


def test_the_linear_reference_is_the_run_rate(demo):
    settings, _ = demo
    with closing(connect_published(settings.published_path)) as con:
        off = con.execute("""SELECT count(*) FROM marts.budgetavvikelse
            WHERE abs(prognos_linjar - nettoresultat_ack * 12 / manad) > 0.01""").fetchone()[0]
        flagged_without_reason = con.execute(
            "SELECT count(*) FROM marts.budgetavvikelse WHERE flagga AND flaggorsak IS NULL"
        ).fetchone()[0]
    assert (off, flagged_without_reason) == (0, 0)


def test_forecast_accuracy_exists_for_the_closed_year_2018(demo):
    settings, _ = demo
    with closing(connect_published(settings.published_path)) as con:
        months = con.execute("""SELECT count(DISTINCT manad) FROM marts.prognossakerhet
                                WHERE ar = 2018""").fetchone()[0]
        december = con.execute("""SELECT max(abs(prognosfel)) FROM marts.prognossakerhet
                                  WHERE ar = 2018 AND manad = 12""").fetchone()[0]
        open_year = con.execute(
            "SELECT count(*) FROM marts.prognossakerhet WHERE ar = 2019"
        ).fetchone()[0]
    assert months == 12
    assert december == 0  # the sample's December forecasts equal the outcome
    assert open_year == 0  # 2019 is not closed


def test_cost_change_splits_into_volume_and_price(demo):
    settings, _ = demo
    with closing(connect_published(settings.published_path)) as con:
        rows = con.execute("""SELECT placeringar, placeringar_fg_ar, kostnad_per_placering_fg_ar,
                                     forandring, volymeffekt, priseffekt
                              FROM marts.kostnadsdrivare WHERE ar = 2019
                              AND nettokostnad_manad IS NOT NULL""").fetchall()
        # Placements are counted through December; the ledger holds January–March.
        costless = con.execute("""SELECT count(*) FROM marts.kostnadsdrivare WHERE ar = 2019
                                  AND nettokostnad_manad IS NULL AND forandring IS NULL
                                  AND manad > 3""").fetchone()[0]
    assert (len(rows), costless) == (3, 9)
    for q1, q0, p0, change, volume, price in rows:
        # kostnad_per_placering_fg_ar is shown rounded to the öre; the effect is not.
        assert abs(float(volume) - (q1 - q0) * float(p0)) <= abs(q1 - q0) * 0.005 + 0.01
        assert abs(float(volume + price - change)) <= 0.05
