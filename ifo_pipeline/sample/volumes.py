"""Sample volume files (verksamhetsmått) for 2018 and 2019 (and 2017 for one indicator), as CSV
and as XLSX.

2019 January–March are the values printed in the March 2019 report (a copy of the reference
table ships beside this module). 2018 is sample data derived from them, deterministically, so
that the same-month-previous-year comparison has something to compare with. The XLSX files
keep the layout quirks of the documents the parser must survive: section sheets spelled
"Relationsvård" and "Hästsken", a measure name broken over two rows ("Försöks-" /
"lägenheter"), value-less headings ("Andel egna familjehem:") above their measures, and "Sept".
"""

from __future__ import annotations

import csv
import io
import random
import re
import zipfile
from datetime import datetime
from pathlib import Path

REFERENCE = Path(__file__).with_name("verksamhetsmatt_2019_jan_mar.csv")
CSV_MONTHS = ("Jan", "Feb", "Mar", "Apr", "Maj", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dec")
XLSX_MONTHS = ("Jan", "Feb", "Mar", "Apr", "Maj", "Jun", "Jul", "Aug", "Sept", "Okt", "Nov", "Dec")
SHEET_NAMES = {"Relationsvåld": "Relationsvård", "Hästskon": "Hästsken"}
SPLIT_NAMES = {"Försökslägenheter": ("Försöks-", "lägenheter")}


def reference_2019() -> list[tuple[str, str, list[str]]]:
    with REFERENCE.open(encoding="utf-8", newline="") as fh:
        return [
            (r["avsnitt"], r["matt"], [r["jan"], r["feb"], r["mar"]])
            for r in csv.DictReader(fh, delimiter=";")
        ]


def _vary(cell: str, rng: random.Random) -> str:
    """A plausible value of the same form as `cell`, for the sample's 2018."""

    def scaled(text: str, low: float = 0.7, high: float = 1.1) -> float:
        return float(text.replace(",", ".")) * rng.uniform(low, high)

    if m := re.fullmatch(r"(\d+)% \((\d+) st\)", cell):
        return f"{min(100, round(scaled(m[1], 0.85, 1.15)))}% ({max(1, round(scaled(m[2])))} st)"
    if m := re.fullmatch(r"(\d+)%", cell):
        return f"{min(100, round(scaled(m[1], 0.85, 1.1)))}%"
    if m := re.fullmatch(r"([\d,]+)/(\d+)", cell):
        return f"{scaled(m[1]):.1f}".replace(".", ",") + f"/{m[2]}"
    if cell:
        return str(round(scaled(cell)))
    return ""


# The drivers of the improvement plan's measures (seed 002, adopted September 2019, effective
# from October) and of a goal indicator (seed 001), month by month: the sample's own series, in
# which some measures deliver and some do not. HVB for teenagers falls from about 11 to 8 (most
# of the target of −3); HVB for parents with children rises (no effect); adults' treatment
# homes fall a little; children in agency foster homes fall by half. Households on
# försörjningsstöd for more than three months: 233 in 2017, 257 in 2018 (seed 001: +10 %).
PLAN_SERIES: dict[tuple[str, str], dict[int, list[int]]] = {
    ("Barn & unga", "Antal placeringar HVB tonåringar"): {
        2018: [9, 9, 10, 10, 9, 8, 8, 9, 10, 10, 9, 9],
        2019: [10, 11, 11, 12, 11, 11, 10, 11, 11, 9, 8, 8],
    },
    ("Barn & unga", "Antal placeringar HVB föräldrar med barn"): {
        2018: [2, 2, 2, 3, 2, 2, 2, 1, 2, 2, 2, 2],
        2019: [2, 2, 3, 2, 2, 3, 2, 2, 2, 3, 3, 2],
    },
    ("Missbruk", "Antal placeringar på behandlingshem"): {
        2019: [11, 9, 13, 12, 11, 12, 10, 11, 12, 10, 9, 9],
    },
    ("Barn & unga", "Antal barn i konsulentstödda jourhem"): {
        2018: [5, 4, 4, 5, 5, 4, 3, 4, 4, 5, 4, 4],
        2019: [4, 5, 4, 4, 5, 4, 4, 3, 4, 3, 2, 1],
    },
    ("Försörjningsstöd", "Antal hushåll med försörjningsstöd > 3 mån"): {
        2017: [233] * 12,
        2018: [257] * 12,
        2019: [255, 252, 250, 248, 247, 245, 244, 243, 240, 238, 236, 235],
    },
}


def sample_rows(year: int, seed: int = 18) -> list[tuple[str, str, list[str]]]:
    if year not in (2018, 2019):  # an earlier year: the plan's series only
        return [(a, m, list(map(str, v[year]))) for (a, m), v in PLAN_SERIES.items() if year in v]
    rows = reference_2019()
    if year == 2019:
        out = [(a, m, cells + [""] * 9) for a, m, cells in rows]
    else:
        rng = random.Random(seed)
        out = []
        for section, measure, cells in rows:
            base = next((c for c in cells if c), "")
            out.append((section, measure, [_vary(base, rng) for _ in range(12)]))
    # The plan's series: the printed months stay as printed, the rest follow the series.
    printed = 3 if year == 2019 else 0
    for i, (section, measure, cells) in enumerate(out):
        series = PLAN_SERIES.get((section, measure), {}).get(year)
        if series:
            out[i] = (section, measure, cells[:printed] + list(map(str, series[printed:])))
    known = {(a, m) for a, m, _ in out}
    out += [
        (a, m, list(map(str, v[year])))
        for (a, m), v in PLAN_SERIES.items()
        if year in v and (a, m) not in known
    ]
    return out


def write_csv(path: Path, rows: list[tuple[str, str, list[str]]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=";", lineterminator="\n")
        writer.writerow(["Avsnitt", "Matt", *CSV_MONTHS])
        for section, measure, cells in rows:
            writer.writerow([section, measure, *cells])


def write_xlsx(path: Path, rows: list[tuple[str, str, list[str]]]) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    sheets: dict[str, object] = {}
    headings: dict[str, str] = {}
    for section, measure, cells in rows:
        title = SHEET_NAMES.get(section, section)
        if title not in sheets:
            sheet = workbook.create_sheet(title)
            sheet.append([title, *XLSX_MONTHS])
            sheets[title] = sheet
        sheet = sheets[title]
        values = [_xlsx_value(c) for c in cells]
        if ": " in measure:  # "Andel egna familjehem: Barn 0-12 år" is printed in two levels
            heading, measure = measure.split(": ", 1)
            if headings.get(title) != heading:
                sheet.append([heading + ":"])
                headings[title] = heading
        if measure in SPLIT_NAMES:
            first, second = SPLIT_NAMES[measure]
            sheet.append([first, *values])
            sheet.append([second])
        else:
            sheet.append([measure, *values])
    fixed = datetime(2019, 4, 5, 8, 0, 0)
    workbook.properties.created = workbook.properties.modified = fixed
    buffer = io.BytesIO()
    workbook.save(buffer)
    path.write_bytes(_same_bytes_every_time(buffer.getvalue(), fixed))


def _same_bytes_every_time(xlsx: bytes, fixed: datetime) -> bytes:
    """openpyxl stamps the zip entries and docProps/core.xml with the time of saving: fix both,
    so that writing the sample again re-delivers nothing."""
    stamp = fixed.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(xlsx)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>" + stamp.encode() + rb"\g<2>",
                    data,
                )
            target.writestr(zipfile.ZipInfo(info.filename, fixed.timetuple()[:6]), data)
    return out.getvalue()


def _xlsx_value(cell: str) -> object:
    """Plain numbers are numbers in Excel; everything else is the text as typed."""
    return int(cell) if cell.isdigit() else (cell or None)


def generate_volume_files(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [
        folder / "verksamhetsmatt_2017.csv",
        folder / "verksamhetsmatt_2018.xlsx",
        folder / "verksamhetsmatt_2019.csv",
        folder / "verksamhetsmatt_2019.xlsx",
    ]
    write_csv(paths[0], sample_rows(2017))
    write_xlsx(paths[1], sample_rows(2018))
    write_csv(paths[2], sample_rows(2019))
    write_xlsx(paths[3], sample_rows(2019))
    return paths
