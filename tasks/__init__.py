"""Celery app and thin task entry points: poll, sweep, full sync, sync one product.

Run with ``celery -A tasks worker -Q poll,sync`` / ``-Q bulk`` and ``celery -A tasks beat``.
"""

from tasks.app import app
from tasks.retention import prune
from tasks.sync import full_sync, poll, start_full_sync, sweep, sync_product, tick

__all__ = [
    "app",
    "full_sync",
    "poll",
    "prune",
    "start_full_sync",
    "sweep",
    "sync_product",
    "tick",
]
