"""The month report as an Excel workbook: a sheet per table with numbers as numbers (Swedish
Excel shows them with its own separators), frozen headers, and each chart as a native Excel
chart on a sheet of its own beside the figures it draws."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ifo_pipeline.reporting.content import Chart, MonthReport, Table

# Format codes are stored in the file in Excel's neutral notation; Excel displays them with
# the reader's locale (a space and a decimal comma in Swedish).
NUMBER_FORMATS = {
    "tkr": "#,##0;-#,##0",
    "kr": "#,##0;-#,##0",
    "mkr": "#,##0.0;-#,##0.0",
    "pct": "+0.0;-0.0;0.0",
    "number": "#,##0.##;-#,##0.##",
}
# What makes a text a formula to a spreadsheet (OWASP, CSV and formula injection): a report
# line named '=HYPERLINK(…)' must be shown, never run.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
HEADER_FILL = PatternFill("solid", start_color="EEF3F8")
WORSE = "B00020"  # the page's red
BOLD = Font(bold=True)


def put(sheet: Worksheet, row: int, column: int, value: object) -> Cell:
    """Write a value into a cell. A text is always text: openpyxl makes every text beginning
    with '=' a formula, so its type is set back to a string, and one that begins like a
    formula is marked as typed text (Excel's quote prefix) so that editing it in Excel does not
    turn it into one either."""
    cell = sheet.cell(row, column)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
        if value.startswith(FORMULA_TRIGGERS):
            cell.quotePrefix = True
    return cell


def write_workbook(report: MonthReport, path: Path) -> Path:
    """A sheet per section, named as the report names it (each result report a sheet of its
    own: they are what is printed); its tables one below the other, each chart beside the
    figures it draws."""
    book = Workbook()
    book.remove(book.active)
    book.properties.title = report.title
    book.properties.creator = "ifo-pipeline"
    names: set[str] = set()
    for section in report.sections:
        if section.title == "Resultat" and section.tables:  # a report a sheet, with its chart
            for i, table in enumerate(section.tables):
                code = table.key.removeprefix("Resultat ")
                charts = [c for c in section.charts if c.key == f"Prognos {code}"]
                if i == 0:  # a chart of no report of its own: with the first
                    keys = {f"Prognos {t.key.removeprefix('Resultat ')}" for t in section.tables}
                    charts += [c for c in section.charts if c.key not in keys]
                _section_sheet(book, _sheet_name(table.key, names), [table], charts)
        elif section.tables or section.charts:
            name = _sheet_name(SHEET_NAMES.get(section.title, section.title), names)
            _section_sheet(book, name, section.tables, section.charts)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


# A section whose title is longer than a sheet's 31 characters gets the report's short name.
SHEET_NAMES = {"Jämförelse med liknande kommuner (Kolada)": "Kolada"}
# The widest a text column is made; a longer text wraps within it.
TEXT_WIDTH = 60


def _section_sheet(book: Workbook, name: str, tables: list[Table], charts: list[Chart]) -> None:
    sheet = book.create_sheet(name)
    row = 1
    for i, table in enumerate(tables):
        row = _table(sheet, table, row, freeze=i == 0) + 2
    right = max((len(t.columns) for t in tables), default=0) + 2
    chart_row = 1
    for chart in charts:
        chart_row = _chart(sheet, chart, chart_row, right) + 2
    _widths(sheet, tables)


def _table(sheet: Worksheet, table: Table, top: int, freeze: bool) -> int:
    """Writes the table from row `top`; returns its last row."""
    put(sheet, top, 1, table.title).font = Font(bold=True, size=12)
    header = top + 1
    for col, name in enumerate(table.columns, start=1):
        cell = put(sheet, header, col, name)
        cell.font, cell.fill = BOLD, HEADER_FILL
        cell.alignment = Alignment(
            horizontal="left" if table.formats[col - 1] == "text" else "right", wrap_text=True
        )
    for i, values in enumerate(table.rows):
        r = header + 1 + i
        total = bool(table.totals and table.totals[i])
        worse = table.worse[i] if table.worse else ()
        for col, (value, fmt) in enumerate(zip(values, table.formats, strict=True), start=1):
            cell = put(sheet, r, col, float(value) if isinstance(value, Decimal) else value)
            if fmt in NUMBER_FORMATS and not isinstance(value, str):
                cell.number_format = NUMBER_FORMATS[fmt]
            if fmt == "text":
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            # Red only where the figure is worse than its reference, as on the page.
            cell.font = Font(bold=total, color=WORSE if worse and worse[col - 1] else None)
    last = header + len(table.rows)
    for i, note in enumerate(table.notes):
        put(sheet, last + 1 + i, 1, note).font = Font(italic=True)
    if freeze:
        sheet.freeze_panes = sheet.cell(header + 1, 2)
    return last + len(table.notes)


def _widths(sheet: Worksheet, tables: list[Table]) -> None:
    """Each column as wide as what it shows: a text column up to TEXT_WIDTH (then it wraps),
    a figure column as its header or 14."""
    columns = max((len(t.columns) for t in tables), default=0)
    for col in range(1, columns + 1):
        texts = [
            len(str(value))
            for t in tables
            if col <= len(t.columns) and t.formats[col - 1] == "text"
            for value in [t.columns[col - 1], *(r[col - 1] for r in t.rows)]
            if value is not None
        ]
        headers = [len(t.columns[col - 1]) + 2 for t in tables if col <= len(t.columns)]
        width = min(max(texts), TEXT_WIDTH) if texts else max([14, *headers])
        sheet.column_dimensions[get_column_letter(col)].width = max(width, 8)


def _chart(sheet: Worksheet, chart: Chart, top: int, left: int) -> int:
    """The chart's figures (categories down, a column per series) from (`top`, `left`), and
    the native chart to their right; returns the last row it takes."""
    put(sheet, top, left, chart.title).font = Font(bold=True)
    header = top + 1
    sheet.cell(header, left).fill = HEADER_FILL
    for j, series in enumerate(chart.series, start=left + 1):
        cell = put(sheet, header, j, series.name)
        cell.font, cell.fill = BOLD, HEADER_FILL
    for i, category in enumerate(chart.categories, start=header + 1):
        put(sheet, i, left, category)
        for j, series in enumerate(chart.series, start=left + 1):
            k = i - header - 1
            value = series.values[k] if k < len(series.values) else None
            put(sheet, i, j, value).number_format = NUMBER_FORMATS["number"]
    sheet.column_dimensions[get_column_letter(left)].width = max(
        [len(c) for c in chart.categories] + [12]
    )
    last_row = header + len(chart.categories)
    if chart.kind == "line":
        excel_chart = LineChart()
    else:
        excel_chart = BarChart()
        excel_chart.type = "col"
        if chart.kind == "stacked":
            excel_chart.grouping = "stacked"
            excel_chart.overlap = 100
    excel_chart.title = chart.title
    excel_chart.y_axis.title = chart.unit
    excel_chart.height, excel_chart.width = 9, 18
    data = Reference(
        sheet,
        min_col=left + 1,
        max_col=left + len(chart.series),
        min_row=header,
        max_row=last_row,
    )
    excel_chart.add_data(data, titles_from_data=True)
    excel_chart.set_categories(Reference(sheet, min_col=left, min_row=header + 1, max_row=last_row))
    sheet.add_chart(excel_chart, f"{get_column_letter(left + len(chart.series) + 2)}{top}")
    return max(last_row, top + 18)  # the chart is about 18 rows high


def _sheet_name(key: str, taken: set[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique in the workbook."""
    base = re.sub(r"[\[\]:*?/\\]", " ", key).strip()[:31] or "Blad"
    name, n = base, 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name
