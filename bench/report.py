"""The benchmark's JSON files as the Markdown tables of bench/RESULTS.md (figures are never
typed by hand):

    .venv/bin/python -m bench.report bench/results/*.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TARGETS = (
    ("full `ifo run` / DuckDB floor", "pipeline_over_floor", "≤ 3×"),
    ("ingest stage / dlt plain load", "ingest_over_dlt", "≤ 1.0×"),
    ("new month / full run", "new_month_over_full", "≤ 0.10"),
    ("corrected month / full run", "corrected_month_over_full", "≤ 0.10"),
)


def render(reports: list[dict]) -> str:
    reports = sorted(reports, key=lambda r: r["data"]["ledger_lines"])
    machine = reports[0]["machine"]
    commits = sorted({r.get("commit") or "unrecorded" for r in reports})
    out = [
        f"Commit measured: {', '.join(commits)}. "
        f"Machine: {machine['cpus']} CPUs, {machine['memory_gb']} GB, {machine['platform']}, "
        f"Python {machine['python']}, DuckDB {machine['duckdb']}.",
        "",
        "| | " + " | ".join(_lines(r) for r in reports) + " |",
        "|---|" + "---:|" * len(reports),
    ]
    names = [m["name"] for m in reports[0]["measures"]]
    for name in names:
        cells = []
        for report in reports:
            measure = next(m for m in report["measures"] if m["name"] == name)
            cells.append(f"{measure['seconds']:.1f} s, {measure['peak_rss_mb']:.0f} MB")
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    out.append(
        "| the ingest stage (Dagster steps `raw__*`) | "
        + " | ".join(f"{r['ingest_stage_seconds']:.1f} s" for r in reports)
        + " |"
    )
    out.append(
        "| March report query, median / p95 | "
        + " | ".join(
            f"{r['query']['median_ms']:.1f} / {r['query']['p95_ms']:.1f} ms" for r in reports
        )
        + " |"
    )
    out += ["", "| ratio | target | " + " | ".join(_lines(r) for r in reports) + " |"]
    out.append("|---|---|" + "---:|" * len(reports))
    for label, key, target in TARGETS:
        out.append(
            f"| {label} | {target} | " + " | ".join(f"{r['ratios'][key]}" for r in reports) + " |"
        )
    out += _stages(reports, "ifo run (empty", "Stages of the first `ifo run`")
    out += _stages(reports, "ifo run (new month", "Stages of the night a new month lands")
    out += [
        "",
        "Loaded (checked by the benchmark): "
        + "; ".join(
            f"{_lines(r)}: {r['loaded']['ledger_lines_loaded']:,} ledger lines loaded, "
            f"{r['loaded']['ledger_lines_rejected']} rejected, "
            f"{r['loaded']['files_balanced']}/{r['loaded']['files_reconciled']} files to the krona"
            for r in reports
        )
        + ".",
    ]
    return "\n".join(out) + "\n"


def _lines(report: dict) -> str:
    data = report["data"]
    return f"{data['ledger_lines'] / 1e6:.0f} M lines ({data['ledger_bytes'] / 2**20:.0f} MB)"


def _measure(report: dict, prefix: str) -> dict:
    return next(m for m in report["measures"] if m["name"].startswith(prefix))


def _stages(reports: list[dict], prefix: str, title: str) -> list[str]:
    """One measure's Dagster steps (those of half a second or more) and the time outside them."""
    out = ["", f"{title} (Dagster step wall time, s):", ""]
    steps = sorted(
        {k for r in reports for k, v in _measure(r, prefix)["stages"].items() if v >= 0.5},
        key=lambda k: -_measure(reports[-1], prefix)["stages"].get(k, 0),
    )
    out.append("| step | " + " | ".join(_lines(r) for r in reports) + " |")
    out.append("|---|" + "---:|" * len(reports))
    for step in steps:
        out.append(
            f"| `{step}` | "
            + " | ".join(f"{_measure(r, prefix)['stages'].get(step, 0):.1f}" for r in reports)
            + " |"
        )
    outside = [_measure(r, prefix) for r in reports]
    out.append(
        "| outside the steps (start, definitions, months, run records) | "
        + " | ".join(f"{m['seconds'] - sum(m['stages'].values()):.1f}" for m in outside)
        + " |"
    )
    return out


if __name__ == "__main__":
    print(render([json.loads(Path(p).read_text(encoding="utf-8")) for p in sys.argv[1:]]), end="")
