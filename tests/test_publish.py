"""Publishing: the new file is the working database's marts and ops, exactly, and a night
copies only the months of marts.huvudbok that changed."""

from __future__ import annotations

import json
import logging
from contextlib import closing

import duckdb

from ifo_pipeline.publish import (
    month_fingerprints_path,
    publish_marts,
    read_month_fingerprints,
)
from ifo_pipeline.settings import STORAGE_VERSION


def _working(path, rows):
    with closing(duckdb.connect(str(path))) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.execute("CREATE SCHEMA IF NOT EXISTS ops")
        con.execute(
            """CREATE OR REPLACE TABLE marts.huvudbok
               (ar INTEGER, manad INTEGER, belopp DECIMAL(18, 2), rad INTEGER)"""
        )
        con.execute("COMMENT ON TABLE marts.huvudbok IS 'Huvudboken.'")
        con.executemany("INSERT INTO marts.huvudbok VALUES (?, ?, ?, ?)", rows)
        con.execute("CREATE OR REPLACE TABLE ops.runs AS SELECT 1 AS run")


def _published(path):
    with closing(duckdb.connect(str(path), read_only=True)) as con:
        rows = con.execute("SELECT * FROM marts.huvudbok ORDER BY ALL").fetchall()
        comment = con.execute(
            "SELECT comment FROM duckdb_tables() WHERE table_name = 'huvudbok'"
        ).fetchone()[0]
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    return rows, comment, tables


def test_a_night_copies_the_changed_months_and_the_file_equals_the_source(tmp_path, caplog):
    working, published = tmp_path / "pipeline.duckdb", tmp_path / "ifo.duckdb"
    first = [(2019, m, 100 * m, line) for m in (1, 2, 3) for line in range(2, 6)]
    _working(working, first)
    publish_marts(working, published)
    assert _published(published)[0] == sorted(first)

    # March corrected (one amount), April new, January withdrawn: three months differ.
    second = (
        [r for r in first if r[1] == 2]
        + [(2019, 3, 301 if line == 2 else 300, line) for line in range(2, 6)]
        + [(2019, 4, 400, line) for line in range(2, 4)]
    )
    _working(working, second)
    with caplog.at_level(logging.INFO, logger="ifo_pipeline.publish"):
        copied = publish_marts(working, published)
    rows, comment, tables = _published(published)
    assert rows == sorted(second) and copied["marts.huvudbok"] == len(second)
    assert comment == "Huvudboken." and tables == {"huvudbok", "runs"}
    assert "marts.huvudbok: 3 month(s) changed" in caplog.text

    # Nothing changed: nothing copied, the same file.
    with caplog.at_level(logging.INFO, logger="ifo_pipeline.publish"):
        publish_marts(working, published)
    assert "marts.huvudbok: 0 month(s) changed" in caplog.text
    assert _published(published)[0] == sorted(second)


def test_a_published_file_that_cannot_be_reused_is_replaced_whole(tmp_path):
    working, published = tmp_path / "pipeline.duckdb", tmp_path / "ifo.duckdb"
    _working(working, [(2019, 1, 5, 2)])
    published.write_bytes(b"not a database")
    publish_marts(working, published)
    assert _published(published)[0] == [(2019, 1, 5, 2)]
    assert not list(tmp_path.glob(".ifo.duckdb.*.tmp"))


def test_the_published_file_is_read_only_and_the_next_night_still_replaces_it(tmp_path):
    """Issue: a controller's tool opened ifo.duckdb without read_only and took a CREATE TABLE.
    The file is mode 0444 (for everyone but root, whose every write the OS allows); a night
    replaces the file by a rename, so it needs no write access to the file, only the folder."""
    working, published = tmp_path / "pipeline.duckdb", tmp_path / "ifo.duckdb"
    _working(working, [(2019, 1, 5, 2)])
    publish_marts(working, published)
    assert published.stat().st_mode & 0o777 == 0o444
    _working(working, [(2019, 1, 5, 3)])
    publish_marts(working, published)
    assert published.stat().st_mode & 0o777 == 0o444
    assert _published(published)[0] == [(2019, 1, 5, 3)]


def storage_version(path) -> str:
    with closing(duckdb.connect()) as con:
        con.execute(f"ATTACH '{path}' AS file (READ_ONLY)")
        return con.execute(
            "SELECT tags['storage_version'] FROM duckdb_databases() WHERE database_name = 'file'"
        ).fetchone()[0]


def test_the_files_the_pipeline_makes_are_in_its_storage_format(demo):
    # settings.STORAGE_VERSION: DuckDB's newer text compression, a third faster to write.
    settings, _ = demo
    assert storage_version(settings.warehouse_path) == f"{STORAGE_VERSION}+"
    assert storage_version(settings.published_path) == f"{STORAGE_VERSION}+"


def test_a_published_file_of_an_older_format_is_built_upon_and_keeps_it(tmp_path):
    working, published = tmp_path / "pipeline.duckdb", tmp_path / "ifo.duckdb"
    _working(working, [(2019, 1, 5, 2)])
    with closing(duckdb.connect(str(published))) as con:  # DuckDB's default: readable by 1.0
        con.execute("CREATE SCHEMA marts")
        con.execute(
            """CREATE TABLE marts.huvudbok
               (ar INTEGER, manad INTEGER, belopp DECIMAL(18, 2), rad INTEGER)"""
        )
        con.execute("INSERT INTO marts.huvudbok VALUES (2019, 1, 5, 2), (2019, 2, 7, 2)")
    older = storage_version(published)
    assert older != f"{STORAGE_VERSION}+"
    publish_marts(working, published)
    assert _published(published)[0] == [(2019, 1, 5, 2)]
    assert storage_version(published) == older


def test_the_published_months_fingerprints_are_kept_and_used_while_the_file_is_unchanged(
    tmp_path, caplog
):
    working, published = tmp_path / "pipeline.duckdb", tmp_path / "ifo.duckdb"
    rows = [(2019, m, 100 * m, line) for m in (1, 2, 3) for line in range(2, 6)]
    _working(working, rows)
    publish_marts(working, published)
    kept = read_month_fingerprints(published)["marts.huvudbok"]
    assert [m[:3] for m in kept.months] == [[2019, 1, 4], [2019, 2, 4], [2019, 3, 4]]

    # The kept record is what the next publish compares with, not the file: a record saying
    # February differs makes February copied again.
    record_path = month_fingerprints_path(published)
    record = json.loads(record_path.read_text())
    record["tables"]["marts.huvudbok"]["months"][1][3] += 1
    record_path.write_text(json.dumps(record))
    with caplog.at_level(logging.INFO, logger="ifo_pipeline.publish"):
        publish_marts(working, published)
    assert "marts.huvudbok: 1 month(s) changed" in caplog.text
    assert _published(published)[0] == sorted(rows)

    # Written to after it was published (a controller's session opened for writing): the record
    # no longer describes the file, which is compared itself and made whole again.
    with closing(duckdb.connect(str(published))) as con:
        con.execute("DELETE FROM marts.huvudbok WHERE manad = 3")
    assert read_month_fingerprints(published) == {}
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="ifo_pipeline.publish"):
        publish_marts(working, published)
    assert "marts.huvudbok: 1 month(s) changed" in caplog.text
    assert _published(published)[0] == sorted(rows)
    assert read_month_fingerprints(published)["marts.huvudbok"] == kept
