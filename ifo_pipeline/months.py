"""Accounting months as the pipeline counts them: YYYYMM integers (201903) in the warehouse,
'YYYY-MM' keys ('2019-03') for Dagster's partitions and for people."""

from __future__ import annotations

from collections.abc import Iterable


def month_key(period: int) -> str:
    """201903 -> '2019-03', the monthly partition key."""
    return f"{period // 100}-{period % 100:02d}"


def period_of(key: str) -> int:
    """'2019-03' -> 201903."""
    year, month = key.split("-")
    return int(year) * 100 + int(month)


def months_between(first: int, last: int) -> int:
    """201811, 201902 -> 3: how many months `last` is after `first`."""
    return (last // 100 - first // 100) * 12 + last % 100 - first % 100


def months_text(months: Iterable[int]) -> str:
    """A few months by name, many as a span: '2019-01, 2019-03' or '2017-01 .. 2019-03 (27)'."""
    names = [month_key(m) for m in sorted(months)]
    return ", ".join(names) if len(names) <= 3 else f"{names[0]} .. {names[-1]} ({len(names)})"


def month_ranges(months: Iterable[int]) -> list[tuple[int, int]]:
    """Contiguous runs of months: {201811, 201812, 201901, 201905} ->
    [(201811, 201901), (201905, 201905)]."""
    ranges: list[tuple[int, int]] = []
    for month in sorted(months):
        if ranges and _next_month(ranges[-1][1]) == month:
            ranges[-1] = (ranges[-1][0], month)
        else:
            ranges.append((month, month))
    return ranges


def _next_month(period: int) -> int:
    return period + 1 if period % 100 < 12 else (period // 100 + 1) * 100 + 1
