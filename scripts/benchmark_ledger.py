"""Benchmark: load a synthetic ledger export of N rows through the real loader.

    .venv/bin/python scripts/benchmark_ledger.py --rows 1000000

Writes a semicolon-separated, Swedish-formatted export (with DuckDB, so that writing is not
what is measured) and times `load_file`: hashing and encoding detection, the streamed parse,
the reject rules, personnummer masking, the insert, the reconciliation. Prints rows/second and
the peak resident memory; then what the landing sensor spends reading the file's months and
what reloading one month (a partition) from the archived copy takes. Not a test: speed is
measured here, never asserted in the suite.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from contextlib import closing
from pathlib import Path

import duckdb

from ifo_pipeline.ingest.csv_loader import load_file, reload_months, scan_periods
from ifo_pipeline.ingest.sources import LEDGER
from ifo_pipeline.ingest.warehouse import connect

HEADER = (
    "Period;Ansvar;Konto;Verksamhet;Aktivitet;Projekt;Motpart;Belopp;Verifikation;"
    "Bokforingsdatum;Text"
)


def write_export(path: Path, rows: int) -> None:
    with closing(duckdb.connect()) as con:
        con.execute(f"""
            COPY (
                SELECT 2019 * 100 + 1 + (i % 12) AS Period,
                       CAST(5100 + (i % 17) * 100 AS VARCHAR) AS Ansvar,
                       CAST(4000 + (i % 3700) AS VARCHAR) AS Konto,
                       '569' AS Verksamhet, '' AS Aktivitet, '' AS Projekt,
                       CAST(i % 90 AS VARCHAR) AS Motpart,
                       replace(CAST(CAST((i % 2000000) - 1000000 AS DECIMAL(18, 2)) / 100
                                    AS VARCHAR), '.', ',') AS Belopp,
                       'A' || i AS Verifikation,
                       '2019-01-15' AS Bokforingsdatum,
                       CASE WHEN i % 1000 = 0 THEN 'Placering; avser ärende ' || i
                            ELSE 'Konsultarvode' END AS Text
                FROM range({rows}) t(i)
            ) TO '{path}' (HEADER false, DELIMITER ';', QUOTE '"')
        """)
    body = path.read_bytes()
    path.write_bytes(HEADER.encode() + b"\n" + body)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        export = root / "landing" / "ledger" / "huvudbok_bench.csv"
        export.parent.mkdir(parents=True)
        started = time.perf_counter()
        write_export(export, args.rows)
        written = time.perf_counter() - started
        size_mb = export.stat().st_size / 1e6
        with closing(connect(root / "warehouse" / "ifo.duckdb")) as con:
            started = time.perf_counter()
            result = load_file(con, LEDGER, export, root / "warehouse" / "archive")
            elapsed = time.perf_counter() - started
            balanced = con.execute("SELECT balanced FROM ops.reconciliation").fetchone()[0]
            month = max(result.periods)
            started = time.perf_counter()
            [reload] = reload_months(con, LEDGER, [month])
            reloaded = time.perf_counter() - started
        started = time.perf_counter()
        months = scan_periods(LEDGER, export, {})
        scanned = time.perf_counter() - started
        print(f"scan_periods (the landing sensor, per file): {scanned:.1f} s, {len(months)} months")
        print(
            f"reload_months (one month, {reload.rows_loaded:,} rows, from the archived file): "
            f"{reloaded:.1f} s"
        )
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"rows: {args.rows:,}  file: {size_mb:,.0f} MB (written in {written:.1f} s)")
        print(
            f"load_file: {elapsed:.1f} s, {args.rows / elapsed:,.0f} rows/s, outcome "
            f"{result.outcome}, {result.rows_loaded:,} loaded, {result.rows_rejected} "
            f"rejected, reconciliation balanced: {balanced}"
        )
        print(f"peak resident memory of the process: {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
