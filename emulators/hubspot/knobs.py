"""The HubSpot emulator's knobs: defaults, allowed values, and validation.

Switches marked [U] model behaviour the vendor documentation leaves uncertain; the
defaults are the stricter reading, so a client that passes here is not relying on luck.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emulators.core import KnobError

DEFAULTS: dict[str, Any] = {
    # rate limits
    "rate_limit_preset": "starter",  # starter 100/10 s + 250k/day, professional, enterprise, off
    "rate_limit_scale": 1.0,  # every limit x scale (benchmarks at real limits x k)
    "search_per_second": 5,
    "rate_limit_retry_after": False,  # [U] no documented Retry-After on REST 429s
    # search
    "search_lag_create_ms": 2000,  # fresh creates appear in search this much later
    "search_lag_update_ms": 5000,
    "search_max_groups": 5,  # [U] sources say 5 or 6 groups, 6 or 10 filters
    "search_max_filters": 6,
    "search_max_limit": 200,  # [U] above: 400
    "search_eq_case_insensitive": True,  # [U] EQ/NEQ/IN on strings ignore case
    # objects
    "list_max_limit": 100,
    "list_limit_over_max": "error",  # [U] "error" (400) or "clamp"
    "batch_max_inputs": 100,
    "not_found_body": "empty",  # [S] 404 bodies: "empty", "html" or "json"
    "delete_unknown_status": 204,  # [U] DELETE of an unknown id: 204 or 404
    "unique_conflict_style": "conflict_409",  # [U] or "validation_400"
    "coerce_non_string_values": False,  # accept JSON numbers/booleans as property values
    "hs_sku_unique": False,  # [U] hs_sku hasUniqueValue (expected false)
    # auth
    "oauth_expires_in": 1800,
    "rotate_refresh_tokens": False,  # [U] HubSpot historically returns the same one
    "expired_token_category": "INVALID_AUTHENTICATION",  # [U] or "EXPIRED_AUTHENTICATION"
}

CHOICES: dict[str, tuple[Any, ...]] = {
    "rate_limit_preset": ("starter", "professional", "enterprise", "off"),
    "list_limit_over_max": ("error", "clamp"),
    "not_found_body": ("empty", "html", "json"),
    "delete_unknown_status": (204, 404),
    "unique_conflict_style": ("conflict_409", "validation_400"),
    "expired_token_category": ("INVALID_AUTHENTICATION", "EXPIRED_AUTHENTICATION"),
}

POSITIVE = {
    "rate_limit_scale",
    "search_per_second",
    "search_max_groups",
    "search_max_filters",
    "search_max_limit",
    "list_max_limit",
    "batch_max_inputs",
    "oauth_expires_in",
}


def check(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Normalised changes, or `KnobError` naming the first bad knob."""
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in DEFAULTS:
            raise KnobError(f"unknown knob {name!r}; known: {', '.join(sorted(DEFAULTS))}")
        default = DEFAULTS[name]
        if name in CHOICES:
            if value not in CHOICES[name] or isinstance(value, bool):
                raise KnobError(f"{name} must be one of {list(CHOICES[name])}")
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise KnobError(f"{name} must be true or false")
        elif isinstance(default, int | float):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise KnobError(f"{name} must be a non-negative number")
            if name in POSITIVE and value <= 0:
                raise KnobError(f"{name} must be greater than zero")
            if isinstance(default, int) and not float(value).is_integer():
                raise KnobError(f"{name} must be a whole number")
            value = type(default)(value)
        out[name] = value
    return out
