"""SIE 4 against CSV: the same ledger lines delivered both ways, each loaded into a warehouse of
its own by the ledger's load (`ingest.load_source`), alternating, as many rounds as asked.

    .venv/bin/python -m bench.sie --lines 1000000 --rounds 2 --json bench/results/sie_1m.json

The target (issue: many municipalities): a SIE file loads within 1.5x the time of the same
lines as CSV. Both files are written by DuckDB from one table, so they hold the same lines,
amounts and codes; the SIE file groups them five to a voucher, with dimensions 1 (ansvar) and
20 (verksamhet) mapped by `config/sie_dimensioner.csv`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from contextlib import closing
from pathlib import Path

import duckdb

from ifo_pipeline.ingest import load_source
from ifo_pipeline.settings import Settings
from ifo_pipeline.store.sources import LEDGER
from ifo_pipeline.store.warehouse import connect

LINES_PER_VOUCHER = 5
CSV_HEADER = (
    "Period;Ansvar;Konto;Verksamhet;Aktivitet;Projekt;Motpart;Belopp;Verifikation;"
    "Bokforingsdatum;Text"
)
SIE_HEAD = (
    '#FLAGGA 0\n#PROGRAM "bench" 1\n#FORMAT PC8\n#GEN 20200105\n#SIETYP 4\n'
    '#FNAMN "Kommunen"\n#RAR 0 20190101 20191231\n#DIM 1 "Ansvar"\n#DIM 20 "Verksamhet"\n'
)


def lines_table(con: duckdb.DuckDBPyConnection, lines: int) -> None:
    """The ledger lines of 2019: units, accounts and activities with a long tail, öre amounts,
    a voucher of five lines, a text now and then with quotes."""
    con.execute(f"""
        CREATE OR REPLACE TABLE lines AS
        SELECT i,
            i // {LINES_PER_VOUCHER} AS voucher,
            201901 + (i * 12 // {lines}) AS period,
            CAST(5000 + (hash(i) % 300) * (hash(i) % 300) // 300 AS VARCHAR) AS ansvar,
            CAST(4000 + hash(i + 1) % 900 AS VARCHAR) AS konto,
            CAST(56000 + (hash(i + 2) % 40) * 10 AS VARCHAR) AS verksamhet,
            CAST((CAST(hash(i + 3) % 2000000 AS BIGINT) - 1000000) / 100 AS DECIMAL(18, 2))
                AS belopp,
            CASE WHEN i % 7 = 0 THEN 'Placering "HVB" vecka ' || (i % 52) ELSE 'Lön' END AS text
        FROM range({lines}) r(i)""")


def write_csv(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"""
        COPY (SELECT period AS "Period", ansvar AS "Ansvar", konto AS "Konto",
                     verksamhet AS "Verksamhet", '' AS "Aktivitet", '' AS "Projekt",
                     '' AS "Motpart", replace(CAST(belopp AS VARCHAR), '.', ',') AS "Belopp",
                     'A' || voucher AS "Verifikation",
                     strftime(make_date(period // 100, period % 100, 15), '%Y-%m-%d')
                         AS "Bokforingsdatum", text AS "Text"
              FROM lines ORDER BY i)
        TO '{path}' (HEADER, DELIMITER ';')""")


def write_sie(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """The same lines as vouchers: `#VER`, `{`, five `#TRANS`, `}` (written in batches)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    relation = con.sql("""
        SELECT '#VER A ' || voucher || ' ' || (min(period) * 100 + 15) || ' "Verifikation"'
               || chr(10) || '{' || chr(10)
               || string_agg('#TRANS ' || konto || ' {1 "' || ansvar || '" 20 "'
                   || verksamhet || '"} ' || CAST(belopp AS VARCHAR) || ' '
                   || (period * 100 + 15) || ' "' || replace(text, '"', '\\"') || '"',
                   chr(10) ORDER BY i)
               || chr(10) || '}' AS block
        FROM lines GROUP BY voucher ORDER BY voucher""")
    with path.open("w", encoding="cp437", newline="\n") as fh:
        fh.write(SIE_HEAD)
        reader = relation.to_arrow_reader(batch_size=50_000)
        for batch in reader:
            fh.write("\n".join(batch.column(0).to_pylist()))
            fh.write("\n")


def load_seconds(landing: Path, root: Path) -> tuple[float, tuple]:
    """One load of the landing area into a new warehouse: seconds, and what was loaded."""
    warehouse = root / "warehouse"
    shutil.rmtree(warehouse, ignore_errors=True)
    settings = Settings(warehouse_dir=warehouse, landing_dir=landing)
    start = time.perf_counter()
    load_source(settings, LEDGER)
    seconds = time.perf_counter() - start
    with closing(connect(settings.warehouse_path)) as con:
        loaded = con.execute(
            "SELECT count(*), sum(belopp), count(DISTINCT period) FROM raw.ledger_lines"
        ).fetchone()
    return seconds, loaded


def run(lines: int, rounds: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with closing(duckdb.connect()) as con:
            lines_table(con, lines)
            write_csv(con, root / "csv" / "ledger" / "huvudbok_2019.csv")
            write_sie(con, root / "sie" / "sie" / "huvudbok_2019.se")
        (root / "sie" / "config").mkdir()
        (root / "sie" / "config" / "sie_dimensioner.csv").write_text(
            "Dimension;Kolumn\n1;Ansvar\n20;Verksamhet\n", encoding="utf-8"
        )
        timings: dict[str, list[float]] = {"csv": [], "sie": []}
        loaded = {}
        for _ in range(rounds):
            for kind in ("csv", "sie"):  # alternating: a slow minute hits both
                seconds, loaded[kind] = load_seconds(root / kind, root / f"w_{kind}")
                timings[kind].append(round(seconds, 2))
        sizes = {
            "csv": (root / "csv" / "ledger" / "huvudbok_2019.csv").stat().st_size,
            "sie": (root / "sie" / "sie" / "huvudbok_2019.se").stat().st_size,
        }
    return {
        "lines": lines,
        "rounds": rounds,
        "seconds": timings,
        "ratio_sie_to_csv": round(min(timings["sie"]) / min(timings["csv"]), 2),
        "bytes": sizes,
        "loaded": {k: [v[0], str(v[1]), v[2]] for k, v in loaded.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = run(args.lines, args.rounds)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
