"""Every metric the web process exports on ``/metrics``: name, type, labels, meaning.

One table, so the exporter, the alert rules and the dashboard cannot drift apart (a test
checks that every expression in ``ops/`` names only what is listed here). Labels stay
bounded: accounts, vendors, queues, states and codes, never a SKU or a product id.

Two kinds of source:

* **the record**, read at scrape time from PostgreSQL and Redis (jobs, polls, tokens,
  circuits, queues): true whatever happened to the processes that did the work;
* **events**, counted in Redis by the worker that saw them (vendor calls, rate-budget
  waits, outcomes, change latency), because a prefork worker's children come and go and
  the web process is not on the worker's host: a Redis hash per metric is shared by every
  process on every host, and survives the children that wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["gauge", "counter", "histogram"]


@dataclass(frozen=True)
class Family:
    name: str  # as exported; counters end in _total
    kind: Kind
    labels: tuple[str, ...]
    help: str

    @property
    def series_names(self) -> tuple[str, ...]:
        """The sample names a query may use for this family."""
        if self.kind == "histogram":
            return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")
        return (self.name,)


# Seconds from a source change (as the poll saw it) to its write in the destination.
LATENCY_BUCKETS = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)

JOBS = Family("productsync_jobs", "gauge", ("account", "state"), "Jobs by state (the job table).")
OLDEST_PENDING = Family(
    "productsync_oldest_pending_job_age_seconds",
    "gauge",
    ("account", "queue"),
    "Age of the oldest job still pending or running, per queue (sync: polled changes, "
    "bulk: full syncs).",
)
POLL_LAG = Family(
    "productsync_poll_lag_seconds",
    "gauge",
    ("account",),
    "Now minus the account's poll cursor: changes newer than this are not yet jobs.",
)
POLL_INTERVAL = Family(
    "productsync_poll_interval_seconds",
    "gauge",
    ("account",),
    "The account's poll interval (to compare the lag with).",
)
ACCOUNT_ENABLED = Family(
    "productsync_account_enabled", "gauge", ("account",), "1 when the account is enabled."
)
TOKEN_EXPIRY = Family(
    "productsync_token_expiry_seconds",
    "gauge",
    ("account", "vendor"),
    "Seconds until the stored refresh token expires (QuickBooks: about 100 days while "
    "unused); absent for tokens that do not expire.",
)
NEEDS_REAUTH = Family(
    "productsync_needs_reauth",
    "gauge",
    ("account", "vendor"),
    "1 when the grant was revoked or expired: run `productsync connect`.",
)
CIRCUIT_OPEN = Family(
    "productsync_circuit_open",
    "gauge",
    ("account", "vendor"),
    "1 while calls to the vendor account pause after repeated failures.",
)
QUEUE_DEPTH = Family(
    "productsync_queue_depth", "gauge", ("queue",), "Messages waiting in each Celery queue."
)
SOURCE_UP = Family(
    "productsync_exporter_source_up",
    "gauge",
    ("source",),
    "1 when this scrape could read the source (postgres, redis); 0 and its metrics absent "
    "otherwise.",
)
VENDOR_CALLS = Family(
    "productsync_vendor_calls_total",
    "counter",
    ("vendor", "kind", "status_class"),
    "Vendor API calls by kind (read, write, search, batch) and answer (2xx, 4xx, 5xx, or "
    "error when no answer came).",
)
VENDOR_429 = Family(
    "productsync_vendor_429_total", "counter", ("vendor",), "Vendor answers with status 429."
)
BUDGET_WAITS = Family(
    "productsync_rate_budget_waits_total",
    "counter",
    ("vendor", "outcome"),
    "Calls that found the shared rate budget spent: waited (then went ahead), refused "
    "(the job retries later), quota (the daily budget is spent).",
)
BUDGET_WAIT_SECONDS = Family(
    "productsync_rate_budget_wait_seconds_total",
    "counter",
    ("vendor",),
    "Seconds workers slept waiting for the shared rate budget.",
)
OUTCOMES = Family(
    "productsync_sync_outcomes_total",
    "counter",
    ("account", "action", "status", "code"),
    "Product sync attempts by action, status and error code (one per history row).",
)
CHANGE_LATENCY = Family(
    "productsync_change_latency_seconds",
    "histogram",
    ("account",),
    "From a polled source change to its write (create or update) in the destination.",
)

FAMILIES: tuple[Family, ...] = (
    JOBS,
    OLDEST_PENDING,
    POLL_LAG,
    POLL_INTERVAL,
    ACCOUNT_ENABLED,
    TOKEN_EXPIRY,
    NEEDS_REAUTH,
    CIRCUIT_OPEN,
    QUEUE_DEPTH,
    SOURCE_UP,
    VENDOR_CALLS,
    VENDOR_429,
    BUDGET_WAITS,
    BUDGET_WAIT_SECONDS,
    OUTCOMES,
    CHANGE_LATENCY,
)


def series_names() -> frozenset[str]:
    """Every sample name a PromQL expression may use."""
    return frozenset(n for f in FAMILIES for n in f.series_names)
