"""Scenario 3b, steady state with webhooks on: the same edit stream as `bench.steady`
(distinct HubSpot products edited at a steady rate in the UI, beat polling as before),
with HubSpot's webhooks delivered to `productsync web`'s receiver. Each edit then
becomes a job when its webhook arrives instead of at the next poll, and the poll that
lists the same change later adds nothing (one job per change, `models.job`).

Latency and calls are measured exactly as in `bench.steady` (edit → the QBO ledger's
write carrying the edit's marker; every vendor call in both ledgers, polls included).
"""

from __future__ import annotations

from typing import Any

from bench.environment import SEARCH_LAG_UPDATE_MS, Bench
from bench.steady import SteadyPlan, measure_steady
from tests.support.stack import StackAccount

# HubSpot batches events written close together; the emulator waits this long (at k = 1)
# before a delivery, and it is sped up by k like every other delay.
BATCH_WINDOW_MS = 200.0


def measure_steady_webhooks(
    bench: Bench, account: StackAccount, plan: SteadyPlan
) -> dict[str, Any]:
    k = bench.config.preset.scale
    url = bench.stack.start_web("steady-web")
    hubspot = bench.stack.admin("hubspot")
    hubspot.vendor(
        "PUT",
        "hubspot/webhooks",
        json={
            "target_url": f"{url}/webhooks/hubspot",
            "batch_window_ms": BATCH_WINDOW_MS / k,
            "retry_scale": 1 / k,
        },
    )
    try:
        result = measure_steady(bench, account, plan)
        delivered = hubspot.vendor("GET", "hubspot/webhooks")
    finally:
        hubspot.vendor("DELETE", "hubspot/webhooks")
        for process in [p for p in bench.stack.processes if p.name == "steady-web"]:
            process.stop()
            bench.stack.processes.remove(process)
    lag = SEARCH_LAG_UPDATE_MS / 1000 / k
    result.update(
        webhooks=True,
        index_lag_seconds=lag,
        webhook_posts=delivered["posts"],
        webhook_failed_posts=delivered["failed_posts"],
        description=(
            f"The same edit stream as the polling run ({result['edits']} edits at "
            f"{plan.rate_per_second:g}/s, beat still polling every "
            f"{result['poll_interval_seconds']:g} s) with HubSpot's webhooks on: the emulator "
            f"delivers `product.propertyChange` events (batch window {BATCH_WINDOW_MS / k:g} ms) "
            "to `productsync web`, whose receiver turns each into a job at once. "
            f"{delivered['posts']} deliveries, {delivered['failed_posts']} refused or failed."
        ),
        explanation=(
            "An edit waits for the sender's batch window, one receiver transaction, the "
            "`sync` queue and one sync (HubSpot read by id, QBO match by link, write); the "
            "poll still runs and catches what a webhook missed. Above the target means the "
            "queue was behind: more worker processes would cut it."
        ),
    )
    return result
