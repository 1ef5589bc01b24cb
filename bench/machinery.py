"""Scenario 4, the cost of the machinery: peak memory of the poller and of the worker
that enumerates a full sync, for a small and a large seeded catalog (listing only: the
product jobs they announce are left unprocessed and purged).

The source is QuickBooks: its seeded catalog is new, so an account's first poll window
holds all of it (CDC, then the paged-query fallback past CDC's 1,000-object cap). Each
role runs as a real Celery worker with one pool process, fresh for each size; its peak is
the kernel's resident-set high-water mark (``VmHWM``) of its largest process. A listing
that fails or outlives the task time limit is reported as such, not retried; a poll that
pauses at its time budget is followed by the next, as in production, until every product
has its job row.
The CPU half (ms per synced product) is measured during the full syncs (`bench.syncs`).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from celery import Celery

from bench import pipeline
from bench.environment import Bench
from bench.procstat import tree_peak_rss
from tests.support.stack import Process

log = logging.getLogger("bench")

DIRECTION = "quickbooks_to_hubspot"
CELERY_KEYS = ("sync", "bulk", "unacked", "unacked_index")
_TASKS = {"poller": "productsync.poll", "worker": "productsync.full_sync"}


def finished(text: str, task: str) -> str | None:
    """None while ``task`` runs; else "ok: <its return value>" or the reason it failed,
    from a worker's log."""
    name = re.escape(task)
    done = re.search(name + r"\[[^]]+\] succeeded in [0-9.]+s: (.*)", text)
    if done:
        return f"ok: {done.group(1).strip()}"
    failed = re.search(name + r"\[[^]]+\] raised (?:un)?expected: (.*)", text)
    if failed:
        return failed.group(1).strip()
    killed = re.search(r"Hard time limit \(([0-9.]+)s\) exceeded for " + name, text)
    return f"killed at the {float(killed.group(1)):g} s hard time limit" if killed else None


@dataclass
class _Listing:
    """One role's worker, started on a freshly seeded account."""

    role: str
    n: int
    worker: Process
    started: float
    job_rows: Callable[[], int]
    outcome: str | None = None
    seconds: float = 0.0
    peak_kb: int = 0

    def poll(self) -> bool:
        """True once the listing task has ended (its outcome is then set). The peak is
        sampled on every call, so a pool process killed by a time limit keeps its figure."""
        if self.outcome is None:
            self.peak_kb = max(self.peak_kb, tree_peak_rss(self.worker.pid).largest_kb)
            self.outcome = finished(self.worker.output(), _TASKS[self.role])
            # A window too large for one poll's time budget is listed by successive polls
            # in the same worker: done once every product has its job row.
            listed = self.outcome is not None and self.outcome.startswith("ok")
            if self.role == "poller" and listed and self.job_rows() < self.n:
                self.outcome = None
                return False
            if self.outcome is not None:
                self.seconds = time.perf_counter() - self.started
                # Complete means a job row per product (an announcement lost on the way is
                # the sweeper's to repair); fewer rows and the peak says nothing about n.
                if self.outcome.startswith("ok: "):
                    rows = self.job_rows()
                    self.outcome = (
                        "ok"
                        if rows == self.n
                        else f"listed {rows:,} of {self.n:,} products (task returned "
                        f"{self.outcome[4:]})"
                    )
        return self.outcome is not None


def _start(bench: Bench, client: Celery, role: str, n: int) -> _Listing:
    account = bench.new_account(DIRECTION)
    bench.seed_source(account, DIRECTION, n)
    queue = "poll" if role == "poller" else "bulk"
    worker = bench.start_worker(f"{role}-{n}", (queue,), 1)
    started = time.perf_counter()
    if role == "poller":
        pipeline.send_poll(client, account.id)
    else:
        pipeline.start_full_sync(bench.stack, client, account.id)
    return _Listing(role, n, worker, started, lambda: pipeline.job_count(bench.stack, account.id))


def _peaks(bench: Bench, n: int, timeout: float) -> list[_Listing]:
    """Both roles listing ``n`` products at once (peaks do not depend on timing; running
    them side by side halves the scenario's wall time)."""
    stack = bench.stack
    broker = redis.Redis.from_url(stack.redis.url)
    client = pipeline.broker(stack)
    listings: list[_Listing] = []
    try:
        for role in ("poller", "worker"):
            listings.append(_start(bench, client, role, n))
        deadline = time.monotonic() + timeout
        while not all([listing.poll() for listing in listings]):
            if time.monotonic() > deadline:
                for listing in listings:
                    if listing.outcome is None:
                        listing.outcome = f"did not finish within {timeout:g} s"
                        listing.seconds = timeout
                break
            time.sleep(pipeline.POLL_SECONDS)
    finally:
        for listing in listings:
            listing.worker.kill()
        client.close()
        broker.delete(*CELERY_KEYS)  # the announced product jobs: listing only
        broker.close()
    for listing in listings:
        log.info(
            "  %s at %d products: peak %.1f MiB in %.1f s, %s",
            listing.role, n, listing.peak_kb / 1024, listing.seconds, listing.outcome,
        )  # fmt: skip
    return listings


def measure_memory(bench: Bench, sizes: tuple[int, int], timeout: float = 600.0) -> dict[str, Any]:
    small, large = sizes
    memory: dict[str, Any] = {"small_n": small, "large_n": large, "poller": {}, "worker": {}}
    details: dict[str, Any] = {"poller": {}, "worker": {}}
    for n in sizes:
        log.info("memory: poller and worker listing %d products", n)
        for listing in _peaks(bench, n, timeout):
            # An unfinished listing's peak is a lower bound of what listing n products takes.
            details[listing.role][str(n)] = {
                "peak_kb": listing.peak_kb,
                "seconds": round(listing.seconds, 1),
                "outcome": listing.outcome,
                "complete": listing.outcome == "ok",
            }
            if listing.outcome == "ok":
                memory[listing.role][str(n)] = listing.peak_kb
    memory["details"] = details
    memory["description"] = (
        "Peak resident memory (VmHWM of the largest process) of a Celery worker with one pool "
        "process: the *poller* runs the first poll of a QBO → HubSpot account whose freshly "
        "seeded catalog all lies in the poll window; the *worker* runs the full-sync "
        "enumeration of another account's identical catalog, at the same time. Listing only: "
        "the product jobs they announce are not processed."
    )
    return memory
