"""Retry delays: exponential backoff with full jitter, Retry-After honoured.

Full jitter (a uniform draw in ``[0, min(cap, base * 2**attempt)]``) spreads retries of
many workers instead of synchronising them. A vendor's Retry-After is a floor: no retry
is scheduled before it. Anything longer than ``cap`` is not a Celery countdown at all
(it would risk the broker's visibility timeout): the job is parked in Postgres instead.
"""

from __future__ import annotations

import random

_rng = random.SystemRandom()


def backoff_delay(
    attempt: int,
    *,
    base: float,
    cap: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before try number ``attempt + 1`` (``attempt`` counts from 1)."""
    ceiling = min(cap, base * (2 ** max(attempt - 1, 0)))
    delay = (rng or _rng).uniform(0, ceiling)
    if retry_after is not None and retry_after > delay:
        delay = retry_after
    return delay


def should_park(retry_after: float | None, *, cap: float) -> bool:
    """True when the vendor asks for a wait too long for a countdown (park in Postgres)."""
    return retry_after is not None and retry_after > cap
