"""The worker process's `SyncContext`, built on first use (after fork) from settings."""

from __future__ import annotations

import functools

import redis

from workers.catalog.factory import catalog_for
from workers.catalog.port import Catalog, System
from workers.engine import SyncContext
from workers.settings import Settings, get_settings


def build_context(settings: Settings) -> SyncContext:
    """An engine context on the real connectors, configured by ``settings`` alone."""
    client = redis.Redis.from_url(settings.redis_url)

    def catalogs(system: System, account_id: int) -> Catalog:
        return catalog_for(
            system,
            account_id,
            settings=settings,
            database_url=settings.database_url,
            redis_client=client,
        )

    return SyncContext(
        settings=settings, database_url=settings.database_url, redis=client, catalogs=catalogs
    )


@functools.cache
def current_context() -> SyncContext:
    return build_context(get_settings())


def forget_context() -> None:
    current_context.cache_clear()
