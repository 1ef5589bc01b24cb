"""Scenario 4, the cost of the machinery: peak memory of the poller and of the worker
that enumerates a full sync, for a small and a large seeded catalog (listing only: the
product jobs they announce are left unprocessed and purged).

The source is QuickBooks: its seeded catalog is new, so an account's first poll window
holds all of it (CDC, then the paged-query fallback past CDC's 1,000-object cap). Each
role runs as a real Celery worker with one pool process, fresh for each size; its peak is
the kernel's resident-set high-water mark (``VmHWM``) of its largest process. A listing
that fails or outlives the task time limit is reported as such, not retried.
The CPU half (ms per synced product) is measured during the full syncs (`bench.syncs`).
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import redis

from bench import pipeline
from bench.environment import Bench
from bench.procstat import tree_peak_rss
from tests.support.stack import Process

log = logging.getLogger("bench")

DIRECTION = "quickbooks_to_hubspot"
CELERY_KEYS = ("sync", "bulk", "unacked", "unacked_index")
_TASKS = {"poller": "productsync.poll", "worker": "productsync.full_sync"}


def _finished(worker: Process, task: str) -> str | None:
    """None while ``task`` runs; else "ok" or the reason it failed (from the worker log)."""
    text = worker.output()
    if re.search(re.escape(task) + r"\[[^]]+\] succeeded in", text):
        return "ok"
    failed = re.search(re.escape(task) + r"\[[^]]+\] raised (?:un)?expected: (.*)", text)
    return failed.group(1).strip() if failed else None


def _peak(bench: Bench, role: str, n: int, timeout: float) -> dict[str, Any]:
    """The ``role`` process's peak while listing ``n`` products, and how long it took."""
    stack = bench.stack
    broker = redis.Redis.from_url(stack.redis.url)
    account = bench.new_account(DIRECTION)
    bench.seed_source(account, DIRECTION, n)
    queue = "poll" if role == "poller" else "bulk"
    worker = stack.start_worker(f"{role}-{n}", queues=(queue,), concurrency=1)
    client = pipeline.broker(stack)
    outcome: list[str | None] = [None]
    started = time.perf_counter()
    try:
        if role == "poller":
            pipeline.send_poll(client, account.id)
        else:
            pipeline.start_full_sync(stack, client, account.id)

        def done() -> bool:
            outcome[0] = _finished(worker, _TASKS[role])
            return outcome[0] is not None

        pipeline.wait_until(f"the {role} to list {n:,} products", done, timeout, stack)
        seconds = time.perf_counter() - started
        peak = tree_peak_rss(worker.pid).largest_kb
    finally:
        worker.kill()
        client.close()
        broker.delete(*CELERY_KEYS)  # the announced product jobs: listing only
        broker.close()
    log.info("  %s at %d products: peak %.1f MiB, %s", role, n, peak / 1024, outcome[0])
    return {"peak_kb": peak, "seconds": round(seconds, 1), "outcome": outcome[0]}


def measure_memory(bench: Bench, sizes: tuple[int, int], timeout: float = 600.0) -> dict[str, Any]:
    small, large = sizes
    memory: dict[str, Any] = {"small_n": small, "large_n": large, "poller": {}, "worker": {}}
    details: dict[str, Any] = {"poller": {}, "worker": {}}
    for n in sizes:
        for role in ("poller", "worker"):
            log.info("memory: %s listing %d products", role, n)
            result = _peak(bench, role, n, timeout)
            details[role][str(n)] = result
            if result["outcome"] == "ok":
                memory[role][str(n)] = result["peak_kb"]
    memory["details"] = details
    memory["description"] = (
        "Peak resident memory (VmHWM of the largest process) of a Celery worker with one pool "
        "process: the *poller* runs the first poll of a QBO → HubSpot account whose freshly "
        "seeded catalog all lies in the poll window; the *worker* runs the full-sync "
        "enumeration of the same catalog. Listing only: the product jobs they announce are "
        "not processed."
    )
    return memory
