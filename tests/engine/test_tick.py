"""Beat's tick over a real broker: each due account gets one poll queued, however many
ticks run before that poll does."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import redis
from sqlalchemy import update

from models import Cursor, utcnow
from models.db import session_scope
from tasks import sync as tasks_sync
from workers.engine import SyncContext, poll_marks


@pytest.fixture
def worker_context(ctx: SyncContext, monkeypatch: pytest.MonkeyPatch) -> SyncContext:
    """The tasks run on the engine tests' context (in-memory catalogs, real Postgres)."""
    monkeypatch.setattr(tasks_sync, "current_context", lambda: ctx)
    return ctx


def test_ticks_that_queued_behind_their_polls_send_each_account_one_poll(
    worker_context: SyncContext, account_id: int, broker: redis.Redis
) -> None:
    # Measured at 1,000 accounts: ticks waiting behind their own polls ran back to back
    # and each sent every account's poll again.
    assert [tasks_sync.tick() for _ in range(3)] == [1, 0, 0]
    assert broker.llen("poll") == 1
    tasks_sync.poll(account_id)  # the queued poll runs (in this process) and clears the mark
    with session_scope(worker_context.database_url) as session:
        session.execute(update(Cursor).values(polled_at=utcnow() - timedelta(hours=1)))
    assert tasks_sync.tick() == 1  # due again: a new poll goes out
    assert broker.llen("poll") == 2


def test_a_lost_poll_holds_its_account_back_one_expiry_at_most(
    worker_context: SyncContext, account_id: int, broker: redis.Redis
) -> None:
    assert poll_marks.claim(broker, [account_id], ttl_seconds=0.2) == [account_id]
    assert tasks_sync.tick() == 0  # its poll is still (said to be) queued
    time.sleep(0.3)  # the message was lost: nothing clears the mark, its expiry does
    assert tasks_sync.tick() == 1
