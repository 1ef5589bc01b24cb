"""What a benchmark run measured, as plain JSON-ready records.

The JSON document written under ``bench/results/`` is the source of truth; the markdown
in ``docs/benchmarks.md`` is rendered from it (`bench.report.render`), so a reader can
always regenerate the page from the numbers.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.calls import Tally
from bench.floor import Floor

OURS = "productsync"
NAIVE = "naive"


@dataclass
class SyncMeasurement:
    """One measured sync of every source product: by productsync or by the naive script."""

    who: str  # OURS | NAIVE
    scenario: str  # "full" (initial) | "resync" (nothing changed)
    direction: str
    products: int
    wall_seconds: float
    calls: Mapping[str, Tally]  # by system
    floor: Floor
    preset: str
    outcomes: Mapping[str, int] = field(default_factory=dict)  # created/updated/unchanged/…
    # CPU seconds by process group ("worker": the syncing Celery worker; "emulators": the
    # benchmark process, i.e. both emulators and, for the naive runs, the script itself).
    cpu_seconds: Mapping[str, float] = field(default_factory=dict)

    @property
    def total(self) -> Tally:
        result = Tally()
        for t in self.calls.values():
            result = result + t
        return result

    def as_dict(self) -> dict[str, Any]:
        total = self.total
        return {
            "who": self.who,
            "scenario": self.scenario,
            "direction": self.direction,
            "products": self.products,
            "wall_seconds": round(self.wall_seconds, 3),
            "calls": {system: t.as_dict() for system, t in self.calls.items()},
            "total": total.as_dict(),
            "per_product": total.per_product(self.products),
            "throttled": total.throttled,
            "floor_seconds": round(self.floor.seconds, 3),
            "floor_binding": self.floor.binding,
            "floor_per_bucket": {k: round(v, 3) for k, v in self.floor.per_bucket.items()},
            "wall_over_floor": _round(self.floor.ratio(self.wall_seconds)),
            "preset": self.preset,
            "outcomes": dict(self.outcomes),
            "cpu_ms_per_product": {
                name: round(seconds * 1000 / max(self.products, 1), 3)
                for name, seconds in self.cpu_seconds.items()
            },
        }


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def spread(values: Sequence[float], digits: int = 3) -> dict[str, float]:
    """p50, p95 and max of ``values`` (0.0 each for none)."""
    return {
        "p50": round(percentile(values, 50), digits),
        "p95": round(percentile(values, 95), digits),
        "max": round(max(values, default=0.0), digits),
    }


@dataclass
class LatencySummary:
    """Change → destination latencies of one steady-state run, in seconds."""

    samples: list[float]
    missing: int  # edits never seen at the destination before the run ended

    def as_dict(self) -> dict[str, Any]:
        s = self.samples
        return {
            "edits_seen": len(s),
            "edits_missing": self.missing,
            "p50": round(percentile(s, 50), 3),
            "p95": round(percentile(s, 95), 3),
            "max": round(max(s), 3) if s else 0.0,
            "mean": round(statistics.fmean(s), 3) if s else 0.0,
        }
