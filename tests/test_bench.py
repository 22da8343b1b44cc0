"""The benchmark's smoke run: every measurement runs on a small ledger and says what it
loaded. No timing is asserted here (figures are for bench/RESULTS.md); correctness is."""

from __future__ import annotations

import json

import pytest

from bench.generate import years_for
from bench.run import main


def test_the_benchmark_runs_every_measurement_on_a_small_ledger(tmp_path):
    pytest.importorskip("dlt", reason="the benchmark's peer: pip install -e '.[bench]'")
    figures = tmp_path / "figures.json"
    assert main(["--lines", "30000", "--workdir", str(tmp_path / "w"), "--json", str(figures)]) == 0
    report = json.loads(figures.read_text(encoding="utf-8"))

    names = [m["name"] for m in report["measures"]]
    assert names == [
        "floor (DuckDB alone)",
        "ifo run (empty warehouse)",
        "ifo run (nothing new)",
        "ifo run (new month)",
        "ifo run (corrected month)",
        "dlt (plain load)",
    ]
    for measure in report["measures"]:
        assert measure["seconds"] > 0 and measure["peak_rss_mb"] > 10, measure
    full = report["measures"][1]
    # The stages come from the Dagster runs themselves: the ledger load and the dbt build.
    assert {"raw__ledger_lines", "ifo_dbt_models", "published__ifo_duckdb"} <= set(full["stages"])
    assert report["measures"][2]["stages"] == {}, "a night with nothing new runs no step"
    # Kolada (the benchmark's local server) is fetched on the first night only: a month landed
    # the same day is published without a second fetch of figures published a few times a year.
    fetch = "kolada__landed_responses"
    assert fetch in full["stages"]
    assert not [m["name"] for m in report["measures"][3:5] if fetch in m["stages"]]

    # Every generated line is loaded once: the yearly files, and April; the corrected March
    # replaces March (same number of lines). Nothing rejected, every file to the krona.
    years = years_for(30000)
    months = 12 * (len(years) - 1) + 3
    per_month = 30000 // months
    loaded = report["loaded"]
    assert loaded["ledger_lines_loaded"] == per_month * (months + 2)
    assert loaded["ledger_lines_rejected"] == 0
    assert loaded["files_reconciled"] == loaded["files_balanced"] > 0
    assert report["query"]["rows"] > 0
    assert set(report["ratios"]) == {
        "pipeline_over_floor",
        "new_month_over_full",
        "corrected_month_over_full",
        "ingest_over_dlt",
    }


def test_the_sie_benchmark_loads_the_same_lines_both_ways():
    """`bench.sie` writes one table as a CSV export and as a SIE 4 file: both loads hold the
    same lines, amounts and months (the timings are for bench/RESULTS.md)."""
    from bench.sie import run

    result = run(lines=3000, rounds=1)
    assert result["loaded"]["csv"] == result["loaded"]["sie"]
    assert result["loaded"]["csv"][0] == 3000 and result["loaded"]["csv"][2] == 12
    assert all(len(times) == 1 for times in result["seconds"].values())


def test_the_event_cost_benchmark_times_each_shipped_storage(capsys, postgres_url):
    """bench/dagster_events.py: one row per storage, each with the run's events counted."""
    from bench.dagster_events import NODES, main

    assert main(["--runs", "1", "--postgres-url", postgres_url]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    storages = [row.split("|")[1].strip() for row in rows[1:]]
    assert storages == [
        "in memory (ephemeral)",
        "SQLite (Dagster's default)",
        "PostgreSQL (dagster-postgres)",
    ]
    for row in rows[1:]:
        events = int(row.split("|")[3])
        assert events > 3 * NODES  # an output and a materialisation per node, a check each
