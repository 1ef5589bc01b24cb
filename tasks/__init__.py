"""Celery app and thin task entry points: poll, sweep, full sync, sync one product.

Run with ``celery -A tasks worker -Q poll,sync`` / ``-Q bulk`` and ``celery -A tasks beat``.
"""

from tasks import liveness  # noqa: F401  (the canary task and the worker's watchdog)
from tasks.app import app
from tasks.retention import prune
from tasks.sync import (
    broker_watch,
    flush_webhook_jobs,
    full_sync,
    poll,
    start_full_sync,
    sweep,
    sync_chunk,
    sync_product,
    tick,
)

__all__ = [
    "app",
    "broker_watch",
    "flush_webhook_jobs",
    "full_sync",
    "poll",
    "prune",
    "start_full_sync",
    "sweep",
    "sync_chunk",
    "sync_product",
    "tick",
]
