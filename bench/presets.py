"""Rate-limit and latency presets: the vendors' real numbers, sped up by ``k``.

A run at scale ``k`` plays the real world about ``k`` times faster: every rate limit
allows ``k`` times the calls in the vendor's own window (the emulators multiply the
counts, keeping the windows) and every network latency is ``k`` times shorter, so
ratios (wall / floor, ours / naive, calls per product) mean roughly what they mean at
``k = 1`` while a realistic 1,000-product run fits in minutes. CPU cost does not
compress, which is why CPU figures are reported per product and never scaled.

Sources: /work/shared/api-reference.md §1.6 (HubSpot), §2.8 (QBO), §3 (latency, which no
vendor publishes; the figures there are assumptions and so are these).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bench.floor import Bucket

# HubSpot's ten-second burst per private app, by tier (§1.6); names as the emulator's.
HUBSPOT_TIERS: dict[str, int] = {"starter": 100, "professional": 190, "enterprise": 190}
HUBSPOT_SEARCH_PER_SECOND = 5
QBO_PER_MINUTE = 500
QBO_PER_SECOND = 10
QBO_CONCURRENT = 10
QBO_BATCH_PER_MINUTE = 120


@dataclass(frozen=True)
class LatencyPreset:
    """Per-vendor injected latency at ``k = 1``: fixed part plus uniform jitter, in ms."""

    name: str
    hubspot_ms: tuple[float, float]
    quickbooks_ms: tuple[float, float]

    def knobs(self, system: str, scale: float) -> dict[str, float]:
        fixed, jitter = self.hubspot_ms if system == "hubspot" else self.quickbooks_ms
        return {"latency_ms": round(fixed / scale, 3), "jitter_ms": round(jitter / scale, 3)}

    def describe(self, scale: float) -> str:
        def span(system: str) -> str:
            knobs = self.knobs(system, scale)
            low, high = knobs["latency_ms"], knobs["latency_ms"] + knobs["jitter_ms"]
            return f"{low:g}-{high:g} ms"

        return (
            f"every HubSpot call {span('hubspot')}, every QBO call {span('quickbooks')} "
            f"(api-reference §3 assumptions divided by k = {scale:g})"
        )


LATENCIES: dict[str, LatencyPreset] = {
    # api-reference §3 suggestions: HubSpot single-object 150-300 ms, QBO 200-500 ms.
    "realistic": LatencyPreset("realistic", (150.0, 150.0), (200.0, 300.0)),
    "none": LatencyPreset("none", (0.0, 0.0), (0.0, 0.0)),
}


@dataclass(frozen=True)
class RatePreset:
    """The vendors' limits for one HubSpot tier, compressed by ``scale``."""

    hubspot_tier: str = "starter"
    scale: float = 1.0

    def __post_init__(self) -> None:
        if self.hubspot_tier not in HUBSPOT_TIERS:
            raise ValueError(
                f"unknown HubSpot tier {self.hubspot_tier!r}; one of {', '.join(HUBSPOT_TIERS)}"
            )
        if not self.scale > 0:
            raise ValueError("the scale factor must be positive")

    @property
    def name(self) -> str:
        return f"{self.hubspot_tier}x{self.scale:g}"

    # Rounding as the emulators round: HubSpot floors a scaled limit, QBO takes the ceiling.
    def _hubspot(self, limit: int) -> int:
        return max(1, math.floor(limit * self.scale))

    def _quickbooks(self, limit: int) -> int:
        return max(1, math.ceil(limit * self.scale))

    def buckets(self) -> list[Bucket]:
        """Every limit the emulators enforce at this preset (so the floor is theirs)."""
        not_search = frozenset({"read", "write", "batch"})
        every_call = frozenset({"read", "search", "write", "batch"})
        hs, qb = self._hubspot, self._quickbooks
        return [
            Bucket("ten_secondly", "hubspot", hs(HUBSPOT_TIERS[self.hubspot_tier]), 10, not_search),
            Bucket("search", "hubspot", hs(HUBSPOT_SEARCH_PER_SECOND), 1, frozenset({"search"})),
            Bucket("per_minute", "quickbooks", qb(QBO_PER_MINUTE), 60, every_call),
            Bucket("per_second", "quickbooks", qb(QBO_PER_SECOND), 1, every_call),
            Bucket("batch", "quickbooks", qb(QBO_BATCH_PER_MINUTE), 60, frozenset({"batch"})),
        ]

    def emulator_knobs(self) -> dict[str, dict[str, Any]]:
        """Knobs that make each emulator enforce this preset."""
        return {
            "hubspot": {"rate_limit_preset": self.hubspot_tier, "rate_limit_scale": self.scale},
            "quickbooks": {"throttle_preset": "production", "throttle_scale": self.scale},
        }

    def client_limits(self) -> dict[str, dict[str, Any]]:
        """The per-account budget productsync is configured with for this preset
        (``credentials.rate_limits``), as an operator on this tier would set it."""
        return {
            "hubspot": {
                "burst_per_10s": self._hubspot(HUBSPOT_TIERS[self.hubspot_tier]),
                "search_per_second": self._hubspot(HUBSPOT_SEARCH_PER_SECOND),
                "daily": None,
            },
            "quickbooks": {
                "per_minute": self._quickbooks(QBO_PER_MINUTE),
                "per_second": self._quickbooks(QBO_PER_SECOND),
                "concurrency": self._quickbooks(QBO_CONCURRENT),
                "batch_per_minute": self._quickbooks(QBO_BATCH_PER_MINUTE),
            },
        }

    def describe(self) -> str:
        real = (
            f"HubSpot {self.hubspot_tier} {HUBSPOT_TIERS[self.hubspot_tier]}/10 s + search "
            f"{HUBSPOT_SEARCH_PER_SECOND}/s; QBO {QBO_PER_MINUTE}/min, {QBO_PER_SECOND}/s, "
            f"{QBO_CONCURRENT} concurrent, batch {QBO_BATCH_PER_MINUTE}/min"
        )
        return f"{real}; sped up by k = {self.scale:g} (every limit x k, latency / k)"


def parse_preset(text: str) -> RatePreset:
    """``starter``, ``pro x5``, ``oauth*2`` or ``pro:10`` → a `RatePreset`."""
    for sep in ("*", ":", "x"):
        if sep in text:
            tier, _, scale = text.partition(sep)
            try:
                return RatePreset(tier.strip(), float(scale))
            except ValueError as exc:
                raise ValueError(f"bad preset {text!r}: {exc}") from None
    return RatePreset(text.strip(), 1.0)
