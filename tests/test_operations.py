"""Operations: freshness, the landing sensor, the schedule, `ifo status`, and a controller
who keeps ifo.duckdb open while the nightly run publishes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from contextlib import closing
from datetime import date

import dagster as dg
import duckdb
import pytest

from ifo_pipeline.cli import main
from ifo_pipeline.defs import NIGHTLY_JOB, build_definitions
from ifo_pipeline.defs.automation import LEDGER_KEY
from ifo_pipeline.defs.kolada import FETCH_KEY
from ifo_pipeline.defs.partitions import RANGE_END_TAG, RANGE_START_TAG, monthly_partitions
from ifo_pipeline.operations import ledger_staleness
from ifo_pipeline.publish import connect_published
from ifo_pipeline.runner import run_pipeline
from ifo_pipeline.sample.generator import generate_sample
from tests.conftest import write_text
from tests.test_ledger_loading import HEADER


@pytest.mark.parametrize(
    "today, loaded, stale",
    [
        (date(2019, 4, 5), {201901, 201902}, False),  # March not yet due
        (date(2019, 4, 11), {201901, 201902}, True),  # March overdue
        (date(2019, 4, 11), {201903}, False),
        (date(2019, 1, 20), {201811}, True),  # December of the previous year
        (date(2019, 1, 20), {201812}, False),
    ],
)
def test_the_ledger_is_stale_when_last_month_is_overdue(today, loaded, stale):
    result = ledger_staleness(loaded, today, due_day=10)
    assert result.stale is stale
    assert result.expected_period == (
        today.year * 100 + today.month - 1 if today.month > 1 else (today.year - 1) * 100 + 12
    )


def test_the_sensor_requests_runs_for_exactly_the_months_that_landed(settings):
    defs = build_definitions(settings)
    sensor = defs.resolve_sensor_def("landing")
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance)
        assert isinstance(sensor(context), dg.SkipReason)  # nothing landed yet
        generate_sample(settings.landing_dir, rows_per_unit_month=5)
        first = sensor(context)
        # The sample: ledgers for 2017, 2018 and 2019 up to March, volume counts for
        # 2018 and 2019 (a year each): one contiguous range of months, one run.
        assert [(r.tags[RANGE_START_TAG], r.tags[RANGE_END_TAG]) for r in first] == [
            ("2017-01", "2019-12")
        ]
        assert FETCH_KEY not in first[0].asset_selection
        assert LEDGER_KEY in first[0].asset_selection
        assert isinstance(sensor(context), dg.SkipReason)  # the cursor remembers

        # A corrected February 2019 and a late November 2016 export: two ranges, two runs.
        ledger = settings.landing_dir / "ledger"
        february = "".join(
            line
            for line in (ledger / "huvudbok_2019_ack_201903.csv")
            .read_text(encoding="utf-8")
            .splitlines(keepends=True)
            if line.startswith(("Period", "201902"))
        )
        write_text(ledger / "huvudbok_201902_rattelse.csv", february)
        write_text(ledger / "huvudbok_201611.csv", february.replace("201902;", "201611;"))
        again = sensor(context)
        assert [(r.tags[RANGE_START_TAG], r.tags[RANGE_END_TAG]) for r in again] == [
            ("2016-11", "2016-11"),
            ("2019-02", "2019-02"),
        ]
        assert len({r.run_key for r in again}) == 2

        budget = settings.landing_dir / "budget" / "kommunbidrag_2019.csv"
        write_text(budget, budget.read_text(encoding="utf-8") + "201912;5100;569;1,00\n")
        [without_months] = sensor(context)
        assert without_months.tags["ifo/files"] == "budget/kommunbidrag_2019.csv"
        assert RANGE_START_TAG not in without_months.tags
        assert LEDGER_KEY not in without_months.asset_selection
        assert dg.AssetKey(["raw", "budget_lines"]) in without_months.asset_selection


def test_the_sensors_run_loads_and_materialises_exactly_its_months(settings):
    generate_sample(settings.landing_dir, rows_per_unit_month=5)
    assert run_pipeline(settings, offline=True).success
    defs = build_definitions(settings)
    sensor = defs.resolve_sensor_def("landing")
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance)
        sensor(context)  # what the run above loaded
        # A corrected February: the year-to-date export's February without its last row.
        ledger = settings.landing_dir / "ledger"
        lines = [
            line
            for line in (ledger / "huvudbok_2019_ack_201903.csv")
            .read_text(encoding="utf-8")
            .splitlines(keepends=True)
            if line.startswith(("Period", "201902"))
        ]
        write_text(ledger / "huvudbok_201902_rattelse.csv", "".join(lines[:-1]))
        [request] = sensor(context)
        job = defs.resolve_job_def(NIGHTLY_JOB).get_subset(
            asset_selection=set(request.asset_selection)
        )
        result = job.execute_in_process(instance=instance, tags=request.tags)
        assert result.success
        assert {
            e.partition
            for e in result.get_asset_materialization_events()
            if e.asset_key == LEDGER_KEY
        } == {"2019-02"}
    with closing(connect_published(settings.published_path)) as con:
        assert (
            con.execute("""SELECT count(*) FROM ops.load_log WHERE outcome = 'loaded'
            AND file_name = 'huvudbok_201902_rattelse.csv'""").fetchone()[0]
            == 1
        )
    with closing(duckdb.connect(str(settings.warehouse_path), read_only=True)) as con:
        assert (
            con.execute("SELECT count(*) FROM raw.ledger_lines WHERE period = 201902").fetchone()[0]
            == len(lines) - 2
        )  # less the header and the row


def test_after_ifo_run_loaded_everything_the_sensor_launches_nothing(settings):
    """Issue: `dagster dev` started after `ifo run` made the sensor launch a 28-second run over
    the files already loaded. Its first look (an empty cursor) asks the load log."""
    generate_sample(settings.landing_dir, rows_per_unit_month=2)
    assert run_pipeline(settings, offline=True).success
    sensor = build_definitions(settings).resolve_sensor_def("landing")
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance)
        assert isinstance(sensor(context), dg.SkipReason)
        ledger = settings.landing_dir / "ledger"
        write_text(ledger / "huvudbok_201904.csv", HEADER + "201904;5310;4630;569;;;;1,00;;;\n")
        [request] = sensor(context)  # a file that landed since is new
        assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == (
            "2019-04",
            "2019-04",
        )
        # While a run holds the warehouse the sensor cannot read the load log: it waits and
        # asks again, its cursor unmoved.
        write_text(ledger / "huvudbok_201905.csv", HEADER + "201905;5310;4630;569;;;;1,00;;;\n")
        with closing(duckdb.connect(str(settings.warehouse_path))):
            assert isinstance(sensor(context), dg.SkipReason)
        [request] = sensor(context)
        assert request.tags[RANGE_START_TAG] == "2019-05"


def test_a_file_that_cannot_be_read_still_gets_a_run_that_says_why(settings):
    sensor = build_definitions(settings).resolve_sensor_def("landing")
    (settings.landing_dir / "ledger").mkdir(parents=True)
    (settings.landing_dir / "ledger" / "trasig.csv").write_bytes(b"Period;Ansvar\n\x81\n")
    with dg.instance_for_test() as instance:
        [request] = sensor(dg.build_sensor_context(instance=instance))
    last = monthly_partitions(settings).get_last_partition_key()
    assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == (last, last)


def test_the_nightly_schedules_refresh_kolada_and_the_marts_in_stockholm_time(settings):
    defs = build_definitions(settings)
    kolada = defs.resolve_schedule_def("kolada_nightly")
    assert (kolada.job_name, kolada.cron_schedule) == ("kolada", "30 1 * * *")
    assert kolada.execution_timezone == "Europe/Stockholm"
    schedule = defs.resolve_schedule_def("nightly")
    assert schedule.execution_timezone == "Europe/Stockholm"
    assert schedule.cron_schedule == settings.nightly_cron == "0 2 * * *"
    assert schedule.job_name == "ifo_all"
    with dg.instance_for_test() as instance:
        [request] = schedule.evaluate_tick(
            dg.build_schedule_context(instance=instance)
        ).run_requests
    assert FETCH_KEY not in request.asset_selection  # Kolada never holds back the marts
    assert dg.AssetKey(["raw", "kolada_values"]) in request.asset_selection
    assert dg.AssetKey(["published", "ifo_duckdb"]) in request.asset_selection
    assert LEDGER_KEY not in request.asset_selection  # months come from the sensor's runs
    assert dg.AssetCheckKey(LEDGER_KEY, "ledger_fresh") in request.asset_check_keys
    assert dg.AssetCheckKey(LEDGER_KEY, "reconciles_to_the_krona") not in request.asset_check_keys


def test_ifo_run_refuses_months_outside_the_partitions(settings, monkeypatch, capsys):
    monkeypatch.setenv("IFO_WAREHOUSE_DIR", str(settings.warehouse_dir))
    # Something has landed: a run into a warehouse not made yet is not refused for that.
    write_text(settings.warehouse_dir / "landing" / "ledger" / "huvudbok.csv", "Period;Ansvar\n")
    assert main(["run", "--offline", "--months", "2010-01:2010-03"]) == 1
    assert (
        "2010-01 .. 2010-03 is not within the monthly partitions 2015-01 .."
        in capsys.readouterr().err
    )
    with pytest.raises(SystemExit):
        main(["run", "--months", "2019-13"])


def test_ifo_status_tells_what_loaded_and_that_a_historical_extract_is_not_stale(
    demo, monkeypatch, capsys
):
    settings, _ = demo
    monkeypatch.setenv("IFO_WAREHOUSE_DIR", str(settings.warehouse_dir))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "huvudbok_2019_ack_201903.csv  loaded, 2790 rows" in out
    assert "Reconciliation: every file balances" in out
    # The demo's ledger ends in 2019-03: not expected to be current, and no alarm for it.
    assert "STALE" not in out and "the ledger ends at 2019-03: a historical extract" in out
    assert "Last runs:\n  ifo_all" in out and "All is well." in out


READER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    before = con.execute("SELECT count(*) FROM marts.resultatrapport").fetchone()[0]
    print(before, flush=True)
    while not __import__("os").path.exists(sys.argv[2]):
        time.sleep(0.1)
    # Still reading yesterday's file, undisturbed, after tonight's run has published.
    print(con.execute("SELECT count(*) FROM marts.resultatrapport").fetchone()[0],
          flush=True)
""")


def test_a_reader_holding_the_marts_open_neither_blocks_nor_sees_half_a_run(settings, tmp_path):
    generate_sample(settings.landing_dir, rows_per_unit_month=5)
    assert run_pipeline(settings, offline=True).success
    done = tmp_path / "run-finished"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(settings.published_path), str(done)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        before = int(reader.stdout.readline())
        # Tonight: April arrives, which adds a month of rows to every report.
        april = (
            (settings.landing_dir / "ledger" / "huvudbok_201902.csv")
            .read_text(encoding="utf-8")
            .replace("201902;", "201904;")
            .replace("2019-02-", "2019-04-")
        )
        write_text(settings.landing_dir / "ledger" / "huvudbok_201904.csv", april)
        outcome = run_pipeline(settings, offline=True)
        assert outcome.success, outcome.failure_message
        done.touch()
        assert int(reader.stdout.readline()) == before
        assert reader.wait(timeout=30) == 0
    finally:
        reader.kill()
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; print(duckdb.connect(sys.argv[1], "
            "read_only=True).execute('SELECT count(*) FROM marts.resultatrapport "
            "WHERE manad = 4').fetchone()[0])",
            str(settings.published_path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(check.stdout) > 0  # the next connection sees the new data
