"""Run-time knobs: latency for every vendor, plus a free-form dict the vendor validates."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from typing import Any

CORE_KNOBS: dict[str, float] = {"latency_ms": 0.0, "jitter_ms": 0.0}


class KnobError(ValueError):
    """A knob value is refused; the message names the knob."""


Checker = Callable[[Mapping[str, Any], Mapping[str, Any]], Mapping[str, Any]]


class Knobs:
    """Current knob values. Updates are validated as a whole and then applied atomically.

    ``checker(changes, current)`` belongs to the vendor: it returns the normalised vendor
    changes or raises `KnobError`; unknown names must be refused there.
    """

    def __init__(
        self,
        vendor_defaults: Mapping[str, Any],
        checker: Checker,
        initial: Mapping[str, Any] | None = None,
        seed: int = 0,
    ) -> None:
        self._checker = checker
        self._values: dict[str, Any] = {**CORE_KNOBS, **vendor_defaults}
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        if initial:
            self.update(initial)
        self._start = dict(self._values)

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def update(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        core: dict[str, Any] = {}
        vendor: dict[str, Any] = {}
        for name, value in changes.items():
            if name in CORE_KNOBS:
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise KnobError(f"{name} must be a non-negative number of milliseconds")
                core[name] = float(value)
            else:
                vendor[name] = value
        checked = dict(self._checker(vendor, self.as_dict())) if vendor else {}
        with self._lock:
            self._values.update(core)
            self._values.update(checked)
            return dict(self._values)

    def restore(self) -> None:
        """Back to the values the emulator started with."""
        with self._lock:
            self._values = dict(self._start)

    def delay_seconds(self) -> float:
        """This request's injected latency: fixed part plus uniform jitter."""
        fixed, jitter = self._values["latency_ms"], self._values["jitter_ms"]
        if not fixed and not jitter:
            return 0.0
        return (fixed + (self._rng.uniform(0, jitter) if jitter else 0.0)) / 1000.0
