"""What a deployment with many accounts needs from its processes: a poll worker that
runs its polls in threads, and workers that drain a backlog of expired polls."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
from celery import Celery

from tests.support import oracle
from tests.support.services import fresh_database
from tests.support.stack import Stack, running_stack

DEADLINE = 3.0  # the liveness deadline of the workers here


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with fresh_database() as url, running_stack(url) as running:
        yield running


def test_a_backlog_of_expired_polls_is_drained_and_not_taken_for_deafness(stack: Stack) -> None:
    # Measured at 1,000 accounts: 4,000 expired polls took the worker longer than its
    # deadline to discard, none of them counted as taken, and it exited as deaf.
    env = {"PRODUCTSYNC_WORKER_LIVENESS_DEADLINE_SECONDS": str(DEADLINE)}
    client = Celery("backlog", broker=stack.redis.url, set_as_current=False)
    client.conf.update(task_serializer="json")
    expired = datetime.now(UTC) - timedelta(minutes=1)
    with client.producer_or_acquire() as producer:
        for account_id in range(10000):
            client.send_task(
                "productsync.poll", args=[account_id], queue="poll", expires=expired,
                producer=producer,
            )  # fmt: skip
    client.close()
    broker = redis.Redis.from_url(stack.redis.url)
    worker = stack.start_worker("drain", queues=("poll",), concurrency=1, env=env)
    try:
        stack.wait_for(lambda: broker.llen("poll") == 0, timeout=120)
        assert worker.alive(), worker.output()[-3000:]
        assert "is deaf" not in worker.output()
    finally:
        worker.stop()
        broker.close()


def test_polls_run_in_threads_for_many_accounts_and_every_change_arrives(stack: Stack) -> None:
    accounts = [stack.new_account("hubspot_to_quickbooks") for _ in range(12)]
    for n, account in enumerate(accounts):
        account.hubspot_create(name=f"Threaded {n}", hs_sku=f"THR-{n}", price=str(n + 1))
    stack.start_worker("poll-threads", queues=("poll",), concurrency=8, pool="threads")
    stack.start_worker("sync", queues=("sync",), concurrency=2)
    stack.start_beat()
    try:
        for account in accounts:
            verdict = oracle.check(stack, account, timeout=90)
            assert verdict.by_status() == {"succeeded": 1}, verdict
            assert verdict.lost == verdict.duplicates == 0
    finally:
        stack.stop_all()
