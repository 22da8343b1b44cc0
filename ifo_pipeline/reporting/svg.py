"""Charts as inline SVG: the HTML report is one file that needs no network and no script.

Deliberately small: bars side by side, stacked bars and lines, a value axis with round steps,
Swedish numbers, a legend. Each chart is an `<svg role="img">` whose `<title>` is its title.
"""

from __future__ import annotations

import math
import textwrap
from html import escape

from ifo_pipeline.reporting.content import Chart
from ifo_pipeline.reporting.formatting import NARROW_NO_BREAK_SPACE, format_cell

WIDTH, HEIGHT = 720, 320
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 72  # plot margins: axis labels, legend below
# Colour-blind-safe (Okabe–Ito), in the order the series come.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


def _figure(value: float) -> str:
    """A figure as the tables print it: its thousands held together (U+202F)."""
    return escape(format_cell(value, "number", NARROW_NO_BREAK_SPACE))


# About how wide a character of the chart's 11 px font is (labels are placed by it).
CHAR_PX = 6.4


def render_svg(chart: Chart) -> str:
    low, high = _value_range(chart)
    ticks = _ticks(low, high)
    low, high = ticks[0], ticks[-1]
    longest = max(map(len, chart.categories), default=0) * CHAR_PX
    plot_h = HEIGHT - TOP - BOTTOM
    # Many categories: their labels slant, whole: the chart grows below, and to the left as
    # far as the first label reaches (a label is never cut short).
    slanted = len(chart.categories) > 6 and longest > 4 * CHAR_PX
    left = LEFT
    if slanted:
        slot_guess = (WIDTH - LEFT - RIGHT) / len(chart.categories)
        left = max(LEFT, int(longest * math.cos(math.radians(35)) - slot_guess / 2) + 8)
    slot = (WIDTH - left - RIGHT) / max(len(chart.categories), 1)
    # Side by side: a label wraps within its slot, over as many lines as it needs.
    lines = [_wrap(c, slot) for c in chart.categories]
    below = longest * math.sin(math.radians(35)) if slanted else 14 * (max(map(len, lines)) - 1)
    height = HEIGHT + int(below)

    def y(value: float) -> float:
        return TOP + plot_h * (high - value) / (high - low)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart chart-{chart.kind}" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'font-family="inherit" font-size="11">',
        f"<title>{escape(chart.title)}</title>",
    ]
    for tick in ticks:
        parts.append(
            f'<line x1="{left}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'stroke="{"#555" if tick == 0 else "#ddd"}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">'
            f"{_figure(tick)}</text>"
        )
    middle = TOP + plot_h / 2
    parts.append(
        f'<text x="12" y="{middle:.0f}" transform="rotate(-90 12 {middle:.0f})" '
        f'text-anchor="middle">{escape(chart.unit)}</text>'
    )
    for i, label in enumerate(chart.categories):
        x = left + slot * (i + 0.5)
        y_label = TOP + plot_h + 14
        if slanted:
            parts.append(
                f'<text class="category" x="{x:.1f}" y="{y_label}" text-anchor="end" '
                f'transform="rotate(-35 {x:.1f} {y_label})">{escape(label)}</text>'
            )
            continue
        spans = "".join(
            f'<tspan x="{x:.1f}" dy="{0 if k == 0 else 14}">{escape(part)}</tspan>'
            for k, part in enumerate(lines[i])
        )
        parts.append(
            f'<text class="category" x="{x:.1f}" y="{y_label}" text-anchor="middle">{spans}</text>'
        )
    if chart.kind == "line":
        parts += _lines(chart, slot, y, left)
    else:
        parts += _bars(chart, slot, y, left)
    parts += _legend(chart, height)
    parts.append("</svg>")
    return "".join(parts)


def _wrap(label: str, slot: float) -> list[str]:
    """A category's label in the lines that fit its slot (a word longer than the slot keeps
    its own line: it is never cut)."""
    return textwrap.wrap(label, max(int(slot / CHAR_PX) - 1, 6), break_long_words=False) or [""]


def _bars(chart: Chart, slot: float, y, left: int) -> list[str]:
    out = []
    stacked = chart.kind == "stacked"
    width = slot * 0.7 / (1 if stacked else max(len(chart.series), 1))
    for i in range(len(chart.categories)):
        up = down = 0.0  # stacks grow away from zero, positives up and negatives down
        for j, series in enumerate(chart.series):
            value = series.values[i] if i < len(series.values) else None
            if value is None:
                continue
            if stacked:
                base = up if value >= 0 else down
                top = base + value
                if value >= 0:
                    up = top
                else:
                    down = top
                x = left + slot * i + slot * 0.15
            else:
                base, top = 0.0, value
                x = left + slot * i + slot * 0.15 + width * j
            y0, y1 = sorted((y(base), y(top)))
            out.append(
                f'<rect class="bar" x="{x:.1f}" y="{y0:.1f}" width="{width:.1f}" '
                f'height="{max(y1 - y0, 0.5):.1f}" fill="{PALETTE[j % len(PALETTE)]}">'
                f"<title>{escape(series.name)}, {escape(chart.categories[i])}: "
                f"{_figure(value)} {escape(chart.unit)}</title></rect>"
            )
    return out


def _lines(chart: Chart, slot: float, y, left: int) -> list[str]:
    out = []
    for j, series in enumerate(chart.series):
        colour = PALETTE[j % len(PALETTE)]
        points = [
            (left + slot * (i + 0.5), y(v), v) for i, v in enumerate(series.values) if v is not None
        ]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{py:.1f}" for x, py, _ in points)
            out.append(
                f'<polyline class="line" points="{path}" fill="none" stroke="{colour}" '
                f'stroke-width="2"/>'
            )
        for x, py, v in points:
            out.append(
                f'<circle class="point" cx="{x:.1f}" cy="{py:.1f}" r="3" fill="{colour}">'
                f"<title>{escape(series.name)}: {_figure(v)} "
                f"{escape(chart.unit)}</title></circle>"
            )
    return out


def _legend(chart: Chart, height: int) -> list[str]:
    out, x = [], LEFT
    y = height - 22
    for j, series in enumerate(chart.series):
        colour = PALETTE[j % len(PALETTE)]
        out.append(
            f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="{y}">{escape(series.name)}</text>'
        )
        x += 24 + 7 * len(series.name)
        if x > WIDTH - 120:  # wrap to a second legend row
            x, y = LEFT, y + 16
    return out


def _value_range(chart: Chart) -> tuple[float, float]:
    values: list[float] = [0.0]
    if chart.kind == "stacked":
        for i in range(len(chart.categories)):
            cells = [s.values[i] for s in chart.series if i < len(s.values)]
            values.append(sum(v for v in cells if v is not None and v > 0))
            values.append(sum(v for v in cells if v is not None and v < 0))
    else:
        values += [v for s in chart.series for v in s.values if v is not None]
    return min(values), max(values)


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round steps (1, 2 or 5 × 10^n) that cover [low, high], zero included."""
    if high == low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    last = math.ceil(high / step) * step
    return [first + k * step for k in range(round((last - first) / step) + 1)]
