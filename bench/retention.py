"""Scenario 6, retention: prune a large history while syncs run.

A second account gets ``rows`` history rows, all older than the retention period, spread
over ``products`` SKUs (so ``products`` rows, each product's last attempt, must stay).
The steady state (scenario 3) runs once alone, as the baseline, then again while the
prune runs in its own process (as the beat task would, without its hourly time budget);
the difference between the two latencies is the prune's effect on a concurrent sync.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, text

from bench.environment import Bench
from bench.machine import ROOT
from bench.results import LatencySummary
from bench.steady import SteadyPlan, measure_steady
from models import HistoryEntry
from models.db import session_scope
from tests.support.stack import StackAccount
from workers.retention import BATCH

_SEED = text(
    """
    INSERT INTO sync_history (account_id, direction, attempt, status, action, sku,
                              hubspot_id, quickbooks_id, changes, started_at, finished_at)
    SELECT :account, 'hubspot_to_quickbooks', 1, 'succeeded', 'updated',
           'RET-' || (g % :products), 'hs-' || (g % :products), 'qb-' || (g % :products),
           '{"UnitPrice": ["10.00", "10.50"]}'::jsonb,
           now() - interval '400 days' + g * interval '10 seconds',
           now() - interval '400 days' + g * interval '10 seconds'
    FROM generate_series(1, :rows) AS g
    """
)
# The prune as the beat task runs it, in a process of its own, with no time budget.
_PRUNE = (
    "import json, sys, time\n"
    "from workers.retention import prune\n"
    "started = time.time()\n"
    "r = prune(sys.argv[1], history_days=90, job_days=90, budget_seconds=86400)\n"
    "print(json.dumps({'history': r.history, 'jobs': r.jobs, 'seconds': r.seconds,"
    " 'finished': r.finished, 'started': started, 'ended': time.time()}))\n"
)


@dataclass(frozen=True)
class RetentionPlan:
    rows: int = 1_000_000
    products: int = 10_000
    steady: SteadyPlan = field(default_factory=SteadyPlan)


def measure_retention(bench: Bench, synced: StackAccount, plan: RetentionPlan) -> dict[str, Any]:
    """``synced``: the HubSpot → QBO account the steady state edits (already synced)."""
    url = bench.stack.database_url
    old = bench.new_account("hubspot_to_quickbooks")
    started = time.perf_counter()
    with session_scope(url) as session:
        session.execute(_SEED, {"account": old.id, "products": plan.products, "rows": plan.rows})
    with session_scope(url) as session:
        session.execute(text("ANALYZE sync_history"))
    seed_seconds = time.perf_counter() - started

    baseline = measure_steady(bench, synced, plan.steady)
    prune = subprocess.Popen(
        [sys.executable, "-c", _PRUNE, url],
        cwd=ROOT,
        env=bench.env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    prune_started = time.perf_counter()
    during = measure_steady(bench, synced, plan.steady)
    steady_seconds = time.perf_counter() - prune_started
    out, _ = prune.communicate(timeout=3600)
    wall = time.perf_counter() - prune_started
    if prune.returncode != 0:
        raise RuntimeError(f"the prune failed (exit {prune.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    with session_scope(url) as session:
        kept = session.scalar(select(func.count()).where(HistoryEntry.account_id == old.id))
    # The edits made while the prune ran: the ones it could have slowed down.
    inside = [lat for at, lat in during["samples"] if result["started"] <= at <= result["ended"]]
    return {
        "rows": plan.rows,
        "products": plan.products,
        "batch": BATCH,
        "seed_seconds": round(seed_seconds, 1),
        "prune_seconds": result["seconds"],
        "prune_wall_seconds": round(wall, 1),
        "deleted": result["history"],
        "kept": kept,
        "rows_per_second": round(result["history"] / max(result["seconds"], 1e-9)),
        "steady_seconds": round(steady_seconds, 1),
        "baseline": baseline["latency"],
        "during": during["latency"],
        "inside_prune": LatencySummary(inside, 0).as_dict(),
        "preset": bench.config.preset.name,
        "description": (
            f"{plan.rows:,} history rows older than the retention period, over "
            f"{plan.products:,} SKUs, pruned in {BATCH:,}-row transactions (the beat task's "
            "code, in a process of its own) while the steady state ran "
            f"({during['edits']} edits at {plan.steady.rate_per_second:g}/s); the baseline is "
            "the same steady state just before, without the prune. *Inside* counts only the "
            "edits made while the prune was running."
        ),
    }
