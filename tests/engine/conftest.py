"""Engine tests: real Postgres and Redis, in-memory catalogs behind the real port."""

from __future__ import annotations

from collections.abc import Iterator

import kombu.pools
import pytest
import redis
from sqlalchemy import text

from models.db import session_scope
from models.migrate import upgrade
from tasks import app
from tests.support.memory_catalog import MemoryCatalog
from workers.catalog.port import System
from workers.engine import SyncContext
from workers.engine.accounts import create_account
from workers.settings import Settings


@pytest.fixture(scope="session")
def engine_db(database_url: str) -> str:
    upgrade(database_url)
    return database_url


@pytest.fixture
def db(engine_db: str) -> Iterator[str]:
    yield engine_db
    with session_scope(engine_db) as session:
        session.execute(text("TRUNCATE accounts, sync_runs RESTART IDENTITY CASCADE"))


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.flushdb()  # our own throwaway server, never the shared one
    client.close()


@pytest.fixture
def broker(redis_url: str) -> Iterator[redis.Redis]:
    """The app publishing to the session's throwaway Redis (never the configured one)."""
    configured, pool = app.conf.broker_url, app._pool
    app.conf.broker_url, app._pool = redis_url, None
    client = redis.Redis.from_url(redis_url)
    client.delete("poll", "sync", "bulk")  # earlier tests share this Redis and may have left some
    try:
        yield client
    finally:
        if app._pool is not None:
            app._pool.force_close_all()
        app.conf.broker_url, app._pool = configured, pool
        # kombu keeps producer pools per broker URL, the closed one among them.
        app.amqp._producer_pool = None
        kombu.pools.reset()
        client.flushdb()
        client.close()


@pytest.fixture
def hubspot() -> MemoryCatalog:
    return MemoryCatalog("hubspot")


@pytest.fixture
def quickbooks() -> MemoryCatalog:
    return MemoryCatalog("quickbooks")


@pytest.fixture
def settings() -> Settings:
    return Settings(
        poll_overlap_seconds=60.0,
        poll_settle_seconds=0.0,
        job_lease_seconds=30.0,
        retry_base_seconds=0.5,
        retry_cap_seconds=60.0,
        max_attempts=3,
    )


@pytest.fixture
def ctx(
    db: str,
    redis_client: redis.Redis,
    hubspot: MemoryCatalog,
    quickbooks: MemoryCatalog,
    settings: Settings,
) -> SyncContext:
    catalogs = {"hubspot": hubspot, "quickbooks": quickbooks}

    def factory(system: System, account_id: int) -> MemoryCatalog:
        return catalogs[system]

    return SyncContext(
        settings=settings,
        database_url=db,
        redis=redis_client,
        catalogs=factory,  # type: ignore[arg-type]
    )


@pytest.fixture
def account_id(db: str) -> int:
    with session_scope(db) as session:
        account = create_account(
            session,
            name="acme",
            qbo_income_account_id="79",
            qbo_expense_account_id="80",
            poll_interval_seconds=5,
        )
        return account.id
