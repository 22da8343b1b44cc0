"""Kolada through the whole pipeline: the demo's comparison mart, and nightly fetches from a
local server replaying the landed snapshot (failing, recovering, failing for good)."""

from __future__ import annotations

import json
from contextlib import closing
from urllib.parse import urlsplit

import duckdb
import pytest

from ifo_pipeline.incremental import BuildBasis, source_fingerprints
from ifo_pipeline.kolada.landing import MANIFEST
from ifo_pipeline.publish import connect_published
from ifo_pipeline.runner import run_pipeline
from ifo_pipeline.sample.generator import KOLADA_SNAPSHOT, generate_sample
from ifo_pipeline.settings import Settings
from ifo_pipeline.store.warehouse import connect
from tests.conftest import read_semicolon_csv

FAST_RETRIES = {
    "ops": {
        "kolada__landed_responses": {
            "config": {"backoff_seconds": 0.01, "max_attempts": 3, "timeout_seconds": 5}
        }
    }
}


def test_the_demo_shows_tyreso_from_20_1_to_14_4(demo, shared_dir):
    settings, _ = demo
    facts = read_semicolon_csv(shared_dir / "reference" / "kolada_facts.csv")
    with closing(connect_published(settings.published_path)) as con:
        rows = {
            r[0]: r[1:]
            for r in con.execute(
                """SELECT ar, avvikelse_pct, forandring_pct_enheter, forandring_relativ,
                      jamforbar_med_fg_ar, roll
               FROM marts.nettokostnadsavvikelse WHERE kommun_id = '0138'"""
            ).fetchall()
        }
    for fact in facts:
        assert rows[int(fact["ar"])][0] == pytest.approx(float(fact["value"]))
    pct, points, relative, comparable, role = rows[2019]
    assert (points, relative) == (-5.7, -28.4)  # the document's "drygt 30 procent" is not
    assert comparable is False  # N30001 changed model between 2018 and 2019
    assert rows[2018][3] is True and role == "hemkommun"
    # −2,6 → 20,1: a change of sign has no relative change (it would read as 873 %).
    assert rows[2017][0] < 0 < rows[2018][0] and rows[2018][2] is None
    assert rows[2018][1] == pytest.approx(22.7)
    with closing(connect_published(settings.published_path)) as con:
        statuses = dict(
            con.execute(
                """SELECT ar, forandring_relativ_status FROM marts.nettokostnadsavvikelse
                   WHERE kommun_id = '0138'"""
            ).fetchall()
        )
    assert statuses == {2017: "saknas", 2018: "teckenbyte", 2019: "beraknad"}


def test_the_comparison_has_every_member_the_group_and_the_country(demo):
    settings, _ = demo
    with closing(connect_published(settings.published_path)) as con:
        roles = dict(
            con.execute("""SELECT roll, count(*) FROM marts.nettokostnadsavvikelse
                                    WHERE ar = 2019 GROUP BY roll""").fetchall()
        )
        ranks = [
            r[0]
            for r in con.execute("""SELECT rang_i_grupp FROM marts.nettokostnadsavvikelse
            WHERE ar = 2019 AND roll IN ('hemkommun', 'jamforelsekommun')
            ORDER BY avvikelse_pct""").fetchall()
        ]
        # A group's published % is the mean of its members' %, not the % of its mean costs:
        # only a municipality's published figure must agree with its parts.
        recomputed = con.execute("""SELECT max(abs(avvikelse_differens))
            FROM marts.nettokostnadsavvikelse WHERE roll <> 'grupp'""").fetchone()[0]
        estimate = con.execute("""SELECT nettokostnad_kr_inv_prognos, referenskostnad_kr_inv,
            avvikelse_pct_uppskattad, beskrivning FROM marts.nettokostnadsavvikelse_prognos
            WHERE ar = 2019""").fetchone()
    assert roles == {"hemkommun": 1, "jamforelsekommun": 7, "grupp": 1, "riket": 1}
    assert ranks == list(range(1, 9))
    assert recomputed < 0.5  # the published figure agrees with its parts
    cost, reference, deviation, text = estimate
    assert deviation == pytest.approx((cost - reference) * 100 / reference, abs=0.1)
    assert text.startswith("Egen uppskattning, inte Koladas")


def test_null_missing_and_zero_stay_apart(demo):
    settings, _ = demo
    with closing(duckdb.connect(str(settings.warehouse_path), read_only=True)) as con:

        def value(kpi, municipality, year):
            return con.execute(
                """SELECT count(*), max(kpi_value) FROM staging.stg_kolada__values
                WHERE kpi_id = ? AND municipality_id = ? AND year = ? AND gender = 'T'""",
                [kpi, municipality, year],
            ).fetchone()

        assert value("N30026", "2284", 2017) == (1, None)  # Kolada said null
        assert value("N33016", "1494", 2019) == (0, None)  # no row at all
        assert value("N35019", "0486", 2018) == (1, 0.0)  # a real zero


def replay_snapshot(httpserver, failures_before_answer: int | None) -> list[str]:
    """Serve the landed snapshot at the server's /v3; the data URL fails first (or always)."""
    manifest = json.loads((KOLADA_SNAPSHOT / MANIFEST).read_text(encoding="utf-8"))
    paths = []
    for entry in manifest["responses"]:
        url = urlsplit(entry["url"])
        path = url.path  # /v3/...
        body = (KOLADA_SNAPSHOT / entry["file"]).read_bytes()
        if entry["kind"] == "data":
            if failures_before_answer is None:
                httpserver.expect_request(path).respond_with_data("unavailable", status=503)
                paths.append(path)
                continue
            for _ in range(failures_before_answer):
                httpserver.expect_oneshot_request(path).respond_with_data("busy", status=500)
        httpserver.expect_request(path, query_string=url.query).respond_with_data(
            body, content_type="application/json"
        )
        paths.append(path)
    return paths


def fresh_settings(tmp_path, httpserver) -> Settings:
    return Settings(
        warehouse_dir=tmp_path / "warehouse",
        landing_dir=tmp_path / "landing",
        kolada_base_url=httpserver.url_for("/v3"),
    )


def test_a_nightly_fetch_that_fails_twice_then_answers_completes(tmp_path, httpserver):
    settings = fresh_settings(tmp_path, httpserver)
    generate_sample(settings.landing_dir, rows_per_unit_month=5)
    replay_snapshot(httpserver, failures_before_answer=2)
    outcome = run_pipeline(settings, kolada_config=FAST_RETRIES)
    assert outcome.success, outcome.failure_message
    fetches = sorted(p.name for p in (settings.landing_dir / "kolada").iterdir())
    assert len(fetches) == 2 and not any(f.endswith(".partial") for f in fetches)
    with closing(connect_published(settings.published_path)) as con:
        assert (
            con.execute("""SELECT avvikelse_pct FROM marts.nettokostnadsavvikelse
            WHERE kommun_id = '0138' AND ar = 2019""").fetchone()[0]
            == 14.4
        )
        logged = con.execute(
            """SELECT message FROM ops.load_log WHERE source = 'kolada'
            AND message LIKE ? ORDER BY message""",
            [httpserver.url_for("/v3") + "/data/%"],
        ).fetchall()
    # The fetched responses, one per year (batched by year), with URL, hash and fetch time.
    assert [m[0].split("/year/")[1][:4] for m in logged] == ["2017", "2018", "2019"]
    # The Kolada job built everything the fetch feeds: the next night does not build it again.
    recorded = json.loads(settings.dbt_build_basis.read_text())["sources"]
    kolada = {s: s.removeprefix("source.ifo.") for s in recorded if ".raw.kolada" in s}
    assert len(kolada) == 5
    with closing(connect(settings.warehouse_path)) as con:
        now = source_fingerprints(con, kolada)
    assert BuildBasis(settings.dbt_build_basis).changed_sources(now) == set()


def test_a_fetch_that_keeps_failing_names_the_url_and_keeps_the_old_data(tmp_path, httpserver):
    settings = fresh_settings(tmp_path, httpserver)
    generate_sample(settings.landing_dir, rows_per_unit_month=5)
    first = run_pipeline(settings, offline=True)  # yesterday's good run, from the snapshot
    assert first.success, first.failure_message
    kolada_marts = "SELECT * FROM marts.nettokostnadsavvikelse ORDER BY ALL"
    with closing(connect_published(settings.published_path)) as con:
        before = con.execute(kolada_marts).fetchall()
    paths = replay_snapshot(httpserver, failures_before_answer=None)
    failed = run_pipeline(settings, kolada_config=FAST_RETRIES)
    assert not failed.success and failed.published  # the finance marts were published
    data_path = next(p for p in paths if p.startswith("/v3/data/"))
    assert httpserver.url_for(data_path) in failed.failure_message
    assert "HTTP 503" in failed.failure_message
    assert "The finance marts were published" in failed.failure_message
    assert "from 2020-09-15 02:00 UTC" in failed.failure_message  # the last good fetch
    assert "--offline" in failed.failure_message
    with closing(connect_published(settings.published_path)) as con:
        assert con.execute(kolada_marts).fetchall() == before
    assert not [
        p
        for p in (settings.landing_dir / "kolada").iterdir()
        if p.is_dir() and not p.name.endswith(".partial") and p.name != "fetch_20200915T020000Z"
    ]
    with closing(duckdb.connect(str(settings.warehouse_path), read_only=True)) as con:
        assert con.execute("SELECT count(*) FROM raw.kolada_values").fetchone()[0] > 0
