"""From a figure to its transactions, in the published file alone (marts.huvudbok)."""

from __future__ import annotations

from contextlib import closing

from ifo_pipeline.publish import connect_published


def test_every_report_lines_nettokostnad_is_the_sum_of_its_ledger_lines(demo):
    settings, _ = demo
    with closing(connect_published(settings.published_path)) as con:
        compared = con.execute(
            """
            WITH drilled AS (
                SELECT r.ar, r.manad, r.rapport, r.rapportrad, r.nettokostnad_ack,
                       (SELECT sum(h.belopp) FROM marts.huvudbok h
                        WHERE h.ar = r.ar AND h.manad <= r.manad AND h.rapport = r.rapport
                          AND h.rapportrad = r.rapportrad AND h.raknas_i_nettokostnad)
                           AS summed
                FROM marts.resultatrapport r
                WHERE r.radtyp = 'rad'
                  AND EXISTS (SELECT 1 FROM marts.huvudbok h WHERE h.rapport = r.rapport
                              AND h.rapportrad = r.rapportrad AND h.ar = r.ar)
            )
            SELECT count(*), count(*) FILTER (WHERE summed IS DISTINCT FROM nettokostnad_ack),
                   any_value((ar, manad, rapport, rapportrad, nettokostnad_ack, summed))
                       FILTER (WHERE summed IS DISTINCT FROM nettokostnad_ack)
            FROM drilled"""
        ).fetchone()
        march = con.execute(
            """SELECT sum(belopp) FILTER (WHERE raknas_i_nettokostnad), count(*),
                      count(DISTINCT fil), min(rad)
               FROM marts.huvudbok
               WHERE ar = 2019 AND manad <= 3 AND rapportrad = 'Barn och unga'"""
        ).fetchone()
        figure = con.execute(
            """SELECT nettokostnad_ack FROM marts.resultatrapport WHERE ar = 2019 AND manad = 3
               AND rapportrad = 'Barn och unga' AND radtyp = 'rad'"""
        ).fetchone()[0]
    lines, differing, example = compared
    assert lines > 100 and differing == 0, example
    net_cost, rows, files, first_line = march
    assert net_cost == figure and rows > 0 and files >= 1 and first_line >= 2
