"""Gateway throttling per realm+app, and Core/CorePlus metering.

Limits (switch ``throttle_preset`` times ``throttle_scale``): requests per rolling minute,
per rolling second, in flight at once, and batch requests per minute. A refused request
does not count. Metering counts every data call per realm and per app: ``core`` for
creates/updates (data in) and ``coreplus`` for reads, queries and CDC (data out); each
batch item is metered as its own call. With ``builder_block_after`` = N, an app's
CorePlus calls after the N-th are refused (429 with a Retry-After reaching the first of
next month, i.e. a long wait that clients should park on) while writes still pass.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from emulators.core import ConcurrencyGate, RollingWindow
from emulators.quickbooks import faults
from emulators.quickbooks.switches import Limits, Switches

__all__ = ["Meter", "Throttle", "ThrottleKey"]

ThrottleKey = tuple[str, str]  # (realm id, client id)


class Throttle:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.minute = RollingWindow(500, 60.0, clock)
        self.second = RollingWindow(10, 1.0, clock)
        self.batch = RollingWindow(120, 60.0, clock)
        self.gate = ConcurrencyGate(10)
        self.limits = Limits(500, 10, 10, 120)

    def configure(self, limits: Limits) -> None:
        self.limits = limits
        self.minute.limit = limits.per_minute
        self.second.limit = limits.per_second
        self.batch.limit = limits.batch_per_minute
        self.gate.limit = limits.concurrent

    def enter(self, key: ThrottleKey) -> bool | None:
        """Take an in-flight slot: True (taken), False (over the limit), None (no limit)."""
        if not self.limits.concurrent:
            return None
        return self.gate.enter(key)

    def leave(self, key: ThrottleKey) -> None:
        self.gate.leave(key)

    def admit(self, key: ThrottleKey, *, is_batch: bool, switches: Switches) -> None:
        """Count one request against the rolling windows, or raise the 429 gateway fault."""
        windows = [(self.second, self.limits.per_second, "per second"),
                   (self.minute, self.limits.per_minute, "per minute")]
        if is_batch:
            windows.append((self.batch, self.limits.batch_per_minute, "batch per minute"))
        for window, limit, label in windows:
            if limit and not window.hit(key).allowed:
                raise faults.throttled(f"Too many requests {label} for this company and app.",
                                       switches.retry_after)

    @staticmethod
    def over_concurrency(switches: Switches) -> faults.GatewayFault:
        return faults.throttled("Too many concurrent requests for this company and app.",
                                switches.retry_after)

    def reset(self) -> None:
        for window in (self.minute, self.second, self.batch):
            window.reset()
        self.gate.reset()


@dataclass
class Meter:
    realms: dict[str, dict[str, int]] = field(default_factory=dict)
    apps: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, realm_id: str, client_id: str, tier: str, n: int = 1) -> None:
        for table, key in ((self.realms, realm_id), (self.apps, client_id)):
            counters = table.setdefault(key, {"core": 0, "coreplus": 0})
            counters[tier] += n

    def check_coreplus(self, client_id: str, switches: Switches) -> None:
        limit = switches.builder_block_after
        if limit is None:
            return
        used = self.apps.get(client_id, {}).get("coreplus", 0)
        if used >= limit:
            raise faults.throttled("CorePlus monthly limit reached for this app (Builder tier).",
                                   _seconds_to_next_month())

    def as_json(self) -> dict[str, dict[str, dict[str, int]]]:
        return {"realms": {k: dict(v) for k, v in self.realms.items()},
                "apps": {k: dict(v) for k, v in self.apps.items()}}

    def reset(self) -> None:
        self.realms.clear()
        self.apps.clear()


def _seconds_to_next_month() -> int:
    now = datetime.now(UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return math.ceil((datetime(year, month, 1, tzinfo=UTC) - now).total_seconds())
