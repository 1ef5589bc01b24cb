"""A call per part, several at once: a chunk's batch calls take the time of the slowest,
not of all of them together. The shared rate budget still decides when each may go (and
QBO's in-flight limit), so going at once never sends more than the vendor allows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

P = TypeVar("P")
R = TypeVar("R")

AT_ONCE = 4  # a full-sync chunk's batch calls: QBO 3 x 30 writes, HubSpot 4 x 100


def each_at_once(call: Callable[[P], R], parts: Sequence[P], at_once: int = AT_ONCE) -> list[R]:
    """``[call(part) for part in parts]``, up to ``at_once`` at a time, in order."""
    if len(parts) <= 1:
        return [call(part) for part in parts]
    with ThreadPoolExecutor(max_workers=min(len(parts), at_once)) as pool:
        return list(pool.map(call, parts))
