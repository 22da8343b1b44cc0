"""Write docs/marts.md, the controllers' interface, from the marts' own dbt YAML (their enforced
contracts and Swedish descriptions): one source of truth, and a test that the page is what the
YAML says (tests/test_marts_contracts.py).

    .venv/bin/python scripts/marts_doc.py        # after a change to a mart's YAML
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
MARTS = REPO / "dbt_project" / "models" / "marts"
PAGE = REPO / "docs" / "marts.md"

INTRO = """\
# The marts: what controllers query

Written by `scripts/marts_doc.py` from the marts' dbt YAML (`dbt_project/models/marts/`): each
mart's contract is enforced when it is built, so this page is what the published file holds.
Open `ifo.duckdb` read-only; the same descriptions are in the file itself
(`SELECT * FROM duckdb_columns() WHERE schema_name = 'marts'`). [`sql.md`](sql.md) shows how to
connect and ten questions answered in SQL.

The words are those printed on the reports: **kommunbidrag** (the council's allocation,
positive), **nettokostnad** (operating costs less revenues, classes 3–7, shown negative),
**nettoresultat** (kommunbidrag + nettokostnad; negative is a deficit), **årsprognos** (the
managers' forecast of the year's nettoresultat), **helår fg år** (last year's outcome in this
year's structure), **tkr** (thousands of kronor, as printed), **verksamhetsmått** (the units'
monthly volume counts), **nettokostnadsavvikelse** (Kolada: the net cost against the cost
expected from the municipality's structure, in %). Money is exact SEK (`DECIMAL(18,2)`) unless
a column says tkr.

**kommunkod** (the municipality's four-digit code) is first in every mart's grain and in every
ops table of the published file, in a single-municipality installation too. A municipality's
file (`kommun/<kod>/ifo.duckdb` in a region) holds its own rows only; the region's `ifo.duckdb`
holds every municipality's ([`municipalities.md`](municipalities.md)). In
`nettokostnadsavvikelse` it is the home municipality the comparison is made for, beside the
compared `kommun_id`.
"""


def _grain(model: dict) -> str:
    for test in model.get("data_tests", []):
        if isinstance(test, dict) and "unique_combination" in test:
            return ", ".join(test["unique_combination"]["arguments"]["columns"])
    return ""


def _cell(text: object) -> str:
    return " ".join(str(text or "").split()).replace("|", "\\|")


def render() -> str:
    parts = [INTRO]
    for path in sorted(MARTS.glob("*.yml")):
        for model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models", []):
            parts.append(f"\n## marts.{model['name']}\n\n{_cell(model.get('description'))}\n")
            if grain := _grain(model):
                parts.append(f"\nGrain: ({grain}).\n")
            parts.append("\n| column | type | meaning |\n|---|---|---|\n")
            parts += [
                f"| `{c['name']}` | {c.get('data_type', '')} | {_cell(c.get('description'))} |\n"
                for c in model.get("columns", [])
            ]
    return "".join(parts)


def main() -> int:
    PAGE.write_text(render(), encoding="utf-8")
    print(f"written {PAGE.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
