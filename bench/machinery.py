"""Scenario 4, the cost of the machinery: peak memory of the poller and of the worker
that enumerates a full sync, for a small and a large seeded catalog (listing only: the
product jobs they create are left unprocessed and purged).

Each role runs as a real Celery worker with one pool process, fresh for each size, and
its peak is the kernel's resident-set high-water mark (``VmHWM``) of its largest process.
The CPU half (ms per synced product) is measured during the full syncs (`bench.syncs`).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import redis
from sqlalchemy import update

from bench import pipeline
from bench.environment import Bench
from bench.procstat import tree_peak_rss
from models import Account, utcnow
from models.db import session_scope
from tests.support.stack import StackAccount

log = logging.getLogger("bench")

# The seeded HubSpot catalog is spread over the last 30 days; an account whose direction
# was set 31 days ago and never polled sees all of it in its first poll window.
BACKDATE = timedelta(days=31)
CELERY_KEYS = ("sync", "bulk", "unacked", "unacked_index")


def _backdated_account(bench: Bench) -> StackAccount:
    account = bench.new_account("hubspot_to_quickbooks")
    with session_scope(bench.stack.database_url) as session:
        session.execute(
            update(Account)
            .where(Account.id == account.id)
            .values(direction_changed_at=utcnow() - BACKDATE)
        )
    return account


def _queued(broker: redis.Redis, queue: str) -> int:
    return int(broker.llen(queue))  # type: ignore[arg-type]


def _peak(bench: Bench, role: str, n: int, timeout: float) -> int:
    """KiB at the high-water mark of the ``role`` process listing ``n`` products."""
    stack = bench.stack
    broker = redis.Redis.from_url(stack.redis.url)
    broker.delete(*CELERY_KEYS)
    account = _backdated_account(bench)
    bench.seed("hubspot", account.portal_id, n)
    queue, out = ("poll", "sync") if role == "poller" else ("bulk", "bulk")
    worker = stack.start_worker(f"{role}-{n}", queues=(queue,), concurrency=1)
    client = pipeline.broker(stack)
    try:
        if role == "poller":
            pipeline.send_poll(client, account.id)
        else:
            pipeline.start_full_sync(stack, client, account.id)
        # Done listing when every product's job has been announced on its queue (the bulk
        # worker may already have taken one of them).
        pipeline.wait_until(
            f"the {role} to list {n:,} products",
            lambda: _queued(broker, out) >= n - 1,
            timeout,
            stack,
        )
        peak = tree_peak_rss(worker.pid).largest_kb
    finally:
        worker.kill()
        client.close()
        broker.delete(*CELERY_KEYS)
        broker.close()
    log.info("  %s at %d products: peak %.1f MiB", role, n, peak / 1024)
    return peak


def measure_memory(bench: Bench, sizes: tuple[int, int], timeout: float = 600.0) -> dict[str, Any]:
    small, large = sizes
    memory: dict[str, Any] = {"small_n": small, "large_n": large, "poller": {}, "worker": {}}
    for n in sizes:
        for role in ("poller", "worker"):
            log.info("memory: %s listing %d products", role, n)
            memory[role][str(n)] = _peak(bench, role, n, timeout)
    memory["description"] = (
        "Peak resident memory (VmHWM of the largest process) of a Celery worker with one pool "
        "process: the *poller* runs the first poll of a HubSpot → QBO account whose seeded "
        "catalog all lies in the poll window; the *worker* runs the full-sync enumeration of "
        "the same catalog. Listing only: the product jobs they announce are not processed."
    )
    return memory
