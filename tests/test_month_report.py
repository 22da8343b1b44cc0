"""The month report from the published marts: HTML rendered in headless Chromium, the workbook
read back with openpyxl, the PDF, and the nightly run writing all three.

Chromium is Debian's `chromium` package (scripts/test.sh installs it); Playwright drives it.
The screenshot is kept under test-artifacts/ (or $IFO_TEST_ARTIFACTS) for a person to look at.
"""

from __future__ import annotations

import os
import re
import subprocess
import zipfile
from contextlib import closing
from pathlib import Path

import duckdb
import pytest
from openpyxl import load_workbook

from ifo_pipeline.cli import main
from ifo_pipeline.publish import connect_published
from ifo_pipeline.reporting.content import gather
from ifo_pipeline.reporting.pdf import chromium_command, find_chromium
from tests.conftest import REPO, read_semicolon_csv
from tests.test_resultatrapport_reference import TKR_COLUMNS

ARTIFACTS = Path(os.environ.get("IFO_TEST_ARTIFACTS", REPO / "test-artifacts"))


def _digits(text: str) -> str:
    """A printed figure as the reference file writes it: '-57 799' -> '-57799'."""
    return re.sub(r"[\s\u2009\u202f\xa0]", "", text)


@pytest.fixture(scope="module")
def browser():
    executable = find_chromium()
    if executable is None:
        pytest.fail("Chromium is missing: scripts/test.sh installs Debian's chromium package")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        flags = chromium_command(executable, "unused")[1:-1]  # the flags, without the profile
        launched = playwright.chromium.launch(executable_path=executable, args=flags)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def html_report(demo, tmp_path_factory) -> Path:
    settings, _ = demo
    path = tmp_path_factory.mktemp("report") / "mars.html"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IFO_WAREHOUSE_DIR", str(settings.warehouse_dir))
        assert (
            main(["report", "--month", "2019-03", "--format", "html", "--output", str(path)]) == 0
        )
    return path


def test_the_html_page_renders_the_reference_figures_tables_and_charts(
    html_report, browser, shared_dir
):
    page = browser.new_page(viewport={"width": 1100, "height": 1400})
    page.goto(html_report.as_uri())
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "month_report_2019-03.png"), full_page=True)

    # Rendered, not merely present: every table and chart has a size on the page, and the
    # charts' marks (bars, points) are laid out inside them.
    tables = page.locator("table")
    assert tables.count() >= 10
    for i in range(tables.count()):
        box = tables.nth(i).bounding_box()
        assert box and box["width"] > 300 and box["height"] > 20
    charts = page.locator("svg.chart")
    titles = [charts.nth(i).locator("title").first.text_content() for i in range(charts.count())]
    assert any("Antal pågående ärenden per månad" in t for t in titles)
    assert any("Extern placeringskostnad per kvartal" in t for t in titles)
    assert any("Resultat och årsprognos per rad" in t for t in titles)
    assert any("Nettokostnadsavvikelse" in t for t in titles)
    for i in range(charts.count()):
        chart = charts.nth(i)
        box = chart.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 200
        marks = chart.locator("rect.bar, circle.point")
        assert marks.count() > 0
        mark = marks.first.bounding_box()
        assert mark and mark["width"] > 0 and mark["height"] > 0
        assert box["x"] <= mark["x"] <= box["x"] + box["width"]

    # The figures of the printed March report, as the reader sees them (innerText).
    checked = 0
    for expected in read_semicolon_csv(shared_dir / "reference" / "manadsrapport_2019_03.csv"):
        table = page.locator(f'table[data-key="Resultat {expected["rapport"]}"]')
        row = table.locator("tbody tr").filter(
            has=page.locator(
                "td:first-child", has_text=re.compile(rf"^{re.escape(expected['rapportrad'])}$")
            )
        )
        assert row.count() == 1, expected
        cells = [_digits(c) for c in row.first.locator("td").all_inner_texts()[1:]]
        for column, shown in zip(TKR_COLUMNS, cells, strict=True):
            if expected[column] != "":
                assert shown == expected[column], (expected["rapportrad"], column)
                checked += 1
    assert checked > 80
    # Swedish print: a thin space between thousands, headings in Swedish.
    assert "-57\u202f799" in page.content()  # a narrow no-break space: never broken
    assert page.locator("h2", has_text="Budgetavvikelse").count() == 1
    sources = page.locator('table[data-key="Datakällor"] tbody tr td:first-child')
    assert {
        "Huvudbok (ledger/, sie/)",
        "Kommunbidrag (budget/)",
        "Kostnadsslag (config/kostnadsslag.csv)",
    } <= set(sources.all_inner_texts())  # the sources as a controller knows them
    page.close()


RED = "rgb(176, 0, 32)"


def _shown(page, key: str) -> list[list[tuple[str, bool]]]:
    """A table's cells as the reader sees them: (text, shown in red)."""
    return page.evaluate(
        """key => [...document.querySelectorAll(`table[data-key="${key}"] tbody tr`)].map(
            row => [...row.cells].map(c => [c.innerText, getComputedStyle(c).color]))""",
        key,
    )


def test_red_means_worse_than_the_reference_never_merely_negative(html_report, browser):
    """Issue: every net cost (negative by convention) was red, and a Kolada deviation of
    −2,6 % (cheaper than the reference: good) red while +20,1 % was black."""
    page = browser.new_page(viewport={"width": 1100, "height": 1400})
    page.goto(html_report.as_uri())
    result = _shown(page, "Resultat IFO")
    assert result
    for row in result:
        (kb, _), (cost, cost_colour), (net, net_colour) = row[1:4]
        assert cost_colour != RED, row  # a cost is negative by convention, not bad
        assert (net_colour == RED) == _digits(net).startswith("-"), row  # a deficit is
        (forecast, forecast_colour) = row[4]
        assert (forecast_colour == RED) == _digits(forecast).startswith("-"), row
    kolada = _shown(page, "Kolada")
    assert kolada
    for row in kolada:
        pct, colour = row[3]
        value = _digits(pct).replace(",", ".")
        if value:
            assert (colour == RED) == (float(value) > 0), row  # dearer than the reference
        assert row[1][1] != RED and row[2][1] != RED
    goals = _shown(page, "Måluppfyllelse")
    for row in goals:
        assert (row[1][1] == RED) == (row[3][0] == "ej uppfyllt"), row
    red = page.evaluate(
        f"""[...document.querySelectorAll('td')].filter(
            c => getComputedStyle(c).color === '{RED}').length"""
    )
    assert red > 0
    page.close()


def test_chart_labels_are_whole_and_charts_take_the_pages_width(html_report, browser):
    """Issue: labels cut ("Individ och familjeomso…", "samt/Administration"), charts at 70 %
    of the width."""
    page = browser.new_page(viewport={"width": 1100, "height": 1400})
    page.goto(html_report.as_uri())
    assert "…" not in page.content()
    outside, shares = page.evaluate("""() => {
        const charts = [...document.querySelectorAll('svg.chart')];
        const outside = charts.flatMap(svg => {
            const box = svg.getBoundingClientRect();
            return [...svg.querySelectorAll('text.category')].filter(t => {
                const r = t.getBoundingClientRect();
                return r.left < box.left - 0.5 || r.right > box.right + 0.5
                    || r.bottom > box.bottom + 0.5;
            }).map(t => t.textContent);
        });
        const shares = charts.map(svg =>
            svg.getBoundingClientRect().width / svg.parentElement.getBoundingClientRect().width);
        return [outside, shares];
    }""")
    labels = page.evaluate(
        "[...document.querySelectorAll('svg.chart text.category')].map(t => t.textContent)"
    )
    assert "Gemensamt/Administration" in labels and "Individ och familjeomsorgen" in " ".join(
        labels
    )
    assert outside == []
    assert shares and min(shares) > 0.95
    # No figure can break across lines: its thousands are held together by U+202F, in the
    # tables and in the flags' reasons ("-4 035 tkr" printed as "-4" and "035" before).
    text = page.inner_text("body")
    assert re.findall(r"\d\u202f\d{3}", text)
    assert re.findall(r"\d[ \u2009\xa0]\d{3}(?!\d)", text) == []
    page.close()


def test_the_html_page_needs_no_network(html_report):
    text = html_report.read_text(encoding="utf-8")
    assert not re.search(r"(src|href)=\"https?:", text)
    assert "<script" not in text
    assert text.count("<svg") >= 4


def test_the_workbook_holds_the_marts_numbers_and_native_charts(demo, tmp_path, monkeypatch):
    settings, _ = demo
    monkeypatch.setenv("IFO_WAREHOUSE_DIR", str(settings.warehouse_dir))
    path = tmp_path / "mars.xlsx"
    assert main(["report", "--month", "2019-03", "--output", str(path)]) == 0
    book = load_workbook(path)
    sheet = book["Resultat IFO"]
    assert sheet.freeze_panes == "B3"
    shown = {
        sheet.cell(r, 1).value: [sheet.cell(r, c).value for c in range(2, 8)]
        for r in range(3, sheet.max_row + 1)
        if sheet.cell(r, 1).value
    }
    with closing(connect_published(settings.published_path)) as con:
        rows = con.execute(
            f"""SELECT rapportrad, {", ".join(TKR_COLUMNS)} FROM marts.resultatrapport_tkr
                WHERE ar = 2019 AND manad = 3 AND rapport = 'IFO' ORDER BY ordning"""
        ).fetchall()
    assert len(rows) == len(shown) == 13
    for label, *values in rows:
        assert shown[label] == [None if v is None else int(v) for v in values], label
    numbers = [v for values in shown.values() for v in values if v is not None]
    assert all(isinstance(v, int) for v in numbers)  # numbers as numbers, not text
    assert sheet.cell(3, 2).number_format == "#,##0;-#,##0"
    assert "Placeringskostnad" in book.sheetnames
    # Issue: 29 tabs with cryptic names and a cut-off one, Kolada's years as text, a
    # 14-character "Orsak" column. A tab per section (a result report each), as the report
    # names them; each chart on the sheet of the figures it draws.
    assert len(book.sheetnames) <= 14
    assert "Kolada" in book.sheetnames and not [n for n in book.sheetnames if "Diagram" in n]
    kolada = book["Kolada"]
    years = []
    for r in range(3, kolada.max_row + 1):  # the table's rows, down to its note
        if isinstance(kolada.cell(r, 1).value, str) and kolada.cell(r, 1).value.startswith("Källa"):
            break
        years.append(kolada.cell(r, 1).value)
    assert 2019 in years and all(isinstance(y, int) for y in years), years
    flags = book["Budgetavvikelse"]
    reason_column = next(c for c in range(1, 10) if flags.cell(2, c).value == "Orsak")
    assert flags.column_dimensions[chr(64 + reason_column)].width >= 40
    assert flags.cell(3, reason_column).alignment.wrap_text
    with zipfile.ZipFile(path) as archive:  # the report's chart is on the report's sheet
        index = book.sheetnames.index("Resultat IFO") + 1
        assert "<drawing " in archive.read(f"xl/worksheets/sheet{index}.xml").decode()
    with zipfile.ZipFile(path) as archive:
        charts = [n for n in archive.namelist() if n.startswith("xl/charts/chart")]
        kinds = "".join(archive.read(n).decode() for n in charts)
    assert len(charts) >= 4
    assert "<barChart>" in kinds and "<lineChart>" in kinds
    assert 'grouping val="stacked"' in kinds


def test_the_pdf_is_a4_pages(demo, tmp_path, monkeypatch):
    settings, _ = demo
    monkeypatch.setenv("IFO_WAREHOUSE_DIR", str(settings.warehouse_dir))
    path = tmp_path / "mars.pdf"
    assert main(["report", "--month", "2019-03", "--format", "pdf", "--output", str(path)]) == 0
    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert len(boxes) >= 3
    assert all(round(float(w)) == 595 and round(float(h)) == 842 for w, h in boxes)


def _page_fill(pgm: Path) -> float:
    """How far down a page (above its footer) something is printed, 0–1, from a greyscale
    rendering (PGM, poppler's pdftoppm)."""
    _, width, height, _, pixels = pgm.read_bytes().split(maxsplit=4)
    width, height = int(width), int(height)
    footer_top = int(height * (297 - 18) / 297)  # the footer's margin: 18 of 297 mm
    inked = [y for y in range(footer_top) if min(pixels[y * width : (y + 1) * width]) < 200]
    return (max(inked) + 1) / footer_top if inked else 0.0


def test_the_pdf_has_page_numbers_a_footer_and_no_near_empty_page(demo, tmp_path, monkeypatch):
    """Issue: 12 pages, several nearly empty, a two-row table split over two pages, no page
    numbers, no footer with the period and the time it was made."""
    settings, _ = demo
    monkeypatch.setenv("IFO_WAREHOUSE_DIR", str(settings.warehouse_dir))
    path = tmp_path / "mars.pdf"
    assert main(["report", "--month", "2019-03", "--format", "pdf", "--output", str(path)]) == 0
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = [page for page in text.split("\f") if page.strip()]
    assert 3 <= len(pages) <= 10
    for number, page in enumerate(pages, start=1):
        assert f"Sida {number} av {len(pages)}" in page, number
        assert "Månadsrapport mars 2019 · Jan-Mar 19 · framtagen " in page, number
    subprocess.run(["pdftoppm", "-gray", "-r", "30", str(path), str(tmp_path / "sida")], check=True)
    fills = [_page_fill(p) for p in sorted(tmp_path.glob("sida-*.pgm"))]
    assert len(fills) == len(pages)
    assert all(fill > 1 / 3 for fill in fills[:-1]), fills
    # A small table is never split: the page with its title holds every one of its rows.
    with closing(connect_published(settings.published_path)) as con:
        report = gather(con, 2019, 3)
    small = [t for t in report.tables() if len(t.rows) <= 15 and t.rows]
    assert len(small) >= 5
    for table in small:
        words = [str(row[0]).split()[0] for row in table.rows]
        holding = [
            page
            for page in pages
            if " ".join(table.title.split()) in " ".join(page.split())
            and all(word in page for word in words)
        ]
        assert holding, table.title


def test_the_nightly_run_writes_the_latest_months_report(demo):
    settings, _ = demo
    written = sorted(p.name for p in settings.reports_dir.iterdir())
    assert written == ["2019-03.html", "2019-03.pdf", "2019-03.xlsx"]


def test_without_chromium_the_pdf_is_skipped_with_the_reason(demo, tmp_path, monkeypatch, capsys):
    settings, _ = demo
    monkeypatch.setenv("IFO_WAREHOUSE_DIR", str(settings.warehouse_dir))
    monkeypatch.setenv("IFO_CHROMIUM", str(tmp_path / "no-such-browser"))
    assert main(["report", "--format", "pdf", "--output", str(tmp_path / "x.pdf")]) == 1
    err = capsys.readouterr().err
    assert "no Chromium to print the PDF with" in err and "Traceback" not in err
    assert not (tmp_path / "x.pdf").exists()


def test_the_text_report_has_every_section(demo, monkeypatch, capsys):
    settings, _ = demo
    monkeypatch.setenv("IFO_WAREHOUSE_DIR", str(settings.warehouse_dir))
    assert main(["report"]) == 0  # the latest month with ledger data: March 2019
    out = capsys.readouterr().out
    for heading in (
        "Individ och familjeomsorgen, Jan-Mar 19",
        "== Budgetavvikelse ==",
        "== Placeringskostnad ==",
        "== Verksamhetsmått ==",
        "== Jämförelse med liknande kommuner (Kolada) ==",
        "== Kostnad per område ==",
        "== Åtgärdsuppföljning ==",
        "== Måluppfyllelse ==",
        "== Datakällor ==",
    ):
        assert heading in out


def test_the_march_report_shows_the_indicators_year_to_date_through_march(demo):
    """Issue: the March report showed the year's twelve months of volumes. Through March:
    households on försörjningsstöd > 3 months, January–March 2019 against January–March 2018,
    computed here from the raw cells; Kolada's indicator is the year's value."""
    settings, _ = demo
    with closing(connect_published(settings.published_path)) as con:
        report = gather(con, 2019, 3)
    table = next(t for t in report.tables() if t.key == "Måluppfyllelse")
    assert "Jan-Mar 19" in table.title
    rows = {row[0]: row[1:] for row in table.rows}
    households = next(v for k, v in rows.items() if "försörjningsstöd" in k)
    with closing(duckdb.connect(str(settings.warehouse_path), read_only=True)) as con:
        this, last = con.execute("""
            SELECT avg(varde) FILTER (WHERE ar = 2019), avg(varde) FILTER (WHERE ar = 2018)
            FROM raw.volume_cells
            WHERE matt_levererat = 'Antal hushåll med försörjningsstöd > 3 mån'
              AND manad <= 3 AND ar IN (2018, 2019)""").fetchone()
    utfall, mal, bedomning, trend, manader = households
    assert manader == 3
    assert utfall == pytest.approx((this - last) / last * 100)  # unrounded in the mart
    assert (mal, bedomning, trend) == (-7.0, "delvis uppfyllt", "minskat")
    kolada = next(v for k, v in rows.items() if "Nettokostnadsavvikelsen" in k)
    assert kolada[0] == pytest.approx(14.4) and kolada[-1] == 12


def test_a_share_is_shown_and_compared_with_last_years_share_not_its_count(demo):
    """Issue: Familjevård printed "100% (15 st)" beside last year's count 18 and −16,7 %; the
    delivered 2018 file has a share. Last year's cell is shown as delivered, and the change of
    a share is in percentage points of the shares, computed here from the raw cells."""
    settings, _ = demo
    measure = "Andel egna familjehem: Barn 0-12 år"
    with closing(connect_published(settings.published_path)) as con:
        report = gather(con, 2019, 3)
    table = next(t for t in report.tables() if t.key == "Volym Familjevård")
    row = next(r for r in table.rows if r[0] == measure)
    with closing(duckdb.connect(str(settings.warehouse_path), read_only=True)) as con:
        last_text, last_share, this_share = con.execute(
            """SELECT max(ratt_text) FILTER (WHERE ar = 2018), max(andel) FILTER (WHERE ar = 2018),
                      max(andel) FILTER (WHERE ar = 2019)
               FROM raw.volume_cells
               WHERE manad = 3 AND matt_levererat LIKE '%Barn 0-12%'
                 AND matt_levererat LIKE '%familjehem%'"""
        ).fetchone()
    assert "%" in last_text and last_share is not None
    assert row[1:3] == ("100% (15 st)", last_text)
    assert row[3] == pytest.approx(round((this_share - last_share) * 100, 1))
    assert "procentenheter" in " ".join(table.notes)


def test_the_terminal_report_has_a_title_left_aligned_prose_and_fits_a_terminal(
    demo, monkeypatch, capsys
):
    """Issue: a 245-column table, right-aligned prose, no title."""
    settings, _ = demo
    monkeypatch.setenv("IFO_WAREHOUSE_DIR", str(settings.warehouse_dir))
    assert main(["report", "--month", "2019-03"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Månadsrapport mars 2019 · perioden Jan-Mar 19 · framtagen ")
    assert max(len(line) for line in lines) <= 132  # a wide terminal's 132 columns
    # The assessments (a text column) start in one column, whatever their length.
    assessed = [line for line in lines if re.search(r"\b(ej|delvis) uppfyllt|\buppfyllt\b", line)]
    starts = {
        re.search(r"(ej uppfyllt|delvis uppfyllt|uppfyllt)", line).start() for line in assessed
    }
    assert len(assessed) >= 2 and len(starts) == 1, assessed
