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
TITLE_ROW, HEADER_ROW = 1, 2


def write_workbook(report: MonthReport, path: Path) -> Path:
    book = Workbook()
    book.remove(book.active)
    book.properties.title = report.title
    book.properties.creator = "ifo-pipeline"
    names: set[str] = set()
    for table in report.tables():
        _table_sheet(book.create_sheet(_sheet_name(table.key, names)), table)
    for chart in report.charts():
        _chart_sheet(book.create_sheet(_sheet_name(f"Diagram {chart.key}", names)), chart)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


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


def _table_sheet(sheet: Worksheet, table: Table) -> None:
    put(sheet, TITLE_ROW, 1, table.title).font = Font(bold=True, size=12)
    for col, name in enumerate(table.columns, start=1):
        cell = put(sheet, HEADER_ROW, col, name)
        cell.font, cell.fill = BOLD, HEADER_FILL
        cell.alignment = Alignment(horizontal="left" if col == 1 else "right", wrap_text=True)
    for r, row in enumerate(table.rows, start=HEADER_ROW + 1):
        total = bool(table.totals and table.totals[r - HEADER_ROW - 1])
        worse = table.worse[r - HEADER_ROW - 1] if table.worse else ()
        for col, (value, fmt) in enumerate(zip(row, table.formats, strict=True), start=1):
            cell = put(sheet, r, col, float(value) if isinstance(value, Decimal) else value)
            if fmt in NUMBER_FORMATS and not isinstance(value, str):
                cell.number_format = NUMBER_FORMATS[fmt]
            # Red only where the figure is worse than its reference, as on the page.
            cell.font = Font(bold=total, color=WORSE if worse and worse[col - 1] else None)
    for i, note in enumerate(table.notes):
        put(sheet, HEADER_ROW + len(table.rows) + 2 + i, 1, note).font = Font(italic=True)
    sheet.freeze_panes = sheet.cell(HEADER_ROW + 1, 2)
    sheet.column_dimensions["A"].width = max(
        [len(str(r[0] or "")) for r in table.rows] + [len(table.columns[0]), 12]
    )
    for col in range(2, len(table.columns) + 1):
        sheet.column_dimensions[get_column_letter(col)].width = max(
            14, len(table.columns[col - 1]) + 2
        )


def _chart_sheet(sheet: Worksheet, chart: Chart) -> None:
    """The chart's figures (categories down, a column per series) and the chart beside them."""
    put(sheet, TITLE_ROW, 1, chart.title).font = Font(bold=True, size=12)
    sheet.cell(HEADER_ROW, 1, "").fill = HEADER_FILL
    for j, series in enumerate(chart.series, start=2):
        cell = put(sheet, HEADER_ROW, j, series.name)
        cell.font, cell.fill = BOLD, HEADER_FILL
    for i, category in enumerate(chart.categories, start=HEADER_ROW + 1):
        put(sheet, i, 1, category)
        for j, series in enumerate(chart.series, start=2):
            k = i - HEADER_ROW - 1
            value = series.values[k] if k < len(series.values) else None
            put(sheet, i, j, value).number_format = NUMBER_FORMATS["number"]
    sheet.freeze_panes = sheet.cell(HEADER_ROW + 1, 2)
    sheet.column_dimensions["A"].width = max([len(c) for c in chart.categories] + [12])

    last_row = HEADER_ROW + len(chart.categories)
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
        sheet, min_col=2, max_col=1 + len(chart.series), min_row=HEADER_ROW, max_row=last_row
    )
    excel_chart.add_data(data, titles_from_data=True)
    excel_chart.set_categories(
        Reference(sheet, min_col=1, min_row=HEADER_ROW + 1, max_row=last_row)
    )
    sheet.add_chart(excel_chart, f"{get_column_letter(len(chart.series) + 3)}{HEADER_ROW}")


def _sheet_name(key: str, taken: set[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique in the workbook."""
    base = re.sub(r"[\[\]:*?/\\]", " ", key).strip()[:31] or "Blad"
    name, n = base, 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name
