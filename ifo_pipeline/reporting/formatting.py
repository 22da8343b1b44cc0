"""Figures in Swedish print: '-57 799', '12,5', '+3,4'. One place for every renderer."""

from __future__ import annotations

from decimal import Decimal

# The HTML report's thousands separator: narrow, as Swedish typography sets it, and no-break, so
# that the PDF never prints "-4" and "035" on two lines (U+2009 is a breaking space).
NARROW_NO_BREAK_SPACE = "\u202f"


def format_cell(value: object, fmt: str, thousands: str = " ") -> str:
    """A table cell as text; `fmt` as in content.Table.formats. Empty for a blank cell."""
    if value is None:
        return ""
    if fmt == "text" or isinstance(value, str):
        return str(value)
    number = Decimal(str(value))
    if fmt in ("tkr", "kr"):
        return _grouped(f"{number:,.0f}", thousands)
    if fmt == "mkr":
        return _grouped(f"{number:,.1f}", thousands)
    if fmt == "pct":
        return _grouped(f"{number:+,.1f}", thousands)
    # 'number': a count, or a mean with at most one decimal
    text = f"{number:,.1f}"
    if text.endswith(".0"):
        text = text[:-2]
    return _grouped(text, thousands)


def _grouped(text: str, thousands: str) -> str:
    if text.lstrip("-+").strip("0,.") == "":  # '-0' and '+0,0': zero has no sign
        text = text.lstrip("-+")
    return text.replace(",", "\0").replace(".", ",").replace("\0", thousands)
