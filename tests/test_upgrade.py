"""An existing single-municipality installation upgrades in place, losing nothing.

The warehouse is written by the release before the municipality key (RELEASE, taken from this
repository's history and run as it was), then the current code runs on it with nothing new
landed: the marts gain `kommunkod` and every row they and the ops tables held is still there.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from contextlib import closing
from pathlib import Path

import duckdb
import pytest

from ifo_pipeline.settings import Settings
from tests.conftest import REPO
from tests.test_cli_operations import environment, ifo

# The last release without `kommunkod` (stop 34 of the tracker, CI passed).
RELEASE = "b9d7e9e84ca63b85452f92990ac3c2e785deec94"


def released_source(target: Path) -> Path:
    """The release's files (git archive), or a skip naming why they cannot be had."""
    done = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", RELEASE],
        capture_output=True,
        timeout=120,
    )
    if done.returncode != 0:
        pytest.skip(f"the release {RELEASE[:7]} is not in this clone's history: {done.stderr!r}")
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        archive.extractall(target, filter="data")
    return target


def relations(path: Path) -> dict[str, set[tuple]]:
    """Every row of every table in the published file, without `kommunkod`."""
    with closing(duckdb.connect(str(path), read_only=True)) as con:
        names = con.execute(
            "SELECT schema_name || '.' || table_name FROM duckdb_tables() ORDER BY 1"
        ).fetchall()
        found = {}
        for (name,) in names:
            has_code = con.execute(
                "SELECT count(*) FROM duckdb_columns() WHERE schema_name || '.' || table_name = ?"
                " AND column_name = 'kommunkod'",
                [name],
            ).fetchone()[0]
            select = "SELECT * EXCLUDE (kommunkod)" if has_code else "SELECT *"
            found[name] = set(con.execute(f"{select} FROM {name}").fetchall())
    return found


def raw_counts(path: Path) -> dict[str, int]:
    with closing(duckdb.connect(str(path), read_only=True)) as con:
        names = con.execute(
            "SELECT schema_name || '.' || table_name FROM duckdb_tables() "
            "WHERE schema_name IN ('raw', 'ops') ORDER BY 1"
        ).fetchall()
        return {n: con.execute(f"SELECT count(*) FROM {n}").fetchone()[0] for (n,) in names}


def test_a_warehouse_written_by_the_last_release_upgrades_without_losing_a_row(tmp_path):
    source = released_source(tmp_path / "release")
    settings = Settings(warehouse_dir=tmp_path / "warehouse", landing_dir=tmp_path / "landing")
    old = {**environment(settings), "PYTHONPATH": str(source)}
    for args in (("sample", "--rows", "4"), ("run", "--offline")):
        done = subprocess.run(
            [sys.executable, "-m", "ifo_pipeline.cli", *args],
            env=old,
            cwd=source,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    before = relations(settings.published_path)
    raw_before = raw_counts(settings.warehouse_path)
    with closing(duckdb.connect(str(settings.published_path), read_only=True)) as con:
        columns = con.execute("SELECT * FROM marts.resultatrapport LIMIT 0").description
    assert "kommunkod" not in {c[0] for c in columns}  # the release's shape, run as released

    done = ifo("run", "--offline", env=environment(settings))  # this code, nothing new landed
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Nothing new" not in done.stdout  # a new release rebuilds and publishes its shape

    after = relations(settings.published_path)
    with closing(duckdb.connect(str(settings.published_path), read_only=True)) as con:
        codes = con.execute("SELECT DISTINCT kommunkod FROM marts.huvudbok").fetchall()
        run_codes = con.execute("SELECT DISTINCT kommunkod FROM ops.runs").fetchall()
    assert codes == [("0138",)] and run_codes == [("0138",)]
    assert set(before) <= set(after)
    for name, rows in before.items():
        if name == "ops.runs":  # a run's record is finished after it published: its id stays
            rows, after[name] = {r[0] for r in rows}, {r[0] for r in after[name]}
        lost = rows - after[name]
        assert not lost, f"{name} lost {len(lost)} row(s), e.g. {sorted(lost)[:2]}"
    raw_after = raw_counts(settings.warehouse_path)
    assert {k: v for k, v in raw_after.items() if k != "ops.runs"} == {
        k: v for k, v in raw_before.items() if k != "ops.runs"
    }
    assert raw_after["ops.runs"] > raw_before["ops.runs"]
    assert os.access(settings.published_path, os.R_OK)
