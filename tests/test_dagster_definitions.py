"""The Dagster definitions the UI loads: one lineage graph, checks, the job."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from ifo_pipeline.defs import KOLADA_JOB, NIGHTLY_JOB, build_definitions
from tests.conftest import REPO

# A snapshot of the graph: an accidental rename of an asset fails here, not in production.
EXPECTED_ASSETS = {
    "raw/ledger_lines",
    "raw/budget_lines",
    "raw/forecast_lines",
    "raw/report_structure",
    "raw/reports",
    "raw/volume_cells",
    "reference/matt_katalog",
    "reference/avsnitt_alias",
    "staging/stg_volumes__cells",
    "staging/stg_catalogue__measures",
    "intermediate/int_report_lines__month_net_cost",
    "marts/verksamhetsmatt",
    "marts/verksamhetsmatt_period",
    "marts/kostnad_per_placering",
    "intermediate/int_report_rows__monthly",
    "marts/budgetavvikelse",
    "marts/prognossakerhet",
    "marts/huvudbok",
    "marts/kostnadsdrivare",
    "kolada/landed_responses",
    "raw/kolada_values",
    "staging/stg_kolada__values",
    "staging/stg_kolada__municipalities",
    "staging/stg_kolada__group_members",
    "staging/stg_kolada__kpis",
    "staging/stg_kolada__config",
    "intermediate/int_kolada__comparison_set",
    "intermediate/int_kolada__values_by_municipality_year",
    "marts/nettokostnadsavvikelse",
    "marts/nettokostnadsavvikelse_prognos",
    "staging/stg_ledger__lines",
    "staging/stg_ops__loaded_files",
    "staging/stg_budget__allocations",
    "staging/stg_forecasts__forecasts",
    "staging/stg_config__report_structure",
    "staging/stg_config__reports",
    "intermediate/int_finance__unit_months",
    "intermediate/int_report_structure__unit_lines",
    "intermediate/int_report_lines__by_year",
    "intermediate/int_reports__by_year",
    "intermediate/int_report_lines__monthly",
    "marts/resultatrapport",
    "marts/resultatrapport_tkr",
    "marts/rapporter",
    "published/ifo_duckdb",
    "published/month_report",
    # Placement cost by kind (config/kostnadsslag.csv).
    "raw/cost_kinds",
    "staging/stg_config__cost_kinds",
    "intermediate/int_ledger__cost_kinds",
    "marts/placeringskostnad",
    # The improvement plan, the goal indicators and the genomlysning per area.
    "raw/measures",
    "raw/measure_status",
    "raw/goal_indicators",
    "staging/stg_config__measures",
    "staging/stg_config__measure_status",
    "staging/stg_config__goal_indicators",
    "intermediate/int_catalogue__measure_names",
    "marts/atgardsuppfoljning",
    "marts/malupfyllelse",
    "marts/kostnad_per_omrade",
}


def test_the_graph_runs_from_ingest_through_dbt_to_publishing(settings):
    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys == EXPECTED_ASSETS
    parents = graph.get(dg.AssetKey(["staging", "stg_ledger__lines"])).parent_keys
    assert dg.AssetKey(["raw", "ledger_lines"]) in parents
    publish_parents = graph.get(dg.AssetKey(["published", "ifo_duckdb"])).parent_keys
    assert dg.AssetKey(["marts", "resultatrapport"]) in publish_parents
    assert {
        k.path[0] for k in graph.get_all_asset_keys() if graph.get(k).group_name == "ingest"
    } == {"raw", "kolada"}
    assert (
        dg.AssetKey(["kolada", "landed_responses"])
        in graph.get(dg.AssetKey(["raw", "kolada_values"])).parent_keys
    )
    # A status names a measure: the measures load first.
    assert (
        dg.AssetKey(["raw", "measures"])
        in graph.get(dg.AssetKey(["raw", "measure_status"])).parent_keys
    )
    report_parents = graph.get(dg.AssetKey(["published", "month_report"])).parent_keys
    assert report_parents == {dg.AssetKey(["published", "ifo_duckdb"])}


def test_validation_is_asset_checks_and_dbt_tests_run_in_the_dbt_step(settings):
    """Each validation of ours is a Dagster check; dbt's tests run inside the dbt build and a
    failing one fails the step by name (tests/test_incremental_marts.py), without three
    stored events per test and night."""
    defs = build_definitions(settings)
    checks = {
        (c.asset_key.to_user_string(), c.name) for c in defs.resolve_asset_graph().asset_check_keys
    }
    for expected in [
        ("raw/ledger_lines", "files_accepted"),
        ("raw/ledger_lines", "rows_accepted"),
        ("raw/ledger_lines", "schema_valid"),
        ("raw/ledger_lines", "reconciles_to_the_krona"),
        ("raw/ledger_lines", "replacements_plausible"),
        ("raw/volume_cells", "replacements_plausible"),
        ("raw/report_structure", "every_unit_maps_to_one_report_line"),
        ("published/ifo_duckdb", "marts_match_their_contracts"),
        ("marts/atgardsuppfoljning", "plan_drivers_known"),
        ("marts/malupfyllelse", "indicator_sources_known"),
        ("published/month_report", "report_written"),
    ]:
        assert expected in checks
    assert not [name for _, name in checks if name.startswith(("not_null", "unique_combination"))]


def test_the_ledger_and_volume_counts_are_partitioned_by_accounting_month(settings):
    graph = build_definitions(settings).resolve_asset_graph()
    partitioned = {
        k.to_user_string(): graph.get(k).partitions_def
        for k in graph.get_all_asset_keys()
        if graph.get(k).partitions_def
    }
    assert set(partitioned) == {"raw/ledger_lines", "raw/volume_cells"}
    months = partitioned["raw/ledger_lines"]
    assert isinstance(months, dg.MonthlyPartitionsDefinition)
    assert months.timezone == "Europe/Stockholm"
    keys = months.get_partition_keys()
    assert keys[0] == settings.first_month == "2015-01"
    assert "2019-03" in keys
    # A range of months is one run, not one run per month.
    assert (
        graph.get(dg.AssetKey(["raw", "ledger_lines"])).backfill_policy
        == dg.BackfillPolicy.single_run()
    )


def test_the_finance_job_selects_everything_but_the_kolada_fetch(settings):
    defs = build_definitions(settings)
    job = defs.resolve_job_def(NIGHTLY_JOB)
    finance = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert finance == EXPECTED_ASSETS - {"kolada/landed_responses"}
    # The Kolada job: the fetch and what depends on it, down to publishing; no finance source.
    kolada = {
        k.to_user_string()
        for k in defs.resolve_job_def(KOLADA_JOB).asset_layer.executable_asset_keys
    }
    assert {"kolada/landed_responses", "raw/kolada_values", "published/ifo_duckdb"} <= kolada
    assert "marts/nettokostnadsavvikelse" in kolada
    assert not {"raw/ledger_lines", "marts/resultatrapport"} & kolada


def test_dagster_definitions_validate_passes(tmp_path):
    env = {**os.environ, "IFO_WAREHOUSE_DIR": str(tmp_path), "DAGSTER_HOME": str(tmp_path)}
    dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
    out = subprocess.run(
        [dagster, "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "passed validation" in out.stderr + out.stdout


def test_the_dbt_command_answers_dagster_dbt_as_dbt_does():
    """dagster-dbt runs `<dbt_executable> --version` on every dbt step and reads the first
    version number: `ifo-dbt` answers as dbt would (the same dbt-core version), without
    dbt's two seconds of imports; any other command is dbt's own."""
    import re

    from ifo_pipeline import dbt_command

    ifo_dbt = dbt_command.executable()
    dbt = str(Path(sys.executable).parent / "dbt")
    first_number = re.compile(r"(\d+\.\d+\.\d+)")  # as dagster-dbt reads it
    ours = subprocess.run([ifo_dbt, "--version"], capture_output=True, text=True, check=True)
    theirs = subprocess.run([dbt, "--version"], capture_output=True, text=True, check=True)
    assert first_number.search(ours.stdout)[1] == first_number.search(theirs.stdout)[1]
    # Everything else is dbt's CLI (every pipeline test's night runs its builds through it).
    helped = subprocess.run([ifo_dbt, "--help"], capture_output=True, text=True, check=True)
    assert "build" in helped.stdout and "Usage: " in helped.stdout
    failed = subprocess.run([ifo_dbt, "no-such-command"], capture_output=True, text=True)
    assert failed.returncode != 0  # dbt's own exit code, not ours


def test_a_dbt_step_that_ends_early_stops_its_dbt_process():
    """The dbt step's events are handled as dbt runs; should handling one fail, the step ends
    and its dbt process must not run on with the warehouse locked: asked to stop (SIGINT, as
    dbt ends a query), killed if it does not."""
    from ifo_pipeline.defs.transform import _stop

    stops = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    deaf = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
    )
    assert deaf.stdout.readline().strip() == b"ready"
    _stop(stops)
    assert stops.returncode not in (None, -9)  # ended by the interrupt, not killed
    _stop(deaf, timeout=1)
    assert deaf.returncode == -9
