"""The demo's marts against the figures the controllers printed (../shared/reference, seed 001).

The expected values are read from the documents, never from the code: the sample generator
spreads unit totals over thousands of transactions, and only a correct pipeline adds them up
to the printed tables again.
"""

from __future__ import annotations

import re
from contextlib import closing
from decimal import Decimal

import duckdb
import pytest

from ifo_pipeline.publish import connect_published
from tests.conftest import read_semicolon_csv

TKR_COLUMNS = (
    "kommunbidrag_ack_tkr",
    "nettokostnad_ack_tkr",
    "nettoresultat_ack_tkr",
    "arsprognos_tkr",
    "forandring_mot_fg_prognos_tkr",
    "helar_fg_ar_tkr",
)
ROUNDING_TOLERANCE = 1  # tkr: the documents round every figure on its own


def mart_rows(settings, year: int, month: int) -> dict[tuple[str, str], dict]:
    with closing(connect_published(settings.published_path)) as con:
        cursor = con.execute(
            "SELECT * FROM marts.resultatrapport_tkr WHERE ar = ? AND manad = ?", [year, month]
        )
        names = [d[0] for d in cursor.description]
        return {
            (r["rapport"], r["rapportrad"]): r
            for r in (dict(zip(names, row, strict=True)) for row in cursor.fetchall())
        }


def test_march_2019_matches_the_monthly_report(demo, shared_dir):
    settings, _ = demo
    reference = read_semicolon_csv(shared_dir / "reference" / "manadsrapport_2019_03.csv")
    rows = mart_rows(settings, 2019, 3)
    mismatches = []
    for ref in reference:
        key = (ref["rapport"], ref["rapportrad"])
        assert key in rows, f"{key} missing from marts.resultatrapport"
        got = rows[key]
        assert got["radtyp"] == ref["radtyp"], key
        for column in TKR_COLUMNS:
            printed = ref[column]
            value = got[column]
            if printed == "":
                # Printed blank: no budget line or nothing booked. The sector table does not
                # print the prior-year column at all.
                if not (column == "helar_fg_ar_tkr" and ref["rapport"] == "SEKTOR"):
                    assert value in (None, 0), (key, column, value)
                continue
            if value is None or abs(value - int(printed)) > ROUNDING_TOLERANCE:
                mismatches.append((key, column, printed, value))
    assert not mismatches, mismatches
    # Every printed line, and nothing beyond it, for the reports the document prints.
    reports = {r["rapport"] for r in reference}
    assert {k for k in rows if k[0] in reports} == {
        (r["rapport"], r["rapportrad"]) for r in reference
    }


def test_march_2019_line_order_is_the_printed_order(demo, shared_dir):
    settings, _ = demo
    reference = read_semicolon_csv(shared_dir / "reference" / "manadsrapport_2019_03.csv")
    with closing(connect_published(settings.published_path)) as con:
        for report in ("SEKTOR", "IFO", "AI"):
            printed = [r["rapportrad"] for r in reference if r["rapport"] == report]
            built = [
                r[0]
                for r in con.execute(
                    """SELECT rapportrad FROM marts.resultatrapport WHERE ar = 2019 AND manad = 3
                   AND rapport = ? ORDER BY ordning""",
                    [report],
                ).fetchall()
            ]
            assert built == printed


def seed_001_tables(shared_dir) -> dict[str, list[tuple[str, list[int]]]]:
    """The four 2018 result tables of the annual report, parsed from the seed text."""
    text = (shared_dir / "seeds" / "001_45a1c237a718c0b7.txt").read_text(encoding="utf-8")
    tables: dict[str, list[tuple[str, list[int]]]] = {}
    current = None
    for line in text.splitlines():
        cells = line.split("\t")
        if len(cells) == 6 and "Jan-Dec 18" in cells[1]:
            current = re.sub(r"<[^>]+>", "", cells[0]).replace(" Tkr", "").strip()
            tables[current] = []
        elif current and len(cells) == 6:
            label = re.sub(r"<[^>]+>", "", cells[0]).strip()
            numbers = [int(re.sub(r"<[^>]+>|\s", "", c)) for c in cells[1:]]
            tables[current].append((label, numbers))
        elif current and not line.strip():
            current = None if tables[current] else current
    return tables


SEED_001_REPORTS = {
    "IFO Myndighet": "IFOM",
    "IFO Kommunal regi": "IFOK",
    "Ensamkommande myndighet": "EKBM",
    "Ensamkommande kommunal regi": "EKBK",
}


def test_2018_matches_the_annual_report(demo, shared_dir):
    settings, _ = demo
    tables = seed_001_tables(shared_dir)
    assert set(tables) == set(SEED_001_REPORTS), tables.keys()
    rows = mart_rows(settings, 2018, 12)
    checked = 0
    for title, lines in tables.items():
        report = SEED_001_REPORTS[title]
        built = [
            k[1]
            for k in sorted((k for k in rows if k[0] == report), key=lambda k: rows[k]["ordning"])
        ]
        assert built == [label for label, _ in lines], (report, built)
        for label, (kommunbidrag, nettokostnad, nettoresultat, prior_year, _) in lines:
            got = rows[(report, label)]
            for column, printed in (
                ("kommunbidrag_ack_tkr", kommunbidrag),
                ("nettokostnad_ack_tkr", nettokostnad),
                ("nettoresultat_ack_tkr", nettoresultat),
                ("helar_fg_ar_tkr", prior_year),
            ):
                value = got[column] if got[column] is not None else 0
                assert abs(value - printed) <= ROUNDING_TOLERANCE, (report, label, column)
                checked += 1
    assert checked == 4 * 15


def test_totals_equal_the_sum_of_their_lines_to_the_ore(demo):
    settings, _ = demo
    with closing(connect_published(settings.published_path)) as con:
        off = con.execute("""
            WITH lines AS (
                SELECT ar, manad, rapport, sum(nettokostnad_ack) AS nk,
                       sum(kommunbidrag_ack) AS kb
                FROM marts.resultatrapport WHERE radtyp = 'rad' GROUP BY ALL)
            SELECT t.ar, t.manad, t.rapport FROM marts.resultatrapport t
            JOIN lines USING (ar, manad, rapport)
            WHERE t.radtyp = 'summa' AND (t.nettokostnad_ack IS DISTINCT FROM lines.nk
                                          OR t.kommunbidrag_ack IS DISTINCT FROM lines.kb)
        """).fetchall()
        assert off == []
        assert (
            con.execute("SELECT count(DISTINCT (ar, manad)) FROM marts.resultatrapport").fetchone()[
                0
            ]
            == 27
        )


def test_sector_total_equals_the_ledger_to_the_ore(demo):
    """The money in the top report is exactly the money in the ledger's classes 3–7."""
    settings, _ = demo
    with closing(duckdb.connect(str(settings.warehouse_path), read_only=True)) as con:
        ledger = con.execute("""SELECT -sum(belopp) FROM raw.ledger_lines
            WHERE period BETWEEN 201901 AND 201903 AND left(konto, 1) IN ('3','4','5','6','7')
        """).fetchone()[0]
        sector = con.execute("""SELECT nettokostnad_ack FROM marts.resultatrapport
            WHERE ar = 2019 AND manad = 3 AND rapport = 'SEKTOR' AND radtyp = 'summa'
        """).fetchone()[0]
    assert sector == ledger
    assert isinstance(sector, Decimal)


def test_the_marts_contract_is_met(demo, shared_dir):
    import subprocess
    import sys

    settings, _ = demo
    out = subprocess.run(
        [
            sys.executable,
            str(shared_dir / "tools" / "check_marts.py"),
            str(settings.warehouse_path),
        ],
        capture_output=True,
        text=True,
    )
    assert "marts.resultatrapport: ok" in out.stdout, out.stdout + out.stderr
    assert "marts.verksamhetsmatt: ok" in out.stdout, out.stdout + out.stderr
    assert "marts.budgetavvikelse: ok" in out.stdout, out.stdout + out.stderr
    assert "marts.nettokostnadsavvikelse: ok" in out.stdout, out.stdout + out.stderr
    assert out.returncode == 0


@pytest.mark.parametrize(
    "table",
    [
        "resultatrapport",
        "rapporter",
        "verksamhetsmatt",
        "verksamhetsmatt_period",
        "kostnad_per_placering",
        "budgetavvikelse",
        "prognossakerhet",
        "kostnadsdrivare",
        "nettokostnadsavvikelse",
        "nettokostnadsavvikelse_prognos",
    ],
)
def test_every_mart_column_is_documented(demo, table):
    settings, _ = demo
    with closing(connect_published(settings.published_path)) as con:
        undocumented = con.execute(
            """SELECT column_name FROM duckdb_columns()
               WHERE schema_name = 'marts' AND table_name = ? AND comment IS NULL""",
            [table],
        ).fetchall()
        table_comment = con.execute(
            "SELECT comment FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name = ?",
            [table],
        ).fetchone()[0]
    assert undocumented == []
    assert table_comment
