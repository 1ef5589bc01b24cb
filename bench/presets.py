"""Rate-limit and latency presets: the vendors' real numbers, compressed in time by ``k``.

A run at scale ``k`` is the real world played ``k`` times faster: every rate limit allows
``k`` times the calls per unit of time and every network latency is ``k`` times shorter,
so ratios (wall / floor, ours / naive, calls per product) mean the same as at ``k = 1``
while a realistic 1,000-product run fits in minutes. Multiply a measured wall time by
``k`` for the real-world estimate. CPU cost does not compress, which is why the CPU
figures are reported per product and not scaled.

Sources: /work/shared/api-reference.md §1.6 (HubSpot), §2.8 (QBO), §3 (latency, which no
vendor publishes; the figures there are assumptions and so are these).
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.floor import Bucket

# HubSpot's ten-second burst per app, by distribution / tier (§1.6).
HUBSPOT_TIERS: dict[str, int] = {"starter": 100, "oauth": 110, "pro": 190}
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

    def buckets(self) -> list[Bucket]:
        """Every limit the floor must respect, with windows shortened by ``scale``."""
        k = self.scale
        not_search = frozenset({"read", "write", "batch"})
        every_call = frozenset({"read", "search", "write", "batch"})
        return [
            Bucket("ten_secondly", "hubspot", HUBSPOT_TIERS[self.hubspot_tier], 10 / k, not_search),
            Bucket("search", "hubspot", HUBSPOT_SEARCH_PER_SECOND, 1 / k, frozenset({"search"})),
            Bucket("per_minute", "quickbooks", QBO_PER_MINUTE, 60 / k, every_call),
            Bucket("per_second", "quickbooks", QBO_PER_SECOND, 1 / k, every_call),
            Bucket("batch", "quickbooks", QBO_BATCH_PER_MINUTE, 60 / k, frozenset({"batch"})),
        ]

    def describe(self) -> str:
        real = (
            f"HubSpot {self.hubspot_tier} {HUBSPOT_TIERS[self.hubspot_tier]}/10 s + search "
            f"{HUBSPOT_SEARCH_PER_SECOND}/s; QBO {QBO_PER_MINUTE}/min, {QBO_PER_SECOND}/s, "
            f"{QBO_CONCURRENT} concurrent, batch {QBO_BATCH_PER_MINUTE}/min"
        )
        return f"{real}; time compressed by k={self.scale:g} (limits x k, latency / k)"


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
