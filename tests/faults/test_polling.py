"""Beat and polling: two beats, overlapping polls, beat down, result caps, ties, late
search results. The cursor must never pass a change that has no job row (G4)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import redis
from sqlalchemy import delete, select

from models import Account, Cursor, Job
from models.db import session_scope
from tests.support import oracle
from tests.support.faults import hubspot_bulk_create, stop_processes
from tests.support.stack import Stack, StackAccount
from workers import engine
from workers.engine.locks import PREFIX


def _one_job_per_product(acct: StackAccount, jobs: list[Job]) -> None:
    per_product: dict[str, int] = {}
    for job in jobs:
        per_product[job.source_id] = per_product.get(job.source_id, 0) + 1
    assert set(per_product.values()) == {1}, per_product


def test_two_beats_at_once(pipeline: Stack) -> None:
    pipeline.start_beat("beat2")
    acct = pipeline.new_account("hubspot_to_quickbooks")
    for n in range(6):
        acct.hubspot_create(name=f"Double beat {n}", hs_sku=f"BEAT2-{n}", price="2")
        time.sleep(0.3)
    verdict = oracle.check(pipeline, acct)
    assert verdict.by_status() == {"succeeded": 6}
    _one_job_per_product(acct, verdict.jobs)


def test_overlapping_polls_with_a_lock_that_expires_mid_poll(pipeline: Stack) -> None:
    stop_processes(pipeline)
    acct = pipeline.new_account("hubspot_to_quickbooks")
    ctx = pipeline.context()
    assert engine.poll_account(ctx, acct.id) == []  # the cursor exists (version 1)
    for n in range(4):
        acct.hubspot_create(name=f"Overlap {n}", hs_sku=f"OVER-{n}", price="3")
    time.sleep(pipeline.timings.settle + 0.6)
    # The first poller's search hangs; meanwhile its lock expires and a second one polls.
    pipeline.hubspot_admin.add_fault("hang", r"/search$", account=acct.portal_id, seconds=2.0)
    first: list[object] = []
    slow = threading.Thread(target=lambda: first.extend(engine.poll_account(ctx, acct.id)))
    slow.start()
    time.sleep(0.7)
    redis.Redis.from_url(pipeline.redis.url).delete(f"{PREFIX}poll:{acct.id}")  # expired
    second_started = datetime.now(UTC)
    second = engine.poll_account(ctx, acct.id)
    slow.join(10)
    assert len(second) == 4 and first == []  # the late poller lost the cursor CAS
    with session_scope(pipeline.database_url) as session:
        cursor = session.scalars(select(Cursor).where(Cursor.account_id == acct.id)).one()
    # Where the poller that did the work left it: the slow one (an earlier window end)
    # never moved it back, which would re-read and, worse, undo a newer poll's progress.
    assert cursor.version == 2
    assert cursor.value >= second_started - timedelta(seconds=pipeline.timings.settle + 0.05)
    for dispatch in second:
        pipeline.send("productsync.sync_product", dispatch.job_id, queue=dispatch.queue)
    pipeline.start_worker("w1")
    pipeline.start_beat()
    verdict = oracle.check(pipeline, acct)
    assert verdict.by_status() == {"succeeded": 4}
    _one_job_per_product(acct, verdict.jobs)


def test_beat_down_for_several_intervals(pipeline: Stack) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    [beat] = [p for p in pipeline.processes if p.name == "beat"]
    pipeline.wait_for(lambda: _cursor(pipeline, acct) is not None)
    beat.stop()
    pipeline.processes.remove(beat)
    for n in range(5):  # changes spread over five poll intervals while nobody polls
        acct.hubspot_create(name=f"No beat {n}", hs_sku=f"NOBEAT-{n}", price="4")
        time.sleep(1.0)
    assert acct.jobs() == []
    pipeline.start_beat()
    verdict = oracle.check(pipeline, acct)
    assert verdict.by_status() == {"succeeded": 5}


def test_timestamp_ties_at_the_cursor(pipeline: Stack) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    # Batches share (or nearly share) one timestamp; polls land between and inside them.
    ids = []
    for burst in range(4):
        ids += hubspot_bulk_create(pipeline, acct, 25, f"TIE{burst}")
        time.sleep(0.45)
    verdict = oracle.check(pipeline, acct, timeout=60)
    assert verdict.by_status() == {"succeeded": 100}
    assert {j.source_id for j in verdict.jobs} == set(ids)


def test_a_product_that_appears_in_search_late(pipeline: Stack) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    lag = {"search_lag_create_ms": 3000, "search_lag_update_ms": 3000}
    pipeline.hubspot_admin.set_knobs(**lag)
    try:
        acct.hubspot_create(name="Late", hs_sku="LATE-SEARCH", price="5")
        # Several polls run while the product is invisible to search; the overlap
        # window re-reads the stretch they covered once it becomes visible.
        verdict = oracle.check(pipeline, acct)
    finally:
        lag = {k: pipeline.timings.search_lag_ms for k in lag}
        pipeline.hubspot_admin.set_knobs(**lag)
    assert verdict.by_status() == {"succeeded": 1}


def _cursor(stack: Stack, acct: StackAccount) -> Cursor | None:
    with session_scope(stack.database_url) as session:
        return session.scalars(select(Cursor).where(Cursor.account_id == acct.id)).first()


def _poll_alone(stack: Stack, acct: StackAccount) -> list[Job]:
    """One poll, in this process, with no worker running; returns the account's jobs."""
    time.sleep(stack.timings.settle + 0.6)
    engine.poll_account(stack.context(), acct.id)
    return acct.jobs()


def _forget(stack: Stack, acct: StackAccount) -> None:
    # Thousands of products are about polling, not syncing: drop the account (and its
    # jobs) so the next case's workers do not spend minutes on them.
    with session_scope(stack.database_url) as session:
        session.execute(delete(Account).where(Account.id == acct.id))


def _assert_polled_all(stack: Stack, acct: StackAccount, ids: list[str]) -> None:
    """One poll saw every change (one job each) and the cursor passed none without one."""
    jobs = _poll_alone(stack, acct)
    try:
        assert len(jobs) == len(ids) and {j.source_id for j in jobs} == set(ids)
        assert oracle.check_cursor(stack, acct).lost == 0
    finally:
        _forget(stack, acct)


def test_a_change_window_over_the_hubspot_10000_result_cap(pipeline: Stack) -> None:
    stop_processes(pipeline)
    acct = pipeline.new_account("hubspot_to_quickbooks")
    _assert_polled_all(pipeline, acct, hubspot_bulk_create(pipeline, acct, 10_150, "CAP"))


def test_a_change_window_over_the_qbo_cdc_1000_cap(pipeline: Stack) -> None:
    stop_processes(pipeline)
    acct = pipeline.new_account("quickbooks_to_hubspot")
    ids = [acct.quickbooks_create(Name=f"Cdc {n}", Sku=f"CDC-{n}") for n in range(1_050)]
    _assert_polled_all(pipeline, acct, ids)
