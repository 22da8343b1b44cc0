"""The same dbt project on Spark (issue #16): the demo's raw layer exported to Parquet,
registered in a local Spark session, built there with `dbt build --target spark`, and every
mart compared with DuckDB's cell for cell: exact for text, integers, decimals and dates, 1e-9
relative for doubles. Run alone with `pytest -m spark`; scripts/test.sh installs Java 17 and
the `spark` extra (pyspark, dbt-spark[session]) first.
"""

from __future__ import annotations

import importlib.util
import math
import shutil
import subprocess
import sys
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ifo_pipeline.export import export_parquet

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark_marts(demo, tmp_path_factory) -> Path:
    if importlib.util.find_spec("pyspark") is None or shutil.which("java") is None:
        pytest.fail("Spark needs Java 17 and `pip install -e '.[spark]'` (scripts/test.sh)")
    settings, _ = demo
    root = tmp_path_factory.mktemp("spark")
    written = export_parquet(settings.warehouse_path, root / "raw")
    assert written["raw.ledger_lines"] > 10_000 and "ops.load_log" in written
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ifo_pipeline.export.spark",
            root / "raw",
            root / "marts",
            root / "work",
        ],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]
    assert "ERROR=0" in done.stdout
    return root / "marts"


def _duckdb_marts(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            """SELECT table_name FROM information_schema.tables
               WHERE table_schema = 'marts' ORDER BY table_name"""
        ).fetchall()
    ]


def _sorted(rows: list[tuple], floats: set[int]) -> list[tuple]:
    def key(row: tuple) -> tuple:
        return tuple(
            (v is None, round(v, 6) if i in floats and v is not None else str(v))
            for i, v in enumerate(row)
        )

    return sorted(rows, key=key)


def _same(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return Decimal(a) == Decimal(b)
    return a == b


def test_every_mart_built_on_spark_equals_duckdbs_cell_for_cell(demo, spark_marts):
    settings, _ = demo
    with closing(duckdb.connect(str(settings.warehouse_path), read_only=True)) as con:
        marts = _duckdb_marts(con)
        assert sorted(p.name for p in spark_marts.iterdir() if p.is_dir()) == marts
        compared = 0
        for mart in marts:
            ours = con.execute(f"SELECT * FROM marts.{mart}")
            columns = [d[0] for d in ours.description]
            duck_rows = ours.fetchall()
            spark = con.execute(
                f"SELECT {', '.join(columns)} FROM read_parquet('{spark_marts / mart}/*.parquet')"
            )
            spark_rows = spark.fetchall()
            assert len(spark_rows) == len(duck_rows), mart
            floats = {i for i, d in enumerate(ours.description) if str(d[1]) in ("DOUBLE", "FLOAT")}
            for left, right in zip(
                _sorted(duck_rows, floats), _sorted(spark_rows, floats), strict=True
            ):
                for column, a, b in zip(columns, left, right, strict=True):
                    assert _same(a, b), f"marts.{mart}.{column}: DuckDB {a!r}, Spark {b!r}"
                    compared += 1
    assert compared > 50_000
