"""`ifo export --format parquet DIR`: the raw layer the dbt sources read, as Parquet."""

from __future__ import annotations

from contextlib import closing

import duckdb

from ifo_pipeline.cli import main


def test_the_export_holds_every_raw_table_and_replaces_only_an_earlier_export(
    demo, tmp_path, monkeypatch, capsys
):
    settings, _ = demo
    monkeypatch.setenv("IFO_WAREHOUSE_DIR", str(settings.warehouse_dir))
    target = tmp_path / "export"
    assert main(["export", "--format", "parquet", str(target)]) == 0
    assert "raw.ledger_lines" in capsys.readouterr().out
    with closing(duckdb.connect(str(settings.warehouse_path), read_only=True)) as con:
        raw = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw'"
            ).fetchall()
        }
        assert {p.name for p in (target / "raw").iterdir()} == raw
        # The ledger by year; every line once, and the same amount to the öre.
        assert sorted(p.name for p in (target / "raw" / "ledger_lines").iterdir()) == [
            "year=2017",
            "year=2018",
            "year=2019",
        ]
        exported = con.execute(
            "SELECT count(*), sum(belopp) FROM "
            f"read_parquet('{target}/raw/ledger_lines/*/*.parquet')"
        ).fetchone()
        assert (
            exported == con.execute("SELECT count(*), sum(belopp) FROM raw.ledger_lines").fetchone()
        )
    assert (target / "ops" / "load_log").is_dir()
    # Again: an earlier export is replaced. A folder of something else is not touched.
    assert main(["export", str(target)]) == 0
    other = tmp_path / "documents"
    other.mkdir()
    (other / "budget.xlsx").write_text("not ours")
    assert main(["export", str(other)]) == 2
    assert "not empty and not an earlier export" in capsys.readouterr().err
    assert (other / "budget.xlsx").read_text() == "not ours"
