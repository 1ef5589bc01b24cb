"""Shared vendor rate budgets in Redis, per (system, account), across processes and hosts."""

from workers.ratelimit.budget import Lease, RateBudget
from workers.ratelimit.limits import Limits, Window, hubspot_limits, limits_for, quickbooks_limits

__all__ = [
    "Lease",
    "Limits",
    "RateBudget",
    "Window",
    "hubspot_limits",
    "limits_for",
    "quickbooks_limits",
]
