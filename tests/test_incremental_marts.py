"""marts.huvudbok is incremental: a night rebuilds the months whose data changed, and the
result is the table a whole rebuild gives (issue #12). The months it picks are pinned by the
dbt unit test in huvudbok.yml; here the real runs, and when the build goes whole."""

from __future__ import annotations

import csv
import json
import shutil
from contextlib import closing
from pathlib import Path

import duckdb
import pytest

from ifo_pipeline.incremental import IncrementalBasis, project_fingerprint
from ifo_pipeline.runner import run_pipeline
from ifo_pipeline.settings import Settings

HUVUDBOK = "model.ifo.huvudbok"


def last_huvudbok_build(settings: Settings) -> dict:
    """run_results.json of the latest dbt invocation that built marts.huvudbok."""
    return json.loads((last_huvudbok_build_dir(settings) / "run_results.json").read_text())


def last_huvudbok_build_dir(settings: Settings) -> Path:
    """The target folder of the latest dbt invocation that built marts.huvudbok."""
    invocations = sorted(
        settings.dbt_target_dir.glob("*/run_results.json"), key=lambda p: p.stat().st_mtime
    )
    for path in reversed(invocations):
        results = json.loads(path.read_text())
        if any(r["unique_id"] == HUVUDBOK for r in results["results"]):
            return path.parent
    raise AssertionError("no dbt invocation built marts.huvudbok")


def huvudbok(settings: Settings) -> list[tuple]:
    with closing(duckdb.connect(str(settings.warehouse_path), read_only=True)) as con:
        return con.execute("SELECT * FROM marts.huvudbok ORDER BY ALL").fetchall()


def rewrite_csv(path: Path, change) -> None:
    """Rewrite a semicolon file row by row: `change(index, row)` returns the row, or None to
    drop it."""
    with path.open(encoding="utf-8", newline="") as fh:
        header, *rows = list(csv.reader(fh, delimiter=";"))
    kept = [header, *(r for r in (change(i, r) for i, r in enumerate(rows)) if r is not None)]
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter=";", lineterminator="\n").writerows(kept)


def corrected_february(index: int, row: list[str]) -> list[str] | None:
    if row[1] == "Totalt" or index == 5:  # a line dropped; the old control total no longer holds
        return None
    return [*row[:7], "999 999,00", *row[8:]] if index == 0 else row


@pytest.fixture(scope="module")
def night(demo, tmp_path_factory) -> Settings:
    """The demo's warehouse and landing area copied, then a night's deliveries landed: a
    corrected February 2019 (one amount changed, one line dropped), a corrected January 2019
    whose every line is rejected, and a report structure moving unit 5100 in 2017-2018."""
    built, _ = demo
    root = tmp_path_factory.mktemp("incremental")
    settings = Settings(warehouse_dir=root / "warehouse", landing_dir=root / "landing")
    shutil.copytree(built.warehouse_dir, settings.warehouse_dir)
    shutil.copytree(built.landing_dir, settings.landing_dir)
    ledger = settings.landing_dir / "ledger"

    february = ledger / "huvudbok_201902_rattad.csv"
    shutil.copyfile(ledger / "huvudbok_201902.csv", february)
    rewrite_csv(february, corrected_february)
    january = ledger / "huvudbok_201901_rattad.csv"
    shutil.copyfile(ledger / "huvudbok_201901.csv", january)
    rewrite_csv(january, lambda i, r: None if r[1] == "Totalt" else [*r[:2], "XXXX", *r[3:]])
    rewrite_csv(
        settings.landing_dir / "config" / "rapportstruktur.csv",
        lambda i, r: (
            [*r[:4], "Placeringar vuxna", *r[5:]] if r[:3] == ["2017", "2018", "5100"] else r
        ),
    )
    outcome = run_pipeline(settings, offline=True)
    assert outcome.success, outcome.failure_message
    return settings


def unit_tests_run(results: dict) -> int:
    return sum(r["unique_id"].startswith("unit_test.") for r in results["results"])


def test_a_night_rebuilds_the_changed_months_in_place(night):
    build = last_huvudbok_build(night)
    assert not build["args"].get("full_refresh")
    # The same code as the last build: its unit tests passed then, they are not run again.
    assert build["args"]["exclude_resource_types"] == ["unit_test"]
    assert unit_tests_run(build) == 0
    with closing(duckdb.connect(str(night.warehouse_path), read_only=True)) as con:
        months = dict(
            con.execute(
                """SELECT ar * 100 + manad, count(*) FROM marts.huvudbok
                   WHERE ar = 2019 GROUP BY ALL"""
            ).fetchall()
        )
        assert 201901 not in months  # every line of the correction rejected: none left
        february = con.execute(
            """SELECT count(*), count(*) FILTER (belopp = -999999), min(fil)
               FROM marts.huvudbok WHERE ar = 2019 AND manad = 2"""
        ).fetchone()
        assert february == (months[201902], 1, "huvudbok_201902_rattad.csv")
        assert (
            february[0]
            == con.execute(
                "SELECT count(*) FROM raw.ledger_lines WHERE period = 201902"
            ).fetchone()[0]
        )
        moved = con.execute(
            """SELECT DISTINCT rapportrad FROM marts.huvudbok
               WHERE ansvar = '5100' AND ar IN (2017, 2018)"""
        ).fetchall()
        assert moved == [("Placeringar vuxna",)]
        # Two months: loaded, built and published in one Dagster run (a first load takes two).
        last = con.execute(
            """SELECT months, outcome, published FROM ops.runs WHERE job = 'ifo_all'
               ORDER BY started_at DESC LIMIT 1"""
        ).fetchone()
        assert last == ("2019-01..2019-02", "succeeded", True)


def test_a_night_on_the_same_code_leaves_views_and_seeds_standing_and_tests_them(night):
    folder = last_huvudbok_build_dir(night)
    nodes = json.loads((folder / "manifest.json").read_text())["nodes"]
    results = {r["unique_id"]: r["status"] for r in last_huvudbok_build(night)["results"]}
    standing = {
        uid
        for uid, node in nodes.items()
        if node["resource_type"] == "seed" or node["config"].get("materialized") == "view"
    }
    assert "model.ifo.stg_ledger__lines" in standing and "model.ifo.resultatrapport_tkr" in standing
    assert not standing & results.keys()  # not made again
    tests_of_standing = {
        uid
        for uid, node in nodes.items()
        if node["resource_type"] == "test" and standing & set(node["depends_on"]["nodes"])
    }
    assert len(tests_of_standing) > 10
    assert {results.get(uid) for uid in tests_of_standing} == {"pass"}  # every one run, passed
    assert {"model.ifo.resultatrapport", HUVUDBOK} <= results.keys()  # the tables are rebuilt


def test_the_incremental_table_is_the_table_a_whole_rebuild_gives(night):
    incremental = huvudbok(night)
    outcome = run_pipeline(night, offline=True, force=True)  # --force rebuilds it whole
    assert outcome.success, outcome.failure_message
    whole = last_huvudbok_build(night)
    assert whole["args"].get("full_refresh") is True
    assert unit_tests_run(whole) >= 8  # a build that may run other code tests it
    assert all(r["status"] == "pass" for r in whole["results"] if "unit_test." in r["unique_id"])
    assert huvudbok(night) == incremental


def test_a_changed_dbt_project_is_built_whole_once(tmp_path):
    project = tmp_path / "dbt_project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: ifo\n")
    (project / "profiles.yml").write_text("ifo: {}\n")
    model = project / "models" / "huvudbok.sql"
    model.write_text("select 1 as ar\n")
    state = tmp_path / "warehouse" / "dbt" / "incremental_basis"

    assert IncrementalBasis(state, project).stale()  # never built: whole
    IncrementalBasis(state, project).record()
    assert not IncrementalBasis(state, project).stale()
    model.write_text("select 2 as ar\n")
    assert IncrementalBasis(state, project).stale()  # the code changed: whole, once
    IncrementalBasis(state, project).record()
    assert not IncrementalBasis(state, project).stale()
    before = project_fingerprint(project)
    model.touch()  # a fresh checkout of the same code is the same project
    (project / "dbt_project.yml").write_text("name: ifo\nvars: {cost_kind_unmapped: x}\n")
    assert project_fingerprint(project) != before
