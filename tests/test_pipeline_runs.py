"""Whole runs of the Dagster job on real files: failures explained, published marts kept."""

from __future__ import annotations

import hashlib
from contextlib import closing

import dagster as dg
import duckdb

from ifo_pipeline.cli import main
from ifo_pipeline.runner import run_pipeline
from ifo_pipeline.sample.generator import generate_sample
from tests.conftest import write_text

LEDGER_HEADER = (
    "Period;Ansvar;Konto;Verksamhet;Aktivitet;Projekt;Motpart;Belopp;Verifikation;"
    "Bokforingsdatum;Text\n"
)


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def march_nettokostnad(settings) -> float:
    with closing(duckdb.connect(str(settings.published_path), read_only=True)) as con:
        return con.execute("""SELECT nettokostnad_ack FROM marts.resultatrapport
            WHERE ar = 2019 AND manad = 3 AND rapport = 'IFO' AND radtyp = 'summa'""").fetchone()[0]


def test_runs_are_recorded_explained_and_never_publish_a_bad_state(settings, tmp_path):
    (tmp_path / "dagster_home").mkdir()
    instance = dg.DagsterInstance.local_temp(str(tmp_path / "dagster_home"))
    generate_sample(settings.landing_dir, rows_per_unit_month=10)
    good = run_pipeline(settings, instance=instance, offline=True)
    assert good.success, good.failure_message
    assert instance.get_run_by_id(good.run_id).is_success  # visible in the UI's run history
    published = sha(settings.published_path)
    before = march_nettokostnad(settings)

    # 1. A file refused whole: it loads nothing and is named with its line and reason; the
    # rest of the night publishes (the refusal is in the published ops tables), the figures
    # unchanged.
    ledger = settings.landing_dir / "ledger"
    (ledger / "huvudbok_201903_fix.csv").write_bytes(
        LEDGER_HEADER.encode()
        + "201903;5100;4630;569;;;;1,00;;;Försörjning\n".encode()
        + "201903;5100;4630;569;;;;1,00;;;Försörjning\n".encode("cp1252")
    )
    refused = run_pipeline(settings, instance=instance, offline=True)
    assert refused.success and refused.published
    assert len(refused.refused) == 1
    assert "huvudbok_201903_fix.csv, line 3" in refused.refused[0]
    assert "mixes encodings" in refused.refused[0]
    assert march_nettokostnad(settings) == before
    published = sha(settings.published_path)

    # 2. A re-export of Jan–Mar with a unit the report structure lacks: the unit is named,
    # and again nothing is published. (A file holding a period replaces that whole period.)
    reexport = (ledger / "huvudbok_2019_ack_201903.csv").read_text(encoding="utf-8")
    body = reexport.rstrip("\n").rsplit("\n", 1)[0]  # without the control total
    write_text(
        ledger / "huvudbok_2019_ack_201903_v2.csv", body + "\n201903;7777;4630;569;;;;1 000,00;;;\n"
    )
    unmapped = run_pipeline(settings, instance=instance, offline=True)
    assert not unmapped.success
    assert "Ansvar 7777 has data in 2019 but no report line" in unmapped.failure_message
    assert sha(settings.published_path) == published

    # 3. The controllers add the unit to the structure: the run goes through and publishes.
    structure = settings.landing_dir / "config" / "rapportstruktur.csv"
    write_text(
        structure,
        structure.read_text(encoding="utf-8") + "2019;;7777;IFO;Gemensamt/Administration;0;1\n",
    )
    fixed = run_pipeline(settings, instance=instance, offline=True)
    assert fixed.success, fixed.failure_message
    assert march_nettokostnad(settings) == before - 1000


def test_a_bad_row_warns_but_the_run_publishes(settings, capsys):
    generate_sample(settings.landing_dir, rows_per_unit_month=10)
    write_text(
        settings.landing_dir / "ledger" / "huvudbok_201903_b.csv",
        LEDGER_HEADER + "201903;5100;4630;569;;;;12 5OO,00;;;\n201903;5100;4630;569;;;;2,00;;;\n",
    )
    outcome = run_pipeline(settings, offline=True)
    assert outcome.success, outcome.failure_message
    assert any("1 row(s) rejected" in note for note in outcome.notes)


def test_cli_prints_the_report_from_the_published_marts(demo, monkeypatch, capsys):
    settings, _ = demo
    monkeypatch.setenv("IFO_WAREHOUSE_DIR", str(settings.warehouse_dir))
    assert main(["report", "--month", "2019-03"]) == 0
    out = capsys.readouterr().out
    assert "Individ och familjeomsorgen, Jan-Mar 19" in out
    barn = next(line for line in out.splitlines() if line.startswith("Barn och unga"))
    assert barn.split()[3:] == [
        "16",
        "761",
        "-18",
        "022",
        "-1",
        "261",
        "-6",
        "009",
        "-6",
        "923",
        "-8",
        "600",
    ]
    # The volume table, with last year: a long name wraps within its column, its next line.
    lines = out.splitlines()
    assert any(
        line.startswith("Antal nya aktualiseringar") and after.startswith("missbruk")
        for line, after in zip(lines, lines[1:], strict=False)
    )
    assert main(["report", "--month", "2030-01"]) == 1
