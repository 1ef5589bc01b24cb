"""The rate-limit floor: the least wall time the vendors' limits allow for a set of calls.

A limit of ``limit`` calls in any rolling ``window`` seconds lets the first ``limit``
calls go at once, the next ``limit`` one window later, and so on, so ``n`` calls need at
least ``((n - 1) // limit) * window`` seconds. Different limits (HubSpot's ten-second
bucket and its search bucket, QBO's per-minute, per-second and batch limits) bind
independently and calls to the two vendors run in parallel, so the floor of a run is
the largest single-bucket floor. Network latency and our own CPU are *not* in the
floor: it is what a perfect client with a zero-latency network would achieve.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Bucket:
    """One vendor limit: ``limit`` calls per rolling ``window`` seconds, counting the call
    categories in ``counts`` (see `bench.calls.CATEGORIES`)."""

    name: str
    system: str
    limit: int
    window: float
    counts: frozenset[str]

    def describe(self) -> str:
        window = f"{self.window:g} s"
        return f"{self.system} {self.name}: {self.limit} per {window}"


@dataclass(frozen=True)
class Floor:
    seconds: float
    binding: str  # the bucket that sets the floor, or "none" when no call is limited
    per_bucket: Mapping[str, float]

    def ratio(self, wall_seconds: float) -> float | None:
        """wall / floor; None when the floor is zero (nothing limited the run)."""
        return wall_seconds / self.seconds if self.seconds > 0 else None


def window_floor(calls: int, limit: int, window: float) -> float:
    """Least seconds between the first and the last of ``calls`` under one rolling limit."""
    if calls <= 1 or limit <= 0:
        return 0.0
    return ((calls - 1) // limit) * window


def joint_floor(calls: int, windows: Iterable[tuple[int, float]]) -> float:
    """Least seconds between the first and the last of ``calls`` that each pass every
    ``(limit, window)`` rolling limit: the greedy earliest schedule (each call as soon as
    every window has room), which no other schedule beats for identical calls."""
    limits = [(limit, window) for limit, window in windows if limit > 0]
    if calls <= 1 or not limits:
        return 0.0
    times = [0.0] * calls
    for i in range(1, calls):
        t = times[i - 1]
        for limit, window in limits:
            if i >= limit:
                t = max(t, times[i - limit] + window)
        times[i] = t
    return times[-1]


def rate_floor(buckets: Iterable[Bucket], calls: Mapping[str, Mapping[str, int]]) -> Floor:
    """The floor for ``calls`` = {system: {category: count}} under ``buckets``."""
    buckets = list(buckets)
    per_bucket: dict[str, float] = {}
    for bucket in buckets:
        by_category = calls.get(bucket.system, {})
        n = sum(count for category, count in by_category.items() if category in bucket.counts)
        per_bucket[f"{bucket.system}.{bucket.name}"] = window_floor(n, bucket.limit, bucket.window)
    for system, by_category in calls.items():
        for category, n in by_category.items():
            binding = [b for b in buckets if b.system == system and category in b.counts]
            if len(binding) > 1:
                windows = [(b.limit, b.window) for b in binding]
                per_bucket[f"{system}.{category} (all limits)"] = joint_floor(n, windows)
    if not per_bucket or max(per_bucket.values()) == 0:
        return Floor(0.0, "none", per_bucket)
    binding = max(per_bucket, key=lambda name: per_bucket[name])
    return Floor(per_bucket[binding], binding, per_bucket)
