"""The regime users live in: an initial full sync at the vendors' real limits and real
latency (`starter*1`), large enough that those limits bind.

The default run's other scenarios use a sped-up preset, where no limit binds at 1,000
products; this one is what a new account's first full sync costs. Besides the wall time
against the rate-limit floor, it reports which products went the per-product way and
why, from the run's own history (a product that needs it: a name QuickBooks refuses as a
duplicate, a SKU shared in the source; anything else is a product the batches lost).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from bench import footprint, syncs
from bench.calls import categorize
from bench.environment import Bench, Config, bench_stack
from bench.floor import rate_floor
from bench.ledgers import Mark
from bench.presets import parse_preset
from bench.results import SyncMeasurement
from models import HistoryEntry
from models.db import session_scope
from workers.catalog.port import destination_of, source_of

log = logging.getLogger("bench")

SCENARIO = "real"
# A run at a sped-up preset also says what the same calls would need at the real limits.
REAL_LIMITS = "starter*1"
# Why a product of a full sync may need a write of its own.
NEEDED = {
    "renamed": "QuickBooks refused the name as a duplicate (written again, renamed)",
    "duplicate_name": "QuickBooks refused the name even when renamed",
    "duplicate_sku_in_source": "two source products share the SKU",
    "duplicate_sku_in_destination": "two destination products share the SKU",
}


@dataclass(frozen=True)
class RealSpeedPlan:
    preset: str = "starter*1"
    # H→Q: QBO's 120 batches of 30 a minute bind past 3,600 products. Q→H: every chunk
    # makes one QBO read of 100 sources (10 a second, 500 a minute) and one HubSpot batch
    # write of 100 (100 calls per 10 s): QBO's reads bind first, past about 45,000
    # products (see bench/README.md).
    products: dict[str, int] = field(
        default_factory=lambda: {"hubspot_to_quickbooks": 10_000, "quickbooks_to_hubspot": 10_000}
    )
    run_timeout: float = 1800.0


def measure_real_speed(config: Config, plan: RealSpeedPlan, doc: dict[str, Any], save: Any) -> None:
    """Append one ``real`` run per direction to ``doc["runs"]``."""
    real = Config(parse_preset(plan.preset), config.latency, config.workers)
    with bench_stack(real) as bench:
        for direction, products in plan.products.items():
            doc["runs"].append(_one(bench, direction, products, plan.run_timeout))
            save(doc)


def _one(bench: Bench, direction: str, products: int, timeout: float) -> dict[str, Any]:
    log.info("real speed (%s): full sync %s of %d products", bench.config.preset.name,
             direction, products)  # fmt: skip
    account = bench.new_account(direction)
    bench.seed_source(account, direction, products)
    worker = bench.start_worker(f"real-{direction}", ("bulk",), bench.config.workers)
    mark = bench.ledgers.mark()
    tables = footprint.table_bytes(bench.stack.database_url)
    try:
        sync = syncs.ours(bench, account, direction, SCENARIO, worker, timeout=timeout)
        # Before the worker stops: its processes' high-water marks go with them.
        processes = footprint.processes({"worker": worker})
    finally:
        worker.stop()
    result = sync.as_dict()
    result["footprint"] = {
        "processes": processes,
        "tables": footprint.table_growth(
            tables, footprint.table_bytes(bench.stack.database_url), products
        ),
        "redis": footprint.redis_memory(bench.stack.redis.url),
    }
    if bench.config.preset.name != parse_preset(REAL_LIMITS).name:
        result["estimate_at_real_limits"] = estimate(sync, REAL_LIMITS)
    single = single_writes(bench, mark, direction)
    result["per_product_path"] = per_product_path(bench, account.id, single)
    result["phases"] = phases(bench, mark, direction)
    log.info("  %.1f s (floor %.1f s), %s", sync.wall_seconds, sync.floor.seconds, sync.outcomes)
    return result


def estimate(sync: SyncMeasurement, preset: str) -> dict[str, Any]:
    """The rate-limit floor of the same calls at ``preset``: what a run there would take
    at the least, when CPU and latency keep up (they do at k = 1: the measured wall /
    floor of the real-speed runs says by how much)."""
    calls = {system: tally.by_category() for system, tally in sync.calls.items()}
    floor = rate_floor(parse_preset(preset).buckets(), calls)
    return {"preset": preset, "floor_seconds": round(floor.seconds, 1), "binding": floor.binding}


def phases(bench: Bench, mark: Mark, direction: str) -> dict[str, float]:
    """When the run's calls went, from its first source call: the first destination
    write (the first chunk listed, read and resolved), the end of the source listing
    (its pages go while the writes do), and the writes from the first to the last."""
    source = source_of(direction)  # type: ignore[arg-type]
    destination = destination_of(direction)  # type: ignore[arg-type]
    calls = bench.ledgers.entries(mark, source)
    first_call = min((_at(e) for e in calls), default=None)
    listed = [_at(e) for e in calls if is_listing(e)]
    writes = [
        _at(e)
        for e in bench.ledgers.entries(mark, destination)
        if categorize(e) in ("batch", "write")
    ]
    if first_call is None or not writes:
        return {}
    return {
        "first_write_seconds": round(min(writes) - first_call, 3),
        "listing_seconds": round(max(listed, default=first_call) - first_call, 3),
        "writing_seconds": round(max(writes) - min(writes), 3),
    }


def is_listing(entry: dict[str, Any]) -> bool:
    """A page of a whole-catalog listing: HubSpot's product list, or a QBO query of
    items that names no ids and no SKUs."""
    path = str(entry.get("path", ""))
    if path.endswith("/crm/v3/objects/products"):
        return str(entry.get("method", "GET")).upper() == "GET"
    if path.endswith("/query") and categorize(entry) == "read":
        text = str(entry.get("body") or entry.get("query", {}).get("query") or "")
        return "Id IN" not in text and "from item" in text.lower()
    return False


def _at(entry: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(entry["time"]).replace("Z", "+00:00")).timestamp()


def single_writes(bench: Bench, mark: Mark, direction: str) -> int:
    """Product writes of one call each in the destination (not HubSpot's one-time set-up
    of the service's write-id property)."""
    destination = destination_of(direction)  # type: ignore[arg-type]
    return sum(
        1
        for e in bench.ledgers.entries(mark, destination)
        if categorize(e) == "write" and "/properties/" not in str(e.get("path", ""))
    )


def per_product_path(bench: Bench, account_id: int, single_writes: int) -> dict[str, Any]:
    """Products written one call each (``single_writes``, from the ledger) against those
    that needed it, by reason (from the account's history): a product the batches lost
    would be a single write no reason accounts for."""
    with session_scope(bench.stack.database_url) as session:
        rows = session.execute(
            select(HistoryEntry.error_code, HistoryEntry.details).where(
                HistoryEntry.account_id == account_id
            )
        ).all()
        attempts = session.scalar(select(func.count()).where(HistoryEntry.account_id == account_id))
    reasons: Counter[str] = Counter()
    for code, details in rows:
        notes = " ".join((details or {}).get("notes") or [])
        if "already has an item named" in notes:
            reasons["renamed"] += 1
        elif code:
            reasons[code] += 1
    unneeded = {k: v for k, v in reasons.items() if k not in NEEDED}
    needed = sum(v for k, v in reasons.items() if k in NEEDED)
    if single_writes > needed:
        unneeded["single writes beyond those"] = single_writes - needed
    return {
        "products": single_writes,
        "by_reason": dict(reasons),
        "unneeded": unneeded,
        "history_rows": int(attempts or 0),
    }
