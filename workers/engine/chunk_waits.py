"""When a whole chunk must wait, and how long: it waits, or goes back as a chunk.

A rate limit (our shared budget or a vendor 429), an open circuit, a spent daily quota or
a token that needs a person are not the products' fault and nothing was written: the
chunk waits where it is if the wait is short (`SHORT_WAIT_SECONDS`), else its jobs are
given back (`jobs.defer`, the attempt not counted, no history row) and the chunk is
announced again, whole, for when the wait is over. Only a product's own trouble sends it
down the per-product path.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from models import utcnow
from workers.errors import ParkedError, RateLimited, SyncError, nothing_written

T = TypeVar("T")

# Longer waits give the worker process back (the chunk returns by countdown) instead of
# holding it idle; shorter ones are cheaper to sit out than a re-claim and a re-read.
SHORT_WAIT_SECONDS = 5.0
# A chunk back from a rate-limit wait reads its products again before it writes, about a
# second or two at real latency: it comes back this much early and sits out the rest, so
# its writes go when the limit allows them, not a read later (a full sync into QBO meets
# the batch limit's window twice per 10,000 products). Below SHORT_WAIT_SECONDS.
READ_AHEAD_SECONDS = 3.0


@dataclass(frozen=True)
class Wait:
    """``seconds`` from now; ``reason`` parks the jobs under that code (None: pending)."""

    seconds: float
    reason: str | None = None

    @property
    def short(self) -> bool:
        return self.reason is None and self.seconds <= SHORT_WAIT_SECONDS

    @property
    def come_back_in(self) -> float:
        """When a chunk given back for this wait should be announced again: a rate limit's
        wait less the read it makes first (`READ_AHEAD_SECONDS`); a parked one's in full."""
        if self.reason is not None:
            return self.seconds
        return max(self.seconds - READ_AHEAD_SECONDS, 0.0)


def wait_for(error: object, *, cap: float) -> Wait | None:
    """The wait ``error`` asks of a whole chunk, or None when it is not a wait (a product's
    own error, or one after which a write may have happened)."""
    if not isinstance(error, SyncError) or not nothing_written(error):
        return None
    if isinstance(error, RateLimited):
        seconds = error.retry_after if error.retry_after is not None else 1.0
        # Longer than any countdown: parked in Postgres, as a job's own retry would be.
        return Wait(seconds, error.code if seconds > cap else None)
    assert isinstance(error, ParkedError)
    if error.until is None:  # no known end (needs_reauth): look again after the cap
        return Wait(cap, error.code)
    return Wait(max((error.until - utcnow()).total_seconds(), 0.0), error.code)


def longest(waits: Iterable[Wait]) -> Wait:
    """One wait for a group: the longest, parked if any of them parks."""
    waits = list(waits)
    reason = next((w.reason for w in waits if w.reason), None)
    return Wait(max(w.seconds for w in waits), reason)


def patiently(call: Callable[[], T], *, deadline: float) -> T:
    """``call()``, sitting out short rate-limit waits until ``deadline`` (monotonic)."""
    while True:
        try:
            return call()
        except RateLimited as err:
            wait = err.retry_after if err.retry_after is not None else 1.0
            if wait > SHORT_WAIT_SECONDS or time.monotonic() + wait > deadline:
                raise
            time.sleep(wait)
