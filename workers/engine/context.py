"""What the engine needs from the outside world, passed in explicitly.

The Celery tasks build one `SyncContext` per worker process (after fork); tests build
one around a database, a Redis and in-memory or emulator-backed catalogs. Domain
functions never reach for globals.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import redis

from workers.catalog.port import Catalog, System
from workers.settings import Settings

CatalogFactory = Callable[[System, int], Catalog]


class Dispatch(NamedTuple):
    """A job to announce on the broker once its row is committed."""

    job_id: int
    queue: str  # "sync" or "bulk"
    run_id: int | None = None  # a full sync's: announced with its run's others, in chunks


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class SyncContext:
    settings: Settings
    database_url: str
    redis: redis.Redis
    catalogs: CatalogFactory
    worker_id: str = field(default_factory=default_worker_id)
