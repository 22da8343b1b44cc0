"""The demo's region: two municipalities in one installation (docs/municipalities.md).

Tyresö (0138) lands what `generate_sample` writes, in its own folder; a small second
municipality, Vaxholm (0187), delivers its ledger only as SIE 4 (CP437 under `#FORMAT PC8`, as
most finance systems write it) with a report structure, budget and SIE dimensions of its own:
its result report comes from configuration alone. Its figures are made up.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from pathlib import Path

from ifo_pipeline.kolada.landing import DEFAULT_CONFIG
from ifo_pipeline.sample.generator import fake_personnummer, generate_sample, swedish_amount
from ifo_pipeline.sie import quote

HOME, SECOND = "0138", "0187"
SECOND_NAME = "Vaxholms stad"

# Vaxholm's IFO in three report lines; its cost centres are its own (four digits).
SECOND_REPORTS = """GiltigFran;GiltigTill;Rapport;Rubrik;Summarad;Delsummarad;IngarI;Ordning
2019;;IFO;Individ- och familjeomsorg;Totalt individ- och familjeomsorg;;;1
"""
SECOND_STRUCTURE = """GiltigFran;GiltigTill;Ansvar;Rapport;Rapportrad;Sarskild;Ordning
2019;;7100;IFO;Barn och unga;0;1
2019;;7200;IFO;Vuxna;0;2
2019;;7300;IFO;Ekonomiskt bistånd;0;3
"""
SECOND_DIMENSIONS = "Dimension;Kolumn\n1;Ansvar\n20;Verksamhet\n"
# Cost centre, activity, the month's cost in kronor (January to March) and its yearly budget.
Unit = tuple[str, str, tuple[int, int, int], int]
SECOND_UNITS: tuple[Unit, ...] = (
    ("7100", "56910", (812_400, 790_150, 845_300), 9_600_000),
    ("7200", "559", (301_250, 322_900, 298_700), 3_700_000),
    ("7300", "571", (402_800, 415_600, 409_950), 4_900_000),
)
COST_ACCOUNTS = ("4630", "4640", "5011", "6410")


def generate_region(landing_dir: Path, rows_per_unit_month: int = 60, seed: int = 2019) -> None:
    """Write the region's landing: `landing/0138/` (the sample) and `landing/0187/` (SIE)."""
    generate_sample(landing_dir / HOME, rows_per_unit_month, seed)
    _kolada_config(landing_dir / HOME, HOME)
    generate_sie_municipality(landing_dir / SECOND, SECOND, SECOND_NAME, seed=seed)


def generate_sie_municipality(
    folder: Path, code: str, name: str, scale: float = 1.0, seed: int = 2019
) -> list[Path]:
    """A small municipality delivering its ledger as SIE 4: its configuration, its 2019
    budget and its first quarter's ledger (`scale` times the costs of SECOND_UNITS), landed
    in `folder` after whatever is there. Returns the files written."""
    for sub in ("config", "budget", "sie"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    units = [
        (a, v, tuple(round(c * scale) for c in m), round(y * scale)) for a, v, m, y in SECOND_UNITS
    ]
    files = {
        "config/rapporter.csv": SECOND_REPORTS,
        "config/rapportstruktur.csv": SECOND_STRUCTURE,
        "config/sie_dimensioner.csv": SECOND_DIMENSIONS,
        "budget/kommunbidrag_2019.csv": second_budget(units),
    }
    written = []
    for relative, text in files.items():
        (folder / relative).write_text(text, encoding="utf-8")
        written.append(folder / relative)
    written.append(_kolada_config(folder, code))
    slug = name.split()[0].lower().removesuffix("s")
    sie = folder / "sie" / f"{slug}_huvudbok_2019.se"
    sie.write_bytes(sie_ledger(name, units, random.Random(f"{seed}{code}")).encode("cp437"))
    written.append(sie)
    base = 1_553_990_400 + 1000  # after the sample's files, in the order written
    for i, path in enumerate(written):
        os.utime(path, (base + i, base + i))
    return written


def _kolada_config(municipality_dir: Path, code: str) -> Path:
    """The shipped Kolada configuration with the municipality as its home."""
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    text = text.replace('home_municipality = "0138"', f'home_municipality = "{code}"')
    path = municipality_dir / "config" / "kolada.toml"
    path.write_text(text, encoding="utf-8")
    return path


def second_budget(units: Sequence[Unit] = SECOND_UNITS) -> str:
    out = ["Period;Ansvar;Verksamhet;Kommunbidrag"]
    for ansvar, verksamhet, _, year in units:
        for month in range(1, 13):
            share = year // 12 + (year % 12 if month == 12 else 0)
            out.append(f"2019{month:02d};{ansvar};{verksamhet};{swedish_amount(share * 100)}")
    return "\n".join(out) + "\n"


def sie_ledger(name: str, units: Sequence[Unit], rng: random.Random) -> str:
    """January to March 2019: each unit's monthly cost in a voucher of four cost lines, as
    an export filtered to the committee's units writes it (without the vouchers' balancing
    lines: docs/inputs.md §7); some texts hold a (made-up) personnummer."""
    lines = [
        "#FLAGGA 0",
        '#PROGRAM "Ekonomisystem" 4.2',
        "#FORMAT PC8",
        "#GEN 20190405",
        "#SIETYP 4",
        f"#FNAMN {quote(name)}",
        "#RAR 0 20190101 20191231",
        '#DIM 1 "Ansvar"',
        '#DIM 20 "Verksamhet"',
    ]
    names = {"7100": "Barn och unga", "7200": "Vuxna", "7300": "Ekonomiskt bistånd"}
    lines += [f"#OBJEKT 1 {quote(a)} {quote(names[a])}" for a, *_ in units]
    lines += [f'#KONTO {a} "Kostnad {a}"' for a in COST_ACCOUNTS]
    number = 1
    for month in (1, 2, 3):
        for ansvar, verksamhet, costs, _ in units:
            parts = _split_ore(costs[month - 1] * 100, 4, rng)
            day = 10 + number % 15
            text = "Placering" if number % 7 else f"Utbetalning {fake_personnummer(rng)}"
            lines.append(f"#VER A {number} 2019{month:02d}{day:02d} {quote(text)}")
            lines.append("{")
            objects = f'{{1 "{ansvar}" 20 "{verksamhet}"}}'
            for account, ore in zip(COST_ACCOUNTS, parts, strict=True):
                lines.append(f"#TRANS {account} {objects} {ore / 100:.2f}")
            lines.append("}")
            number += 1
    return "\r\n".join(lines) + "\r\n"


def _split_ore(total: int, parts: int, rng: random.Random) -> list[int]:
    weights = [rng.uniform(0.5, 1.5) for _ in range(parts)]
    shares = [int(total * w / sum(weights)) for w in weights]
    shares[-1] += total - sum(shares)
    return shares
