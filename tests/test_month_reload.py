"""Reloading single months (the monthly partitions) from the archived files, in plain Python:
each month becomes what the most recently landed file holding it says (docs/inputs.md section 1)."""

from __future__ import annotations

import os
from contextlib import closing
from decimal import Decimal

import pytest

from ifo_pipeline.ingest import load_source
from ifo_pipeline.ingest.csv_loader import load_file, reload_months
from ifo_pipeline.months import month_ranges
from ifo_pipeline.operations import file_months, pending_months
from ifo_pipeline.store.sources import BUDGET, LEDGER
from ifo_pipeline.store.warehouse import connect
from tests.conftest import write_text
from tests.test_ledger_loading import HEADER

BAD_AMOUNT = "201901;5310;4630;56910;;;;12,345;A9;;three decimals"


def row(period: int, amount: str) -> str:
    return f"{period};5310;4630;56910;;;;{amount};A1;;Placering"


def land(settings, name: str, rows: list[str], age_seconds: int):
    """A ledger file landed `age_seconds` ago: landing order is file time, then name."""
    path = write_text(
        settings.landing_dir / "ledger" / name, HEADER + "".join(r + "\n" for r in rows)
    )
    stamp = path.stat().st_mtime - age_seconds
    os.utime(path, (stamp, stamp))
    return path


def month_sums(con) -> dict[int, Decimal]:
    return dict(
        con.execute("SELECT period, sum(belopp) FROM raw.ledger_lines GROUP BY 1").fetchall()
    )


def land_ytd_and_correction(settings):
    """A year-to-date export (January to March, one bad row in January), then a corrected
    February landed after it."""
    land(
        settings,
        "huvudbok_2019_ack_201903.csv",
        [row(201901, "100"), row(201902, "200"), row(201903, "300"), BAD_AMOUNT],
        60,
    )
    land(settings, "huvudbok_201902_rattelse.csv", [row(201902, "250")], 30)


def test_a_month_is_reloaded_from_the_newest_landed_file_that_holds_it(con, settings):
    land_ytd_and_correction(settings)
    column_map: dict[str, str] = {}
    for path in sorted(
        (settings.landing_dir / "ledger").iterdir(), key=lambda p: p.stat().st_mtime_ns
    ):
        load_file(con, LEDGER, path, settings.archive_dir, column_map)
    expected = {201901: Decimal("100.00"), 201902: Decimal("250.00"), 201903: Decimal("300.00")}
    assert month_sums(con) == expected
    rejects = con.execute("SELECT period, reason FROM ops.rejects").fetchall()
    assert len(rejects) == 1 and rejects[0][0] == 201901

    con.execute("DELETE FROM raw.ledger_lines")  # the months are lost, the archive is not
    loads = reload_months(con, LEDGER, [201901, 201902, 201903, 201904])
    assert {(f.file_name, f.outcome, tuple(f.periods)) for f in loads} == {
        ("huvudbok_2019_ack_201903.csv", "reloaded", (201901, 201903)),
        ("huvudbok_201902_rattelse.csv", "reloaded", (201902,)),
        ("", "no_file", (201904,)),
    }
    assert month_sums(con) == expected
    # January's bad row is still set aside once, not twice.
    assert con.execute("SELECT count(*) FROM ops.rejects").fetchone()[0] == 1
    assert (
        con.execute("""SELECT count(*) FROM ops.load_log WHERE outcome = 'reloaded'""").fetchone()[
            0
        ]
        == 2
    )

    for archived in settings.archive_dir.rglob("huvudbok_201902_rattelse.csv"):
        archived.unlink()
    with pytest.raises(FileNotFoundError, match="cannot reload 2019-02: the archived copy"):
        reload_months(con, LEDGER, [201902])
    assert month_sums(con) == expected  # nothing half-done


def test_a_run_for_some_months_loads_new_files_and_reloads_only_the_rest(settings):
    land_ytd_and_correction(settings)
    first = load_source(settings, LEDGER, [201902])
    assert [f.outcome for f in first] == ["loaded_with_rejects", "loaded"]  # nothing reloaded
    with closing(connect(settings.warehouse_path)) as con:
        con.execute("UPDATE raw.ledger_lines SET belopp = 0 WHERE period = 201903")
    again = load_source(settings, LEDGER, [201903])
    assert [f.outcome for f in again] == ["already_loaded", "already_loaded", "reloaded"]
    with closing(connect(settings.warehouse_path)) as con:
        assert month_sums(con)[201903] == Decimal("300.00")
        assert month_sums(con)[201902] == Decimal("250.00")  # untouched by the run


def test_the_landing_side_tells_which_months_a_file_holds(settings):
    land_ytd_and_correction(settings)
    write_text(settings.landing_dir / "verksamhetsmatt" / "verksamhetsmatt_2018.csv", "x\n")
    # Neither UTF-8 nor Windows-1252 (0x81 is undefined there).
    (settings.landing_dir / "ledger" / "trasig.csv").write_bytes(HEADER.encode() + b"\x81\n")
    assert file_months(settings.landing_dir, "ledger/huvudbok_2019_ack_201903.csv") == [
        201901,
        201902,
        201903,
    ]
    assert file_months(settings.landing_dir, "verksamhetsmatt/verksamhetsmatt_2018.csv") == [
        201800 + m for m in range(1, 13)
    ]
    assert file_months(settings.landing_dir, "ledger/trasig.csv") is None  # refused by the load
    months, unreadable = pending_months(settings)
    assert unreadable and months == {201901, 201902, 201903, *(201800 + m for m in range(1, 13))}
    load_source(settings, LEDGER)
    assert pending_months(settings) == ({201800 + m for m in range(1, 13)}, False)
    assert month_ranges(months) == [(201801, 201903)]
    assert month_ranges({201811, 201901, 201902}) == [(201811, 201811), (201901, 201902)]


def test_a_row_outside_the_files_year_does_not_erase_that_year(con, settings):
    header = "Period;Ansvar;Verksamhet;Kommunbidrag\n"
    for year in (2018, 2019):
        rows = [f"{year}01;5310;569;1 000,00"]
        if year == 2019:
            rows.append("201812;5310;569;5,00")  # in the 2019 file: rejected, not a delivery
        path = write_text(
            settings.landing_dir / "budget" / f"kommunbidrag_{year}.csv",
            header + "\n".join(rows) + "\n",
        )
        load_file(con, BUDGET, path, settings.archive_dir, {})
    assert con.execute(
        "SELECT period // 100, count(*) FROM raw.budget_lines GROUP BY 1 ORDER BY 1"
    ).fetchall() == [(2018, 1), (2019, 1)]
    assert "utanför filens år 2019" in con.execute("SELECT reason FROM ops.rejects").fetchone()[0]
