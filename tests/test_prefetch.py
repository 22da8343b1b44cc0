"""prefetch.prefetched: the next item is made in a background thread while the caller works
on the one before it; order, errors and an early stop are those of a plain loop."""

from __future__ import annotations

import threading

import pytest

from ifo_pipeline.prefetch import prefetched


def test_items_come_in_order_and_all_of_them():
    assert list(prefetched(iter(range(100)))) == list(range(100))
    assert list(prefetched(iter([]))) == []


def test_the_next_item_is_made_while_the_caller_works_on_this_one():
    second_started = threading.Event()

    def items():
        yield 1
        second_started.set()
        yield 2

    made = prefetched(items())
    assert next(made) == 1
    # Nothing more is asked of the iterator: the second item is being made regardless.
    assert second_started.wait(timeout=10)
    assert list(made) == [2]


def test_an_error_is_raised_at_the_item_it_was_making():
    def items():
        yield 1
        raise ValueError("the second item cannot be made")

    made = prefetched(items())
    assert next(made) == 1
    with pytest.raises(ValueError, match="second item"):
        next(made)


def test_stopping_early_draws_no_more_than_the_item_being_made():
    drawn = []

    def items():
        for i in range(10):
            drawn.append(i)
            yield i

    made = prefetched(items())
    assert next(made) == 0
    made.close()  # waits for the item being made, then stops
    assert drawn == [0, 1]
