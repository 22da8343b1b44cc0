"""Work one step ahead in a background thread, for loops whose two halves each keep about one
core busy: the next item is made while the caller works on this one."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
_END = object()


def prefetched(items: Iterator[T]) -> Iterator[T]:
    """`items` in order, each drawn in a background thread while the caller works on the one
    before it. `items` runs in one thread at a time, never concurrently with itself; what it
    raises is raised here, at the item it was making. Closing this iterator early waits for
    the item being made (it is dropped) and draws no more."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch") as pool:
        upcoming = pool.submit(next, items, _END)
        while (item := upcoming.result()) is not _END:
            upcoming = pool.submit(next, items, _END)
            yield item  # type: ignore[misc]
