"""The month report as text, for the terminal (`ifo report`), and the files the nightly run
writes (`write_reports`): HTML, workbook and PDF, from one gathering of the marts."""

from __future__ import annotations

import os
import tempfile
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ifo_pipeline.files import write_text_atomically
from ifo_pipeline.reporting.content import MonthReport, Table, gather
from ifo_pipeline.reporting.formatting import format_cell

FILE_FORMATS = ("html", "xlsx", "pdf")


# A terminal's width: text cells wrap within their column, so that no line is wider than a
# report printed from it (a flag's reason made a 245-column table).
TEXT_COLUMN_WIDTH = 28


def render_text(report: MonthReport) -> str:
    """The title, then every section's tables and notes; charts are left to the HTML and the
    workbook. Text columns are left-aligned and wrapped, figures right-aligned."""
    made = report.generated_at.strftime("%Y-%m-%d %H:%M")
    blocks = [f"{report.title} · perioden {report.period} · framtagen {made}"]
    for section in report.sections:
        parts = [_text_table(t) for t in section.tables] + [
            textwrap.fill(note, width=100) for note in section.notes
        ]
        if section.title != "Resultat":
            parts.insert(0, f"== {section.title} ==")
        blocks.append("\n\n".join(parts))
    return "\n\n".join(blocks) + "\n"


def _text_table(table: Table) -> str:
    rows = [
        [
            format_cell(value, fmt) + (" *" if i == 0 and total else "")
            for i, (value, fmt) in enumerate(zip(row, table.formats, strict=True))
        ]
        for row, total in zip(table.rows, table.totals or [False] * len(table.rows), strict=True)
    ]
    text = _table(table.title, list(table.columns), rows, list(table.formats))
    if any(table.totals):
        text += "\n* summarad"
    return "\n".join([text, *(textwrap.fill(note, width=100) for note in table.notes)])


def _table(title: str, header: list[str], rows: list[list[str]], formats: list[str]) -> str:
    text = [i == 0 or fmt == "text" for i, fmt in enumerate(formats)]
    # Each cell as its lines: a text wrapped to its column, a figure on one line.
    cells = [
        [textwrap.wrap(c, TEXT_COLUMN_WIDTH) or [""] if text[i] else [c] for i, c in enumerate(row)]
        for row in rows
    ]
    widths = [
        max([len(header[i])] + [len(line) for row in cells for line in row[i]])
        for i in range(len(header))
    ]

    def line(parts: list[str]) -> str:
        return "  ".join(
            p.ljust(w) if text[i] else p.rjust(w)
            for i, (p, w) in enumerate(zip(parts, widths, strict=True))
        ).rstrip()

    physical = []
    for row in cells:
        height = max(len(c) for c in row)
        for k in range(height):
            physical.append(line([c[k] if k < len(c) else "" for c in row]))
    rule = "-" * max(len(line(header)), *(len(r) for r in physical))
    return "\n".join([title, rule, line(header), rule, *physical, rule])


@dataclass
class WrittenReports:
    files: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # a format not written, and why


def write_reports(
    con: duckdb.DuckDBPyConnection,
    year: int,
    month: int,
    stem: Path,
    formats: Iterable[str] = FILE_FORMATS,
) -> WrittenReports:
    """`stem`.<format> for each format (the nightly run: reports/YYYY-MM); each file appears
    whole or not at all. The PDF is printed from the HTML page."""
    from ifo_pipeline.reporting.html import render_html
    from ifo_pipeline.reporting.pdf import PdfUnavailable, write_pdf
    from ifo_pipeline.reporting.workbook import write_workbook

    formats = list(formats)
    report = gather(con, year, month)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = WrittenReports()
    page = render_html(report)
    if "html" in formats:
        written.files.append(write_text_atomically(stem.with_suffix(".html"), page))
    if "xlsx" in formats:
        staging = stem.with_name(f".{stem.name}.{os.getpid()}.xlsx")
        write_workbook(report, staging)
        os.replace(staging, stem.with_suffix(".xlsx"))
        written.files.append(stem.with_suffix(".xlsx"))
    if "pdf" in formats:
        with tempfile.TemporaryDirectory(prefix="ifo-report-") as scratch:
            html_path = write_text_atomically(Path(scratch) / f"{stem.name}.html", page)
            try:
                written.files.append(write_pdf(html_path, stem.with_suffix(".pdf")))
            except PdfUnavailable as exc:
                written.skipped.append(f"PDF: {exc}")
    return written
