"""A municipality-scale landing area for the benchmark, written by DuckDB (10 million lines in
seconds, not a Python loop).

Realistic shape rather than uniform noise: a few hundred units and accounts whose use follows a
long tail (a handful of units and accounts carry most lines), free text that sometimes names a
client by personnummer (made up, valid check digit: the mask has real work), several yearly
files of which one is Windows-1252 with CRLF, a trailing control total on each, budgets per unit
and month, and a report structure that places every unit on a report line.

The last year arrives as a year-to-date file for January–March, so that an incremental night
can land April (`new_month_file`) or a corrected March (`corrected_month_file`).
"""

from __future__ import annotations

import random
from pathlib import Path

import duckdb

from ifo_pipeline.sample.generator import fake_personnummer, split, swedish_amount

UNITS = 300
ACCOUNTS = 300
VERKSAMHETER = 40
REPORT_LINES = (
    "Gemensamt/Administration",
    "Placeringar vuxna",
    "Öppna insatser vuxna",
    "Placeringar barn & ungdom",
    "Öppna insatser barn & ungdom",
    "Ekonomiskt bistånd",
    "Familjerätt & familjerådgivning",
    "Ensamkommande",
)
TEXTS = (
    "Placering HVB",
    "Familjehemsarvode",
    "Konsultarvode",
    "Hyra lokal",
    "Lön",
    "Försörjningsstöd utbetalning",
    "Kontorsmaterial",
    "Statsbidrag",
    "Avgift boende",
    "Köpt jourfamiljehem",
)
FIRST_UNIT = 5000  # ansvar codes 5000..5299


def years_for(lines: int) -> list[int]:
    """Ten yearly files at municipality scale; fewer for a smoke run."""
    count = 10 if lines >= 1_000_000 else 3
    return list(range(2019 - count + 1, 2020))


def write_landing(landing: Path, lines: int, seed: int = 12) -> dict[str, object]:
    """Write ledger, budget and structure files with `lines` ledger lines in total; returns
    what was written (for the benchmark's JSON)."""
    for folder in ("ledger", "budget", "config"):
        (landing / folder).mkdir(parents=True, exist_ok=True)
    years = years_for(lines)
    # Whole years, and three months of the last: each month carries the same share of lines.
    months = [(y, m) for y in years[:-1] for m in range(1, 13)] + [
        (years[-1], m) for m in (1, 2, 3)
    ]
    per_month = max(1, lines // len(months))
    rng = random.Random(seed)
    clients = made_up_clients(seed)
    con = duckdb.connect()
    con.execute(f"SELECT setseed({seed / 100})")
    files = []
    for year in years:
        year_months = [m for y, m in months if y == year]
        name = f"huvudbok_{year}_ack_{year}03.csv" if year == years[-1] else f"huvudbok_{year}.csv"
        # One older year as an Excel-era ERP writes it.
        legacy = year == years[len(years) // 2]
        path = landing / "ledger" / name
        write_ledger(con, path, year, year_months, per_month, clients, legacy=legacy)
        files.append(path)
    (landing / "config" / "rapporter.csv").write_text(
        "GiltigFran;GiltigTill;Rapport;Rubrik;Summarad;Delsummarad;IngarI;Ordning\n"
        f"{years[0]};;IFO;Individ och familjeomsorgen;Totalt individ och familjeomsorgen;;;1\n",
        encoding="utf-8",
    )
    structure = ["GiltigFran;GiltigTill;Ansvar;Rapport;Rapportrad;Sarskild;Ordning"]
    for unit in range(UNITS):
        line = REPORT_LINES[unit % len(REPORT_LINES)]
        order = REPORT_LINES.index(line) + 1
        structure.append(f"{years[0]};;{FIRST_UNIT + unit};IFO;{line};0;{order}")
    (landing / "config" / "rapportstruktur.csv").write_text(
        "\n".join(structure) + "\n", encoding="utf-8"
    )
    for year in years:
        rows = ["Period;Ansvar;Verksamhet;Kommunbidrag"]
        for unit in range(UNITS):
            yearly = rng.randint(100_000, 20_000_000) * 100
            for month, ore in enumerate(split(yearly, [1.0] * 12), start=1):
                rows.append(
                    f"{year}{month:02d};{FIRST_UNIT + unit};{410 + unit % VERKSAMHETER};"
                    f"{swedish_amount(ore)}"
                )
        (landing / "budget" / f"kommunbidrag_{year}.csv").write_text(
            "\n".join(rows) + "\n", encoding="utf-8"
        )
    return {
        "ledger_lines": per_month * len(months),
        "ledger_files": len(files),
        "ledger_bytes": sum(f.stat().st_size for f in files),
        "years": years,
    }


def write_ledger(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    year: int,
    months: list[int],
    per_month: int,
    clients: list[str],
    legacy: bool = False,
    amount_factor: float = 1.0,
) -> None:
    """One ledger export: the contract's header, `per_month` lines per month, a total row."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE lines AS
        WITH raw AS (
            SELECT {year} * 100 + m.month AS period, i,
                   -- Long tails: a few units and accounts carry most of the lines.
                   {FIRST_UNIT} + CAST(floor({UNITS} * pow(random(), 2.2)) AS INTEGER) AS ansvar,
                   CAST(floor({ACCOUNTS} * pow(random(), 3)) AS INTEGER) AS account_rank,
                   random() AS r1, random() AS r2, random() AS r3
            FROM unnest($months) AS m(month), range({per_month}) AS t(i)
        )
        SELECT period,
            ansvar,
            -- Revenue accounts (class 3) for a fifth of the ranks, costs (4–7) for the rest,
            -- and a few balance-sheet lines (class 2) that never count toward nettokostnad.
            CASE WHEN account_rank % 5 = 0 THEN 3000 + account_rank
                 WHEN r3 < 0.01 THEN 2440
                 ELSE 4000 + account_rank * 10 END AS konto,
            410 + (ansvar - {FIRST_UNIT}) % {VERKSAMHETER} AS verksamhet,
            CASE WHEN r2 < 0.3 THEN CAST(10 + floor(r2 * 300) AS INTEGER) END AS motpart,
            CAST(round((CASE WHEN account_rank % 5 = 0 THEN -1 ELSE 1 END)
                       * pow(10, 2 + r1 * 4) * {amount_factor}, 2) AS DECIMAL(18, 2)) AS belopp,
            'V' || lpad(CAST(i AS VARCHAR), 7, '0') AS verifikation,
            period // 100 || '-' || lpad(CAST(period % 100 AS VARCHAR), 2, '0') || '-' ||
                lpad(CAST(CAST(1 + floor(r3 * 28) AS INTEGER) AS VARCHAR), 2, '0')
                AS bokforingsdatum,
            CASE WHEN r3 > 0.995 THEN 'Placering avser ' || $clients[1 + floor(r1 * 200)::INT]
                 ELSE $texts[1 + floor(r2 * {len(TEXTS)})::INT] END AS text
        FROM raw ORDER BY period, i
        """,
        {"months": months, "clients": clients, "texts": list(TEXTS)},
    )
    thousands, minus = ("\xa0", "-") if legacy else (" ", "-")
    tmp = path.with_suffix(".utf8.tmp")
    con.execute(
        f"""
        COPY (
            SELECT period AS Period, ansvar AS Ansvar, konto AS Konto, verksamhet AS Verksamhet,
                   '' AS Aktivitet, '' AS Projekt,
                   coalesce(CAST(motpart AS VARCHAR), '') AS Motpart,
                   {_sv("belopp", thousands, minus)} AS Belopp, verifikation AS Verifikation,
                   bokforingsdatum AS Bokforingsdatum, text AS Text
            FROM lines
        ) TO '{tmp}' (HEADER, DELIMITER ';', QUOTE '', ESCAPE '')
        """
    )
    total = con.execute("SELECT sum(belopp) FROM lines").fetchone()[0]
    ore = int(total * 100)
    newline = "\r\n" if legacy else "\n"
    encoding = "cp1252" if legacy else "utf-8"
    with (
        tmp.open(encoding="utf-8", newline="") as src,
        path.open("w", encoding=encoding, newline="") as dst,
    ):
        for block in iter(lambda: src.read(16 << 20), ""):
            dst.write(block.replace("\n", newline) if legacy else block)
        dst.write(";Totalt;;;;;;" + swedish_amount(ore, thousands, minus) + ";;;" + newline)
    tmp.unlink()


def made_up_clients(seed: int) -> list[str]:
    """200 made-up personnummer with valid check digits (never a real person's)."""
    rng = random.Random(seed)
    return [fake_personnummer(rng) for _ in range(200)]


def _sv(column: str, thousands: str, minus: str) -> str:
    """SQL: a decimal as the Swedish export writes it ('-1 234,50')."""
    return (
        f"(CASE WHEN {column} < 0 THEN '{minus}' ELSE '' END) || "
        f"translate(format('{{:,.2f}}', abs({column})), ',.', '{thousands},')"
    )


def new_month_file(landing: Path, year: int, month: int, per_month: int, seed: int = 99) -> Path:
    """An incremental night's delivery: one new month of the last year, its own file."""
    path = landing / "ledger" / f"huvudbok_{year}{month:02d}.csv"
    with duckdb.connect() as con:
        con.execute(f"SELECT setseed({seed / 100})")
        write_ledger(con, path, year, [month], per_month, made_up_clients(seed))
    return path


def corrected_month_file(landing: Path, year: int, month: int, per_month: int) -> Path:
    """A corrected re-export of a month already loaded (amounts 1 % higher)."""
    path = landing / "ledger" / f"huvudbok_{year}{month:02d}_rattad.csv"
    with duckdb.connect() as con:
        con.execute("SELECT setseed(0.5)")
        write_ledger(con, path, year, [month], per_month, made_up_clients(7), amount_factor=1.01)
    return path
