"""What views need from the application: its settings and a database unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis
from flask import abort, current_app
from sqlalchemy.orm import Session

from models import Account
from models.db import session_scope
from workers.settings import Settings


def settings() -> Settings:
    return current_app.config["PRODUCTSYNC_SETTINGS"]  # type: ignore[no-any-return]


def redis_client() -> redis.Redis:
    """The app's Redis connection pool (rate budgets when the page asks a vendor)."""
    client = current_app.extensions.get("productsync_redis")
    if client is None:
        client = redis.Redis.from_url(settings().redis_url, socket_timeout=5)
        current_app.extensions["productsync_redis"] = client
    return client  # type: ignore[no-any-return]


@contextmanager
def db() -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on any exception."""
    with session_scope(settings().database_url) as session:
        yield session


def account_or_404(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        abort(404, description=f"There is no account with id {account_id}.")
    return account
