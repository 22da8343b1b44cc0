"""Monthly partitions: one per accounting month, for the ledger and the volume counts.

A run covers a range of months (one run, not one per month: the load is set-based and the
marts are rebuilt once). The current month is a partition too: a year-to-date export
delivered mid-month holds it.
"""

from collections.abc import Iterable

import dagster as dg

from ifo_pipeline.months import month_key, month_ranges
from ifo_pipeline.settings import TIMEZONE, Settings

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def monthly_partitions(settings: Settings) -> dg.MonthlyPartitionsDefinition:
    return dg.MonthlyPartitionsDefinition(
        start_date=settings.first_month, fmt="%Y-%m", timezone=TIMEZONE, end_offset=1
    )


def partition_ranges(
    partitions: dg.PartitionsDefinition, months: Iterable[int], unreadable: bool = False
) -> list[tuple[str, str]]:
    """The contiguous ranges of partition keys that cover `months` (months before the first
    partition are left out). A file whose months cannot be told still needs a run, which
    refuses it and says why: the latest month then (any run loads every new file)."""
    months = list(months)
    keys = set(partitions.get_partition_keys())
    wanted = [m for m in months if month_key(m) in keys]
    ranges = [(month_key(a), month_key(b)) for a, b in month_ranges(wanted)]
    if not ranges and (unreadable or months):
        last = partitions.get_last_partition_key()
        ranges = [(last, last)]
    return ranges


def range_tags(start: str, end: str) -> dict[str, str]:
    """The run tags Dagster reads a partition range from (as a backfill sets them)."""
    return {RANGE_START_TAG: start, RANGE_END_TAG: end}
