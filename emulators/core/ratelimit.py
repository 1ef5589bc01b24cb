"""Rate-limit primitives both vendor emulators use. Deterministic (the clock is injectable)
and O(1) amortised per request."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass

Clock = Callable[[], float]


@dataclass(frozen=True)
class Verdict:
    """Outcome of one hit: ``remaining`` after this hit; ``retry_after`` seconds until a slot
    frees up (0 when allowed)."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: float


class RollingWindow:
    """At most ``limit`` hits per key in any rolling ``window`` seconds. A refused hit is not
    counted (as the vendors do: a 429 does not extend the penalty). ``limit`` and ``window``
    may be changed at run time."""

    def __init__(self, limit: int, window: float, clock: Clock = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits: dict[Hashable, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: Hashable, now: float | None = None) -> Verdict:
        now = self._clock() if now is None else now
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            horizon = now - self.window
            while hits and hits[0] <= horizon:
                hits.popleft()
            if len(hits) >= self.limit:
                return Verdict(False, self.limit, 0, max(hits[0] - horizon, 0.0))
            hits.append(now)
            return Verdict(True, self.limit, self.limit - len(hits), 0.0)

    def used(self, key: Hashable, now: float | None = None) -> int:
        now = self._clock() if now is None else now
        with self._lock:
            hits = self._hits.get(key)
            return 0 if hits is None else sum(1 for t in hits if t > now - self.window)

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


class ConcurrencyGate:
    """At most ``limit`` requests in flight per key. ``enter`` never waits: it says yes or no,
    and every yes must be paired with one ``leave``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held: dict[Hashable, int] = {}
        self._lock = threading.Lock()

    def enter(self, key: Hashable) -> bool:
        with self._lock:
            held = self._held.get(key, 0)
            if held >= self.limit:
                return False
            self._held[key] = held + 1
            return True

    def leave(self, key: Hashable) -> None:
        with self._lock:
            held = self._held.get(key, 0) - 1
            if held > 0:
                self._held[key] = held
            else:
                self._held.pop(key, None)

    def in_flight(self, key: Hashable) -> int:
        return self._held.get(key, 0)

    def reset(self) -> None:
        with self._lock:
            self._held.clear()
