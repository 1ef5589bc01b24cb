"""The listing's read-ahead: same items, same order, the producer's error where it was."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from workers.engine.readahead import read_ahead


def test_items_come_in_order_and_the_producer_runs_ahead() -> None:
    made: list[int] = []

    def pages() -> Iterator[int]:
        for n in range(10):
            made.append(n)
            yield n

    seen = []
    for item in read_ahead(pages(), buffer=3):
        if item == 0:
            time.sleep(0.2)  # the consumer is busy with the first: the producer goes on
            assert len(made) >= 3
        seen.append(item)
    assert seen == list(range(10))


def test_the_producers_error_is_raised_after_what_came_before_it() -> None:
    def pages() -> Iterator[int]:
        yield 1
        yield 2
        raise ConnectionError("page 3 failed")

    seen = []
    with pytest.raises(ConnectionError, match="page 3"):
        for item in read_ahead(pages(), buffer=5):
            seen.append(item)
    assert seen == [1, 2]


def test_a_consumer_that_stops_early_stops_the_producer() -> None:
    def endless() -> Iterator[int]:
        n = 0
        while True:
            yield n
            n += 1

    before = threading.active_count()
    for item in read_ahead(endless(), buffer=2):
        if item == 5:
            break
    deadline = time.monotonic() + 2
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() == before
