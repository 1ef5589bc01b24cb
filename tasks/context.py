"""The worker process's `SyncContext`, built on first use (after fork) from settings."""

from __future__ import annotations

import functools
import time

import redis

from workers import metrics
from workers.catalog.factory import catalog_for
from workers.catalog.port import Catalog, System
from workers.engine import SyncContext
from workers.settings import Settings, get_settings

CATALOG_REUSE_SECONDS = 30.0


def build_context(settings: Settings) -> SyncContext:
    """An engine context on the real connectors, configured by ``settings`` alone."""
    client = redis.Redis.from_url(settings.redis_url)
    metrics.install(client)  # vendor calls, waits and outcomes are counted in Redis
    built: dict[tuple[str, int], tuple[float, Catalog]] = {}

    def catalogs(system: System, account_id: int) -> Catalog:
        # Building a catalog reads the account and its credential; reuse it for a little
        # while (tokens and rate budgets live elsewhere, so nothing stale is kept long).
        now = time.monotonic()
        cached = built.get((system, account_id))
        if cached is not None and now - cached[0] < CATALOG_REUSE_SECONDS:
            return cached[1]
        catalog = catalog_for(
            system,
            account_id,
            settings=settings,
            database_url=settings.database_url,
            redis_client=client,
        )
        built[(system, account_id)] = (now, catalog)
        return catalog

    return SyncContext(
        settings=settings, database_url=settings.database_url, redis=client, catalogs=catalogs
    )


@functools.cache
def current_context() -> SyncContext:
    return build_context(get_settings())


@functools.cache
def current_broker() -> redis.Redis:
    """The broker's own Redis (where the queues live), for `broker_watch`'s marker."""
    context = current_context()
    url = context.settings.effective_broker_url
    return context.redis if url == context.settings.redis_url else redis.Redis.from_url(url)


def forget_context() -> None:
    current_context.cache_clear()
    current_broker.cache_clear()
