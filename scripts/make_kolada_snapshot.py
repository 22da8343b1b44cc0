"""Build the demo's landed Kolada snapshot (ifo_pipeline/sample/kolada_snapshot/).

Metadata are real (../shared/kolada: the KPI definitions, the municipalities, Kolada's group
G36682 "Liknande kommuner IFO, Tyresö"). Of the values only Tyresö's N30001 for 2018 (20,1)
and 2019 (14,4) are real (seed 000); every other value is invented, and carries the status
"sample data" in the file so that it can never pass for Kolada's. Run from the repository root:
    .venv/bin/python scripts/make_kolada_snapshot.py
"""

from __future__ import annotations

import hashlib
import json
import random
import statistics
from pathlib import Path

from ifo_pipeline.kolada.client import data_urls, metadata_urls
from ifo_pipeline.kolada.landing import MANIFEST, KoladaConfig

SHARED = Path("../shared/kolada")
OUT = Path("ifo_pipeline/sample/kolada_snapshot")
BASE = "https://api.kolada.se/v3"
FETCHED_AT = "2020-09-15T02:00:00+00:00"
REAL = {("N30001", "0138", 2018): 20.1, ("N30001", "0138", 2019): 14.4}
SAMPLE = "sample data"


def envelope(values: list) -> bytes:
    body = {"count": len(values), "next_url": None, "previous_url": None, "values": values}
    return json.dumps(body, ensure_ascii=False, indent=1).encode()


def main() -> None:
    config = KoladaConfig.load()
    rng = random.Random(36682)
    groups = [
        g
        for g in json.loads((SHARED / "municipality_groups_v3_tyreso_subset.json").read_text())
        if g["id"] in config.comparison_groups
    ]
    members = [m["member_id"] for g in groups for m in g["members"]]
    places = [config.home_municipality, *members, config.country]
    municipalities = [
        m
        for m in json.loads((SHARED / "municipality_v3_all312.json").read_text())
        if m["id"] in places
    ]
    kpis = [
        k
        for k in json.loads((SHARED / "kpi_v3_ifo_subset.json").read_text())
        if k["id"] in config.kpis
    ]

    figures: dict[tuple[str, str, int], float | None] = {}
    for place in [config.home_municipality, *members, config.country]:
        inhabitants = {"0138": 46_000, "0000": 10_120_000}.get(place, rng.randint(30, 110) * 1000)
        for year in config.years:
            inv = inhabitants * (1 + 0.012 * (year - config.years[0]))
            ref = rng.uniform(4500, 6000)
            dev = REAL.get(("N30001", place, year), round(rng.uniform(-15, 18), 1))
            if place == config.country:
                dev = 0.0
            cost = ref * (1 + dev / 100)
            figures.update(
                {
                    ("N01951", place, year): round(inv),
                    ("N30007", place, year): round(ref),
                    ("N30014", place, year): round(ref * 0.98),
                    ("N30001", place, year): dev,
                    ("N30005", place, year): round(cost),
                    ("N30026", place, year): round((cost - ref) * inv / 1e6, 1),
                    ("N33016", place, year): round(cost * 0.55),
                    ("N35019", place, year): round(cost * 0.2),
                    ("N31008", place, year): round(cost * 0.25),
                }
            )
    # Null, missing and zero are three different facts: one of each on purpose.
    figures[("N30026", "2284", 2017)] = None
    del figures[("N33016", "1494", 2019)]
    figures[("N35019", "0486", 2018)] = 0
    for group in groups:
        ids = [m["member_id"] for m in group["members"]]
        for kpi in config.kpis:
            for year in config.years:
                known = [
                    figures[(kpi, m, year)] for m in ids if figures.get((kpi, m, year)) is not None
                ]
                figures[(kpi, group["id"], year)] = round(statistics.mean(known), 1)

    def row(kpi: str, place: str, year: int) -> dict:
        value = figures[(kpi, place, year)]
        genders = ["T", "K", "M"] if kpi == "N01951" else ["T"]
        status = "" if (kpi, place, year) in REAL else SAMPLE
        values = []
        for gender in genders:
            share = {"T": 1, "K": 0.505, "M": 0.495}[gender]
            v = None if value is None else (round(value * share) if gender != "T" else value)
            values.append(
                {
                    "gender": gender,
                    "count": 7 if place.startswith("G") else 1,
                    "status": "Missing" if value is None else status,
                    "value": v,
                    "isdeleted": False,
                }
            )
        return {"kpi": kpi, "municipality": place, "period": year, "values": values}

    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    responses = [
        (
            "municipality_groups",
            metadata_urls(BASE, "municipality_groups", config.comparison_groups)[0],
            envelope(groups),
        ),
        ("municipality", metadata_urls(BASE, "municipality", places)[0], envelope(municipalities)),
        ("kpi", metadata_urls(BASE, "kpi", config.kpis)[0], envelope(kpis)),
    ]
    # One response per year, as the client asks (one segment of KPIs and of places each).
    data_urls_by_year = data_urls(
        BASE, config.kpis, [*places, *config.comparison_groups], config.years
    )
    assert len(data_urls_by_year) == len(config.years)
    for year, data_url in zip(sorted(config.years), data_urls_by_year, strict=True):
        rows = [
            row(k, p, year)
            for k in config.kpis
            for p in [*places, *config.comparison_groups]
            if (k, p, year) in figures
        ]
        responses.append(("data", data_url, envelope(rows)))
    manifest = []
    for index, (kind, url, body) in enumerate(responses, start=1):
        name = f"{index:04d}_{kind}.json"
        (OUT / name).write_bytes(body)
        manifest.append(
            {
                "file": name,
                "kind": kind,
                "url": url,
                "fetched_at": FETCHED_AT,
                "sha256": hashlib.sha256(body).hexdigest(),
            }
        )
    (OUT / MANIFEST).write_text(
        json.dumps(
            {
                "config": config.__dict__,
                "responses": manifest,
                "note": "Demo snapshot. Real metadata (Kolada v3); values are SAMPLE DATA (status "
                "'sample data') except Tyresö's N30001 2018 and 2019 (seed 000).",
            },
            indent=1,
            default=list,
        ),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
