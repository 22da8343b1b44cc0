"""Deterministic sample exports for the demo and the tests.

Writes, into a landing directory, what the finance system and the controllers would drop there:
transaction-level ledger exports for 2017, 2018 and January–March 2019 (Kommun-Bas accounts,
RS-based activity codes, counterparties, balance-sheet and class-8 lines that do not count
toward nettokostnad, a trailing control total, personal identity numbers in free text), budgets,
monthly forecasts, and the report structure. The 2018 export is Windows-1252 with CRLF, as an
Excel-era ERP writes it; the 2017 export has the old system's header names and needs the column
mapping. The unit figures come from `organisation.py`; the pipeline must add them up again.
"""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ifo_pipeline.sample.organisation import (
    ATGARDER,
    ATGARDSSTATUS,
    KOLUMNMAPPNING,
    KOSTNADSSLAG,
    MALINDIKATORER,
    RAPPORTER,
    RAPPORTSTRUKTUR,
    UNITS,
)
from ifo_pipeline.sample.volumes import generate_volume_files
from ifo_pipeline.store.sources import LEDGER

KOLADA_SNAPSHOT = Path(__file__).with_name("kolada_snapshot")

COST_ACCOUNTS = ("4610", "4630", "4640", "4710", "5011", "5061", "5411", "6110", "6410", "7010")
REVENUE_ACCOUNTS = ("3410", "3510", "3710", "3910")
MOTPART = ("", "", "", "10", "20", "31", "86")
# Seasonal profiles over the months, as real ones have: cost is lower in the holiday months
# (salaries) and higher in the winter; the budget is spread by a milder profile of its own. They
# differ, and neither gives the first quarter a quarter of the year, so the three reference
# forecasts of marts.budgetavvikelse (linear, budget ratio, last year's profile) differ too.
PROFILE = (1.06, 1.0, 1.1, 1.0, 1.02, 0.98, 0.62, 0.8, 1.05, 1.08, 1.1, 1.19)
BUDGET_PROFILE = (1.0, 0.96, 1.0, 1.0, 1.0, 1.0, 0.9, 0.9, 1.04, 1.05, 1.05, 1.1)
Q1_PROFILE = (0.31, 0.33, 0.36)
LEDGER_HEADER = LEDGER.columns  # the contract's header, as the current system exports it
OLD_SYSTEM_HEADER = (
    "Period",
    "Ansvarsområde",
    "Kontonr",
    "Verksamhetskod",
    "Aktivitet",
    "Projekt",
    "Motpart",
    "Belopp SEK",
    "Verifikation",
    "Bokföringsdatum",
    "Text",
)
TEXTS = (
    "Konsultarvode",
    "Placering HVB",
    "Familjehemsarvode",
    "Hyra lokal",
    "Lön",
    "Försörjningsstöd utbetalning",
    "Kontorsmaterial",
    "Resor; tåg och buss",
    'Utbildning "MI" personal',
    "Statsbidrag",
    "Avgift boende",
)


@dataclass(frozen=True)
class Line:
    period: int
    ansvar: str
    konto: str
    verksamhet: str
    motpart: str
    ore: int  # amount in öre, debit positive
    verifikation: str
    day: int
    text: str


def tkr_to_ore(tkr: float) -> int:
    return int(Decimal(str(tkr)) * 100_000)


def split(total: int, weights: list[float]) -> list[int]:
    """Integers proportional to weights that add up to `total` exactly."""
    scale = sum(weights)
    parts = [int(total * w / scale) for w in weights]
    parts[-1] += total - sum(parts)
    return parts


def fake_personnummer(rng: random.Random) -> str:
    """A made-up number with a valid check digit, so that masking has something to mask."""
    digits = (
        f"{rng.randint(40, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        f"{rng.randint(200, 999):03d}"
    )
    total = 0
    for i, ch in enumerate(digits):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n // 10 + n % 10
    return f"{digits[:6]}-{digits[6:]}{(10 - total % 10) % 10}"


def unit_month_lines(
    rng: random.Random,
    unit_code: str,
    verksamhet: str,
    period: int,
    net_cost_ore: int,
    rows: int,
    voucher: Iterator[int],
) -> list[Line]:
    """Transactions whose classes 3–7 add up to −net_cost, plus lines that must not count."""
    debit_total = -net_cost_ore  # sum of Belopp over classes 3-7
    n_cost = max(2, int(rows * 0.8))
    n_revenue = max(1, rows - n_cost)
    gross_cost = abs(debit_total) + rng.randint(20_000, 80_000) * 100
    revenue = debit_total - gross_cost  # negative
    amounts = split(gross_cost, [rng.random() + 0.05 for _ in range(n_cost)])
    amounts += split(revenue, [rng.random() + 0.05 for _ in range(n_revenue)])
    accounts = [rng.choice(COST_ACCOUNTS) for _ in range(n_cost)]
    accounts += [rng.choice(REVENUE_ACCOUNTS) for _ in range(n_revenue)]
    out = []
    for ore, konto in zip(amounts, accounts, strict=True):
        text = rng.choice(TEXTS)
        if konto in ("4630", "4640") and rng.random() < 0.05:
            text = f"Placering avser {fake_personnummer(rng)}"
        out.append(
            Line(
                period,
                unit_code,
                konto,
                verksamhet,
                rng.choice(MOTPART),
                ore,
                f"A{next(voucher)}",
                rng.randint(1, 28),
                text,
            )
        )
    # Balance sheet (class 2) and financial items (class 8): loaded, never nettokostnad.
    for konto in ("2440", "8410"):
        ore = rng.randint(1_000, 500_000) * 100
        out.append(
            Line(
                period,
                unit_code,
                konto,
                verksamhet,
                "",
                ore if konto == "8410" else -ore,
                f"B{next(voucher)}",
                rng.randint(1, 28),
                "Periodisering",
            )
        )
    rng.shuffle(out)
    return out


def swedish_amount(ore: int, thousands: str = " ", minus: str = "-") -> str:
    sign = minus if ore < 0 else ""
    kronor, rest = divmod(abs(ore), 100)
    grouped = f"{kronor:,}".replace(",", thousands)
    return f"{sign}{grouped},{rest:02d}"


def csv_field(value: str) -> str:
    if ";" in value or '"' in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def write_ledger(
    path: Path,
    lines: list[Line],
    header: tuple[str, ...],
    encoding: str,
    newline: str,
    thousands: str,
    minus: str,
) -> None:
    total = sum(line.ore for line in lines)
    with path.open("w", encoding=encoding, newline="") as fh:
        fh.write(";".join(header) + newline)
        for ln in lines:
            date = f"{ln.period // 100}-{ln.period % 100:02d}-{ln.day:02d}"
            fields = (
                str(ln.period),
                ln.ansvar,
                ln.konto,
                ln.verksamhet,
                "",
                "",
                ln.motpart,
                swedish_amount(ln.ore, thousands, minus),
                ln.verifikation,
                date,
                csv_field(ln.text),
            )
            fh.write(";".join(fields) + newline)
        fh.write(";Totalt;;;;;;" + swedish_amount(total, thousands, minus) + ";;;" + newline)


def year_lines(rng: random.Random, year: int, rows: int, voucher: Iterator[int]) -> list[Line]:
    lines: list[Line] = []
    for unit in UNITS:
        if year == 2017:
            if unit.result_2017 is None:
                continue
            net_cost = tkr_to_ore(unit.result_2017) - tkr_to_ore(unit.budget_2018 or 0)
        else:
            if unit.net_cost_2018 is None:
                continue
            net_cost = tkr_to_ore(unit.net_cost_2018)
        for month, part in enumerate(split(net_cost, list(PROFILE)), start=1):
            lines += unit_month_lines(
                rng, unit.ansvar, unit.verksamhet, year * 100 + month, part, rows, voucher
            )
    return lines


def q1_2019_lines(rng: random.Random, rows: int, voucher: Iterator[int]) -> dict[int, list[Line]]:
    months: dict[int, list[Line]] = {201901: [], 201902: [], 201903: []}
    for unit in UNITS:
        if unit.net_cost_2019_q1 is None:
            continue
        parts = split(tkr_to_ore(unit.net_cost_2019_q1), list(Q1_PROFILE))
        for period, part in zip(months, parts, strict=True):
            months[period] += unit_month_lines(
                rng, unit.ansvar, unit.verksamhet, period, part, rows, voucher
            )
    return months


def budget_csv(year: int) -> str:
    out = ["Period;Ansvar;Verksamhet;Kommunbidrag"]
    for unit in UNITS:
        if year in (2017, 2018):
            if unit.budget_2018 is None:
                continue
            months = split(tkr_to_ore(unit.budget_2018), list(BUDGET_PROFILE))
        else:
            if unit.budget_2019_q1 is None:
                continue
            # The printed figure is the first quarter's; the year follows the profile.
            q1 = tkr_to_ore(unit.budget_2019_q1)
            rest = round(q1 * sum(BUDGET_PROFILE[3:]) / sum(BUDGET_PROFILE[:3]))
            months = split(q1, list(BUDGET_PROFILE[:3])) + split(rest, list(BUDGET_PROFILE[3:]))
        for month, ore in enumerate(months, start=1):
            out.append(f"{year}{month:02d};{unit.ansvar};{unit.verksamhet};{swedish_amount(ore)}")
    return "\n".join(out) + "\n"


def forecasts_2018_csv(rng: random.Random) -> str:
    """Monthly full-year forecasts converging on the outcome by December."""
    out = ["Prognosmanad;Ansvar;Prognos"]
    for unit in UNITS:
        if unit.net_cost_2018 is None:
            continue
        outcome = tkr_to_ore(unit.budget_2018 or 0) + tkr_to_ore(unit.net_cost_2018)
        drift = rng.uniform(-0.04, 0.04) * tkr_to_ore(abs(unit.net_cost_2018) or 100)
        for month in range(1, 13):
            ore = outcome + int(drift * (12 - month) / 11) // 100_000 * 100_000
            out.append(f"2018{month:02d};{unit.ansvar};{swedish_amount(ore)}")
    return "\n".join(out) + "\n"


def forecasts_2019_csv() -> str:
    out = ["Prognosmanad;Ansvar;Prognos"]
    for unit in UNITS:
        feb, mar = unit.forecast_2019
        if feb is None or mar is None:
            continue
        jan = feb - 250 if feb else 0  # January: before the volume increase showed
        for month, tkr in ((1, jan), (2, feb), (3, mar)):
            out.append(f"2019{month:02d};{unit.ansvar};{swedish_amount(tkr_to_ore(tkr))}")
    return "\n".join(out) + "\n"


def generate_sample(landing_dir: Path, rows_per_unit_month: int = 60, seed: int = 2019) -> None:
    """Write the demo's landing files. Same arguments, same bytes."""
    rng = random.Random(seed)
    voucher = iter(range(100_000, 10**9))
    for folder in ("ledger", "budget", "prognos", "config"):
        (landing_dir / folder).mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def text_file(relative: str, content: str, encoding: str = "utf-8") -> None:
        path = landing_dir / relative
        path.write_text(content, encoding=encoding)
        written.append(path)

    text_file("config/rapporter.csv", RAPPORTER)
    text_file("config/rapportstruktur.csv", RAPPORTSTRUKTUR)
    text_file("config/kolumnmappning.csv", KOLUMNMAPPNING)
    text_file("config/kostnadsslag.csv", KOSTNADSSLAG)
    text_file("config/atgarder.csv", ATGARDER)
    text_file("config/atgardsstatus.csv", ATGARDSSTATUS)
    text_file("config/malindikatorer.csv", MALINDIKATORER)
    for year in (2017, 2018, 2019):
        text_file(f"budget/kommunbidrag_{year}.csv", budget_csv(year))
    text_file("prognos/prognos_2018.csv", forecasts_2018_csv(rng))
    text_file("prognos/prognos_2019.csv", forecasts_2019_csv())

    ledger = landing_dir / "ledger"
    write_ledger(
        ledger / "huvudbok_2017.csv",
        year_lines(rng, 2017, rows_per_unit_month // 2, voucher),
        OLD_SYSTEM_HEADER,
        "utf-8-sig",
        "\n",
        " ",
        "-",
    )
    write_ledger(
        ledger / "huvudbok_2018.csv",
        year_lines(rng, 2018, rows_per_unit_month, voucher),
        LEDGER_HEADER,
        "cp1252",
        "\r\n",
        "\xa0",
        "-",
    )
    q1 = q1_2019_lines(rng, rows_per_unit_month, voucher)
    write_ledger(ledger / "huvudbok_201901.csv", q1[201901], LEDGER_HEADER, "utf-8", "\n", " ", "-")
    write_ledger(
        ledger / "huvudbok_201902.csv", q1[201902], LEDGER_HEADER, "utf-8", "\n", "\u202f", "\u2212"
    )
    # March arrives as a year-to-date re-export: it replaces January and February.
    write_ledger(
        ledger / "huvudbok_2019_ack_201903.csv",
        q1[201901] + q1[201902] + q1[201903],
        LEDGER_HEADER,
        "utf-8",
        "\n",
        " ",
        "\u2212",
    )
    # Only the files written here: a landing folder may hold the municipality's own exports.
    written += sorted(
        ledger / name
        for name in (
            "huvudbok_2017.csv",
            "huvudbok_2018.csv",
            "huvudbok_201901.csv",
            "huvudbok_201902.csv",
            "huvudbok_2019_ack_201903.csv",
        )
    )
    written += generate_volume_files(landing_dir / "verksamhetsmatt")
    # The landed Kolada snapshot, as a nightly fetch would have left it (see the snapshot's
    # manifest: real metadata, sample values).
    snapshot = landing_dir / "kolada" / "fetch_20200915T020000Z"
    shutil.copytree(KOLADA_SNAPSHOT, snapshot, dirs_exist_ok=True)
    # Landing order is file age: make it the order the files were written in, to the second.
    base = 1_553_990_400  # 2019-03-31
    for i, path in enumerate(written):
        os.utime(path, (base + i, base + i))
