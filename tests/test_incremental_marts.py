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

from ifo_pipeline.incremental import BuildBasis, Lineage, project_fingerprint, source_fingerprints
from ifo_pipeline.runner import run_pipeline
from ifo_pipeline.settings import Settings
from tests.conftest import marts

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


def test_a_night_builds_what_its_changed_sources_feed_and_leaves_the_rest_standing(night):
    """The night changed the ledger (and so the load log) and the report structure: the volume
    and Kolada marts stand as built and are not tested again; the views and seeds stand; every
    test downstream of the changes runs, the views' included."""
    folder = last_huvudbok_build_dir(night)
    nodes = json.loads((folder / "manifest.json").read_text())["nodes"]
    results = {r["unique_id"]: r["status"] for r in last_huvudbok_build(night)["results"]}

    def tests_of(model: str) -> set[str]:
        return {
            uid
            for uid, node in nodes.items()
            if node["resource_type"] == "test" and model in node["depends_on"]["nodes"]
        }

    views_and_seeds = {
        uid
        for uid, node in nodes.items()
        if node["resource_type"] == "seed" or node["config"].get("materialized") == "view"
    }
    assert "model.ifo.stg_ledger__lines" in views_and_seeds
    assert not views_and_seeds & results.keys()  # not made again
    assert {"model.ifo.resultatrapport", HUVUDBOK} <= results.keys()  # made from the changes
    unchanged_inputs = {"model.ifo.verksamhetsmatt", "model.ifo.nettokostnadsavvikelse"}
    assert not unchanged_inputs & results.keys()
    assert not set().union(*map(tests_of, unchanged_inputs)) & results.keys()
    ledger_view_tests = tests_of("model.ifo.stg_ledger__lines")
    assert len(ledger_view_tests) >= 3
    assert ledger_view_tests <= results.keys()
    assert set(results.values()) == {"success", "pass"}


def test_the_night_s_marts_are_those_a_whole_rebuild_gives(night):
    incremental = marts(night.warehouse_path)
    assert len(incremental) >= 15 and "huvudbok" in incremental
    outcome = run_pipeline(night, offline=True, force=True)  # --force rebuilds it whole
    assert outcome.success, outcome.failure_message
    whole = last_huvudbok_build(night)
    assert whole["args"].get("full_refresh") is True
    assert unit_tests_run(whole) >= 8  # a build that may run other code tests it
    assert all(r["status"] == "pass" for r in whole["results"] if "unit_test." in r["unique_id"])
    rebuilt = marts(night.warehouse_path)
    assert rebuilt.keys() == incremental.keys()
    for name, rows in rebuilt.items():
        assert rows == incremental[name], f"marts.{name} differs from its whole rebuild"


def test_a_failed_build_records_nothing_so_the_next_night_tests_it_again(demo, tmp_path):
    """A dbt test that fails stops the build, and nothing is published. The next night must
    test it again even when its source did not change since: what a build leaves standing is
    judged against the last build that passed, so a failed one records nothing."""
    built, _ = demo
    settings = Settings(warehouse_dir=tmp_path / "warehouse", landing_dir=tmp_path / "landing")
    shutil.copytree(built.warehouse_dir, settings.warehouse_dir)
    shutil.copytree(built.landing_dir, settings.landing_dir)
    published = settings.published_path.read_bytes()
    with closing(duckdb.connect(str(settings.warehouse_path))) as con:
        # A status reported twice for one measure and month, past the ingest's own rules.
        con.execute(
            """INSERT INTO raw.measure_status
               SELECT file_sha256, line_number + 1000, manad, atgard_id, status, kommentar
               FROM raw.measure_status LIMIT 1"""
        )
    basis = settings.dbt_build_basis.read_bytes()
    ledger = settings.landing_dir / "ledger"
    shutil.copyfile(ledger / "huvudbok_201902.csv", ledger / "huvudbok_201902_rattad.csv")
    rewrite_csv(ledger / "huvudbok_201902_rattad.csv", corrected_february)
    outcome = run_pipeline(settings, offline=True)
    assert not outcome.success
    assert "unique_combination_stg_config__measure_status" in outcome.failure_message
    assert settings.published_path.read_bytes() == published
    # The next night compares against the last build that passed: the measures' status
    # counts as changed, and its test runs again, until the data passes it.
    assert settings.dbt_build_basis.read_bytes() == basis


def test_a_changed_dbt_project_is_built_whole_once(tmp_path):
    project = tmp_path / "dbt_project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: ifo\n")
    (project / "profiles.yml").write_text("ifo: {}\n")
    model = project / "models" / "huvudbok.sql"
    model.write_text("select 1 as ar\n")
    state = tmp_path / "warehouse" / "dbt" / "build_basis.json"
    sources = {"source.ifo.raw.ledger_lines": "10:123", "source.ifo.raw.reports": "2:7"}

    assert BuildBasis(state, project).stale()  # never built: whole
    BuildBasis(state, project).record(sources)
    assert not BuildBasis(state, project).stale()
    assert BuildBasis(state, project).changed_sources(sources) == set()
    later = {**sources, "source.ifo.raw.ledger_lines": "11:456", "source.ifo.raw.new": "0:0"}
    assert BuildBasis(state, project).changed_sources(later) == {
        "source.ifo.raw.ledger_lines",
        "source.ifo.raw.new",  # never read by a build: changed
    }
    model.write_text("select 2 as ar\n")
    assert BuildBasis(state, project).stale()  # the code changed: whole, once
    BuildBasis(state, project).record(sources)
    assert not BuildBasis(state, project).stale()
    before = project_fingerprint(project)
    model.touch()  # a fresh checkout of the same code is the same project
    assert project_fingerprint(project) == before
    (project / "dbt_project.yml").write_text("name: ifo\nvars: {cost_kind_unmapped: x}\n")
    assert project_fingerprint(project) != before
    state.write_text("526bf4\n")  # a basis this code cannot read: built whole
    assert BuildBasis(state, project).stale()


def test_a_partial_build_adds_the_sources_it_built_everything_of(tmp_path):
    """The Kolada job builds what the Kolada tables feed: their fingerprints join the record,
    so the next night does not build the Kolada marts again; the ledger's stay as the last
    whole build read them. On a changed project only a whole build records anything."""
    project = tmp_path / "dbt_project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: ifo\n")
    (project / "profiles.yml").write_text("ifo: {}\n")
    state = tmp_path / "build_basis.json"
    ledger, kolada = "source.ifo.raw.ledger_lines", "source.ifo.raw.kolada_values"
    BuildBasis(state, project).record({ledger: "10:1", kolada: "5:1"})

    BuildBasis(state, project).add({kolada: "6:2", ledger: None})
    now = {ledger: "11:2", kolada: "6:2"}
    assert BuildBasis(state, project).changed_sources(now) == {ledger}

    (project / "models" / "m.sql").write_text("select 1\n")  # the project changed
    BuildBasis(state, project).add({kolada: "7:3"})
    assert BuildBasis(state, project).stale()
    assert json.loads(state.read_text())["sources"] == {ledger: "10:1", kolada: "6:2"}


def test_a_source_s_fingerprint_follows_its_rows_not_their_order(tmp_path):
    project = tmp_path / "dbt_project"
    (project / "models").mkdir(parents=True)
    for name in ("dbt_project.yml", "profiles.yml"):
        (project / name).write_text("ifo: {}\n")
    with closing(duckdb.connect()) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.lines (k INTEGER, belopp DECIMAL(18, 2), text VARCHAR)")
        con.execute("INSERT INTO raw.lines VALUES (1, 10.00, 'a'), (2, -5.50, NULL)")
        relations = {"lines": "raw.lines", "missing": "raw.missing"}
        # One unreadable: none is known, every one counts as changed, none is recorded.
        unknown = source_fingerprints(con, relations)
        assert unknown == {"lines": None, "missing": None}
        basis = BuildBasis(tmp_path / "build_basis.json", project)
        assert basis.changed_sources(unknown) == {"lines", "missing"}
        basis.record(unknown)
        assert BuildBasis(tmp_path / "build_basis.json", project).changed_sources(unknown) == {
            "lines",
            "missing",
        }
        relations.pop("missing")

        def fingerprint() -> str:
            return source_fingerprints(con, relations)["lines"]

        first = fingerprint()
        con.execute("CREATE OR REPLACE TABLE raw.lines AS SELECT * FROM raw.lines ORDER BY k DESC")
        assert fingerprint() == first  # the same rows, rewritten in another order
        con.execute("UPDATE raw.lines SET belopp = 10.01 WHERE k = 1")
        assert fingerprint() != first  # one öre
        con.execute("UPDATE raw.lines SET belopp = 10.00 WHERE k = 1")
        assert fingerprint() == first
        con.execute("INSERT INTO raw.lines VALUES (1, 10.00, 'a')")
        assert fingerprint() != first  # a row twice
        con.execute("DELETE FROM raw.lines")
        assert fingerprint() == "0:0"


def test_a_night_on_the_same_project_builds_what_the_changed_sources_feed():
    ledger, volumes = "source.ifo.raw.ledger_lines", "source.ifo.raw.volume_cells"
    graph = {  # unique id: (materialized, parents)
        "model.ifo.stg_ledger": ("view", [ledger]),
        "test.ifo.stg_ledger_test": ("test", ["model.ifo.stg_ledger"]),
        "seed.ifo.codes": ("seed", []),
        "model.ifo.report": ("table", ["model.ifo.stg_ledger", "seed.ifo.codes"]),
        "test.ifo.report_test": ("test", ["model.ifo.report"]),
        "model.ifo.volumes": ("table", [volumes]),
        "test.ifo.volumes_test": ("test", ["model.ifo.volumes"]),
    }
    manifest = {
        "sources": {
            ledger: {"schema": "raw", "identifier": "ledger_lines"},
            volumes: {"schema": "raw", "identifier": "volume_cells"},
        },
        "nodes": {
            uid: {
                "resource_type": uid.split(".")[0],
                "config": {"materialized": materialized},
                "fqn": ["ifo", "folder", uid.split(".")[-1]],
                "depends_on": {"nodes": parents},
            }
            for uid, (materialized, parents) in graph.items()
        },
    }
    lineage = Lineage.from_manifest(manifest)
    assert lineage.sources == {ledger: "raw.ledger_lines", volumes: "raw.volume_cells"}

    night = lineage.same_project_build({ledger})
    assert sorted(night.standing) == ["model.ifo.stg_ledger", "model.ifo.volumes", "seed.ifo.codes"]
    assert night.exclude == [
        "config.materialized:view",
        "resource_type:seed",
        "fqn:ifo.folder.volumes",
        "fqn:ifo.folder.volumes_test",
    ]
    assert not night.builds_nothing  # the report, its test and the view's test

    assert lineage.same_project_build(set()).builds_nothing

    # A partial build: a source counts as built from when all it feeds was built and tested.
    volumes_built = {"model.ifo.volumes", "test.ifo.volumes_test"}
    assert lineage.fully_built({ledger, volumes}, volumes_built) == {volumes}
    assert lineage.fully_built({volumes}, {"model.ifo.volumes"}) == set()  # its test failed
    everything = lineage.same_project_build({ledger, volumes})
    assert everything.exclude == ["config.materialized:view", "resource_type:seed"]
