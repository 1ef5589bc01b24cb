"""The contract under real processes: duplicate delivery, a killed worker, a flushed
Redis, two pollers at once (design §2: G1 nothing lost, G2 nothing stuck, G3 no
duplicates, G4 honest cursors)."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import redis
from sqlalchemy import select

from models import Cursor
from models.db import session_scope
from tests.support.stack import Stack, StackAccount
from workers.engine import poll_account

pytestmark = pytest.mark.e2e


def _succeeded(acct: StackAccount, count: int) -> bool:
    jobs = acct.jobs()
    return len(jobs) >= count and all(j.status == "succeeded" for j in jobs)


def _items_with(acct: StackAccount, sku: str) -> int:
    return sum(1 for i in acct.quickbooks_items() if i.get("Sku") == sku)


def test_same_job_delivered_twice_writes_once(stack: Stack) -> None:
    worker = stack.start_worker("dup", queues=("sync",), concurrency=2)
    try:
        acct = stack.new_account()
        acct.hubspot_create(name="Twice", hs_sku="TWICE-1", price="5")
        time.sleep(stack.timings.settle + 0.2)
        [dispatch] = poll_account(stack.context(), acct.id)
        stack.send("productsync.sync_product", dispatch.job_id, queue="sync")
        stack.send("productsync.sync_product", dispatch.job_id, queue="sync")
        stack.wait_for(lambda: _succeeded(acct, 1))
        time.sleep(1.0)  # let the second delivery finish too
        assert len(acct.writes("quickbooks")) == 1
        assert _items_with(acct, "TWICE-1") == 1
        assert [e.status for e in acct.history()] == ["succeeded"]
        assert "duplicate" in worker.output()  # the second delivery claimed nothing
    finally:
        worker.stop()


def test_worker_killed_mid_job_completes_without_duplicates(stack: Stack) -> None:
    worker = stack.start_worker("victim", queues=("poll", "sync"), concurrency=1)
    beat = None
    try:
        acct = stack.new_account()
        acct.hubspot_create(name="Slow", hs_sku="KILL-1", price="7")
        time.sleep(stack.timings.settle + 0.2)
        stack.quickbooks_admin.set_knobs(latency_ms=1500)  # every QBO call takes 1.5 s
        [dispatch] = poll_account(stack.context(), acct.id)
        stack.send("productsync.sync_product", dispatch.job_id, queue="sync")
        stack.wait_for(lambda: acct.jobs()[0].status == "running", timeout=20)
        time.sleep(2.0)  # inside the QBO calls (search, then create)
        children = stack.wait_for(worker.children)
        for pid in children:
            os.kill(pid, signal.SIGKILL)  # the pool process dies mid-call
        stack.quickbooks_admin.set_knobs(latency_ms=0)
        beat = stack.start_beat("kill-beat")  # the sweeper finds the expired lease
        stack.wait_for(lambda: _succeeded(acct, 1), timeout=40)
        assert _items_with(acct, "KILL-1") == 1
        job = acct.jobs()[0]
        assert job.attempts >= 2
    finally:
        stack.quickbooks_admin.set_knobs(latency_ms=0)
        worker.stop()
        if beat is not None:
            beat.stop()


def test_redis_flushed_after_a_poll_the_sweeper_recovers(stack: Stack) -> None:
    poller = stack.start_worker("poller", queues=("poll",), concurrency=1)
    beat = stack.start_beat("flush-beat")
    syncer = None
    try:
        acct = stack.new_account()
        skus = [f"FLUSH-{n}" for n in range(5)]
        for sku in skus:
            acct.hubspot_create(name=sku, hs_sku=sku, price="1")
        # The real poll (beat → poll queue) records the jobs and announces them on `sync`,
        # where nobody listens yet...
        stack.wait_for(lambda: len(acct.jobs()) == len(skus), timeout=30)
        # ...and then Redis loses everything.
        redis.Redis.from_url(stack.redis.url).flushall()
        syncer = stack.start_worker("syncer", queues=("sync",), concurrency=2)
        stack.wait_for(lambda: _succeeded(acct, len(skus)), timeout=40)
        assert sorted(i["Sku"] for i in acct.quickbooks_items()) == sorted(skus)
        assert len(acct.writes("quickbooks")) == len(skus)
    finally:
        for process in (poller, beat, syncer):
            if process is not None:
                process.stop()


def test_two_pollers_at_once_one_cursor_advance_no_duplicate_jobs(stack: Stack) -> None:
    acct = stack.new_account()
    for n in range(10):
        acct.hubspot_create(name=f"P{n}", hs_sku=f"POLL-{n}", price="1")
    time.sleep(stack.timings.settle + 0.2)
    start = threading.Barrier(2)
    results: list[int] = []

    def poller() -> None:
        context = stack.context()
        start.wait()
        results.append(len(poll_account(context, acct.id)))

    threads = [threading.Thread(target=poller) for _ in range(2)]
    # Slow HubSpot answers keep the first poll going while the second one starts.
    stack.hubspot_admin.set_knobs(latency_ms=500)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        stack.hubspot_admin.set_knobs(latency_ms=0)
    assert sorted(results) == [0, 10]
    assert len(acct.jobs()) == 10
    with session_scope(stack.database_url) as session:
        [cursor] = session.scalars(select(Cursor).where(Cursor.account_id == acct.id)).all()
    assert cursor.version == 1
