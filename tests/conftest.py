from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.services import RedisServer, fresh_database, redis_server


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """An empty database on the shared Postgres server, for this test session."""
    with fresh_database() as url:
        yield url


@pytest.fixture(scope="session")
def redis_service() -> Iterator[RedisServer]:
    """A throwaway Redis server for this test session (the shared one is never touched)."""
    with redis_server() as server:
        yield server


@pytest.fixture(scope="session")
def redis_url(redis_service: RedisServer) -> str:
    return redis_service.url
