"""Metrics: what is exported (`catalog`) and the events workers count in Redis (`events`).

The exporter itself lives with the web process (`console.web.exporter`).
"""

from workers.metrics.events import install, note_outcomes, rate_budget, vendor_call

__all__ = ["install", "note_outcomes", "rate_budget", "vendor_call"]
