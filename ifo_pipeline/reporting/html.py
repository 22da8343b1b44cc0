"""The month report as one self-contained HTML page: inline CSS and SVG, no script, no
network at view time. Printed (or turned into PDF) it lays out on A4 with a footer (title,
period, when it was made, page N of M) on every page, small tables never split."""

from __future__ import annotations

import re
from decimal import Decimal

import jinja2
from markupsafe import Markup

from ifo_pipeline.reporting.content import MonthReport
from ifo_pipeline.reporting.formatting import NARROW_NO_BREAK_SPACE, format_cell
from ifo_pipeline.reporting.svg import render_svg

_environment = jinja2.Environment(
    loader=jinja2.PackageLoader("ifo_pipeline.reporting", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters["cell"] = lambda value, fmt: format_cell(value, fmt, NARROW_NO_BREAK_SPACE)
_environment.filters["anchor"] = lambda title: re.sub(r"\W+", "-", title.lower()).strip("-")
# render_svg escapes every text it writes: its output is markup.
_environment.filters["svg"] = lambda chart: Markup(render_svg(chart))  # noqa: S704


def _css_string(text: object) -> Markup:
    """A text inside a CSS string of the page's <style> (the print footer): every character
    but letters, digits and plain punctuation as a CSS escape, so no data can end the string
    or the style element."""
    safe = " -·:,.()"
    return Markup(  # noqa: S704
        "".join(ch if ch.isalnum() or ch in safe else f"\\{ord(ch):x} " for ch in str(text))
    )


_environment.filters["css_string"] = _css_string
_environment.tests["number"] = lambda value: isinstance(value, int | float | Decimal)


def render_html(report: MonthReport) -> str:
    return _environment.get_template("month_report.html.j2").render(report=report)
