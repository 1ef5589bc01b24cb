"""A chunk stays a chunk when it must wait (`workers.engine.chunk_waits`): rate limits,
429s and open circuits give the chunk back whole, retries go again as one chunk, and a
working chunk keeps its short lease alive."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import Job, utcnow
from models.db import session_scope
from tests.engine.helpers import history
from tests.engine.test_bulk import full_sync, widget
from tests.support.memory_catalog import MemoryCatalog
from workers.engine import SyncContext, sync_chunk
from workers.engine.bulk import Deferral, chunk_size
from workers.engine.chunk_waits import READ_AHEAD_SECONDS
from workers.engine.lease_keeper import LeaseKeeper
from workers.engine.sweep import mark_queue_busy, sweep
from workers.engine.sync import claim_jobs
from workers.errors import CircuitOpen, QuotaExhausted, RateLimited, TransientError


def jobs_of(ctx: SyncContext, ids: list[int]) -> list[Job]:
    with session_scope(ctx.database_url) as session:
        return list(session.scalars(select(Job).where(Job.id.in_(ids)).order_by(Job.id)))


def all_due(ctx: SyncContext, ids: list[int]) -> None:
    """What the passing of the wait would do."""
    with session_scope(ctx.database_url) as session:
        for job in session.scalars(select(Job).where(Job.id.in_(ids))):
            job.next_attempt_at = utcnow()


def test_a_rate_limited_batch_write_gives_the_chunk_back_whole_and_it_resumes_in_batches(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    for n in range(5):
        hubspot.add(widget(f"R-{n}"))
    _, dispatches = full_sync(ctx, account_id)
    ids = [d.job_id for d in dispatches]
    quickbooks.fail_next("write_many", RateLimited("batch budget spent", retry_after=40.0))

    chunk = sync_chunk(ctx, ids)

    assert chunk.results == [] and chunk.deferred == [Deferral(ids, 40.0 - READ_AHEAD_SECONDS)]
    assert chunk.again() == chunk.deferred
    rows = jobs_of(ctx, ids)
    # A wait is not a try, nothing was written, and nothing is in the history yet.
    assert {(j.status, j.attempts, j.write_started_at, j.park_reason) for j in rows} == {
        ("pending", 0, None, None)
    }
    assert all(j.next_attempt_at > utcnow() + timedelta(seconds=30) for j in rows)
    assert history(ctx) == []
    assert sync_chunk(ctx, ids).results == []  # not due yet: the early message does nothing

    all_due(ctx, ids)
    again = sync_chunk(ctx, ids)
    assert Counter(r.outcome for _, r in again.results) == {"created": 5}
    # The run's listing, then batches, never one product at a time.
    assert Counter(quickbooks.calls) == {"iter_all": 1, "write_many": 2}
    assert len(quickbooks.writes) == 5


def test_a_short_wait_is_sat_out_where_the_chunk_is(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    for n in range(3):
        hubspot.add(widget(f"S-{n}"))
    _, dispatches = full_sync(ctx, account_id)
    ids = [d.job_id for d in dispatches]
    quickbooks.fail_next("write_many", RateLimited("429", retry_after=0.05))
    hubspot.fail_next("get_many", RateLimited("ten-second bucket", retry_after=0.05))

    chunk = sync_chunk(ctx, ids)

    assert chunk.deferred == [] and chunk.again() == []
    assert Counter(r.outcome for _, r in chunk.results) == {"created": 3}
    assert Counter(hubspot.calls)["get_many"] == 2
    assert Counter(quickbooks.calls) == {"iter_all": 1, "write_many": 2}
    assert [e.action for e in history(ctx)] == ["created"] * 3


def test_an_open_circuit_parks_the_chunk_whole_and_it_comes_back_by_itself(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    for n in range(4):
        hubspot.add(widget(f"C-{n}"))
    _, dispatches = full_sync(ctx, account_id)
    ids = [d.job_id for d in dispatches]
    until = utcnow() + timedelta(seconds=30)
    hubspot.fail_next("get_many", CircuitOpen("HubSpot is failing", until=until))

    chunk = sync_chunk(ctx, ids)

    assert chunk.results == [] and [d.job_ids for d in chunk.deferred] == [ids]
    assert 25 < chunk.deferred[0].seconds <= 30
    rows = jobs_of(ctx, ids)
    assert {(j.status, j.park_reason, j.attempts) for j in rows} == {("parked", "circuit_open", 0)}
    assert history(ctx) == []

    all_due(ctx, ids)  # the chunk's own message comes back when the circuit closes
    again = sync_chunk(ctx, ids)
    assert Counter(r.outcome for _, r in again.results) == {"created": 4}
    assert Counter(quickbooks.calls) == {"iter_all": 1, "write_many": 1}
    assert {j.park_reason for j in jobs_of(ctx, ids)} == {None}


def test_a_wait_longer_than_any_countdown_parks_for_the_sweeper(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    hubspot.add(widget("Q-1"))
    _, dispatches = full_sync(ctx, account_id)
    ids = [d.job_id for d in dispatches]
    tomorrow = utcnow() + timedelta(hours=10)
    quickbooks.fail_next("write_many", QuotaExhausted("daily budget spent", until=tomorrow))

    chunk = sync_chunk(ctx, ids)

    (deferral,) = chunk.deferred
    assert deferral.seconds > ctx.settings.retry_cap_seconds  # the task sends no countdown
    assert {(j.status, j.park_reason) for j in jobs_of(ctx, ids)} == {("parked", "quota")}


def test_jobs_that_must_retry_go_again_as_one_chunk(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    for n in range(4):
        hubspot.add(widget(f"T-{n}"))
    _, dispatches = full_sync(ctx, account_id)
    ids = [d.job_id for d in dispatches]
    quickbooks.fail_next("write_many", TransientError("QuickBooks answered 503"))

    chunk = sync_chunk(ctx, ids)

    assert {r.outcome for _, r in chunk.results} == {"retrying"}
    (again,) = chunk.again()
    assert again.job_ids == ids
    assert again.seconds == max(r.retry_in or 0 for _, r in chunk.results)


@pytest.mark.parametrize("alive", [True, False])
def test_a_working_chunk_keeps_its_short_lease_and_a_dead_one_loses_it(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, alive: bool
) -> None:
    for n in range(3):
        hubspot.add(widget(f"L-{n}"))
    _, dispatches = full_sync(ctx, account_id)
    ids = [d.job_id for d in dispatches]
    claimed = claim_jobs(ctx, ids, "owner-1", lease_seconds=0.6)
    assert len(claimed) == 3
    if alive:
        with LeaseKeeper(ctx.database_url, ids, owner="owner-1", lease_seconds=0.6, for_at_most=5):
            time.sleep(1.5)
            rows = jobs_of(ctx, ids)
    else:
        time.sleep(1.5)
        rows = jobs_of(ctx, ids)
    renewed = all(j.lease_expires_at is not None and j.lease_expires_at > utcnow() for j in rows)
    assert renewed is alive
    # A dead chunk's jobs are anyone's once the short lease ran out (here, another claim).
    assert len(claim_jobs(ctx, ids, "owner-2", lease_seconds=0.6)) == (0 if alive else 3)


def test_a_chunk_whose_writes_must_wait_long_waits_before_reading_anything(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    for n in range(3):
        hubspot.add(widget(f"A-{n}"))
    _, dispatches = full_sync(ctx, account_id)
    ids = [d.job_id for d in dispatches]
    quickbooks.wait_before_writes = 40.0  # QBO's batch window is full for 40 s

    chunk = sync_chunk(ctx, ids)

    # Back a little early: it reads first, then sits out the rest of the wait in place.
    assert chunk.deferred == [Deferral(ids, 40.0 - READ_AHEAD_SECONDS)]
    assert "get_many" not in hubspot.calls  # nothing read that would be read again
    assert {j.status for j in jobs_of(ctx, ids)} == {"pending"}

    quickbooks.wait_before_writes = 3.0  # short: the chunk goes on and waits in place
    all_due(ctx, ids)
    assert Counter(r.outcome for _, r in sync_chunk(ctx, ids).results) == {"created": 3}


def test_a_write_wait_longer_than_any_countdown_parks_the_chunk_for_the_sweeper(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    """No countdown message brings such a chunk back: the sweeper must, when it is due,
    however busy its queue is (a pending job waited for the queue to go idle)."""
    for n in range(3):
        hubspot.add(widget(f"L-{n}"))
    _, dispatches = full_sync(ctx, account_id)
    ids = [d.job_id for d in dispatches]
    wait = ctx.settings.retry_cap_seconds + 30
    quickbooks.wait_before_writes = wait

    assert sync_chunk(ctx, ids).deferred == [Deferral(ids, wait)]
    assert {(j.status, j.park_reason) for j in jobs_of(ctx, ids)} == {("parked", "rate_limited")}

    all_due(ctx, ids)
    mark_queue_busy(ctx, "bulk")  # other chunks keep the queue busy
    assert sorted(d.job_id for d in sweep(ctx) if d.job_id in ids) == ids


def test_chunks_into_quickbooks_fill_its_batches_of_30() -> None:
    assert chunk_size("hubspot_to_quickbooks") == 90
    assert chunk_size("quickbooks_to_hubspot") == 400


@pytest.mark.parametrize("written", [True, False])
def test_a_batch_whose_answer_was_lost_goes_again_as_a_chunk_without_a_duplicate(
    ctx: SyncContext,
    account_id: int,
    hubspot: MemoryCatalog,
    quickbooks: MemoryCatalog,
    written: bool,
) -> None:
    for n in range(4):
        hubspot.add(widget(f"U-{n}"))
    _, dispatches = full_sync(ctx, account_id)
    ids = [d.job_id for d in dispatches]
    timeout = TransientError("QuickBooks timed out", system="quickbooks")
    quickbooks.fail_next("write_many", timeout, after_acting=written)
    first = sync_chunk(ctx, ids)
    assert {r.outcome for _, r in first.results} == {"retrying"}
    assert all(j.write_started_at is not None for j in jobs_of(ctx, ids))

    all_due(ctx, ids)
    quickbooks.calls.clear()
    again = sync_chunk(ctx, ids)

    # One search for all four (the run's index predates the lost create), then a batch.
    assert Counter(r.outcome for _, r in again.results) == {"created": 4}
    assert quickbooks.calls == ["find_by_skus"] + ([] if written else ["write_many"])
    assert len(quickbooks.products) == 4  # each created exactly once
    notes = [str((e.details or {}).get("notes")) for e in history(ctx)[-4:]]
    assert all(("create was lost" in n) is written for n in notes)
