"""Switches: every QBO behaviour the public sources leave uncertain, plus the limits.

One immutable :class:`Switches` per emulator, replaced wholesale when a knob changes
(``Switches.updated(mapping)`` validates names and types). Defaults and why:

==============================  =========  =================================================
switch                          default    why
==============================  =========  =================================================
name_case_insensitive           True       QuickBooks name lists ignore case in the UI; the
                                           stricter rule makes clients handle 6240 for
                                           ``widget`` vs ``Widget``.
name_unique_includes_inactive   True       without the " (deleted)" rename an inactive item
                                           still holds its name; stricter for clients.
rename_on_inactivate            False      seen on Accounts only ([U] for Items).
name_invalid_char_code          "6000"     business validation; "2050" is the alternative.
strict_expense_account          False      XSD: Expense required only with purchase info.
bump_synctoken_on_noop          True       api-reference §2.3 default.
replay_errors                   False      only successful writes are replayed by
                                           ``requestid`` so a retry after a stale-token
                                           re-read is not answered with the old 5010.
query_ci_fields                 Name,      string ``=``/``IN``/``LIKE`` ignore case on these
                                FQN,       fields; Sku and Id compare exactly (the design
                                Description matches SKUs exactly; clients filter exactly).
maxresults_over_limit           "clamp"    [U] §2.5; "error" answers 4001.
cdc_over_limit                  "truncate" [U] §2.6 ("shrink the window"); "error" -> 400.
refresh_rotation                "every"    every refresh returns a new refresh token and
                                           supersedes the old one; "period" rotates only
                                           after ``refresh_rotation_period`` seconds.
throttle_preset                 production 500/min, 10 concurrent, 10 rps, batch 120/min;
                                           "legacy": batch 40/min and no rps cap; "off".
retry_after                     None       429s carry no Retry-After unless set (seconds).
builder_block_after             None       Builder-tier block after N CorePlus calls.
==============================  =========  =================================================
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

__all__ = ["PRESETS", "Limits", "Switches"]


@dataclass(frozen=True)
class Limits:
    """Throttle numbers per realm+app; 0 disables a limit."""

    per_minute: int
    concurrent: int
    per_second: int
    batch_per_minute: int

    def scaled(self, factor: float) -> Limits:
        def scale(value: int) -> int:
            return 0 if value == 0 else max(1, math.ceil(value * factor))

        return Limits(scale(self.per_minute), scale(self.concurrent), scale(self.per_second),
                      scale(self.batch_per_minute))


PRESETS: dict[str, Limits] = {
    "production": Limits(per_minute=500, concurrent=10, per_second=10, batch_per_minute=120),
    "legacy": Limits(per_minute=500, concurrent=10, per_second=0, batch_per_minute=40),
    "off": Limits(per_minute=0, concurrent=0, per_second=0, batch_per_minute=0),
}

_CHOICES: dict[str, tuple[str, ...]] = {
    "name_invalid_char_code": ("6000", "2050"),
    "maxresults_over_limit": ("clamp", "error"),
    "cdc_over_limit": ("truncate", "error"),
    "refresh_rotation": ("every", "period"),
    "throttle_preset": tuple(PRESETS),
}


@dataclass(frozen=True)
class Switches:
    name_case_insensitive: bool = True
    name_unique_includes_inactive: bool = True
    rename_on_inactivate: bool = False
    name_invalid_char_code: str = "6000"
    strict_expense_account: bool = False
    bump_synctoken_on_noop: bool = True
    replay_errors: bool = False
    query_ci_fields: tuple[str, ...] = ("Name", "FullyQualifiedName", "Description")
    maxresults_over_limit: str = "clamp"
    max_results: int = 1000
    cdc_over_limit: str = "truncate"
    cdc_max_objects: int = 1000
    cdc_lookback_days: int = 30
    batch_max_items: int = 30
    access_token_ttl: int = 3600
    refresh_token_ttl: int = 8_726_400
    refresh_rotation: str = "every"
    refresh_rotation_period: int = 86_400
    throttle_preset: str = "production"
    throttle_scale: float = 1.0
    retry_after: int | None = None
    builder_block_after: int | None = None

    @property
    def limits(self) -> Limits:
        return PRESETS[self.throttle_preset].scaled(self.throttle_scale)

    def as_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["query_ci_fields"] = list(self.query_ci_fields)
        limits = self.limits
        data["limits"] = {"per_minute": limits.per_minute, "concurrent": limits.concurrent,
                          "per_second": limits.per_second,
                          "batch_per_minute": limits.batch_per_minute}
        return data

    def updated(self, changes: Mapping[str, Any]) -> Switches:
        """A copy with ``changes`` applied; ValueError names the first bad key or value."""
        known = {f.name: f for f in fields(self)}
        clean: dict[str, Any] = {}
        for key, value in changes.items():
            if key not in known:
                raise ValueError(f"unknown quickbooks switch {key!r}")
            clean[key] = _coerce(key, getattr(self, key), value)
        return replace(self, **clean)


def _coerce(key: str, current: Any, value: Any) -> Any:
    if key in _CHOICES:
        if value not in _CHOICES[key]:
            raise ValueError(f"{key} must be one of {', '.join(_CHOICES[key])}")
        return value
    if key == "query_ci_fields":
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ValueError("query_ci_fields must be a list of field names")
        return tuple(value)
    if key in ("retry_after", "builder_block_after"):
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{key} must be a non-negative integer or null")
        return value
    if key == "throttle_scale":
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ValueError("throttle_scale must be a positive number")
        return float(value)
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{key} must be true or false")
        return value
    if isinstance(current, int):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{key} must be a non-negative integer")
        return value
    raise ValueError(f"{key} cannot be set")  # pragma: no cover - every field handled above
