"""Announcing jobs from inside a running task (poll, sweep, full sync) over a real broker:
every message is sent, and the task keeps nothing per message it sent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from celery._state import _task_stack

from tasks import app
from tasks.dispatch import announce, announce_chunks
from tasks.sync import poll
from workers.engine import Dispatch


@pytest.fixture
def broker(redis_url: str) -> Iterator[redis.Redis]:
    """The app publishing to the session's throwaway Redis (never the configured one)."""
    configured, pool = app.conf.broker_url, app._pool
    app.conf.broker_url, app._pool = redis_url, None
    client = redis.Redis.from_url(redis_url)
    client.delete("sync", "bulk")  # earlier tests share this Redis and may have left some
    try:
        yield client
    finally:
        if app._pool is not None:
            app._pool.force_close_all()
        app.conf.broker_url, app._pool = configured, pool
        client.flushdb()
        client.close()


@pytest.fixture
def inside_a_task() -> Iterator[list[object]]:
    """As the worker runs a task: on the task stack, with a request not called directly.
    Yields the request's children (Celery's trail of results of messages it sent)."""
    poll.push_request(id="poll-under-test", called_directly=False)
    _task_stack.push(poll)
    try:
        yield poll.request.children
    finally:
        _task_stack.pop()
        poll.pop_request()


def test_a_task_announcing_jobs_keeps_no_result_per_message(
    broker: redis.Redis, inside_a_task: list[object]
) -> None:
    jobs = [Dispatch(n, "sync") for n in range(1, 6)]
    assert announce(jobs) == 5
    assert announce_chunks([Dispatch(n, "bulk") for n in range(1, 8)], 3) == 7
    # Without a result backend the trail is useless, and a poll announcing 100,000 jobs
    # kept 100,000 results until it returned (the poller's memory grew with the window).
    assert inside_a_task == []
    assert broker.llen("sync") == 5 and broker.llen("bulk") == 3
