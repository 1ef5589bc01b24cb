"""Vendor rate limits as data: defaults match the vendors, overridable per account."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Window:
    """At most ``limit`` requests in any rolling ``seconds``."""

    name: str
    limit: int
    seconds: float

    @property
    def span_ms(self) -> int:
        """The window we enforce: a little longer than the vendor's. Requests are dated
        when their answer came (`budget`), never before the vendor counted them; the
        margin covers the vendor's own clock and bucket granularity."""
        return int((self.seconds + max(0.15, self.seconds * 0.02)) * 1000)


@dataclass(frozen=True)
class Limits:
    """One (system, account)'s budget. ``ops`` maps an operation kind to its windows;
    every kind also passes the daily cap and the concurrency gate when those are set."""

    ops: Mapping[str, tuple[Window, ...]]
    daily: int | None = None
    concurrency: int | None = None
    # A lease outlives the slowest legitimate call (connect + read timeout) and no more:
    # a killed process frees its slot when the lease runs out.
    lease_seconds: float = 45.0

    def windows(self, op: str) -> tuple[Window, ...]:
        try:
            return self.ops[op]
        except KeyError:
            raise ValueError(f"unknown rate-limit operation {op!r}") from None


def hubspot_limits(
    *, burst_per_10s: int = 100, daily: int | None = 250_000, search_per_second: int = 5
) -> Limits:
    """Private app on Free/Starter: 100 per rolling 10 s, 250,000 a day, search 5/s
    (search is exempt from the 10-second bucket but counts toward the daily cap)."""
    return Limits(
        ops={
            "default": (Window("burst", burst_per_10s, 10.0),),
            "search": (Window("search", search_per_second, 1.0),),
        },
        daily=daily,
    )


def quickbooks_limits(
    *,
    per_minute: int = 500,
    per_second: int = 10,
    concurrency: int = 10,
    batch_per_minute: int = 120,
) -> Limits:
    """Per realm and app: 500/min, 10 rps, 10 in flight; batch 120/min (and counts as a
    request)."""
    minute = Window("minute", per_minute, 60.0)
    second = Window("second", per_second, 1.0)
    return Limits(
        ops={
            "default": (minute, second),
            "batch": (minute, second, Window("batch", batch_per_minute, 60.0)),
        },
        concurrency=concurrency,
    )


_BUILDERS = {"hubspot": hubspot_limits, "quickbooks": quickbooks_limits}
# A public OAuth app gets its own burst of 110 per 10 s per installing portal and no daily
# cap (the daily cap belongs to private apps); QBO limits do not depend on the token kind.
_KIND_DEFAULTS: dict[tuple[str, str], dict[str, Any]] = {
    ("hubspot", "oauth"): {"burst_per_10s": 110, "daily": None},
}


def limits_for(
    system: str, overrides: Mapping[str, Any] | None = None, *, kind: str | None = None
) -> Limits:
    """The vendor defaults for this credential ``kind`` with an account's overrides
    (keyword names of the builder, plus ``lease_seconds``); unknown names are refused so a
    typo never goes unnoticed."""
    overrides = {**_KIND_DEFAULTS.get((system, kind or ""), {}), **(overrides or {})}
    lease = overrides.pop("lease_seconds", None)
    try:
        limits = _BUILDERS[system](**overrides)
    except TypeError as exc:
        raise ValueError(f"bad rate-limit override for {system}: {exc}") from None
    if lease is not None:
        limits = dataclasses.replace(limits, lease_seconds=float(lease))
    return limits
