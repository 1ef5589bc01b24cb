"""Scenario 3, steady state: products edited in the source at a steady rate while beat
polls; how long until each edit reaches the destination.

Each edit writes a unique marker into the product's description through the emulator's
admin route (as a person editing in HubSpot's UI: no API call, not in the ledger). The
edit's arrival is the destination ledger's entry for the write that carries the marker,
so no polling of the destination distorts the measurement: latency = ledger time of
that write - the moment just before the edit was made.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update

from bench.environment import Bench
from bench.results import LatencySummary
from models import Account
from models.db import session_scope
from tests.support.stack import StackAccount

MARKER = re.compile(r"\((steady-\d+-[0-9a-f]{8})\)")  # as `measure_steady` writes them


@dataclass(frozen=True)
class SteadyPlan:
    rate_per_second: float = 4.0
    seconds: float = 20.0
    workers: int = 2  # prefork processes of the `poll,sync` worker
    grace_seconds: float = 30.0  # after the last edit, on top of one poll interval

    @property
    def edits(self) -> int:
        return max(1, int(self.rate_per_second * self.seconds))


def _only(bench: Bench, account: StackAccount) -> None:
    """Disable every other account: beat polls every enabled one, and the earlier
    scenarios' accounts (a QBO source seeded after the account was made) would flood the
    `sync` queue with their first poll."""
    with session_scope(bench.stack.database_url) as session:
        session.execute(update(Account).where(Account.id != account.id).values(enabled=False))


def _edit(bench: Bench, account: StackAccount, product_id: str, marker: str) -> float:
    before = time.time()
    account.hubspot_update(product_id, description=f"Edited in the UI ({marker})")
    return before


def _arrivals(bench: Bench, mark: dict[str, int], realm: str) -> dict[str, float]:
    """marker → time the destination received the write carrying it."""
    entries = bench.ledgers.entries(mark, "quickbooks", account=realm, method="POST")
    found: dict[str, float] = {}
    for entry in entries:
        if entry["status"] is None or entry["status"] >= 300:
            continue
        if not entry["path"].endswith(("/item", "/batch")):
            continue
        # A batch carries several products' writes, each with its own marker.
        when = datetime.fromisoformat(entry["time"]).timestamp()
        for marker in MARKER.findall(str(entry["body"])):
            found.setdefault(marker, when)
    return found


def measure_steady(bench: Bench, account: StackAccount, plan: SteadyPlan) -> dict[str, Any]:
    """Edits ``account``'s HubSpot products (direction HubSpot → QBO, already synced)."""
    products = [p["id"] for p in account.hubspot_products() if not p.get("archived")]
    if len(products) < plan.edits:
        raise ValueError(f"steady state needs {plan.edits} products, found {len(products)}")
    _only(bench, account)
    worker = bench.start_worker("steady-sync", ("poll", "sync"), plan.workers)
    beat = bench.start_beat("steady-beat")
    interval = bench.config.poll_interval
    try:
        time.sleep(interval + 1.0)  # beat's first tick and poll: the cursor starts
        mark = bench.ledgers.mark()
        sent: dict[str, float] = {}
        started = time.monotonic()
        for i in range(plan.edits):
            due = started + i / plan.rate_per_second
            time.sleep(max(0.0, due - time.monotonic()))
            marker = f"steady-{i}-{uuid.uuid4().hex[:8]}"
            sent[marker] = _edit(bench, account, products[i], marker)
        deadline = time.monotonic() + interval + plan.grace_seconds
        arrivals: dict[str, float] = {}
        while time.monotonic() < deadline:
            arrivals = _arrivals(bench, mark, account.realm_id)
            if len(arrivals) >= len(sent):
                break
            time.sleep(0.5)
        calls = bench.ledgers.since(mark)
    finally:
        beat.stop()
        worker.stop()
    samples = [arrivals[m] - t for m, t in sent.items() if m in arrivals]
    summary = LatencySummary(samples, len(sent) - len(samples))
    settle = bench.config.timings().settle
    total_calls = sum(t.calls for t in calls.values())
    return {
        "direction": "hubspot_to_quickbooks",
        "edits": len(sent),
        "rate_per_second": plan.rate_per_second,
        "seconds": plan.seconds,
        "poll_interval_seconds": float(interval),
        "settle_seconds": settle,
        "latency": summary.as_dict(),
        # (when the edit was made, unix time; its latency) for scenarios that look at a
        # part of the run (retention: the edits made while the prune ran).
        "samples": [
            [round(t, 3), round(arrivals[m] - t, 3)] for m, t in sent.items() if m in arrivals
        ],
        "calls": {s: t.as_dict() for s, t in calls.items()},
        "calls_per_edit": round(total_calls / max(len(sent), 1), 3),
        "preset": bench.config.preset.name,
        "description": (
            f"{len(sent)} edits of distinct HubSpot products at {plan.rate_per_second:g}/s "
            f"while beat polls every {interval} s (settle window {settle:g} s, HubSpot "
            f"search index lag {bench.config.knobs('hubspot')['search_lag_update_ms']:g} ms); "
            f"one `poll,sync` worker with {plan.workers} processes. Latency runs from the "
            "edit to the QBO write carrying it (emulator ledger)."
        ),
        "explanation": (
            f"An edit waits for the next poll (0 to {interval} s), must be older than the "
            f"settle window ({settle:g} s, which covers HubSpot's search index lag) to be "
            "listed, then queues behind the other edits of that poll. Polling more often, "
            "or webhooks for the HubSpot side, would cut the wait."
        ),
    }
