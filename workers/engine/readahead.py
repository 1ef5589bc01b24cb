"""An iterator read ahead by a thread: the next page of a vendor listing is fetched while
the caller inserts and announces the one before (a full sync's listing is its run's
critical path when the writes keep up: QBO's 1,000-item pages took 1.3 s each, about
0.4 s of them waiting for the answer)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def read_ahead(items: Iterable[T], *, buffer: int) -> Iterator[T]:
    """``items`` in order, produced by a thread up to ``buffer`` items ahead; an exception
    of the producer is raised here, where the caller would have met it. A consumer that
    stops early stops the producer at its next item."""
    box: queue.Queue[object] = queue.Queue(maxsize=buffer)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        box.put(item, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            box.put(_Failed(exc))

    thread = threading.Thread(target=produce, name="read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = box.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
